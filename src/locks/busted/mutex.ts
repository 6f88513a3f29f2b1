/**
 * BUSTED on purpose: the three-state mutex whose unlock just stores 0 and so drops the wake-up
 * a sleeping waiter (state 2) needed. Under a waiter that sleeps until notified (a real futex,
 * or the torture harness's strict waiter) the sleeper never wakes: a lost wake-up.
 */
import type { LockCtx } from '../ctx.js';

export const MUTEX_WORDS = 1;

export function mutexLock(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  let c = Atomics.compareExchange(m, at, 0, 1);
  if (c === 0) return false;
  if (c !== 2) c = Atomics.exchange(m, at, 2);
  while (c !== 0) {
    ctx.block(at, 2);
    c = Atomics.exchange(m, at, 2);
  }
  return true;
}

export function mutexTrylock(ctx: LockCtx, at: number): boolean {
  return Atomics.compareExchange(ctx.mem, at, 0, 1) === 0;
}

export function mutexUnlock(ctx: LockCtx, at: number): void {
  Atomics.store(ctx.mem, at, 0); // the bug: no notify when the old state was 2
}
