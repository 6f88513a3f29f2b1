/**
 * BUSTED on purpose: the three-state mutex whose unlock just stores 0 and so drops the wake-up
 * a sleeping waiter (state 2) needed. Under a waiter that sleeps until notified (a real futex,
 * or the torture harness's strict waiter) the sleeper never wakes: a lost wake-up.
 */
import type { LockCtx } from '../ctx.js';

// Lock and trylock are the correct ones: only the unlock is broken.
export { MUTEX_WORDS, mutexLock, mutexTrylock } from '../mutex.js';

export function mutexUnlock(ctx: LockCtx, at: number): void {
  Atomics.store(ctx.mem, at, 0); // the bug: no notify when the old state was 2
}
