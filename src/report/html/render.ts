/**
 * The self-contained HTML report: one file, no network. Summary and tables are plain HTML (read
 * with JavaScript off); histograms, bar charts and violation traces are inline SVG drawn here;
 * time series (ops/s per CPU and in total with violations and stalls marked, RCU backlog) are
 * uPlot charts: uPlot's dist file (~50 KB) and the series are inlined into the page.
 *
 * Every figure the page shows from the JSON carries data-json="path.in.the.report" (and, for
 * several documents, data-doc="i"), so a test can check the page against the JSON it came from.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { CompareReport, RunReport } from '../report-json.js';
import type { HuntReport } from '../hunt-report.js';
import { histQuantileUs, histTotal } from '../hist.js';
import { esc, PALETTE, sequenceLegend, svgGroupedBars, svgHistogram, svgSequence } from './svg.js';
import { violationSequence } from './interleaving.js';
import type { ViolationRecord } from '../../workers/hugetlb/violations.js';
import type { LockPoint } from '../../locks/lockstat.js';
import { latencyCells, latencyHeads, latencyRows } from '../op-latency.js';
import type { ScaleReport } from '../scale-study.js';
import { scaleSection } from './scale-section.js';
import { foundByText } from '../../sched/portfolio.js';

export type AnyReport = RunReport | CompareReport | HuntReport | ScaleReport;

let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (!uplotAssets) {
    const req = createRequire(import.meta.url);
    const js = readFileSync(req.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
    const css = readFileSync(req.resolve('uplot/dist/uPlot.min.css'), 'utf8');
    uplotAssets = { js, css };
  }
  return uplotAssets;
}

const fmt = (x: number | null | undefined, digits = 2): string => {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
};

class Page {
  private readonly parts: string[] = [];
  /** Series for uPlot, by chart id. */
  readonly series: Record<string, unknown> = {};
  private nextId = 0;
  constructor(readonly doc: number) {}
  add(s: string): void {
    this.parts.push(s);
  }
  /** A number from the JSON, tagged with its path. */
  v(path: string, x: number | null | undefined, digits = 2): string {
    return `<span class="num" data-doc="${this.doc}" data-json="${esc(path)}">${fmt(x, digits)}</span>`;
  }
  id(prefix: string): string {
    return `${prefix}-${this.doc}-${this.nextId++}`;
  }
  html(): string {
    return this.parts.join('\n');
  }
}

const STATUS_CLASS: Record<string, string> = { ok: 'ok', violations: 'bad', crashed: 'bad', stalled: 'bad', interrupted: 'warn' };
const badge = (status: string): string => `<span class="badge ${STATUS_CLASS[status] ?? 'warn'}">${esc(status)}</span>`;

