/**
 * Latency of every operation, per op kind: a log2 histogram per (CPU, op kind) in the arena's
 * `opLatency` region (bucket i counts [2^i, 2^(i+1)) ns, bucket 0 also below 2 ns, the last also
 * above), written by its CPU only and summed by the main thread like every model counter. The
 * memory is bounded (32 kinds × 32 buckets per CPU) whatever the run's length, and histograms add
 * exactly, so CPUs, soak rounds and merged shards combine without loss.
 *
 * One operation in OP_LATENCY_EVERY is timed (two performance.now() reads each). Timing every
 * one cost 5-19% of throughput here (bench/op-latency.ts, on against off in one run: a clock read
 * measured 150-600 ns on this loaded VM, not the ~50 ns of an idle host); the op kind is drawn
 * from the seeded stream independently of the op's index, so every kind is sampled alike and the
 * percentiles are those of the whole stream. The words are bumped with plain loads and stores:
 * only the owning CPU writes them, and the main thread reads them once the CPU has finished.
 */
import { type Arena, OP_LATENCY_WORDS } from '../../shared-mem/layout.js';
import { HIST_BUCKETS } from '../../locks/log2hist.js';

/** Op kinds a CPU's block has room for (ops-list.ts has fewer). */
export const OP_LATENCY_KINDS = OP_LATENCY_WORDS / HIST_BUCKETS;

/** log2 bucket of a latency in ns (the hist.ts convention shared with lock_stat and refhold). */
export function latencyBucket(ns: number): number {
  if (!(ns >= 2)) return 0;
  const b = 31 - Math.clz32(Math.min(ns, 0xffffffff) >>> 0);
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/** The default sampling period: 1 operation in this many is timed (a power of two). */
export const OP_LATENCY_EVERY = 4;

/** One CPU's recorder: start() before an operation, stop(op) after it. */
export class OpLatencyClock {
  private readonly mem: Int32Array;
  private readonly base: number;
  private readonly mask: number;
  private n = 0;
  /** performance.now() at the start of a timed operation; 0 when this one is not timed. */
  private t = 0;

  /** `every`: 1 operation in this many is timed (a power of two; 1 = all). */
  constructor(arena: Arena, cpu: number, every = OP_LATENCY_EVERY) {
    if (!(every >= 1 && (every & (every - 1)) === 0)) throw new RangeError(`op latency: every=${every} must be a power of two`);
    this.mem = arena.mem;
    this.base = arena.base('opLatency') + cpu * OP_LATENCY_WORDS;
    this.mask = every - 1;
  }

  start(): void {
    this.t = (++this.n & this.mask) === 0 ? performance.now() : 0;
  }

  stop(op: number): void {
    if (this.t === 0) return;
    const ns = (performance.now() - this.t) * 1e6;
    if (op < 0 || op >= OP_LATENCY_KINDS) return;
    const at = this.base + op * HIST_BUCKETS + latencyBucket(ns);
    this.mem[at] = this.mem[at]! + 1;
  }
}

/** Histograms per op kind summed over CPUs; kinds never timed are left out. */
export function readOpLatency(arena: Arena, names: readonly string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const base = arena.base('opLatency');
  names.forEach((name, op) => {
    if (op >= OP_LATENCY_KINDS) return;
    const h = new Array<number>(HIST_BUCKETS).fill(0);
    let n = 0;
    for (let c = 0; c < arena.config.cpus; c++) {
      const b = base + c * OP_LATENCY_WORDS + op * HIST_BUCKETS;
      for (let i = 0; i < HIST_BUCKETS; i++) {
        const x = Atomics.load(arena.mem, b + i);
        h[i]! += x;
        n += x;
      }
    }
    if (n > 0) out[name] = h;
  });
  return out;
}
