/**
 * exit_mmap latency, whole and under mmap_lock, in log-linear histograms fine enough for a p50
 * ratio between kernel versions (the fork/exit storm's figure, issue 14): EXIT_SUB buckets per
 * octave of µs (9% wide), from 1 µs (bucket 0 also below) over EXIT_OCTAVES octaves (the last
 * also above). The log2 op-latency histograms (op-latency.ts) are a factor of 2 wide: two
 * medians 1.4× apart can share a bucket. Kept in the CPU's `counters` block after stats.ts's
 * words, written by its CPU only and summed exactly by the main thread, like every counter.
 */
import type { Arena } from '../../shared-mem/layout.js';
import { COUNTER_WORDS } from '../../shared-mem/layout.js';
import { counterAt } from './stats.js';

const EXIT_SUB = 8;
const EXIT_OCTAVES = 16;
export const EXIT_BUCKETS = EXIT_SUB * EXIT_OCTAVES;
/** Counter words of the two histograms: the whole exit_mmap, then its part under mmap_lock. */
export const EXIT_HIST_BASE = 576;
export const EXIT_HIST_WHOLE = EXIT_HIST_BASE;
export const EXIT_HIST_LOCKED = EXIT_HIST_BASE + EXIT_BUCKETS;
if (EXIT_HIST_LOCKED + EXIT_BUCKETS > COUNTER_WORDS) throw new Error('exit-latency: histograms do not fit the counters block');

/** Bucket of a latency in µs: octave * EXIT_SUB + the linear sub-bucket inside it. */
export function exitBucket(us: number): number {
  if (!(us >= 1)) return 0;
  const o = Math.floor(Math.log2(us));
  if (o >= EXIT_OCTAVES) return EXIT_BUCKETS - 1;
  return o * EXIT_SUB + Math.min(EXIT_SUB - 1, Math.floor((us / 2 ** o - 1) * EXIT_SUB));
}

/** Lower bound (µs) of bucket b. */
function bucketLow(b: number): number {
  const o = Math.floor(b / EXIT_SUB);
  return 2 ** o * (1 + (b % EXIT_SUB) / EXIT_SUB);
}

/** Histogram at `field` of every CPU's counters, summed. */
export function readExitHist(arena: Arena, field: number): number[] {
  const h = new Array<number>(EXIT_BUCKETS).fill(0);
  for (let c = 0; c < arena.config.cpus; c++) {
    const at = counterAt(arena, c, field);
    for (let i = 0; i < EXIT_BUCKETS; i++) h[i]! += Atomics.load(arena.mem, at + i);
  }
  return h;
}

/** The p-quantile (0 < p < 1) in µs, interpolated linearly inside its bucket; 0 when empty. */
export function exitQuantileUs(h: readonly number[], p: number): number {
  const total = h.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const want = p * total;
  let seen = 0;
  for (let b = 0; b < h.length; b++) {
    const n = h[b]!;
    if (n > 0 && seen + n >= want) return bucketLow(b) + ((want - seen) / n) * (bucketLow(b + 1) - bucketLow(b));
    seen += n;
  }
  return bucketLow(h.length);
}
