/**
 * The scaling study's part of the HTML report: ops/s and exit latency (p50) against CPUs, one
 * line per mode (server-side SVG, so they show with JavaScript off), and the table of cells.
 * Oversubscribed CPU counts are marked on the axis and in the table.
 */
import { esc, niceMax, num, PALETTE } from './svg.js';
import type { ScaleReport } from '../scale-study.js';
import { cpusLabel } from '../scale-text.js';

interface Pager {
  add(s: string): void;
  v(path: string, x: number | null | undefined, digits?: number): string;
}

/** One line per series over the x values (CPU counts, evenly spaced in the order given); points with no value are left out. */
export function svgLines(o: { title: string; x: readonly string[]; series: Array<{ name: string; values: Array<number | null> }>; yLabel: string; chart: string }): string {
  const W = 560, H = 280, L = 64, R = 12, T = 30, B = 40;
  const pw = W - L - R, ph = H - T - B;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  if (all.length === 0) return `<svg class="chart empty" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} 40" width="${W}" height="40"><text x="8" y="24" class="ax">${esc(o.title)}: no samples</text></svg>`;
  const max = niceMax(Math.max(...all));
  const xs = (i: number): number => L + (o.x.length <= 1 ? pw / 2 : (pw * i) / (o.x.length - 1));
  const ys = (v: number): number => T + ph - (ph * v) / max;
  const parts: string[] = [];
  for (let k = 0; k <= 4; k++) parts.push(`<line x1="${L}" x2="${W - R}" y1="${ys((max * k) / 4)}" y2="${ys((max * k) / 4)}" class="grid"/><text x="${L - 4}" y="${ys((max * k) / 4) + 4}" class="ax" text-anchor="end">${num((max * k) / 4)}</text>`);
  o.x.forEach((lab, i) => parts.push(`<text x="${xs(i)}" y="${T + ph + 16}" class="ax" text-anchor="middle">${esc(lab)}</text>`));
  o.series.forEach((s, j) => {
    const col = PALETTE[j % PALETTE.length]!;
    const pts = s.values.map((v, i) => (v === null ? null : ([xs(i), ys(v)] as const))).filter((p): p is readonly [number, number] => p !== null);
    if (pts.length > 1) parts.push(`<path d="${pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join('')}" fill="none" stroke="${col}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${xs(i).toFixed(1)}" cy="${ys(v).toFixed(1)}" r="3.5" fill="${col}"><title>${esc(s.name)} · ${esc(o.x[i])} CPUs: ${num(v)}</title></circle>`);
    });
  });
  const legend = o.series.map((s, j) => `<tspan fill="${PALETTE[j % PALETTE.length]}">■</tspan> ${esc(s.name)}`).join('  ');
  return `<svg class="chart" data-chart="${esc(o.chart)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(o.title)}"><text x="${L}" y="14" class="ttl">${esc(o.title)}</text><text x="${W - R}" y="26" class="ax" text-anchor="end">${legend}</text><text x="12" y="${T + ph / 2}" class="ax" transform="rotate(-90 12 ${T + ph / 2})" text-anchor="middle">${esc(o.yLabel)}</text><text x="${L + pw / 2}" y="${H - 4}" class="ax" text-anchor="middle">CPUs (* oversubscribed)</text>${parts.join('')}</svg>`;
}

export function scaleSection(p: Pager, d: ScaleReport, table: (head: string[], rows: string[][]) => string, badge: (s: string) => string): void {
  const c = d.config;
  p.add(`<section class="scale"><h2>scale: ${esc(c.scenario)}, modes ${esc(c.modes.join(', '))} over ${esc(c.cpus.join(', '))} CPUs ${badge(d.status)}</h2><p class="cmd"><code>${esc(d.command)}</code></p>`);
  const over = new Set(d.cells.filter((x) => x.oversubscribed).map((x) => x.cpus));
  const xs = c.cpus.map((n) => cpusLabel({ cpus: n, oversubscribed: over.has(n) || n > c.cores }));
  const at = (mode: string, n: number): ScaleReport['cells'][number] | undefined => d.cells.find((x) => x.mode === mode && x.cpus === n);
  p.add('<div class="grid">');
  p.add(svgLines({ title: 'throughput against CPUs', x: xs, series: c.modes.map((m) => ({ name: m, values: c.cpus.map((n) => at(m, n)?.opsPerSecond ?? null) })), yLabel: 'ops/s', chart: 'scale-throughput' }));
  p.add(svgLines({ title: 'exit latency p50 against CPUs', x: xs, series: c.modes.map((m) => ({ name: m, values: c.cpus.map((n) => at(m, n)?.latency['exit']?.p50Us ?? null) })), yLabel: 'µs', chart: 'scale-exit-latency' }));
  p.add('</div>');
  p.add(table(['mode', 'CPUs', 'status', 'ops/s', `vs ${esc(c.modes[0] ?? '')}`, 'IPIs/op', 'exit p50 µs', 'exit p99 µs', 'top waits (µs in total)'], d.cells.map((x, i) => [
    esc(x.mode), esc(cpusLabel(x)), badge(x.status), p.v(`cells.${i}.opsPerSecond`, x.opsPerSecond), x.ratioToFirst !== null ? p.v(`cells.${i}.ratioToFirst`, x.ratioToFirst, 3) : '–', p.v(`cells.${i}.ipi.perOp`, x.ipi.perOp, 3),
    x.latency['exit'] ? p.v(`cells.${i}.latency.exit.p50Us`, x.latency['exit'].p50Us, 3) : '–', x.latency['exit'] ? p.v(`cells.${i}.latency.exit.p99Us`, x.latency['exit'].p99Us, 3) : '–',
    esc(x.topLocks.map((l) => `${l.name}${l.side === 'read' ? ' (R)' : ''} ${num(l.waitTotalUs)}`).join(', ') || '–'),
  ])));
  if (over.size) p.add(`<p class="note">* oversubscribed: more CPUs than the ${c.cores} cores; there the host scheduler, not the model, sets what waits and IPIs cost.</p>`);
  if (d.status === 'interrupted') p.add(`<p class="note">Interrupted: ${d.cells.length} of ${c.modes.length * c.cpus.length} runs measured.</p>`);
  p.add('</section>');
}
