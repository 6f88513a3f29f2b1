/**
 * PCT — probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
 * ASPLOS 2010). Every CPU gets a distinct random initial priority in [d, d+n); d−1 change
 * points are drawn uniformly from [1, k] (k = estimated steps of the run); at every step the
 * highest-priority runnable CPU runs, and when the run reaches change point j (0-based) the CPU
 * holding the turn drops to priority d−1−j, below every initial priority. A bug of depth d is
 * found in one run with probability at least 1/(n·k^(d−1)).
 *
 * State words: [0,4) rng · 4 n · 5 d · 6 next change point index · [8, 8+n) priorities ·
 * [8+n, 8+n+d−1) change points, ascending.
 */
import { type Scheduler, SCHED_MAX_CPUS, SCHED_STATE_WORDS, SharedRng } from './scheduler.js';

const N = 4;
const D = 5;
const NEXT_CP = 6;
const PRIO = 8;

export const PCT_MAX_DEPTH = SCHED_STATE_WORDS - PRIO - SCHED_MAX_CPUS;

export class PctScheduler implements Scheduler {
  readonly name = 'pct' as const;
  private readonly rng: SharedRng;
  private readonly n: number;
  private readonly cps: number;

  constructor(private readonly w: Int32Array) {
    this.rng = new SharedRng(w, 0);
    this.n = Atomics.load(w, N);
    this.cps = PRIO + this.n;
  }

  /** Main thread, once per run: priorities and change points from the seed. */
  static init(w: Int32Array, seed: number, cpus: number, depth: number, estSteps: number): void {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > SCHED_MAX_CPUS) throw new RangeError(`pct: cpus=${cpus} must be in [1, ${SCHED_MAX_CPUS}]`);
    if (!Number.isInteger(depth) || depth < 1 || depth > PCT_MAX_DEPTH) throw new RangeError(`pct: depth=${depth} must be in [1, ${PCT_MAX_DEPTH}]`);
    const k = Math.max(1, Math.floor(estSteps));
    SharedRng.init(w, 0, seed, 2);
    const rng = new SharedRng(w, 0);
    Atomics.store(w, N, cpus);
    Atomics.store(w, D, depth);
    Atomics.store(w, NEXT_CP, 0);
    // Distinct initial priorities d .. d+n-1 in random order (Fisher–Yates).
    const prio = Array.from({ length: cpus }, (_, i) => depth + i);
    for (let i = cpus - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [prio[i], prio[j]] = [prio[j]!, prio[i]!];
    }
    prio.forEach((p, i) => Atomics.store(w, PRIO + i, p));
    // d-1 change points in [1, k], distinct where k allows it, ascending.
    const cps = new Set<number>();
    const want = depth - 1;
    for (let tries = 0; cps.size < want && tries < want * 64; tries++) cps.add(1 + rng.below(k));
    const sorted = [...cps].sort((a, b) => a - b);
    for (let j = 0; j < want; j++) Atomics.store(w, PRIO + cpus + j, sorted[j] ?? 0x7fffffff);
  }

  next(runnable: readonly number[], current: number, step: number): number {
    const w = this.w;
    const d = Atomics.load(w, D);
    let j = Atomics.load(w, NEXT_CP);
    // Change points at or before this step lower the priority of the CPU holding the turn.
    while (j < d - 1 && Atomics.load(w, this.cps + j) <= step) {
      if (current >= 0) Atomics.store(w, PRIO + current, d - 1 - j);
      j++;
    }
    Atomics.store(w, NEXT_CP, j);
    let best = runnable[0]!;
    let bp = Atomics.load(w, PRIO + best);
    for (let i = 1; i < runnable.length; i++) {
      const c = runnable[i]!;
      const p = Atomics.load(w, PRIO + c);
      if (p > bp) {
        bp = p;
        best = c;
      }
    }
    return best;
  }

  nextRandom(): number {
    return this.rng.nextU32();
  }

  /** Current priorities (tests, reports). */
  priorities(): number[] {
    return Array.from({ length: this.n }, (_, i) => Atomics.load(this.w, PRIO + i));
  }

  /** Change points reached so far: priority changes applied (at most d−1). */
  changesApplied(): number {
    return Atomics.load(this.w, NEXT_CP);
  }

  changePoints(): number[] {
    return Array.from({ length: Math.max(0, Atomics.load(this.w, D) - 1) }, (_, j) => Atomics.load(this.w, this.cps + j));
  }
}
