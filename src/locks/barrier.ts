/**
 * Reusable generation barrier: word 0 counts arrivals, word 1 is the generation. The last CPU
 * to arrive resets the count, bumps the generation and wakes the others, who sleep on it. The
 * ctl region's ARRIVED/GO pair is laid out as one of these (the run's start barrier).
 */
import type { LockCtx } from './ctx.js';

export const BARRIER_WORDS = 2;

/** Wait until `parties` CPUs have arrived. Returns true on exactly one CPU (the last to arrive). */
export function barrierWait(ctx: LockCtx, at: number, parties: number): boolean {
  const m = ctx.mem;
  const gen = Atomics.load(m, at + 1);
  if (Atomics.add(m, at, 1) === parties - 1) {
    // Reset before the bump: a CPU leaving this generation may arrive at the next at once.
    Atomics.store(m, at, 0);
    Atomics.add(m, at + 1, 1);
    // Wake all: a CPU already released (it saw the bump while spinning) may be asleep on the
    // next generation, and a notify counted to parties - 1 could land on it instead.
    if (parties > 1) ctx.wake(at + 1, Infinity);
    return true;
  }
  while (Atomics.load(m, at + 1) === gen) ctx.block(at + 1, gen);
  return false;
}
