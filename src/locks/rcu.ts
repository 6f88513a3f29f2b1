/**
 * Epoch-based RCU over the arena, shared by every worker.
 *
 * Design (a wide-counter form of liburcu's memb flavor):
 * - GP is a global epoch counter, a multiple of 4, bumped by 4 to start a grace period.
 * - Each CPU has one reader word CTR in its own cache line: 0 when outside any read-side
 *   section, else `snapshot | 1` where snapshot is GP loaded at the outermost rcu_read_lock.
 *   Bit 1 (WAIT) is set by a grace-period waiter that sleeps on the word, so the reader's
 *   unlock (an exchange, which costs the same as a sequentially consistent store in V8) knows
 *   to wake it; nesting is counted in the worker, not in shared memory.
 * - synchronizeRcu(): e = (GP += 4); wait until every CPU's CTR is 0 or carries a snapshot >= e.
 *   Proof: a reader inside a section when the add happened has snapshot <= e - 4; it keeps that
 *   CTR until it leaves the section, and any later section loads GP >= e. So observing
 *   "0 or >= e" on each CPU after the add means each such section has ended. liburcu needs two
 *   phase flips only because its counter is a single phase bit; with a 30-bit epoch one
 *   increment suffices (wrap is handled by comparing differences, and would need 2^28 GPs
 *   while one reader stays inside one section).
 * - Atomics are sequentially consistent, so no further fences are needed: the reader's CTR
 *   store precedes its loads of protected data, and the updater's unpublish precedes the add.
 * - Quiescent states are reported lazily, as non-preemptible Tree RCU does (rcu_read_unlock is
 *   free there; the CPU reports at the next context switch or tick): rcu_read_unlock leaves CTR
 *   as it is, and rcu_read_lock stores only when GP moved since the CPU's last snapshot. The CPU
 *   reports the quiescent state (CTR = 0, waking a GP waiter) at its next poll once a GP has
 *   started, at once when it is about to sleep (every ctx.block polls before sleeping: a
 *   context switch is a quiescent state), at its next rcu_read_lock, or by being done.
 *   Safety is unchanged — grace periods wait for a superset of the real readers — and the
 *   steady-state read side is one load of a read-mostly line: no store, no bounce. A CPU that
 *   sleeps or computes for long outside ctx.block and named points should call quiesce() first,
 *   or it holds grace periods up (and the stall detector names it, as the kernel names a CPU
 *   that stops reporting quiescent states).
 * - COMPLETED = the largest e whose grace period is known to be over. Because a GP with a larger
 *   e waits for a superset of readers, "COMPLETED >= c" means every GP up to c is over.
 * - Grace-period latency (HIST, what reports call the GP latency p50/p99): for each epoch e that
 *   someone needed — started by synchronizeRcu() or by tryAdvance() for a callback, whichever
 *   completes it — the time from GP reaching e to COMPLETED reaching e, once per epoch. The start
 *   is stamped in a 16-slot table (tag = e, then e|1 once recorded), stamped by whoever moved GP
 *   to e or, for an epoch the stall watchdog started, by the first CPU that drives it. The CPU
 *   that advances COMPLETED claims every stamped epoch it jumped over (CAS e -> e|1); a stamp that
 *   lands after the jump is claimed by its stamper, so each epoch is counted exactly once. Times
 *   are process.hrtime() µs (CLOCK_MONOTONIC, one clock for every worker thread; performance.now()
 *   has a per-thread origin). Epochs nobody waited for (watchdog bumps no one drove) are not GPs
 *   and are not counted; neither is an epoch whose slot was reused 16 epochs later.
 *
 * call_rcu: a bounded MPMC ring (Vyukov's sequence-numbered cells) of {kind, arg, target}
 * records; target = GP at enqueue + 4, due when COMPLETED >= target. Any CPU may drive a grace
 * period without blocking (bump GP, then scan the reader words: `tryAdvance`) and run due
 * callbacks from its poller, at a safe moment (outside read-side sections, holding no tracked
 * lock, not inside a wait round, not already inside a callback). synchronizeRcu() runs due ones on
 * return, rcuBarrier() runs them itself, and a producer that finds the ring full runs a grace period
 * and drains it — so callbacks cannot starve even if no poller ever reaches a safe moment.
 */
