/**
 * The `rcu` region's layout and the epoch arithmetic that every part of RCU shares (read side and
 * grace periods: rcu.ts; call_rcu and rcu_barrier: rcu-callbacks.ts; grace-period latency:
 * rcu-gp-latency.ts; stall detection: rcu-stall.ts; main-thread readers: rcu-stats.ts).
 */
import { type Arena, LINE_WORDS } from '../shared-mem/layout.js';

/** Global words, offsets from the start of the `rcu` region (8 cache lines). */
export const RcuG = {
  /** Epoch counter (line 0, read by every outermost rcu_read_lock). */
  GP: 0,
  // line 1: grace-period bookkeeping
  COMPLETED: 16,
  GPS: 17,
  MAX_BACKLOG: 18,
  /** Stall threshold in ms (0 = RCU_STALL_DEFAULT_MS). */
  STALL_MS: 19,
  STALLS: 20,
  LAST_STALL_CPU: 21,
  LAST_STALL_MS: 22,
  ASYNC_GPS: 23,
  /** CPUs sleeping for ring space or for a barrier (consumers wake HEAD only when > 0). */
  HEAD_WAITERS: 24,
  /** Largest backlog a callback driver saw since the main thread last took it (timeline peaks). */
  PEAK_BACKLOG: 25,
  /** Ring producer ticket (line 2). */
  TAIL: 32,
  /** Ring consumer ticket (line 3). */
  HEAD: 48,
  /** Grace-period latency histogram, log2 µs (lines 4-5): see rcu-gp-latency.ts. */
  HIST: 64,
  /** Per-epoch start stamps, slot (e >> 2) & 15: tag e (stamped) or e|1 (recorded) (line 6)... */
  GP_TAG: 96,
  /** ...and the start time, hrtime µs modulo 2^32 (line 7). */
  GP_START: 112,
} as const;

/** Per-CPU words: two lines per CPU after the 8 global lines. Line 0 is the reader word alone. */
export const RcuCpu = {
  CTR: 0,
  // second line: written by the owner, except WD_* (the main-thread watchdog)
  CB_QUEUED: 16,
  CB_INVOKED: 17,
  SYNCS: 18,
  /** 1 while this CPU runs a callback; CB_TICKET is its ring ticket (for barrier). */
  CB_BUSY: 19,
  CB_TICKET: 20,
  WD_CTR: 24,
  WD_SINCE: 25,
  WD_STALLED: 26,
} as const;

export const GLOBAL_WORDS = 8 * LINE_WORDS;
export const PER_CPU_WORDS = 2 * LINE_WORDS;
/** An epoch step: bit 0 of a reader word is ACTIVE, bit 1 WAIT. */
export const GP_STEP = 4;
export const ACTIVE = 1;
export const WAIT = 2;

/** Trace sub-events (TraceEv.rcu, a = what). */
export const RcuTrace = { gpStart: 1, gpEnd: 2, cbQueue: 3, cbInvoke: 4, asyncGp: 5 } as const;

export class RcuError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'RcuError';
  }
}

/** Ring capacity: the largest power of two <= rcuCallbacks (tickets wrap modulo 2^32). */
export function rcuRingCapacity(arena: Arena): number {
  return 2 ** (31 - Math.clz32(arena.config.rcuCallbacks));
}

/** Word index of CPU `cpu`'s two per-CPU lines, given the region's base. */
export function rcuCpuLine(base: number, cpu: number): number {
  return base + GLOBAL_WORDS + cpu * PER_CPU_WORDS;
}

export function rcuCtrAt(arena: Arena, cpu: number): number {
  return rcuCpuLine(arena.base('rcu'), cpu) + RcuCpu.CTR;
}

/** A GP that started at epoch e still waits for a CPU whose reader word is v. */
export function blocks(v: number, e: number): boolean {
  return v !== 0 && (((v & ~3) - e) | 0) < 0;
}

/** Epoch a is at or after epoch b (wrap-safe). */
export function reached(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}
