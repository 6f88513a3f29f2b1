/**
 * Latency per op kind in reports: p50/p99 from the summed log2 histograms the workers record
 * (src/workers/hugetlb/op-latency.ts). Merging (soak rounds, shards) adds the histograms and
 * recomputes the percentiles from the sum — never an average of percentiles.
 *
 * A quantile is interpolated inside the log2 bucket that holds it (ranks spread evenly over the
 * bucket's range): a deterministic function of the counts, so a merged report's percentile is
 * what one run of all the samples would have printed; its error is below the bucket's width.
 */
import { addHist, histTotal } from './hist.js';

export interface OpLatencyRow {
  /** Operations timed (1 in OP_LATENCY_EVERY of each CPU's stream). */
  count: number;
  /** Median and 99th percentile, µs. */
  p50Us: number;
  p99Us: number;
  /** log2 ns histogram (bucket i = [2^i, 2^(i+1)) ns). */
  hist: number[];
}

/** Per op kind. */
export type OpLatencyJson = Record<string, OpLatencyRow>;

/** The p-th quantile (0 < p <= 1) of a log2 ns histogram, µs, interpolated within its bucket. */
export function latencyQuantileUs(h: readonly number[], p: number): number {
  const n = histTotal(h);
  if (n === 0) return 0;
  const want = Math.max(1, Math.ceil(n * p));
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    const c = h[i]!;
    if (seen + c >= want) {
      const lo = i === 0 ? 0 : 2 ** i;
      const hi = 2 ** (i + 1);
      const ns = lo + ((want - seen) / c) * (hi - lo);
      return Math.round(ns) / 1000;
    }
    seen += c;
  }
  return 2 ** h.length / 1000;
}

export function opLatencyRow(hist: readonly number[]): OpLatencyRow {
  return { count: histTotal(hist), p50Us: latencyQuantileUs(hist, 0.5), p99Us: latencyQuantileUs(hist, 0.99), hist: [...hist] };
}

/** The report form of the engine's histograms. */
export function opLatencyJson(hists: Readonly<Record<string, readonly number[]>>): OpLatencyJson {
  return Object.fromEntries(Object.entries(hists).map(([op, h]) => [op, opLatencyRow(h)]));
}

/** acc + x, exactly (histograms added, percentiles recomputed); either may be absent. */
export function addOpLatency(acc: OpLatencyJson | undefined, x: OpLatencyJson | undefined): OpLatencyJson | undefined {
  if (x === undefined) return acc;
  const out: OpLatencyJson = { ...(acc ?? {}) };
  for (const [op, row] of Object.entries(x)) {
    const a = out[op];
    out[op] = opLatencyRow(a ? addHist([...a.hist], row.hist) : row.hist);
  }
  return out;
}

/** A quantile for a table cell: 3 significant digits, µs. */
export function fmtUs(us: number): string {
  return us >= 100 ? String(Math.round(us)) : String(+us.toPrecision(3));
}

/** Column heads and cells for an op-kind table (empty when the report has no latency). */
export function latencyHeads(l: OpLatencyJson | undefined): string[] {
  return l ? ['p50 µs', 'p99 µs'] : [];
}

export function latencyCells(l: OpLatencyJson | undefined, op: string): string[] {
  if (!l) return [];
  const row = l[op];
  return row ? [fmtUs(row.p50Us), fmtUs(row.p99Us)] : ['-', '-'];
}

/** compare: p50/p99 per op kind and mode. */
export type LatencyTable = Record<string, Record<string, { p50Us: number; p99Us: number }>>;

export function latencyTable(runs: ReadonlyArray<{ config: { mode: string }; opLatency?: OpLatencyJson | undefined }>): LatencyTable | undefined {
  if (!runs.some((r) => r.opLatency)) return undefined;
  const out: LatencyTable = {};
  for (const r of runs) {
    for (const [op, row] of Object.entries(r.opLatency ?? {})) (out[op] ??= {})[r.config.mode] = { p50Us: row.p50Us, p99Us: row.p99Us };
  }
  return out;
}

/** compare's text: one row per op kind, `p50 / p99` per mode. */
export function latencyRows(t: LatencyTable, modes: readonly string[]): string[][] {
  return Object.entries(t).map(([op, per]) => [op, ...modes.map((m) => (per[m] ? `${fmtUs(per[m].p50Us)} / ${fmtUs(per[m].p99Us)}` : '-'))]);
}

/** acc += x for the engine's raw histograms per op kind (soak rounds). Returns acc. */
export function addOpHists(acc: Record<string, number[]>, x: Readonly<Record<string, readonly number[]>>): Record<string, number[]> {
  for (const [op, h] of Object.entries(x)) acc[op] = addHist(acc[op] ?? [], h);
  return acc;
}
