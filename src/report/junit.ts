/**
 * JUnit XML (the Ant/Jenkins dialect every CI reads): one <testsuite> per report, one <testcase>
 * per scenario × mode executed. A testcase fails the way the command's exit code does: `run`,
 * `soak` and merged reports on any violation, `compare` on a violation in a mode the truth table
 * calls safe, `hunt` when it found one. The <failure> carries the violation summary and the
 * command that re-runs it; crashes and stalls are <error>s; seed, version and command are
 * properties.
 */
import { hostname } from 'node:os';
import type { CompareReport, RunReport } from './report-json.js';
import type { HuntReport } from './hunt-report.js';
import type { AnyReport } from './html/render.js';
import { reportsTitle } from './report-title.js';
import { scaleSuite } from './scale-junit.js';
import { foundByText } from '../sched/portfolio.js';

function x(s: unknown): string {
  // XML 1.0 forbids most control characters even escaped; drop them.
  return String(s)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface Case {
  classname: string;
  name: string;
  timeS: number;
  properties: Array<[string, string | number]>;
  failure?: { message: string; type: string; text: string };
  error?: { message: string; type: string; text: string };
  out?: string;
}

export interface Suite {
  name: string;
  timestamp: string;
  timeS: number;
  properties: Array<[string, string | number]>;
  cases: Case[];
}

function violationText(r: RunReport): string {
  const lines = [`${r.violations.count} violation(s) in scenario ${r.config.scenario} under mode ${r.config.mode} (truth table: ${r.expected})`];
  for (const [k, n] of Object.entries(r.violations.byKind)) lines.push(`  ${k}: ${n}`);
  for (const [s, n] of Object.entries(r.violations.bySite)) lines.push(`  at ${s}: ${n}`);
  for (const v of r.violations.recorded.slice(0, 5)) {
    lines.push(`  first: ${v.kind} in ${v.op} at ${v.site}, cpu ${v.cpu}, page ${v.page} (gen ${v.pointerGen} vs ${v.pageGen}, ${v.pageState})${v.shard ? `, shard ${v.shard.index}/${v.shard.count}` : ''}`);
    if (v.rerun) lines.push(`    re-run: ${v.rerun}`);
  }
  lines.push(`re-run: ${r.command}`);
  return lines.join('\n');
}

function summaryOf(r: RunReport): string {
  const kinds = Object.entries(r.violations.byKind).map(([k, n]) => `${k} ×${n}`).join(', ');
  return `${r.violations.count} violation(s)${kinds ? ` (${kinds})` : ''}; re-run: ${r.command}`;
}

/** `kind`: the command the testcase ran under (compare's per-mode runs are kind 'run' inside a compare). */
function runCase(r: RunReport, failOn: 'any' | 'safe', kind: string = r.kind): Case {
  const c: Case = {
    classname: `pmdtorture.${kind}.${r.config.scenario}`,
    name: `${r.config.scenario} × ${r.config.mode}`,
    timeS: r.timing.elapsedMs / 1000,
    properties: [['seed', r.seed], ['mode', r.config.mode], ['scenario', r.config.scenario], ['expected', r.expected], ['ops', r.ops.total], ['command', r.command]],
    out: `${r.ops.total} ops, ${r.ops.perSecond} ops/s, ${r.violations.count} violations, invariants ${r.invariants.ok ? 'ok' : 'FAILED'}`,
  };
  if (r.shard) c.properties.push(['shard', `${r.shard.index}/${r.shard.count}`]);
  // run --seeds and merges ran several seeds: `seed` alone would name only the list's first.
  if (r.seeds) c.properties.push(['seeds', r.seeds.join(',')]);
  if (r.status === 'crashed' || r.status === 'stalled') {
    c.error = { type: r.status, message: `${r.status}: ${r.errors[0] ?? ''}`.trim(), text: [...r.errors, `re-run: ${r.command}`].join('\n') };
  } else if (r.violations.count > 0 && (failOn === 'any' || r.expected === 'safe')) {
    c.failure = { type: 'violation', message: summaryOf(r), text: violationText(r) };
  } else if (!r.invariants.ok && r.status !== 'interrupted') {
    c.failure = { type: 'invariant', message: `invariants failed: ${r.invariants.errors[0] ?? ''}`, text: [...r.invariants.errors, `re-run: ${r.command}`].join('\n') };
  }
  return c;
}

function runSuite(r: RunReport): Suite {
  return {
    name: `pmdtorture ${r.kind}${r.merged ? ' (merged)' : ''}`,
    timestamp: r.timing.startedAt,
    timeS: r.timing.elapsedMs / 1000,
    properties: [['version', r.tool.version], ['node', r.tool.node], ['seed', r.seed], ['command', r.command]],
    cases: [runCase(r, 'any')],
  };
}

function compareSuite(d: CompareReport): Suite {
  return {
    name: `pmdtorture compare${(d as { merged?: unknown }).merged ? ' (merged)' : ''}`,
    timestamp: d.timing.startedAt,
    timeS: d.timing.elapsedMs / 1000,
    properties: [['version', d.tool.version], ['node', d.tool.node], ['seed', d.seed], ['command', d.command]],
    cases: d.runs.map((r) => runCase(r, 'safe', 'compare')),
  };
}

function huntSuite(h: HuntReport): Suite {
  const c: Case = {
    classname: `pmdtorture.hunt.${h.scenario}`,
    name: `${h.scenario} × ${h.mode}`,
    timeS: h.elapsedMs / 1000,
    properties: [['seed', h.seed], ['sched', h.sched], ['iterations', h.iterationsRun], ['mode', h.mode], ['scenario', h.scenario]],
    out: `${h.iterationsRun} iterations, ${h.totalSteps} steps${h.found ? `, found in seed ${h.failingSeed}` : ''}`,
  };
  if (h.rerun) c.properties.push(['command', h.rerun]);
  if (h.shard) c.properties.push(['shard', `${h.shard.index}/${h.shard.count}`]);
  if (h.foundBy) c.properties.push(['foundBy', foundByText(h.foundBy)]);
  const v = h.violation;
  if (h.found && v) {
    const replay = h.replayFile ? `pmdtorture replay ${h.replayFile} --shrink` : '';
    c.failure = {
      type: 'violation',
      message: `${v.kind} in ${v.op} at ${v.site}, cpu ${v.cpu}, step ${v.step} (seed ${h.failingSeed})${replay ? `; re-run: ${replay}` : ''}`,
      text: [`${v.kind} in ${v.op} at ${v.site}, cpu ${v.cpu}, step ${v.step}`, `failing seed: ${h.failingSeed}`, h.replayFile ? `replay file: ${h.replayFile}` : '', replay ? `re-run: ${replay}` : '', h.rerun ? `hunt: ${h.rerun}` : ''].filter(Boolean).join('\n'),
    };
  } else if (h.status === 'deadlock' || h.status === 'crashed') {
    c.error = { type: h.status, message: `${h.status} (seed ${h.failingSeed})`, text: JSON.stringify(h.deadlock ?? h.anomalies.slice(0, 3), null, 1) };
  }
  return { name: `pmdtorture hunt${h.merged ? ' (merged)' : ''}`, timestamp: h.startedAt ?? new Date().toISOString(), timeS: h.elapsedMs / 1000, properties: [['version', h.tool.version], ['seed', h.seed]], cases: [c] };
}

function suiteOf(d: AnyReport): Suite {
  if (d.kind === 'compare') return compareSuite(d);
  if (d.kind === 'hunt') return huntSuite(d);
  if (d.kind === 'scale') return scaleSuite(d, (r) => runCase(r, 'safe', 'scale'));
  return runSuite(d);
}

const t = (s: number): string => (Math.round(s * 1000) / 1000).toFixed(3);
const props = (p: Array<[string, string | number]>, ind: string): string =>
  p.length ? `${ind}<properties>\n${p.map(([k, v]) => `${ind}  <property name="${x(k)}" value="${x(v)}"/>`).join('\n')}\n${ind}</properties>\n` : '';

export function renderJunit(docs: readonly AnyReport[]): string {
  const suites = docs.map(suiteOf);
  const count = (f: (c: Case) => boolean): number => suites.reduce((n, s) => n + s.cases.filter(f).length, 0);
  const tests = count(() => true);
  const failures = count((c) => c.failure !== undefined);
  const errors = count((c) => c.error !== undefined);
  const time = suites.reduce((n, s) => n + s.timeS, 0);
  const host = hostname();
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${x(reportsTitle(docs))}" tests="${tests}" failures="${failures}" errors="${errors}" time="${t(time)}">`];
  suites.forEach((s, i) => {
    const f = s.cases.filter((c) => c.failure).length;
    const e = s.cases.filter((c) => c.error).length;
    out.push(`  <testsuite name="${x(s.name)}" id="${i}" tests="${s.cases.length}" failures="${f}" errors="${e}" skipped="0" time="${t(s.timeS)}" timestamp="${x(s.timestamp.replace(/Z$/, ''))}" hostname="${x(host)}">`);
    out.push(props(s.properties, '    ').replace(/\n$/, ''));
    for (const c of s.cases) {
      out.push(`    <testcase classname="${x(c.classname)}" name="${x(c.name)}" time="${t(c.timeS)}">`);
      out.push(props(c.properties, '      ').replace(/\n$/, ''));
      if (c.failure) out.push(`      <failure message="${x(c.failure.message)}" type="${x(c.failure.type)}">${x(c.failure.text)}</failure>`);
      if (c.error) out.push(`      <error message="${x(c.error.message)}" type="${x(c.error.type)}">${x(c.error.text)}</error>`);
      if (c.out) out.push(`      <system-out>${x(c.out)}</system-out>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  });
  out.push('</testsuites>', '');
  return out.filter((l) => l !== '').join('\n') + '\n';
}
