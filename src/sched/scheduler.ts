/**
 * The narrow scheduler interface of controlled runs (shuttle's `Scheduler` trait, in spirit):
 * at every step the CPU holding the turn asks "who runs next?" given the runnable CPUs and
 * itself. One file per strategy: random.ts, pct.ts, replay.ts.
 *
 * Only one worker runs at a time and the decision is made by whichever worker holds the turn,
 * so a scheduler keeps ALL of its state in a word array inside the scheduler's shared buffer
 * (see controlled-waiter.ts), read and written with Atomics like all shared memory here; the
 * turn hand-off (a sequentially consistent Atomics store/load pair) orders them between
 * workers. The main thread initialises that state once from the seed; a decision therefore
 * depends only on the seed and the schedule so far — never on timing.
 */
import { Prng, Stream } from '../shared-mem/prng.js';
import type { StrategyName, StrategyParams } from './registry.js';

/** A recorded controlled schedule: seed + the CPU chosen at every step, run-length encoded. */
export interface Schedule {
  seed: number;
  /** [cpu, count] pairs: `count` consecutive steps chose `cpu`. */
  steps: Array<[number, number]>;
}

export interface Scheduler {
  readonly name: string;
  /**
   * The CPU to run from this step on. `runnable` is non-empty and ascending; `current` is the
   * CPU deciding (the one holding the turn), which is in `runnable` unless it just blocked or
   * finished. `step` counts decisions from 0.
   */
  next(runnable: readonly number[], current: number, step: number): number;
  /** Next uint32 from the scheduler's own stream. */
  nextRandom(): number;
}

/** Words of scheduler state every strategy may use (the buffer reserves this many). */
export const SCHED_STATE_WORDS = 256;
/** Most CPUs a controlled run supports (PCT keeps a priority per CPU in the state words). */
export const SCHED_MAX_CPUS = 64;

/**
 * xoshiro128** over four words of a shared array (the same generator as shared-mem/prng.ts,
 * seeded from Prng(seed, -1, Stream.sched), so the scheduler stream never touches the CPUs').
 */
export class SharedRng {
  constructor(
    private readonly w: Int32Array,
    private readonly off: number,
  ) {}

  static init(w: Int32Array, off: number, seed: number, salt = 0): void {
    const p = new Prng((seed ^ Math.imul(salt, 0x2545f491)) >>> 0, -1, Stream.sched);
    for (let i = 0; i < 4; i++) Atomics.store(w, off + i, p.nextU32() | 0);
    if ((Atomics.load(w, off) | Atomics.load(w, off + 1) | Atomics.load(w, off + 2) | Atomics.load(w, off + 3)) === 0) Atomics.store(w, off, 1);
  }

  nextU32(): number {
    const w = this.w;
    const o = this.off;
    let a = Atomics.load(w, o);
    let b = Atomics.load(w, o + 1);
    let c = Atomics.load(w, o + 2);
    let d = Atomics.load(w, o + 3);
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    Atomics.store(w, o, a);
    Atomics.store(w, o + 1, b);
    Atomics.store(w, o + 2, c);
    Atomics.store(w, o + 3, d);
    return r;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Plain description of a scheduler: crosses structured clone into the workers. */
export type SchedSpec = ({ kind: StrategyName } & StrategyParams) | { kind: 'replay'; seed: number; steps: Array<[number, number]> };

/** Switches between CPUs in a schedule (preemptions and hand-offs at a block alike). */
export function countSwitches(steps: ReadonlyArray<readonly [number, number]>): number {
  return Math.max(0, steps.length - 1);
}

/** Total steps of a run-length encoded schedule. */
export function totalSteps(steps: ReadonlyArray<readonly [number, number]>): number {
  let n = 0;
  for (const [, c] of steps) n += c;
  return n;
}

/** Compact printable form: "0x12 1x3 0x40". */
export function formatSteps(steps: ReadonlyArray<readonly [number, number]>): string {
  return steps.map(([c, n]) => `${c}x${n}`).join(' ');
}
