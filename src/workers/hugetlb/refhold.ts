/**
 * How long walkers held a page-table reference before dereferencing it: the width of the race
 * windows as they actually occurred. hugetlb_walk() takes the reference (Kernel.hugetlbWalk),
 * every KASAN check is a dereference of it (Kernel.check); the time between the two goes into a
 * per-CPU log2 histogram (bucket i = [2^i, 2^(i+1)) ns, bucket 0 also < 2 ns, the last also
 * above), kept in unused words of the CPU's `counters` block (written by its CPU only, summed by
 * the main thread, like every other model counter). 1 walk in 2^REFHOLD_SHIFT is timed: a clock
 * read costs ~50-80 ns, a walk ~200.
 */
import type { Arena } from '../../shared-mem/layout.js';
import { COUNTER_WORDS } from '../../shared-mem/layout.js';
import { counterAt } from './stats.js';

/** First counter word of the histogram (stats.ts uses words 0..~340 and 448..511 of COUNTER_WORDS). */
export const REFHOLD_BASE = 384;
export const REFHOLD_BUCKETS = 32;
/**
 * log2 of the sampling period: 1 walk in 16 is timed (a walk costs ~200 ns, a clock read 50-80:
 * timing 1 in 4 cost a sixth of the walk; a soak still times hundreds of thousands a second).
 */
export const REFHOLD_SHIFT = 4;
if (REFHOLD_BASE + REFHOLD_BUCKETS > COUNTER_WORDS) throw new Error('refhold: histogram does not fit the counters block');

export function refHoldBucket(ns: number): number {
  if (!(ns >= 2)) return 0;
  const b = 31 - Math.clz32(Math.min(ns, 0xffffffff) >>> 0);
  return b < REFHOLD_BUCKETS ? b : REFHOLD_BUCKETS - 1;
}

/** Per-CPU clock of the current reference: started by a sampled walk, read at each dereference. */
export class RefHoldClock {
  private n = 0;
  /** performance.now() of the sampled walk, 0 when this walk is not timed. */
  at = 0;
  /** Returns the clock read for a timed walk (the trace reuses it), else 0. */
  start(): number {
    return (this.at = (++this.n & ((1 << REFHOLD_SHIFT) - 1)) === 0 ? performance.now() : 0);
  }
  /** The counter field to bump for this dereference, or -1 when the walk is not timed. */
  field(): number {
    if (this.at === 0) return -1;
    return REFHOLD_BASE + refHoldBucket((performance.now() - this.at) * 1e6);
  }
}

export interface RefHoldStats {
  /** Histogram of reference age at dereference, bucket i = [2^i, 2^(i+1)) ns. */
  hist: number[];
  /** Dereferences timed (the sum of hist). */
  samples: number;
  /** One walk in sampleEvery is timed. */
  sampleEvery: number;
}

export function readRefHold(arena: Arena): RefHoldStats {
  const hist = new Array<number>(REFHOLD_BUCKETS).fill(0);
  for (let c = 0; c < arena.config.cpus; c++) {
    const b = counterAt(arena, c, REFHOLD_BASE);
    for (let i = 0; i < REFHOLD_BUCKETS; i++) hist[i]! += Atomics.load(arena.mem, b + i);
  }
  return { hist, samples: hist.reduce((x, y) => x + y, 0), sampleEvery: 1 << REFHOLD_SHIFT };
}