import { type Arena, CPU_WORDS, LINE_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { TraceEv } from '../shared-mem/trace.js';
import type { CpuCtx } from './ctx.js';
import { YieldPt } from './yield-points.js';
import { HIST_BUCKETS, histAdd, histPercentile, histRead } from './log2hist.js';

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
  /** Grace-period latency histogram, log2 µs (lines 4-5): see the header. */
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

const GLOBAL_WORDS = 8 * LINE_WORDS;
const PER_CPU_WORDS = 2 * LINE_WORDS;
const REC_WORDS = 4;
const REC_SEQ = 0;
const REC_KIND = 1;
const REC_ARG = 2;
const REC_TARGET = 3;
const GP_STEP = 4;
const ACTIVE = 1;
const WAIT = 2;
/** Start-stamp slots (a power of two, one line): epochs in flight at once that keep their stamp. */
const GP_SLOTS = 16;
const RECORDED = 1;
/** Callbacks run per poll: bounds the time a poller steals from the CPU's own work. */
const POLL_BATCH = 16;
/** How long callRcu() on a full ring, holding locks, waits for other CPUs to drain it. */
const RING_FULL_WAIT_MS = 100;

export const RCU_STALL_DEFAULT_MS = 2000;

/** Trace sub-events (TraceEv.rcu, a = what). */
export const RcuTrace = { gpStart: 1, gpEnd: 2, cbQueue: 3, cbInvoke: 4, asyncGp: 5 } as const;

export type RcuBusted = 'sync-returns-early' | 'reader-no-publish';

export interface RcuOptions {
  /** A deliberately broken flavor, to prove the checkers can fail. */
  busted?: RcuBusted | undefined;
}

/** Ring capacity: the largest power of two <= rcuCallbacks (tickets wrap modulo 2^32). */
export function rcuRingCapacity(arena: Arena): number {
  return 2 ** (31 - Math.clz32(arena.config.rcuCallbacks));
}

export function rcuCtrAt(arena: Arena, cpu: number): number {
  return arena.base('rcu') + GLOBAL_WORDS + cpu * PER_CPU_WORDS + RcuCpu.CTR;
}

/** A GP that started at epoch e still waits for a CPU whose reader word is v. */
function blocks(v: number, e: number): boolean {
  return v !== 0 && (((v & ~3) - e) | 0) < 0;
}

/** Epoch a is at or after epoch b (wrap-safe). */
function reached(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** Monotonic µs modulo 2^32, the same clock in every worker thread; subtract with `| 0`. */
function gpClockUs(): number {
  const [s, ns] = process.hrtime();
  return (s * 1e6 + Math.floor(ns / 1000)) | 0;
}

export class RcuError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'RcuError';
  }
}

/** One per CPU (it caches what the CPU published in its reader word): `new Rcu(cpu)`. */
export class Rcu {
  /** Read-side nesting depth of this CPU (worker-local: only the owner reads it). */
  readDepth = 0;
  /** What this CPU last published in CTR, WAIT aside (0 = quiescent). Owner-local. */
  private snap = 0;
  private readonly mem: Int32Array;
  private readonly base: number;
  private readonly gpAt: number;
  private readonly ctrAt: number;
  private readonly mine: number;
  private readonly ring: number;
  private readonly cap: number;
  private readonly mask: number;
  private readonly ncpu: number;
  private readonly publish: boolean;
  /** Under a controlled scheduler: only then are the read side's yield points worth a call (~2.5 ns a walk). */
  private readonly controlled: boolean;
  private readonly syncEarly: boolean;
  private readonly handlers = new Map<number, (arg: number) => void>();
  private inCallback = false;
  /** When callRcu() first found the ring full while holding locks (-1 = not waiting). */
  private fullSince = -1;

  constructor(
    private readonly ctx: CpuCtx,
    opts: RcuOptions = {},
  ) {
    const arena = ctx.arena;
    this.mem = ctx.mem;
    this.base = arena.base('rcu');
    this.gpAt = this.base + RcuG.GP;
    this.ncpu = arena.config.cpus;
    this.mine = this.base + GLOBAL_WORDS + ctx.cpuId * PER_CPU_WORDS;
    this.ctrAt = this.mine + RcuCpu.CTR;
    this.ring = this.base + GLOBAL_WORDS + this.ncpu * PER_CPU_WORDS;
    this.cap = rcuRingCapacity(arena);
    this.mask = this.cap - 1;
    this.publish = opts.busted !== 'reader-no-publish';
    this.controlled = ctx.controlled;
    this.syncEarly = opts.busted === 'sync-returns-early';
    ctx.addPoller(() => this.poll());
  }

