/** The scaling study's human report: one summary row per (mode, CPU count), then latency per op kind. */
import { int, table } from './report-text.js';
import { fmtUs } from './op-latency.js';
import type { Paint } from './color.js';
import type { ScaleCell, ScaleReport } from './scale-study.js';

/** A CPU count as printed: oversubscribed counts carry a '*' (explained under the table). */
export const cpusLabel = (c: Pick<ScaleCell, 'cpus' | 'oversubscribed'>): string => `${c.cpus}${c.oversubscribed ? '*' : ''}`;

const pq = (l: { p50Us: number; p99Us: number } | undefined): string => (l ? `${fmtUs(l.p50Us)} / ${fmtUs(l.p99Us)}` : '-');

/** One line per finished cell, as the study goes. */
export function cellLine(c: ScaleCell): string {
  return `  ${c.mode.padEnd(10)} ${`${cpusLabel(c)} CPUs`.padEnd(9)} ${c.status.padEnd(11)} ${int(c.opsPerSecond)} ops/s${c.ratioToFirst !== null ? ` (x${c.ratioToFirst.toFixed(2)} of the first mode)` : ''}, exit p50 ${c.latency['exit'] ? `${fmtUs(c.latency['exit'].p50Us)} µs` : '-'}${c.oversubscribed ? ', oversubscribed' : ''}`;
}

export function formatScale(d: ScaleReport, p: Paint): string {
  const c = d.config;
  const out: string[] = [p.bold(`pmdtorture scale: scenario ${c.scenario}, modes ${c.modes.join(', ')}, CPUs ${c.cpus.join(', ')}${(c.worlds ?? 1) > 1 ? ` in ${c.worlds} worlds` : ''} on ${c.cores} cores, seed ${d.seed}, ${c.ops > 0 ? `${int(c.ops)} ops` : `${c.durationMs ?? 0} ms`} per run`), ''];
  const rows = d.cells.map((x) => [
    x.mode, cpusLabel(x), x.status, int(x.opsPerSecond), x.ratioToFirst !== null ? x.ratioToFirst.toFixed(2) : '-', x.ipi.perOp.toFixed(3), pq(x.latency['exit']), pq(x.latency['munmap']), pq(x.latency['fault']),
    x.topLocks.map((l) => `${l.name}${l.side === 'read' ? '-R' : ''} ${int(l.waitTotalUs)}`).join(', ') || '-',
  ]);
  out.push('per mode and CPU count (latency p50 / p99 µs; top waits: lock class and µs waited in total):', ...table(['mode', 'cpus', 'status', 'ops/s', `vs ${c.modes[0] ?? ''}`, 'IPIs/op', 'exit', 'munmap', 'fault', 'top waits'], rows, 3).map((l) => `  ${l}`));
  if (d.cells.some((x) => x.oversubscribed)) out.push(`  * oversubscribed: more CPUs than the ${c.cores} cores; the host scheduler, not the model, sets wait and IPI costs there`);
  out.push('');
  const ops = [...new Set(d.cells.flatMap((x) => Object.keys(x.latency)))];
  if (ops.length) {
    const cols = d.cells.map((x) => `${x.mode} ${cpusLabel(x)}`);
    out.push('latency per op kind, p50 / p99 µs:', ...table(['op', ...cols], ops.map((op) => [op, ...d.cells.map((x) => pq(x.latency[op]))])).map((l) => `  ${l}`), '');
  }
  if (d.status === 'interrupted') out.push(p.red(`interrupted: ${d.cells.length} of ${c.modes.length * c.cpus.length} runs measured`));
  out.push(`re-run: ${d.command}`);
  return out.join('\n');
}
