/** Random scheduler (shuttle's RandomScheduler): at every step, a uniformly random runnable CPU. */
import { type Scheduler, SharedRng } from './scheduler.js';

export class RandomScheduler implements Scheduler {
  readonly name = 'random' as const;
  private readonly rng: SharedRng;

  constructor(state: Int32Array) {
    this.rng = new SharedRng(state, 0);
  }

  /** Main thread, once per run: seed the state words. */
  static init(state: Int32Array, seed: number): void {
    SharedRng.init(state, 0, seed, 1);
  }

  next(runnable: readonly number[], _current: number, _step: number): number {
    // One draw per real choice: a lone runnable CPU costs nothing.
    return runnable.length === 1 ? runnable[0]! : runnable[this.rng.below(runnable.length)]!;
  }

  nextRandom(): number {
    return this.rng.nextU32();
  }
}