  // ---- read side: one load in, nothing out; a store only when a grace period has started ----

  rcuReadLock(): void {
    if (this.readDepth++ === 0 && this.publish) {
      const v = Atomics.load(this.mem, this.gpAt) | ACTIVE;
      if (v !== this.snap) this.republish(v);
    }
    // Controlled runs: another CPU may run (start a grace period, free) inside the new section.
    if (this.controlled) this.ctx.yieldAt(YieldPt.rcuReadLock);
  }

  rcuReadUnlock(): void {
    // Controlled runs: another CPU may run while this CPU is still inside the section.
    if (this.controlled) this.ctx.yieldAt(YieldPt.rcuReadUnlock);
    // Free, as in non-preemptible kernels: the quiescent state is reported by the next poll,
    // wait round or rcu_read_lock (which republishes when a grace period has started).
    if (--this.readDepth < 0) {
      this.readDepth = 0;
      throw new RcuError(`rcu_read_unlock without rcu_read_lock on cpu ${this.ctx.cpuId}`);
    }
  }

  private republish(v: number): void {
    // An exchange, not a store: a GP waiter may have set WAIT on the old word and sleeps on it.
    const old = Atomics.exchange(this.mem, this.ctrAt, v);
    this.snap = v;
    if ((old & WAIT) !== 0) this.ctx.wake(this.ctrAt, this.ncpu);
  }

  /** Report a quiescent state now (outside read-side sections only). Called by poll(). */
  quiesce(): void {
    if (this.readDepth !== 0 || this.snap === 0) return;
    this.snap = 0;
    if ((Atomics.exchange(this.mem, this.ctrAt, 0) & WAIT) !== 0) this.ctx.wake(this.ctrAt, this.ncpu);
  }

  // ---- grace periods ----

  /** synchronize_rcu(): returns once every reader that was inside a section at entry has left it. */
  synchronizeRcu(): void {
    if (this.readDepth > 0) {
      throw new RcuError(`synchronize_rcu() inside an RCU read-side section on cpu ${this.ctx.cpuId} would deadlock`);
    }
    const m = this.mem;
    this.quiesce();
    const e = Atomics.add(m, this.gpAt, GP_STEP) + GP_STEP;
    this.stampGp(e);
    this.ctx.emit(TraceEv.rcu, RcuTrace.gpStart, e);
    if (!this.syncEarly) this.waitReaders(e);
    this.complete(e);
    Atomics.add(m, this.mine + RcuCpu.SYNCS, 1);
    this.ctx.emit(TraceEv.rcu, RcuTrace.gpEnd, e);
    if (this.safeToRun()) this.runDue(POLL_BATCH, false);
  }

