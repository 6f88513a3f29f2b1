/**
 * Completion (kernel struct completion): word 0 = done count (ALL after complete_all),
 * word 1 = sleepers, so complete() notifies only when someone sleeps.
 */
import type { LockCtx } from './ctx.js';

export const COMPLETION_WORDS = 2;
const ALL = 0x7fffffff;

export function complete(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const d = Atomics.load(m, at);
    if (d === ALL) return;
    if (Atomics.compareExchange(m, at, d, d + 1) === d) break;
  }
  if (Atomics.load(m, at + 1) > 0) ctx.wake(at, 1);
}

export function completeAll(ctx: LockCtx, at: number): void {
  Atomics.store(ctx.mem, at, ALL);
  if (Atomics.load(ctx.mem, at + 1) > 0) ctx.wake(at, Infinity);
}

/** Consume one completion, or return false if none is pending. */
export function tryWaitForCompletion(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  for (;;) {
    const d = Atomics.load(m, at);
    if (d === 0) return false;
    if (d === ALL || Atomics.compareExchange(m, at, d, d - 1) === d) return true;
  }
}

/** Returns true when it had to wait. */
export function waitForCompletion(ctx: LockCtx, at: number): boolean {
  if (tryWaitForCompletion(ctx, at)) return false;
  const m = ctx.mem;
  for (;;) {
    // Announce the sleeper before the last check: complete() adds then reads the count.
    Atomics.add(m, at + 1, 1);
    try {
      if (Atomics.load(m, at) === 0) ctx.block(at, 0);
    } finally {
      Atomics.sub(m, at + 1, 1);
    }
    if (tryWaitForCompletion(ctx, at)) return true;
  }
}

/** What a timed wait needs besides the lock context: the clock of its timeout (CpuCtx.now). */
export interface TimedLockCtx extends LockCtx {
  now(): number;
}

/**
 * wait_for_completion_timeout: consume one completion, sleeping at most `timeoutMs` (in the clock
 * of ctx.now()). Returns true when it consumed one, false when the timeout expired first; a
 * timed-out wait consumes nothing. Like the kernel, the last check follows the expiry, so a
 * completion posted by then is still taken. The deadline goes to ctx.block, so a controlled
 * scheduler can fire the timeout; a parallel waiter re-checks within its short sleep.
 */
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
    if (tryWaitForCompletion(ctx, at)) return true;
  }
}

export function completionDone(mem: Int32Array, at: number): boolean {
  return Atomics.load(mem, at) !== 0;
}

export function reinitCompletion(mem: Int32Array, at: number): void {
  Atomics.store(mem, at, 0);
}
