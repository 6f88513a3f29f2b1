/**
 * The scaling study (`pmdtorture scale`): one workload and seed over a list of CPU counts and
 * modes. Per (mode, CPU count) a cell: ops/s, latency p50/p99 per op kind, IPIs per operation,
 * the lock classes that waited most, and the ratio of its ops/s to the first mode's at the same
 * CPU count. CPU counts above the host's cores are run and marked oversubscribed: there the host
 * scheduler, not the model, sets what a wait or an IPI costs.
 */
import { UsageError } from '../engine/exit.js';
import { MODE_NAMES } from '../workers/hugetlb/modes.js';
import type { RunStatus } from '../engine/engine.js';
import type { RunReport } from './report-json.js';
import type { MultiRunHead } from './multi-run.js';

export const SCALE_MAX_CPUS = 64;

/** `--cpus 1,2,4`: distinct CPU counts in 1..64, in the order given; anything else is refused in one line. */
export function parseCpuList(v: unknown): number[] {
  const s = String(v ?? '').trim();
  const accepted = `accepted: distinct CPU counts 1..${SCALE_MAX_CPUS}, comma-separated, e.g. 1,2,4`;
  if (s === '' || v === true) throw new UsageError('--cpus', `needs a list (${accepted})`);
  const out: number[] = [];
  for (const part of s.split(',')) {
    const w = part.trim();
    if (!/^\d+$/.test(w)) throw new UsageError('--cpus', `'${w}' is not a CPU count (${accepted})`);
    const n = Number(w);
    if (n === 0) throw new UsageError('--cpus', `0 CPUs cannot run anything (${accepted})`);
    if (n > SCALE_MAX_CPUS) throw new UsageError('--cpus', `${n} is more than ${SCALE_MAX_CPUS} CPUs (${accepted})`);
    if (out.includes(n)) throw new UsageError('--cpus', `${n} is listed twice (${accepted})`);
    out.push(n);
  }
  return out;
}

/**
 * Default modes of a study: the kernel-version modes when the registry has them (named after
 * their version, e.g. 6.2; platform variants such as 6.2-x86 only when asked for), else 6.1's
 * vma lock, the RFC's IRQ-off walker (the mode with IPIs) and 6.2 as merged.
 */
export function defaultScaleModes(names: readonly string[] = MODE_NAMES): string[] {
  const versions = names.filter((n) => /^\d+\.\d+$/.test(n));
  return versions.length >= 2 ? versions : ['vma-lock', 'walker-irq', 'final'].filter((m) => names.includes(m));
}

export interface ScaleLock {
  name: string;
  side: 'read' | 'write';
  /** Total time waited for it, µs (lock_stat waittime-total). */
  waitTotalUs: number;
  contentions: number;
  waitP99Us: number;
}

export interface ScaleCell {
  mode: string;
  cpus: number;
  oversubscribed: boolean;
  status: RunStatus;
  ops: number;
  runMs: number;
  opsPerSecond: number;
  /** opsPerSecond / the first mode's at the same CPU count (null while that one is missing or 0). */
  ratioToFirst: number | null;
  latency: Record<string, { p50Us: number; p99Us: number; count: number }>;
  ipi: { sent: number; acks: number; shootdowns: number; perOp: number; p99Us: number };
  /**
   * IPIs sent per operation of each kind that sent any, when the run counts them per op kind
   * (RunReport.ipi.byOp, issue 13's per-op IPI accounting; absent in reports without it).
   */
  ipiPerOpKind?: Record<string, number>;
  topLocks: ScaleLock[];
  violations: number;
}

export interface ScaleReport extends MultiRunHead {
  kind: 'scale';
  config: { scenario: string; modes: string[]; cpus: number[]; worlds?: number; cores: number; ops: number; durationMs: number | null };
  /** Cells in the order run (CPU count outer, mode inner); an interrupted study has fewer. */
  cells: ScaleCell[];
  /** The run report of every cell, same order. */
  runs: RunReport[];
}

const TOP_LOCKS = 3;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** IPIs sent per operation of each kind, from the run's per-op IPI counts (ipi.byOp) where it has them. */
function ipiPerOpKind(r: RunReport): Record<string, number> | undefined {
  const byOp = r.ipi.byOp;
  if (byOp === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const [op, x] of Object.entries(byOp)) {
    const n = r.ops.perOp[op] ?? 0;
    if (n > 0 && x.sent > 0) out[op] = Math.round((x.sent / n) * 1e6) / 1e6;
  }
  return out;
}

/** One cell from one run's report; ratioToFirst is set by ratios(). */
export function scaleCell(r: RunReport): ScaleCell {
  const top = [...r.lockstat].filter((l) => l.waitTotal > 0).sort((a, b) => b.waitTotal - a.waitTotal).slice(0, TOP_LOCKS);
  const per = ipiPerOpKind(r);
  return {
    mode: r.config.mode,
    cpus: r.config.cpus,
    oversubscribed: r.config.oversubscribed,
    status: r.status,
    ops: r.ops.total,
    runMs: r.timing.runMs ?? r.timing.elapsedMs,
    opsPerSecond: r.ops.perSecond,
    ratioToFirst: null,
    latency: Object.fromEntries(Object.entries(r.opLatency ?? {}).map(([op, l]) => [op, { p50Us: l.p50Us, p99Us: l.p99Us, count: l.count }])),
    ipi: { sent: r.ipi.sent, acks: r.ipi.acks, shootdowns: r.ipi.shootdowns, perOp: r.ops.total > 0 ? Math.round((r.ipi.sent / r.ops.total) * 1e6) / 1e6 : 0, p99Us: r.ipi.p99Us },
    ...(per ? { ipiPerOpKind: per } : {}),
    topLocks: top.map((l) => ({ name: l.name, side: l.side, waitTotalUs: r3(l.waitTotal), contentions: l.contentions, waitP99Us: l.waitP99 })),
    violations: r.violations.count,
  };
}

/** Sets every cell's ratio to the first mode's ops/s at its CPU count. */
export function setRatios(cells: ScaleCell[], modes: readonly string[]): void {
  for (const c of cells) {
    const base = cells.find((x) => x.mode === modes[0] && x.cpus === c.cpus);
    c.ratioToFirst = base && base.opsPerSecond > 0 ? r3(c.opsPerSecond / base.opsPerSecond) : null;
  }
}

export function cellsOf(runs: readonly RunReport[], modes: readonly string[]): ScaleCell[] {
  const cells = runs.map(scaleCell);
  setRatios(cells, modes);
  return cells;
}
