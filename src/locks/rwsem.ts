/**
 * rw_semaphore with kernel semantics over three words.
 *
 *   word 0  state:  bit 0       writer holds it
 *                   bit 1       reader hand-off generation (flips at every hand-off)
 *                   bits 2..9   writers waiting
 *                   bits 10..19 readers waiting
 *                   bits 20..30 active readers
 *   word 1  readers' wake sequence (readers sleep on it)
 *   word 2  writers' wake sequence (writers sleep on it)
 *
 * Writer preference: a waiting writer blocks new readers (down_read and down_read_trylock).
 * Hand-off: when a writer releases and readers wait, every waiting reader is moved into the
 * active count in the same CAS that clears the writer bit, so the readers own the lock before
 * any writer can barge; a reader knows it was handed the lock by the generation bit changing.
 * One bit suffices: once a reader is handed the lock no writer can acquire (and so no further
 * hand-off can happen) until that reader has run up_read.
 * Sleepers use a sequence word as an eventcount (read seq, re-check state, block on seq), and
 * a waker bumps the sequence and notifies only when the state counted waiters of that kind.
 */
import type { LockCtx } from './ctx.js';

export const RWSEM_WORDS = 3;

const W_LOCKED = 1;
const GEN = 2;
const WW_UNIT = 1 << 2;
const WW_MASK = 0xff << 2;
const WR_SHIFT = 10;
const WR_UNIT = 1 << WR_SHIFT;
const WR_MASK = 0x3ff << WR_SHIFT;
const R_SHIFT = 20;
const R_UNIT = 1 << R_SHIFT;
const R_MASK = 0x7ff << R_SHIFT;

const RQ = 1;
const WQ = 2;

/** New state after a hand-off of all waiting readers (the caller has cleared W_LOCKED). */
function handOff(s: number): number {
  const wr = (s & WR_MASK) >>> WR_SHIFT;
  return ((s & ~WR_MASK) + wr * R_UNIT) ^ GEN;
}

function wakeQueue(ctx: LockCtx, q: number, n: number): void {
  Atomics.add(ctx.mem, q, 1);
  ctx.wake(q, n);
}

// ---------------------------------------------------------------- read side

/** Returns true when contended. */
export function downRead(ctx: LockCtx, at: number): boolean {
  const s = Atomics.load(ctx.mem, at);
  if ((s & (W_LOCKED | WW_MASK)) === 0 && Atomics.compareExchange(ctx.mem, at, s, s + R_UNIT) === s) return false;
  downReadSlow(ctx, at);
  return true;
}

function downReadSlow(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  let gen: number;
  for (;;) {
    const s = Atomics.load(m, at);
    if ((s & (W_LOCKED | WW_MASK)) === 0) {
      if (Atomics.compareExchange(m, at, s, s + R_UNIT) === s) return;
      continue;
    }
    if (Atomics.compareExchange(m, at, s, s + WR_UNIT) === s) {
      gen = s & GEN;
      break;
    }
  }
  // Queued: the writer's release (or the last waiting writer giving up) hands us the lock.
  for (;;) {
    const seq = Atomics.load(m, at + RQ);
    if ((Atomics.load(m, at) & GEN) !== gen) return;
    ctx.block(at + RQ, seq);
  }
}

export function downReadTrylock(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    if ((s & (W_LOCKED | WW_MASK)) !== 0) return false;
    if (Atomics.compareExchange(m, at, s, s + R_UNIT) === s) return true;
  }
}

export function upRead(ctx: LockCtx, at: number): void {
  const old = Atomics.sub(ctx.mem, at, R_UNIT);
  // The last reader out lets a waiting writer in.
  if ((old & R_MASK) === R_UNIT && (old & WW_MASK) !== 0) wakeQueue(ctx, at + WQ, 1);
}

// ---------------------------------------------------------------- write side

