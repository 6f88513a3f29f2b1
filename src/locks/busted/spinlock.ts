/**
 * BUSTED on purpose: tests the word, then sets it with a separate store, so two CPUs that both
 * see it free both "acquire". Same signatures as locks/spinlock.ts; exists to prove that the
 * torture harness's exclusion check can fail.
 */
import type { LockCtx } from '../ctx.js';

export const SPINLOCK_WORDS = 1;
const WIDEN_LOADS = 64;

export function spinLock(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  let contended = false;
  for (let r = 0; ; r++) {
    if (Atomics.load(m, at) === 0) {
      // Race widening between the test and the set, so the checker meets the bug every run
      // rather than once in a million acquisitions: a few loads, no change to the protocol.
      for (let i = 0; i < WIDEN_LOADS; i++) Atomics.load(m, at);
      Atomics.store(m, at, 1); // the bug: not one atomic step with the test
      return contended;
    }
    contended = true;
    if (r >= 64) {
      ctx.block(at, 1);
      r = 0;
    }
  }
}

export function spinTrylock(ctx: LockCtx, at: number): boolean {
  if (Atomics.load(ctx.mem, at) !== 0) return false;
  Atomics.store(ctx.mem, at, 1);
  return true;
}

export function spinUnlock(ctx: LockCtx, at: number): void {
  Atomics.store(ctx.mem, at, 0);
  ctx.wake(at, Infinity); // keep the wake-ups right: only exclusion is broken here
}
