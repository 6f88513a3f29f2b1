/**
 * Log2 latency histograms kept in arena words: bucket i counts samples in [2^i, 2^(i+1)) µs
 * (bucket 0 also takes < 1 µs). Cheap to update from any CPU, summable, and good enough for
 * p50/p99 to within a factor of two — which is what a "p99 < 10 ms" target needs.
 */
export const HIST_BUCKETS = 32;

export function histBucket(us: number): number {
  if (!(us >= 2)) return 0;
  const b = 31 - Math.clz32(Math.min(us, 0x7fffffff) | 0);
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

export function histAdd(mem: Int32Array, base: number, us: number): void {
  Atomics.add(mem, base + histBucket(us), 1);
}

export function histRead(mem: Int32Array, base: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < HIST_BUCKETS; i++) out.push(Atomics.load(mem, base + i));
  return out;
}

/** Upper bound (µs) of the bucket holding the p-th quantile (0 < p ≤ 1); 0 when empty. */
export function histPercentile(hist: readonly number[], p: number): number {
  let total = 0;
  for (const n of hist) total += n;
  if (total === 0) return 0;
  const want = Math.ceil(total * p);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= want) return 2 ** (i + 1);
  }
  return 2 ** hist.length;
}