/** Returns true when contended. */
export function downWrite(ctx: LockCtx, at: number): boolean {
  const s = Atomics.load(ctx.mem, at);
  if ((s & ~GEN) === 0 && Atomics.compareExchange(ctx.mem, at, s, s | W_LOCKED) === s) return false;
  downWriteSlow(ctx, at);
  return true;
}

function downWriteSlow(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    if ((s & (W_LOCKED | R_MASK)) === 0) {
      if (Atomics.compareExchange(m, at, s, s | W_LOCKED) === s) return;
      continue;
    }
    if ((s & WW_MASK) === WW_MASK) throw new RangeError('rwsem: too many waiting writers');
    if (Atomics.compareExchange(m, at, s, s + WW_UNIT) === s) break;
  }
  try {
    for (;;) {
      const seq = Atomics.load(m, at + WQ);
      const s = Atomics.load(m, at);
      if ((s & (W_LOCKED | R_MASK)) === 0) {
        if (Atomics.compareExchange(m, at, s, (s | W_LOCKED) - WW_UNIT) === s) return;
        continue;
      }
      ctx.block(at + WQ, seq);
    }
  } catch (e) {
    writerGivesUp(ctx, at);
    throw e;
  }
}

/** A queued writer leaves (run aborted): readers queued behind it alone must not be stranded. */
function writerGivesUp(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    let ns = s - WW_UNIT;
    const strand = (ns & (WW_MASK | W_LOCKED)) === 0 && (ns & WR_MASK) !== 0;
    if (strand) ns = handOff(ns);
    if (Atomics.compareExchange(m, at, s, ns) === s) {
      if (strand) wakeQueue(ctx, at + RQ, Infinity);
      return;
    }
  }
}

export function downWriteTrylock(ctx: LockCtx, at: number): boolean {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    if ((s & (W_LOCKED | R_MASK)) !== 0) return false;
    if (Atomics.compareExchange(m, at, s, s | W_LOCKED) === s) return true;
  }
}

export function upWrite(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    const wr = (s & WR_MASK) >>> WR_SHIFT;
    const ns = wr !== 0 ? handOff(s & ~W_LOCKED) : s & ~W_LOCKED;
    if (Atomics.compareExchange(m, at, s, ns) !== s) continue;
    // Wake every reader sleeper: some may already belong to the next generation, and a
    // notify counted to `wr` could land on them and strand a reader we just handed the lock to.
    if (wr !== 0) wakeQueue(ctx, at + RQ, Infinity);
    else if ((s & WW_MASK) !== 0) wakeQueue(ctx, at + WQ, 1);
    return;
  }
}

/**
 * downgrade_write: the writer becomes a reader without letting a writer in between. Readers
 * queued behind it are handed the lock too (as at up_write); queued writers keep waiting.
 */
export function downgradeWrite(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const s = Atomics.load(m, at);
    const wr = (s & WR_MASK) >>> WR_SHIFT;
    const mine = (s & ~W_LOCKED) + R_UNIT;
    const ns = wr !== 0 ? handOff(mine) : mine;
    if (Atomics.compareExchange(m, at, s, ns) !== s) continue;
    if (wr !== 0) wakeQueue(ctx, at + RQ, Infinity);
    return;
  }
}

// ---------------------------------------------------------------- inspection

export interface RwsemState {
  writer: boolean;
  readers: number;
  waitingWriters: number;
  waitingReaders: number;
}

export function rwsemState(mem: Int32Array, at: number): RwsemState {
  const s = Atomics.load(mem, at);
  return {
    writer: (s & W_LOCKED) !== 0,
    readers: (s & R_MASK) >>> R_SHIFT,
    waitingWriters: (s & WW_MASK) >>> 2,
    waitingReaders: (s & WR_MASK) >>> WR_SHIFT,
  };
}

export function rwsemIsLocked(mem: Int32Array, at: number): boolean {
  return (Atomics.load(mem, at) & (W_LOCKED | R_MASK)) !== 0;
}