  private waitReaders(e: number): void {
    const m = this.mem;
    const cpuBase = this.ctx.arena.base('cpu');
    for (let r = 0; r < this.ncpu; r++) {
      if (r === this.ctx.cpuId) continue;
      const at = this.base + GLOBAL_WORDS + r * PER_CPU_WORDS + RcuCpu.CTR;
      const stateAt = cpuBase + r * CPU_WORDS + CpuField.STATE;
      for (;;) {
        let v = Atomics.load(m, at);
        if (!blocks(v, e)) break;
        // A finished or crashed CPU runs no reader any more (a crash inside a section is
        // reported by the crash itself): it must not hold grace periods up forever.
        const s = Atomics.load(m, stateAt);
        if (s === CpuState.done || s === CpuState.crashed) break;
        if ((v & WAIT) === 0) {
          if (Atomics.compareExchange(m, at, v, v | WAIT) !== v) continue;
          v |= WAIT;
        }
        // Force the quiescent state (the kernel's resched IPI): a CPU asleep in a wait round
        // polls — and reports a deferred quiescent state — as soon as it is woken.
        if (s === CpuState.blocked) {
          const w = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.WAIT_ON);
          if (w >= 0) this.ctx.wake(w, this.ncpu);
        }
        this.ctx.block(at, v);
      }
    }
  }

  private complete(e: number): void {
    const m = this.mem;
    const at = this.base + RcuG.COMPLETED;
    for (;;) {
      const c = Atomics.load(m, at);
      if (reached(c, e)) break;
      if (Atomics.compareExchange(m, at, c, e) === c) {
        this.recordGps(c, e);
        break;
      }
    }
    Atomics.add(m, this.base + RcuG.GPS, 1);
  }

  /**
   * Stamp the start of the grace period for epoch e (GP has reached e), unless it is stamped or
   * recorded already or its slot holds a later epoch. Idempotent: the first stamper wins.
   */
  private stampGp(e: number): void {
    const m = this.mem;
    const slot = (e >> 2) & (GP_SLOTS - 1);
    const tagAt = this.base + RcuG.GP_TAG + slot;
    const tag = Atomics.load(m, tagAt);
    if (reached(tag & ~3, e)) return;
    const t = gpClockUs();
    Atomics.store(m, this.base + RcuG.GP_START + slot, t);
    if (Atomics.compareExchange(m, tagAt, tag, e) !== tag) return; // another stamper won
    // Completed before the stamp was visible: the completer skipped it, so we record it.
    // (Seq-cst: either the completer's CAS on COMPLETED follows our tag store and it sees the
    // tag, or our load sees COMPLETED >= e; the tag CAS below makes "both" count once.)
    if (this.done(e) && Atomics.compareExchange(m, tagAt, e, e | RECORDED) === e) {
      histAdd(m, this.base + RcuG.HIST, (gpClockUs() - t) | 0);
    }
  }

  /** COMPLETED moved from c to e: record the latency of every stamped epoch in (c, e]. */
  private recordGps(c: number, e: number): void {
    const m = this.mem;
    const now = gpClockUs();
    // Only the last GP_SLOTS epochs of a long jump can still hold their stamps.
    const n = Math.min(((e - c) | 0) >> 2, GP_SLOTS);
    for (let i = n - 1; i >= 0; i--) {
      const k = (e - i * GP_STEP) | 0;
      const slot = (k >> 2) & (GP_SLOTS - 1);
      const tagAt = this.base + RcuG.GP_TAG + slot;
      if (Atomics.load(m, tagAt) !== k) continue;
      const start = Atomics.load(m, this.base + RcuG.GP_START + slot);
      if (Atomics.compareExchange(m, tagAt, k, k | RECORDED) !== k) continue;
      histAdd(m, this.base + RcuG.HIST, (now - start) | 0);
    }
  }

  private done(target: number): boolean {
    return reached(Atomics.load(this.mem, this.base + RcuG.COMPLETED), target);
  }

  /**
   * Drive the grace period that `target` needs without blocking: make sure GP has reached it,
   * then scan the reader words once. Returns true when the GP is over.
   */
  private tryAdvance(target: number): boolean {
    const m = this.mem;
    // Every callback passes here while still queued, so the peak seen here is the interval's
    // peak backlog: an instant sample every 200 ms mostly sees an empty ring.
    const backlog = (Atomics.load(m, this.base + RcuG.TAIL) - Atomics.load(m, this.base + RcuG.HEAD)) | 0;
    const peakAt = this.base + RcuG.PEAK_BACKLOG;
    let peak = Atomics.load(m, peakAt);
    while (backlog > peak) {
      const seen = Atomics.compareExchange(m, peakAt, peak, backlog);
      if (seen === peak) break;
      peak = seen;
    }
    if (this.done(target)) return true;
    let g = Atomics.load(m, this.gpAt);
    while (!reached(g, target)) {
      const seen = Atomics.compareExchange(m, this.gpAt, g, g + GP_STEP);
      g = seen === g ? g + GP_STEP : seen;
    }
    // Whoever moved GP to target stamps it; if the stall watchdog did, this first driver does.
    this.stampGp(target);
    // Our own deferred quiescent state must not hold up the grace period we are driving.
    this.quiesce();
    // The add that produced `target` happened after the callback was queued (it read GP <
    // target), so readers without a snapshot >= target either predate the callback or are gone.
    const cpuBase = this.ctx.arena.base('cpu');
    for (let r = 0; r < this.ncpu; r++) {
      const v = Atomics.load(m, this.base + GLOBAL_WORDS + r * PER_CPU_WORDS + RcuCpu.CTR);
      if (!blocks(v, target)) continue;
      const s = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.STATE);
      if (s === CpuState.done || s === CpuState.crashed) continue;
      return false;
    }
    const at = this.base + RcuG.COMPLETED;
    for (;;) {
      const c = Atomics.load(m, at);
      if (reached(c, target)) return true;
      if (Atomics.compareExchange(m, at, c, target) === c) {
        this.recordGps(c, target);
        break;
      }
    }
    Atomics.add(m, this.base + RcuG.GPS, 1);
    Atomics.add(m, this.base + RcuG.ASYNC_GPS, 1);
    this.ctx.emit(TraceEv.rcu, RcuTrace.asyncGp, target);
    return true;
  }

  // ---- call_rcu ----

  /** Register this worker's handler for callback `kind` (every worker registers the same set). */
  onCallback(kind: number, fn: (arg: number) => void): void {
    this.handlers.set(kind, fn);
  }

  /** call_rcu(): run handler `kind` with `arg` on some CPU after a grace period. Never fails. */
  callRcu(kind: number, arg: number): void {
    const m = this.mem;
    const tailAt = this.base + RcuG.TAIL;
    for (;;) {
      const pos = Atomics.load(m, tailAt);
      const cell = pos & this.mask;
      const rec = this.ring + cell * REC_WORDS;
      // Cells store seq - cell so that the zeroed arena means "cell i free for ticket i".
      const dif = (Atomics.load(m, rec + REC_SEQ) + cell - pos) | 0;
      if (dif === 0) {
        if (Atomics.compareExchange(m, tailAt, pos, pos + 1) !== pos) continue;
        Atomics.store(m, rec + REC_KIND, kind);
        Atomics.store(m, rec + REC_ARG, arg);
        // Read after the caller's unpublish: the GP that ends at target started after it.
        Atomics.store(m, rec + REC_TARGET, Atomics.load(m, this.gpAt) + GP_STEP);
        Atomics.store(m, rec + REC_SEQ, pos + 1 - cell);
        this.fullSince = -1;
        Atomics.add(m, this.mine + RcuCpu.CB_QUEUED, 1);
        this.ctx.emit(TraceEv.rcu, RcuTrace.cbQueue, kind);
        const backlog = (pos + 1 - Atomics.load(m, this.base + RcuG.HEAD)) | 0;
        const maxAt = this.base + RcuG.MAX_BACKLOG;
        let mx = Atomics.load(m, maxAt);
        while (backlog > mx) {
          const seen = Atomics.compareExchange(m, maxAt, mx, backlog);
          if (seen === mx) break;
          mx = seen;
        }
        return;
      }
      if (dif < 0) this.ringFull();
    }
  }

  /** The ring is full: make room ourselves rather than wait for pollers that may never come. */
  private ringFull(): void {
    const m = this.mem;
    // Handlers may take locks (freeing a page-table page takes the pool lock): a CPU holding
    // tracked locks lets the others drain first and forces only if nobody has for a while.
    if (Atomics.load(m, this.ctx.block0 + CpuField.HELD_DEPTH) !== 0) {
      // The CPU's clock: wall time in parallel runs, the scheduler's virtual clock under control
      // (it advances only when nobody else can run — then forcing is the only way on).
      const now = this.ctx.now();
      if (this.fullSince < 0) this.fullSince = now;
      if (now - this.fullSince < RING_FULL_WAIT_MS) {
        const h = Atomics.load(m, this.base + RcuG.HEAD);
        const rec = this.ring + (h & this.mask) * REC_WORDS;
        if (((Atomics.load(m, rec + REC_SEQ) + (h & this.mask) - (h + 1)) | 0) === 0) {
          this.tryAdvance(Atomics.load(m, rec + REC_TARGET));
        }
        this.sleepOnHead(h, this.fullSince + RING_FULL_WAIT_MS);
        return;
      }
    }
    if (this.runDue(this.cap, true) > 0) return;
    if (this.readDepth > 0) {
      // We cannot wait for a grace period we hold up ourselves. If the oldest record waits for
      // a grace period that our own section blocks, nothing can ever drain the ring.
      const m = this.mem;
      const h = Atomics.load(m, this.base + RcuG.HEAD);
      const rec = this.ring + (h & this.mask) * REC_WORDS;
      if (blocks(Atomics.load(m, this.ctrAt), Atomics.load(m, rec + REC_TARGET))) {
        throw new RcuError(
          `call_rcu() on cpu ${this.ctx.cpuId}: callback ring (${this.cap}) full inside a read-side section; enlarge rcuCallbacks`,
        );
      }
      this.sleepOnHead(h);
      return;
    }
    this.synchronizeRcu();
    if (this.runDue(this.cap, true) > 0) return;
    // Records claimed but not yet published, or being drained by others: wait for HEAD to move.
    this.sleepOnHead(Atomics.load(this.mem, this.base + RcuG.HEAD));
  }

  private sleepOnHead(h: number, deadline?: number): void {
    const m = this.mem;
    const headAt = this.base + RcuG.HEAD;
    Atomics.add(m, this.base + RcuG.HEAD_WAITERS, 1);
    try {
      this.ctx.block(headAt, h, deadline);
    } finally {
      Atomics.sub(m, this.base + RcuG.HEAD_WAITERS, 1);
    }
  }

  private safeToRun(): boolean {
    if (this.readDepth !== 0 || this.inCallback) return false;
    const m = this.mem;
    const b = this.ctx.block0;
    // Inside a wait round (blocked) or holding a tracked lock, a handler that takes a lock
    // could deadlock against ourselves: leave the work to a CPU at a clean point.
    return Atomics.load(m, b + CpuField.STATE) !== CpuState.blocked && Atomics.load(m, b + CpuField.HELD_DEPTH) === 0;
  }

  /** Run up to `max` due callbacks; returns how many ran. `force` skips the safety check. */
  private runDue(max: number, force: boolean): number {
    if (this.inCallback) return 0;
    if (!force && !this.safeToRun()) return 0;
    const m = this.mem;
    const headAt = this.base + RcuG.HEAD;
    let ran = 0;
    while (ran < max) {
      const pos = Atomics.load(m, headAt);
      const cell = pos & this.mask;
      const rec = this.ring + cell * REC_WORDS;
      const dif = (Atomics.load(m, rec + REC_SEQ) + cell - (pos + 1)) | 0;
      if (dif < 0) break; // empty, or the next record is not published yet
      if (dif > 0) continue; // another consumer took it
      if (!this.tryAdvance(Atomics.load(m, rec + REC_TARGET))) break;
      // Mark busy before claiming, so rcuBarrier() never sees the ticket neither queued nor running.
      Atomics.store(m, this.mine + RcuCpu.CB_TICKET, pos);
      Atomics.store(m, this.mine + RcuCpu.CB_BUSY, 1);
      if (Atomics.compareExchange(m, headAt, pos, pos + 1) !== pos) {
        Atomics.store(m, this.mine + RcuCpu.CB_BUSY, 0);
        continue;
      }
      const kind = Atomics.load(m, rec + REC_KIND);
      const arg = Atomics.load(m, rec + REC_ARG);
      Atomics.store(m, rec + REC_SEQ, pos + this.cap - cell);
      if (Atomics.load(m, this.base + RcuG.HEAD_WAITERS) !== 0) this.ctx.wake(headAt, this.ncpu);
      const fn = this.handlers.get(kind);
      this.inCallback = true;
      try {
        if (fn === undefined) throw new RcuError(`rcu callback kind ${kind} has no handler on cpu ${this.ctx.cpuId}`);
        this.ctx.emit(TraceEv.rcu, RcuTrace.cbInvoke, kind);
        fn(arg);
      } finally {
        this.inCallback = false;
        Atomics.store(m, this.mine + RcuCpu.CB_BUSY, 0);
        Atomics.add(m, this.mine + RcuCpu.CB_INVOKED, 1);
        if (Atomics.load(m, this.base + RcuG.HEAD_WAITERS) !== 0) this.ctx.wake(this.mine + RcuCpu.CB_BUSY, this.ncpu);
      }
      ran++;
    }
    return ran;
  }

  /** Poller: run due callbacks (or push their grace period along) when it is safe. */
  poll(): void {
    const m = this.mem;
    // Outside any section: report the deferred quiescent state if a GP waits for one, and always
    // when about to sleep (a wait round: STATE is blocked) — a context switch is a quiescent
    // state, and a sleeper must not need a kick from every later grace period.
    if (
      this.snap !== 0 &&
      this.readDepth === 0 &&
      ((Atomics.load(m, this.gpAt) | ACTIVE) !== this.snap ||
        Atomics.load(m, this.ctx.block0 + CpuField.STATE) === CpuState.blocked)
    ) {
      this.quiesce();
    }
    const h = Atomics.load(m, this.base + RcuG.HEAD);
    if (h === Atomics.load(m, this.base + RcuG.TAIL)) return;
    if (this.safeToRun()) {
      this.runDue(POLL_BATCH, false);
      return;
    }
    // Not a safe moment for handlers, but completing the grace period helps whoever runs them.
    const rec = this.ring + (h & this.mask) * REC_WORDS;
    if (((Atomics.load(m, rec + REC_SEQ) + (h & this.mask) - (h + 1)) | 0) === 0) {
      this.tryAdvance(Atomics.load(m, rec + REC_TARGET));
    }
  }

  /** rcu_barrier(): wait until every callback queued before the call has been invoked. */
  rcuBarrier(): void {
    if (this.readDepth > 0 || this.inCallback) {
      throw new RcuError(`rcu_barrier() inside an RCU read-side section or callback on cpu ${this.ctx.cpuId}`);
    }
    const m = this.mem;
    this.quiesce();
    const t = Atomics.load(m, this.base + RcuG.TAIL);
    const headAt = this.base + RcuG.HEAD;
    for (;;) {
      const h = Atomics.load(m, headAt);
      if (reached(h, t)) {
        const busy = this.busyBefore(t);
        if (busy < 0) return;
        this.waitWord(this.base + GLOBAL_WORDS + busy * PER_CPU_WORDS + RcuCpu.CB_BUSY, 1);
        continue;
      }
      if (this.runDue(this.cap, true) > 0) continue;
      const cell = h & this.mask;
      const rec = this.ring + cell * REC_WORDS;
      const published = ((Atomics.load(m, rec + REC_SEQ) + cell - (h + 1)) | 0) === 0;
      if (published && !this.done(Atomics.load(m, rec + REC_TARGET))) this.synchronizeRcu();
      else if (Atomics.load(m, headAt) === h) this.waitWord(headAt, h);
    }
  }

  /** A CPU still running a callback with ticket < t, or -1. */
  private busyBefore(t: number): number {
    const m = this.mem;
    for (let r = 0; r < this.ncpu; r++) {
      const line = this.base + GLOBAL_WORDS + r * PER_CPU_WORDS;
      if (Atomics.load(m, line + RcuCpu.CB_BUSY) === 0) continue;
      if (!reached(Atomics.load(m, line + RcuCpu.CB_TICKET), t)) return r;
    }
    return -1;
  }

  private waitWord(at: number, v: number): void {
    const m = this.mem;
    Atomics.add(m, this.base + RcuG.HEAD_WAITERS, 1);
    try {
      this.ctx.block(at, v);
    } finally {
      Atomics.sub(m, this.base + RcuG.HEAD_WAITERS, 1);
    }
  }
}

