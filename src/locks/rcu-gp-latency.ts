/**
 * Grace-period latency (HIST, what reports call the GP latency p50/p99), kept beside the grace
 * periods as the kernel keeps rcu_gp_* tracepoints beside tree.c's GP kthread.
 *
 * For each epoch e that someone needed — started by synchronizeRcu() or by tryAdvance() for a
 * callback, whichever completes it — the time from GP reaching e to COMPLETED reaching e, once
 * per epoch. The start is stamped in a 16-slot table (tag = e, then e|1 once recorded), stamped
 * by whoever moved GP to e or, for an epoch the stall watchdog started, by the first CPU that
 * drives it. The CPU that advances COMPLETED claims every stamped epoch it jumped over (CAS e ->
 * e|1); a stamp that lands after the jump is claimed by its stamper, so each epoch is counted
 * exactly once. Times are process.hrtime() µs (CLOCK_MONOTONIC, one clock for every worker
 * thread; performance.now() has a per-thread origin). Epochs nobody waited for (watchdog bumps
 * no one drove) are not GPs and are not counted; neither is an epoch whose slot was reused 16
 * epochs later.
 */
import type { Arena } from '../shared-mem/layout.js';
import { GP_STEP, RcuG, reached } from './rcu-words.js';
import { HIST_BUCKETS, histAdd } from './log2hist.js';

/** Start-stamp slots (a power of two, one line): epochs in flight at once that keep their stamp. */
const GP_SLOTS = 16;
const RECORDED = 1;

/** Monotonic µs modulo 2^32, the same clock in every worker thread; subtract with `| 0`. */
function gpClockUs(): number {
  const [s, ns] = process.hrtime();
  return (s * 1e6 + Math.floor(ns / 1000)) | 0;
}

/**
 * Stamp the start of the grace period for epoch e (GP has reached e), unless it is stamped or
 * recorded already or its slot holds a later epoch. Idempotent: the first stamper wins.
 * `base` is the rcu region's.
 */
export function stampGp(m: Int32Array, base: number, e: number): void {
  const slot = (e >> 2) & (GP_SLOTS - 1);
  const tagAt = base + RcuG.GP_TAG + slot;
  const tag = Atomics.load(m, tagAt);
  if (reached(tag & ~3, e)) return;
  const t = gpClockUs();
  Atomics.store(m, base + RcuG.GP_START + slot, t);
  if (Atomics.compareExchange(m, tagAt, tag, e) !== tag) return; // another stamper won
  // Completed before the stamp was visible: the completer skipped it, so we record it.
  // (Seq-cst: either the completer's CAS on COMPLETED follows our tag store and it sees the
  // tag, or our load sees COMPLETED >= e; the tag CAS below makes "both" count once.)
  if (reached(Atomics.load(m, base + RcuG.COMPLETED), e) && Atomics.compareExchange(m, tagAt, e, e | RECORDED) === e) {
    histAdd(m, base + RcuG.HIST, (gpClockUs() - t) | 0);
  }
}

/** COMPLETED moved from c to e: record the latency of every stamped epoch in (c, e]. */
export function recordGps(m: Int32Array, base: number, c: number, e: number): void {
  const now = gpClockUs();
  // Only the last GP_SLOTS epochs of a long jump can still hold their stamps.
  const n = Math.min(((e - c) | 0) >> 2, GP_SLOTS);
  for (let i = n - 1; i >= 0; i--) {
    const k = (e - i * GP_STEP) | 0;
    const slot = (k >> 2) & (GP_SLOTS - 1);
    const tagAt = base + RcuG.GP_TAG + slot;
    if (Atomics.load(m, tagAt) !== k) continue;
    const start = Atomics.load(m, base + RcuG.GP_START + slot);
    if (Atomics.compareExchange(m, tagAt, k, k | RECORDED) !== k) continue;
    histAdd(m, base + RcuG.HIST, (now - start) | 0);
  }
}

/** Reset the grace-period latency histogram (e.g. after a warm-up). */
export function resetRcuLatency(arena: Arena): void {
  const at = arena.base('rcu') + RcuG.HIST;
  for (let i = 0; i < HIST_BUCKETS; i++) Atomics.store(arena.mem, at + i, 0);
}
