/**
 * BUSTED on purpose: two twins of the reusable generation barrier (locks/barrier.ts), each
 * breaking one property the barrier torture (workers/tasks/barriertorture.ts) checks. Same
 * signature and word layout (BARRIER_WORDS: arrivals, generation) as the correct one.
 *
 * - `barrierWaitEarly`: an off-by-one in the release test: the generation is bumped when
 *   parties - 1 CPUs have arrived, so they pass while the last is still on its way (and its
 *   arrival counts towards the next generation). Caught by the "everyone arrived" check.
 * - `barrierWaitNoWake`: the last arriver resets the count and bumps the generation but never
 *   wakes the sleepers: a lost wake-up. A CPU that saw the bump while spinning passes; one already
 *   asleep (a futex, or the torture harness's strict waiter) sleeps for ever. Caught by the bound.
 */
import type { LockCtx } from '../ctx.js';

export { BARRIER_WORDS } from '../barrier.js';

export function barrierWaitEarly(ctx: LockCtx, at: number, parties: number): boolean {
  const m = ctx.mem;
  const gen = Atomics.load(m, at + 1);
  // The bug: `parties - 2`, one arrival short (with 2 parties nobody waits at all).
  if (Atomics.add(m, at, 1) === Math.max(0, parties - 2)) {
    Atomics.store(m, at, 0);
    Atomics.add(m, at + 1, 1);
    if (parties > 1) ctx.wake(at + 1, Infinity); // the wake-ups are right: only the count is wrong
    return true;
  }
  while (Atomics.load(m, at + 1) === gen) ctx.block(at + 1, gen);
  return false;
}

export function barrierWaitNoWake(ctx: LockCtx, at: number, parties: number): boolean {
  const m = ctx.mem;
  const gen = Atomics.load(m, at + 1);
  if (Atomics.add(m, at, 1) === parties - 1) {
    Atomics.store(m, at, 0);
    Atomics.add(m, at + 1, 1);
    // The bug: no ctx.wake(at + 1, Infinity) for the CPUs asleep on the generation.
    return true;
  }
  while (Atomics.load(m, at + 1) === gen) ctx.block(at + 1, gen);
  return false;
}
