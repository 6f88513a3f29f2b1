/**
 * log2 histograms (bucket i counts [2^i, 2^(i+1)) ns; bucket 0 also below, the last also above):
 * the form every latency distribution takes in the arena (lock_stat wait/hold, RCU grace periods,
 * IPI latency, walker reference age). Summing histograms is exact, so merged reports (soak rounds,
 * shards) compute their percentiles from the merged counts, never by averaging percentiles.
 */

/** acc += x, bucket by bucket (acc grows to x's length). */
export function addHist(acc: number[], x: readonly number[]): number[] {
  for (let i = 0; i < x.length; i++) acc[i] = (acc[i] ?? 0) + (x[i] ?? 0);
  return acc;
}

export function histTotal(h: readonly number[]): number {
  let n = 0;
  for (const x of h) n += x;
  return n;
}

/**
 * The p-th quantile in µs: the midpoint of the bucket holding it, clamped to [minUs, maxUs] when
 * those are known (> 0). The same rule as lock_stat's own percentiles.
 */
export function histQuantileUs(h: readonly number[], p: number, minUs = 0, maxUs = 0): number {
  const n = histTotal(h);
  if (n === 0) return 0;
  const want = Math.max(1, Math.ceil(n * p));
  let seen = 0;
  let i = 0;
  for (; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= want) break;
  }
  let us = (i === 0 ? 1 : 1.5 * 2 ** i) / 1000;
  if (maxUs > 0) us = Math.min(us, maxUs);
  if (minUs > 0) us = Math.max(us, minUs);
  return us;
}

/** Bucket i's lower bound in ns. */
export const bucketLowNs = (i: number): number => (i === 0 ? 0 : 2 ** i);

/** A readable duration for a bucket bound in ns: 512 ns, 4.1 µs, 2.1 ms, 1.07 s. */
export function fmtNs(ns: number): string {
  if (ns < 1000) return `${Math.round(ns)} ns`;
  if (ns < 1e6) return `${+(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${+(ns / 1e6).toPrecision(3)} ms`;
  return `${+(ns / 1e9).toPrecision(3)} s`;
}
