/**
 * BUSTED on purpose: a waiter that had to sleep takes its wake-up for ownership. Woken with a
 * done count pending, it returns without taking that count, so the next waiter (or the same one,
 * next time) consumes it again: one complete() lets two waits through. The fast path
 * (tryWaitForCompletion), complete() and complete_all() are the correct ones.
 */
import type { LockCtx } from '../ctx.js';
import { type TimedLockCtx, tryWaitForCompletion } from '../completion.js';

export {
  COMPLETION_WORDS,
  complete,
  completeAll,
  completionDone,
  reinitCompletion,
  tryWaitForCompletion,
} from '../completion.js';

/** Returns true when it had to wait. */
export function waitForCompletion(ctx: LockCtx, at: number): boolean {
  if (tryWaitForCompletion(ctx, at)) return false;
  const m = ctx.mem;
  for (;;) {
    Atomics.add(m, at + 1, 1);
    try {
      if (Atomics.load(m, at) === 0) ctx.block(at, 0);
    } finally {
      Atomics.sub(m, at + 1, 1);
    }
    if (Atomics.load(m, at) !== 0) return true; // the bug: sees the count, does not take it
  }
}

export function waitForCompletionTimeout(ctx: TimedLockCtx, at: number, timeoutMs: number): boolean {
  if (tryWaitForCompletion(ctx, at)) return true;
  const m = ctx.mem;
  const deadline = ctx.now() + timeoutMs;
  for (;;) {
    if (ctx.now() >= deadline) return false;
    Atomics.add(m, at + 1, 1);
    try {
      if (Atomics.load(m, at) === 0) ctx.block(at, 0, deadline);
    } finally {
      Atomics.sub(m, at + 1, 1);
    }
    if (Atomics.load(m, at) !== 0) return true; // the bug, as above
  }
}