// ---- main-thread readers ----

export interface RcuStats {
  /** Current epoch (GP counter / 4). */
  gpSeq: number;
  /** Grace periods completed (synchronize calls + asynchronous completions). */
  gracePeriods: number;
  asyncGracePeriods: number;
  /** Grace-period latency (GP start to completion, synchronous or not), bucket i = [2^i, 2^(i+1)) µs. */
  gpLatencyHist: number[];
  gpP50Us: number;
  gpP99Us: number;
  callbacksQueued: number;
  callbacksInvoked: number;
  backlog: number;
  maxBacklog: number;
  stalls: number;
}

export function readRcuStats(arena: Arena): RcuStats {
  const m = arena.mem;
  const base = arena.base('rcu');
  let queued = 0;
  let invoked = 0;
  for (let r = 0; r < arena.config.cpus; r++) {
    const line = base + GLOBAL_WORDS + r * PER_CPU_WORDS;
    queued += Atomics.load(m, line + RcuCpu.CB_QUEUED);
    invoked += Atomics.load(m, line + RcuCpu.CB_INVOKED);
  }
  const hist = histRead(m, base + RcuG.HIST);
  return {
    gpSeq: Atomics.load(m, base + RcuG.GP) >>> 2,
    gracePeriods: Atomics.load(m, base + RcuG.GPS),
    asyncGracePeriods: Atomics.load(m, base + RcuG.ASYNC_GPS),
    gpLatencyHist: hist,
    gpP50Us: histPercentile(hist, 0.5),
    gpP99Us: histPercentile(hist, 0.99),
    callbacksQueued: queued,
    callbacksInvoked: invoked,
    backlog: (Atomics.load(m, base + RcuG.TAIL) - Atomics.load(m, base + RcuG.HEAD)) | 0,
    maxBacklog: Atomics.load(m, base + RcuG.MAX_BACKLOG),
    stalls: Atomics.load(m, base + RcuG.STALLS),
  };
}

