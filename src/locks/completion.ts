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

export function completionDone(mem: Int32Array, at: number): boolean {
  return Atomics.load(mem, at) !== 0;
}

export function reinitCompletion(mem: Int32Array, at: number): void {
  Atomics.store(mem, at, 0);
}
