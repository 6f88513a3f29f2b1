/**
 * Spinlock: one word, 0 unlocked, 1 locked, 2 locked with a sleeper.
 *
 * Test-and-test-and-set with bounded exponential backoff. A spinner that exhausts its spin
 * budget advertises itself (state 2) and sleeps through ctx.block: with more CPUs than cores the
 * holder may be descheduled, and a controlled scheduler needs a blocking point. Unlock is one
 * exchange and notifies only when the old state says somebody sleeps.
 */
import type { LockCtx } from './ctx.js';

export const SPINLOCK_WORDS = 1;

/** Backoff rounds before sleeping; round r re-tests the word up to 4·2^r times without writing. */
const SPIN_ROUNDS = 8;

/** Returns true when the lock was contended. */
export function spinLock(ctx: LockCtx, at: number): boolean {
  if (Atomics.compareExchange(ctx.mem, at, 0, 1) === 0) return false;
  spinLockSlow(ctx, at);
  return true;
}

function spinLockSlow(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (let r = 0; r < SPIN_ROUNDS; r++) {
    // Test without writing, so waiters do not bounce the holder's cache line.
    const n = 4 << r;
    for (let i = 0; i < n; i++) if (Atomics.load(m, at) === 0) break;
    if (Atomics.load(m, at) === 0 && Atomics.compareExchange(m, at, 0, 1) === 0) return;
  }
  // Sleep phase: from now on take it as 2 so the unlocker knows to wake the next sleeper.
  let c = Atomics.exchange(m, at, 2);
  while (c !== 0) {
    ctx.block(at, 2);
    c = Atomics.exchange(m, at, 2);
  }
}

export function spinTrylock(ctx: LockCtx, at: number): boolean {
  return Atomics.compareExchange(ctx.mem, at, 0, 1) === 0;
}

export function spinUnlock(ctx: LockCtx, at: number): void {
  if (Atomics.exchange(ctx.mem, at, 0) === 2) ctx.wake(at, 1);
}

export function spinIsLocked(mem: Int32Array, at: number): boolean {
  return Atomics.load(mem, at) !== 0;
}