/**
 * The largest callback backlog since the previous call (at least the current one), for one
 * main-thread sampler: call_rcu work comes in bursts that an instant sample mostly misses.
 */
export function takeRcuBacklogPeak(arena: Arena): number {
  const m = arena.mem;
  const base = arena.base('rcu');
  const now = (Atomics.load(m, base + RcuG.TAIL) - Atomics.load(m, base + RcuG.HEAD)) | 0;
  return Math.max(now, Atomics.exchange(m, base + RcuG.PEAK_BACKLOG, 0));
}

/** Reset the grace-period latency histogram (e.g. after a warm-up). */
export function resetRcuLatency(arena: Arena): void {
  const at = arena.base('rcu') + RcuG.HIST;
  for (let i = 0; i < HIST_BUCKETS; i++) Atomics.store(arena.mem, at + i, 0);
}

export function setRcuStallThreshold(arena: Arena, ms: number): void {
  Atomics.store(arena.mem, arena.base('rcu') + RcuG.STALL_MS, Math.max(1, Math.round(ms)));
}

export interface RcuStall {
  cpu: number;
  /** At least this long inside one read-side section. */
  ms: number;
  /** True the first time this section is reported. */
  first: boolean;
}

/**
 * RCU CPU stall detector, called periodically by ONE main-thread watchdog with any monotonic
 * millisecond clock (the same clock at every call). No timestamp is taken on the read side:
 * the watchdog remembers each CPU's reader word and when it first saw it; if the word's
 * snapshot equals the current epoch it bumps GP (harmless: epochs only need to grow), so any
 * new section on that CPU would carry a different word. The same word seen again therefore
 * means the same section, at least (now - first sighting) long. The threshold is checked
 * against a time lower bound, so a slow watchdog reports late, never falsely.
 */
