/** Run-control words in the `ctl` region. */
import type { Arena } from './layout.js';

export const Ctl = {
  /** 0 = running, 1 = stop requested (finish the current op), 2 = abort (unwind at the next wait). */
  STOP: 0,
  /** Start barrier: CPUs arrived. */
  ARRIVED: 16,
  /** Start barrier: released generation. */
  GO: 17,
  /** Violations recorded so far (all kinds). */
  VIOLATIONS: 32,
  /** performance.timeOrigin-relative start of the run, in ms (set by the main thread). */
  START_MS: 33,
} as const;

export const StopState = { running: 0, stop: 1, abort: 2 } as const;

export function ctlAt(arena: Arena, field: number): number {
  return arena.base('ctl') + field;
}

export function stopState(arena: Arena): number {
  return Atomics.load(arena.mem, arena.base('ctl') + Ctl.STOP);
}

export function requestStop(arena: Arena, how: number = StopState.stop): void {
  const at = arena.base('ctl') + Ctl.STOP;
  // Never downgrade an abort to a stop.
  for (;;) {
    const cur = Atomics.load(arena.mem, at);
    if (cur >= how) return;
    if (Atomics.compareExchange(arena.mem, at, cur, how) === cur) break;
  }
  Atomics.notify(arena.mem, at);
}