/** `colClass[i]`: a class for column i's cells (e.g. 'txt': text that may wrap anywhere). */
function table(head: string[], rows: string[][], cls = '', colClass: readonly string[] = []): string {
  const td = (c: string, i: number): string => (colClass[i] ? `<td class="${colClass[i]}">${c}</td>` : `<td>${c}</td>`);
  return `<table class="${cls}"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Label/value pairs, each pair in one grid cell so a label never wraps away from its value. */
function summary(dl: ReadonlyArray<[string, string]>): string {
  return `<dl class="summary">${dl.map(([a, b]) => `<div><dt>${a}</dt><dd>${b}</dd></div>`).join('')}</dl>`;
}

/** A violation's trace as a sequence chart, in time order like the text report's interleaving. */
function interleavingFigure(title: string, v: ViolationRecord): string {
  const seq = violationSequence(v);
  return `<figure class="interleaving">${sequenceLegend(seq)}${svgSequence({ title: `${title}, one column per CPU`, seq, chart: 'violation-trace' })}<figcaption class="note">Times are µs since the run started, read every 4th event, after every wait and at bad dereferences, so across CPUs the order is exact only to a few events.</figcaption></figure>`;
}

function runSection(p: Page, r: RunReport, at: string, heading: string): void {
  const k = (s: string): string => (at ? `${at}.${s}` : s);
  const c = r.config;
  p.add(`<section class="run"><h2>${esc(heading)} ${badge(r.status)}</h2>`);
  p.add(`<p class="cmd"><code>${esc(r.command)}</code></p>`);
  const dl: Array<[string, string]> = [
    ['scenario', esc(c.scenario)],
    ['mode', `${esc(c.mode)} <small>(truth table: ${esc(r.expected)})</small>`],
    ['CPUs', `${p.v(k('config.cpus'), c.cpus)} on ${c.cores} cores`],
    ['seed', p.v(k('seed'), r.seed)],
    ['operations', p.v(k('ops.total'), r.ops.total)],
    ['ops/s', p.v(k('ops.perSecond'), r.ops.perSecond)],
    ['elapsed (ms)', p.v(k('timing.elapsedMs'), r.timing.elapsedMs)],
    ['violations', p.v(k('violations.count'), r.violations.count)],
    ['invariants', r.invariants.ok ? 'ok' : `<b class="badtxt">FAILED</b>: ${esc(r.invariants.errors.slice(0, 3).join('; '))}`],
    ['exit code', p.v(k('exitCode'), r.exitCode)],
  ];
  if (r.soak) dl.push(['soak rounds', p.v(k('soak.rounds'), r.soak.rounds)]);
  if (r.shard) dl.push(['shard', `${r.shard.index}/${r.shard.count} (${r.shard.source})`]);
  if (r.seeds) dl.push(['seeds', esc(r.seeds.length > 12 ? `${r.seeds.slice(0, 12).join(', ')}, … (${r.seeds.length})` : r.seeds.join(', '))]);
  p.add(summary(dl));

  if (r.merged) {
    p.add(`<h3>Merged from ${r.merged.reports} reports</h3>`);
    p.add(table(['file', 'shard', 'status', 'ops', 'violations'], r.merged.shards.map((s, i) => [esc(s.file), s.shard ? `${s.shard.index}/${s.shard.count}` : '–', badge(s.status), p.v(k(`merged.shards.${i}.ops`), s.ops), p.v(k(`merged.shards.${i}.violations`), s.violations)])));
  }

  // Time series.
  const tl = r.timeline;
  if (tl && tl.t.length > 1) {
    const id = p.id('tl');
    p.series[id] = {
      kind: 'ops',
      t: tl.t.map((x) => x / 1000),
      series: [{ name: 'total', values: tl.total }, ...tl.perCpu.map((v, i) => ({ name: `cpu ${i}`, values: v }))],
      marks: tl.marks.map((m) => ({ t: m.tMs / 1000, kind: m.kind, label: m.label })),
      yLabel: 'ops/s',
      title: `ops/s over time (step ${tl.intervalMs} ms), total and per CPU; marks: violations (red), stalls/crashes (black), rounds (grey)`,
    };
    p.add(`<h3>Throughput over time</h3><div class="uplot-host" id="${id}" data-chart="timeline"></div><noscript><p class="note">The time series need JavaScript; the tables below do not.</p></noscript>`);
  }

  // Per-op throughput.
  const opNames = Object.keys(r.ops.perOp);
  if (opNames.length) {
    p.add('<h3>Operations</h3>');
    p.add(table(['op', 'count', 'ops/s', 'failed', ...latencyHeads(r.opLatency)], opNames.map((o) => [esc(o), p.v(k(`ops.perOp.${o}`), r.ops.perOp[o]), p.v(k(`ops.perOpPerSecond.${o}`), r.ops.perOpPerSecond[o]), (r.ops.failed[o] !== undefined ? p.v(k(`ops.failed.${o}`), r.ops.failed[o]) : '0'), ...latencyCells(r.opLatency, o)])));
  }

  // Violations.
  p.add('<h3>Violations</h3>');
  if (r.violations.count === 0) p.add('<p>None.</p>');
  else {
    p.add(table(['kind', 'count'], Object.entries(r.violations.byKind).map(([kind, n]) => [esc(kind), p.v(k(`violations.byKind.${kind}`), n)])));
    r.violations.recorded.slice(0, 8).forEach((v, i) => {
      const where = [v.shard ? `shard ${v.shard.index}/${v.shard.count}` : '', v.source ? `from ${v.source}` : ''].filter(Boolean).join(', ');
      p.add(`<div class="viol"><p><b class="badtxt">${esc(v.kind)}</b> in <code>${esc(v.op)}</code> at <code>${esc(v.site)}</code>, cpu ${v.cpu}, page ${v.page} (pointer gen ${v.pointerGen}, page gen ${v.pageGen}, ${esc(v.pageState)})${where ? ` — ${esc(where)}` : ''}${v.rerun ? `<br>re-run: <code>${esc(v.rerun)}</code>` : ''}</p>`);
      if (v.trace.length) p.add(interleavingFigure(`violation ${i + 1}: the interleaving before it`, v));
      p.add('</div>');
    });
  }
  if (r.stalls.length) {
    p.add('<h3>Stall</h3>');
    p.add(table(['cpu', 'state', 'op', 'waiting for', 'held locks'], r.stalls.map((s) => [String(s.cpu), esc(s.state), esc(s.op), esc(s.waitingFor ?? '–'), esc(s.heldLocks.map((h) => h.cls).join(', '))])));
  }

  // Locks.
  if (r.lockstat.length) {
    p.add('<h3>Lock contention (lock_stat)</h3>');
    const top = (l: LockPoint[] | undefined): string => (l?.[0] ? `${esc(l[0].site)} (${l[0].count})` : '');
    p.add(table(['class', 'side', 'acquisitions', 'contentions', 'wait p50 µs', 'wait p99 µs', 'hold p50 µs', 'hold p99 µs', 'top waiting site', 'top holding site'], r.lockstat.map((l, i) => [esc(l.name), l.side, p.v(k(`lockstat.${i}.acquisitions`), l.acquisitions), p.v(k(`lockstat.${i}.contentions`), l.contentions), p.v(k(`lockstat.${i}.waitP50`), l.waitP50), p.v(k(`lockstat.${i}.waitP99`), l.waitP99), p.v(k(`lockstat.${i}.holdP50`), l.holdP50), p.v(k(`lockstat.${i}.holdP99`), l.holdP99), top(l.contentionPoints), top(l.contendingPoints)]), 'locks', ['txt', '', '', '', '', '', '', '', 'txt', 'txt']));
    const withHist = r.lockstat.filter((l) => (l.waitHist && histTotal(l.waitHist) > 0) || (l.holdHist && histTotal(l.holdHist) > 0));
    if (withHist.length) {
      p.add('<p class="note">Wait (contended acquisitions) and hold time distributions per lock class, from the merged log2 histograms.</p><div class="grid">');
      for (const l of withHist) p.add(svgHistogram({ title: `${l.name} (${l.side})`, series: [{ name: 'wait', hist: l.waitHist ?? [] }, { name: 'hold', hist: l.holdHist ?? [] }], unitNs: 1, chart: 'lock-hist' }));
      p.add('</div>');
    }
  }

  // RCU, IPI, walker references.
  p.add('<h3>RCU, IPIs and walker references</h3>');
  p.add(table(['grace periods', 'GP p50 µs', 'GP p99 µs', 'callbacks queued', 'invoked', 'max backlog', 'IPIs sent', 'shootdowns', 'IPI p99 µs'], [[p.v(k('rcu.gracePeriods'), r.rcu.gracePeriods), p.v(k('rcu.gpP50Us'), r.rcu.gpP50Us), p.v(k('rcu.gpP99Us'), r.rcu.gpP99Us), p.v(k('rcu.callbacksQueued'), r.rcu.callbacksQueued), p.v(k('rcu.callbacksInvoked'), r.rcu.callbacksInvoked), p.v(k('rcu.maxBacklog'), r.rcu.maxBacklog), p.v(k('ipi.sent'), r.ipi.sent), p.v(k('ipi.shootdowns'), r.ipi.shootdowns), p.v(k('ipi.p99Us'), r.ipi.p99Us)]]));
  p.add('<div class="grid">');
  p.add(svgHistogram({ title: 'RCU grace-period latency (start to completion; synchronize and call_rcu)', series: [{ name: 'GP', hist: r.rcu.gpLatencyHist }], unitNs: 1000, chart: 'rcu-gp' }));
  if (r.ipi.latencyHist.some((x) => x > 0)) p.add(svgHistogram({ title: 'IPI latency', series: [{ name: 'IPI', hist: r.ipi.latencyHist }], unitNs: 1000, chart: 'ipi' }));
  if (r.refHold) {
    const rh = r.refHold;
    p.add(svgHistogram({ title: `walker reference age at dereference (p50 ${fmt(histQuantileUs(rh.hist, 0.5))} µs, p99 ${fmt(histQuantileUs(rh.hist, 0.99))} µs; 1 walk in ${rh.sampleEvery})`, series: [{ name: 'refs', hist: rh.hist }], unitNs: 1, chart: 'refhold', width: 480 }));
  }
  p.add('</div>');
  if (tl && tl.t.length > 1 && tl.rcuBacklog.some((x) => x > 0)) {
    const id = p.id('rcu');
    p.series[id] = { kind: 'backlog', t: tl.t.map((x) => x / 1000), series: [{ name: 'RCU callback backlog', values: tl.rcuBacklog }], marks: [], yLabel: 'callbacks', title: 'RCU callback backlog over time (peak per interval)' };
    p.add(`<div class="uplot-host" id="${id}" data-chart="rcu-backlog"></div>`);
  }
  if (r.refHold) p.add(`<p class="note">Walker references timed: ${p.v(k('refHold.samples'), r.refHold.samples)}. The age is the time from hugetlb_walk() to each dereference of the page it returned: how wide the race windows were.</p>`);
  p.add('</section>');
}

function compareSection(p: Page, d: CompareReport): void {
  const t = d.table;
  p.add(`<section class="compare"><h2>compare: ${esc(d.runs[0]?.config.scenario ?? '')}, modes side by side ${badge(d.status)}</h2><p class="cmd"><code>${esc(d.command)}</code></p>`);
  p.add(table(['mode', 'truth table', 'status', 'ops/s', 'violations'], t.modes.map((m, i) => [esc(m), esc(t.violations[m]?.expected ?? ''), badge(t.violations[m]?.status ?? ''), p.v(`table.totalOpsPerSecond.${m}`, t.totalOpsPerSecond[m]), p.v(`runs.${i}.violations.count`, t.violations[m]?.count)])));
  const ops = Object.keys(t.opsPerSecond);
  p.add(svgGroupedBars({ title: 'ops/s per op kind', labels: ops, series: t.modes.map((m) => ({ name: m, values: ops.map((o) => t.opsPerSecond[o]?.[m] ?? 0) })), yLabel: 'ops/s', chart: 'compare-ops' }));
  if (t.latency) p.add('<h3>Latency per op kind, p50 / p99 µs</h3>' + table(['op', ...t.modes.map(esc)], latencyRows(t.latency, t.modes).map((row) => row.map(esc))));
  const locks = t.locks.filter((l) => Object.values(l.perMode).some((c) => c.acquisitions > 0));
  const names = locks.map((l) => `${l.name}${l.side === 'read' ? ' (R)' : ''}`);
  p.add(svgGroupedBars({ title: 'contentions per lock class', labels: names, series: t.modes.map((m) => ({ name: m, values: locks.map((l) => l.perMode[m]?.contentions ?? 0) })), yLabel: 'contentions', chart: 'compare-contentions' }));
  p.add(svgGroupedBars({ title: 'wait p99 per lock class (µs)', labels: names, series: t.modes.map((m) => ({ name: m, values: locks.map((l) => l.perMode[m]?.waitP99 ?? 0) })), yLabel: 'µs', chart: 'compare-wait-p99' }));
  p.add(table(['lock class', ...t.modes.map((m) => `${esc(m)}<br><small>acq / con / wait p99 µs</small>`)], t.locks.map((l, i) => [esc(l.name) + (l.side === 'read' ? ' (R)' : ''), ...t.modes.map((m) => (l.perMode[m] ? `${p.v(`table.locks.${i}.perMode.${m}.acquisitions`, l.perMode[m]!.acquisitions)} / ${p.v(`table.locks.${i}.perMode.${m}.contentions`, l.perMode[m]!.contentions)} / ${p.v(`table.locks.${i}.perMode.${m}.waitP99`, l.perMode[m]!.waitP99)}` : '–'))]), 'locks'));
  p.add('</section>');
  d.runs.forEach((r, i) => {
    p.add(`<details class="mode" open><summary>mode ${esc(r.config.mode)}: ${fmt(r.ops.total)} ops, ${fmt(r.violations.count)} violations</summary>`);
    runSection(p, r, `runs.${i}`, `mode ${r.config.mode}`);
    p.add('</details>');
  });
}

function huntSection(p: Page, h: HuntReport): void {
  const status = h.found ? 'violations' : h.status === 'ok' ? 'ok' : h.status;
  p.add(`<section class="hunt"><h2>hunt: ${esc(h.scenario)} under ${esc(h.mode)} ${badge(status)}</h2>`);
  if (h.rerun) p.add(`<p class="cmd"><code>${esc(h.rerun)}</code></p>`);
  const dl: Array<[string, string]> = [
    ['scheduler', `${esc(h.sched)}${h.sched === 'pct' ? ` depth ${h.pctDepth}` : ''}`],
    ['CPUs', p.v('cpus', h.cpus)],
    ['ops per iteration', p.v('ops', h.ops)],
    ['base seed', p.v('seed', h.seed)],
    ['iterations run', p.v('iterationsRun', h.iterationsRun)],
    ['steps', p.v('totalSteps', h.totalSteps)],
    ['elapsed (ms)', p.v('elapsedMs', h.elapsedMs)],
    ['found', h.found ? '<b class="badtxt">yes</b>' : 'no'],
  ];
  if (h.failingSeed !== null) dl.push(['failing seed', p.v('failingSeed', h.failingSeed)]);
  if (h.foundBy) dl.push(['found by', esc(foundByText(h.foundBy))]);
  if (h.replayFile) dl.push(['replay file', `<code>${esc(h.replayFile)}</code>`]);
  if (h.shard) dl.push(['shard', `${h.shard.index}/${h.shard.count}`]);
  p.add(summary(dl));
  if (h.merged) p.add(table(['file', 'shard', 'found', 'iterations', 'replay file'], h.merged.shards.map((s) => [esc(s.file), s.shard ? `${s.shard.index}/${s.shard.count}` : '–', s.found ? 'yes' : 'no', fmt(s.iterationsRun), esc(s.replayFile ?? '–')])));
  if (h.violation) p.add(`<p><b class="badtxt">${esc(h.violation.kind)}</b> in <code>${esc(h.violation.op)}</code> at <code>${esc(h.violation.site)}</code>, cpu ${h.violation.cpu}, step ${h.violation.step}</p>`);
  (h.violations ?? []).slice(0, 4).forEach((v, i) => {
    if (v.trace.length) p.add(interleavingFigure(`violation ${i + 1} (${v.kind}, ${v.op}): the interleaving before it`, v));
  });
  p.add('</section>');
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:16px 24px;color:#111}
h1{font-size:22px;margin:4px 0 8px}h2{font-size:18px;margin:26px 0 6px;border-bottom:1px solid #ddd;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
code{font:12px ui-monospace,Menlo,Consolas,monospace;background:#f4f4f5;padding:1px 4px;border-radius:3px}
.cmd code{display:inline-block;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}th,td{border:1px solid #e4e4e7;padding:3px 8px;text-align:right}th{background:#f4f4f5}td:first-child,th:first-child{text-align:left}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:4px 18px;margin:8px 0}dl.summary>div{display:flex;align-items:baseline;gap:8px;min-width:0}dl.summary dt{flex:0 0 10em;font-size:11px;color:#666;text-transform:uppercase}dl.summary dd{margin:0;font-weight:600;min-width:0;overflow-wrap:anywhere}
table.locks{max-width:100%}table.locks .num{white-space:nowrap}table.locks th,table.locks td{padding:3px 4px}table.locks td.txt{white-space:normal;overflow-wrap:anywhere;min-width:7em}
.badge{font-size:12px;padding:2px 8px;border-radius:10px;color:#fff;vertical-align:middle}.badge.ok{background:#16a34a}.badge.bad{background:#dc2626}.badge.warn{background:#d97706}.badtxt{color:#dc2626}
.grid{display:flex;flex-wrap:wrap;gap:8px}.note{color:#555;font-size:12px}
svg.chart{background:#fff;border:1px solid #eee;border-radius:4px;max-width:100%;height:auto}svg .grid{stroke:#eee}svg .ax{font-size:10px;fill:#555}svg .ttl{font-size:12px;font-weight:600;fill:#222}svg .evt,svg .seqt,svg .seqh{font:11px ui-monospace,'DejaVu Sans Mono','Liberation Mono',Menlo,Consolas,monospace;fill:#222}svg .seqt{fill:#666}svg .seqh{font-weight:700}svg .life{stroke:#cbd5e1}svg text.role{font-weight:700}
figure.interleaving{margin:6px 0 14px}.seqkey{margin:4px 0;font-size:12px}.seqkey .key{margin-right:14px;display:inline-block}.seqkey i{display:inline-block;width:11px;height:11px;border:2px solid;vertical-align:-2px;margin-right:4px}
.uplot-host{margin:6px 0 12px}.u-title{font-size:14px!important;font-weight:600}details.mode>summary{cursor:pointer;font-weight:600;margin-top:14px}
`;

/** uPlot set-up: one chart per host, vertical marks drawn in the 'draw' hook. */
const CLIENT = `
(function(){
  var data = JSON.parse(document.getElementById('pmdtorture-series').textContent);
  var pal = ${JSON.stringify(PALETTE)};
  var markColor = {violation:'#dc2626', stall:'#111', crash:'#111', interrupt:'#d97706', round:'#bbb'};
  Object.keys(data).forEach(function(id){
    var d = data[id], host = document.getElementById(id);
    if (!host) return;
    var many = d.series.length > 12;
    var series = [{label:'seconds'}].concat(d.series.map(function(s, i){
      return {label:s.name, stroke: i === 0 ? '#111' : pal[(i - 1) % pal.length], width: i === 0 ? 2 : 1, show: !(many && i > 8)};
    }));
    var opts = {
      title: d.title, width: Math.min(1100, (host.parentElement || document.body).clientWidth || 1000), height: 260,
      scales: {x: {time: false}}, axes: [{label: 'seconds'}, {label: d.yLabel, size: 70}], series: series,
      legend: {live: true}, cursor: {drag: {x: true, y: false}},
      hooks: {draw: [function(u){
        var ctx = u.ctx; ctx.save();
        d.marks.forEach(function(m){
          var x = u.valToPos(m.t, 'x', true);
          ctx.strokeStyle = markColor[m.kind] || '#888'; ctx.lineWidth = m.kind === 'round' ? 1 : 2;
          ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        });
        ctx.restore();
      }]}
    };
    new uPlot(opts, [d.t].concat(d.series.map(function(s){ return s.values; })), host);
  });
})();
`;

export interface HtmlInput {
  source: string;
  doc: AnyReport;
}

/** The whole page for one or more reports. */
export function renderHtml(items: readonly HtmlInput[], opts: { title?: string } = {}): string {
  const pages: Page[] = [];
  const body: string[] = [];
  items.forEach((it, i) => {
    const p = new Page(i);
    const d = it.doc;
    if (it.source) p.add(`<p class="note">from <code>${esc(it.source)}</code></p>`);
    if (d.kind === 'compare') compareSection(p, d);
    else if (d.kind === 'hunt') huntSection(p, d);
    else if (d.kind === 'scale') scaleSection(p, d, table, badge);
    else runSection(p, d, '', `${d.kind}${d.merged ? ' (merged)' : ''}: ${d.config.scenario} under ${d.config.mode}`);
    pages.push(p);
    body.push(`<article data-doc="${i}" data-kind="${esc(d.kind)}">${p.html()}</article>`);
  });
  const series: Record<string, unknown> = Object.assign({}, ...pages.map((p) => p.series));
  const hasSeries = Object.keys(series).length > 0;
  const first = items[0]?.doc;
  const title = opts.title ?? `pmdtorture ${first ? first.kind : 'report'}${items.length > 1 ? ` (${items.length} reports)` : ''}`;
  const version = first?.tool.version ?? '';
  const u = hasSeries ? uplot() : undefined;
  // JSON inside <script>: '<' escaped so no '</script>' can end it early.
  const json = JSON.stringify(series).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title>
<style>${u ? u.css : ''}${CSS}</style></head>
<body><h1>${esc(title)}</h1><p class="note">pmdtorture ${esc(version)} · generated ${esc(new Date().toISOString())} · self-contained: no network</p>
${body.join('\n')}
${hasSeries ? `<script type="application/json" id="pmdtorture-series">${json}</script><script>${u!.js}</script><script>${CLIENT}</script>` : ''}
</body></html>
`;
}