export function findRcuStalls(arena: Arena, nowMs: number): RcuStall[] {
  const m = arena.mem;
  const base = arena.base('rcu');
  const cpuBase = arena.base('cpu');
  const threshold = Atomics.load(m, base + RcuG.STALL_MS) || RCU_STALL_DEFAULT_MS;
  const now = Math.floor(nowMs) | 0;
  const out: RcuStall[] = [];
  for (let r = 0; r < arena.config.cpus; r++) {
    const line = base + GLOBAL_WORDS + r * PER_CPU_WORDS;
    const v = Atomics.load(m, line + RcuCpu.CTR) & ~WAIT;
    const s = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.STATE);
    if (v === 0 || s === CpuState.done || s === CpuState.crashed) {
      Atomics.store(m, line + RcuCpu.WD_CTR, 0);
      continue;
    }
    if (Atomics.load(m, line + RcuCpu.WD_CTR) !== v) {
      Atomics.store(m, line + RcuCpu.WD_CTR, v);
      Atomics.store(m, line + RcuCpu.WD_SINCE, now);
      Atomics.store(m, line + RcuCpu.WD_STALLED, 0);
      const g = v & ~3;
      Atomics.compareExchange(m, base + RcuG.GP, g, g + GP_STEP);
      continue;
    }
    const ms = (now - Atomics.load(m, line + RcuCpu.WD_SINCE)) | 0;
    if (ms < threshold) continue;
    const first = Atomics.exchange(m, line + RcuCpu.WD_STALLED, 1) === 0;
    if (first) {
      Atomics.add(m, base + RcuG.STALLS, 1);
      Atomics.store(m, base + RcuG.LAST_STALL_CPU, r);
      Atomics.store(m, base + RcuG.LAST_STALL_MS, ms);
    }
    out.push({ cpu: r, ms, first });
  }
  return out;
}

/** Kernel-style text for a stall ("rcu: INFO: rcu detected stall on CPU n"). */
export function formatRcuStall(s: RcuStall): string {
  return `rcu: INFO: rcu detected stall: CPU ${s.cpu} inside one RCU read-side critical section for >= ${s.ms} ms`;
}

/**
 * For watchdogs and stall reports: does CPU `cpu` hold grace periods up right now — inside a
 * read-side section, or out of it without having reported the quiescent state yet (that happens
 * at its next poll once a grace period has started)?
 */
export function rcuHoldsGp(arena: Arena, cpu: number): boolean {
  return (Atomics.load(arena.mem, rcuCtrAt(arena, cpu)) & ACTIVE) !== 0;
}
