/**
 * BUSTED on purpose: the rwsem whose writer checks only for another writer, never for active
 * readers, so a writer gets in beside readers. Everything else is the correct rwsem.
 */
import type { LockCtx } from '../ctx.js';
import { downRead, downReadTrylock, upRead, upWrite } from '../rwsem.js';

export { downRead, downReadTrylock, upRead, upWrite };
export const RWSEM_WORDS = 3;

const W_LOCKED = 1;

export function downWrite(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  let contended = false;
  for (;;) {
    const s = Atomics.load(m, at);
    // The bug: readers (bits 20..30) are ignored.
    if ((s & W_LOCKED) === 0 && Atomics.compareExchange(m, at, s, s | W_LOCKED) === s) return contended;
    // Spins only (no sleep): it never registers as a waiter, so nobody would wake it.
    contended = true;
  }
}

export function downWriteTrylock(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  const s = Atomics.load(m, at);
  return (s & W_LOCKED) === 0 && Atomics.compareExchange(m, at, s, s | W_LOCKED) === s;
}
