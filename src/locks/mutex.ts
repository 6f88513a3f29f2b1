/**
 * Sleeping mutex: Drepper's three-state futex mutex ("Futexes Are Tricky", mutex #3).
 * 0 unlocked, 1 locked, 2 locked and maybe waiters. Lock: one CAS uncontended; a contender
 * exchanges in 2 and sleeps while the word is 2. Unlock: one exchange, notify only when it was 2.
 */
import type { LockCtx } from './ctx.js';

export const MUTEX_WORDS = 1;

/** Returns true when the mutex was contended. */
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
  if (Atomics.exchange(ctx.mem, at, 0) === 2) ctx.wake(at, 1);
}

export function mutexIsLocked(mem: Int32Array, at: number): boolean {
  return Atomics.load(mem, at) !== 0;
}
