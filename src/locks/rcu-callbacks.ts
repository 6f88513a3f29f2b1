/**
 * call_rcu and rcu_barrier (the kernel's rcu_segcblist + rcu_barrier(), liburcu's
 * urcu-call-rcu): a bounded MPMC ring (Vyukov's sequence-numbered cells) of {kind, arg, target}
 * records; target = GP at enqueue + 4, due when COMPLETED >= target. Any CPU may drive a grace
 * period without blocking (bump GP, then scan the reader words: `RcuGpSide.tryAdvance`) and run
 * due callbacks from its poller, at a safe moment (outside read-side sections, holding no tracked
 * lock, not inside a wait round, not already inside a callback). synchronizeRcu() runs due ones
 * on return, rcuBarrier() runs them itself, and a producer that finds the ring full runs a grace
 * period and drains it — so callbacks cannot starve even if no poller ever reaches a safe moment.
 */
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { TraceEv } from '../shared-mem/trace.js';
import type { CpuCtx } from './ctx.js';
import { GLOBAL_WORDS, GP_STEP, PER_CPU_WORDS, RcuCpu, RcuError, RcuG, RcuTrace, blocks, rcuCpuLine, rcuRingCapacity, reached } from './rcu-words.js';

const REC_WORDS = 4;
const REC_SEQ = 0;
const REC_KIND = 1;
const REC_ARG = 2;
const REC_TARGET = 3;
/** Callbacks run per poll: bounds the time a poller steals from the CPU's own work. */
const POLL_BATCH = 16;
/** How long callRcu() on a full ring, holding locks, waits for other CPUs to drain it. */
const RING_FULL_WAIT_MS = 100;

/** What the callbacks need from the CPU's read side and grace periods (rcu.ts). */
export interface RcuGpSide {
  readonly mem: Int32Array;
  /** The rcu region, its GP word, this CPU's per-CPU lines, and the CPU count. */
  readonly base: number;
  readonly gpAt: number;
  readonly mine: number;
  readonly ncpu: number;
  readonly readDepth: number;
  /** This CPU's reader word. */
  readonly ctrAt: number;
  quiesce(): void;
  synchronizeRcu(): void;
  /** Drive the grace period `target` needs without blocking; true once it is over. */
  tryAdvance(target: number): boolean;
  /** The grace period for epoch `target` is over. */
  done(target: number): boolean;
}

export class RcuCallbacks {
  private readonly mem: Int32Array;
  private readonly base: number;
  private readonly gpAt: number;
  private readonly mine: number;
  private readonly ring: number;
  private readonly cap: number;
  private readonly mask: number;
  private readonly ncpu: number;
  private readonly handlers = new Map<number, (arg: number) => void>();
  private inCallback = false;
  /** The TAIL at which this CPU last saw the ring empty (poll's one-load fast path). */
  private emptyAtTail = 0;
  private seenEmpty = false;
  /** When callRcu() first found the ring full while holding locks (-1 = not waiting). */
  private fullSince = -1;

  constructor(
    private readonly ctx: CpuCtx,
    private readonly gp: RcuGpSide,
  ) {
    ({ mem: this.mem, base: this.base, gpAt: this.gpAt, mine: this.mine, ncpu: this.ncpu } = gp);
    this.ring = this.base + GLOBAL_WORDS + this.ncpu * PER_CPU_WORDS;
    this.cap = rcuRingCapacity(ctx.arena);
    this.mask = this.cap - 1;
  }

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
        raiseTo(m, this.base + RcuG.MAX_BACKLOG, backlog);
        return;
      }
      if (dif < 0) this.ringFull();
    }
  }

  /**
   * Before driving the grace period of a queued record: every callback passes here while still
   * queued, so the peak seen here is the interval's peak backlog (an instant sample every 200 ms
   * mostly sees an empty ring).
   */
  private advance(target: number): boolean {
    const m = this.mem;
    raiseTo(m, this.base + RcuG.PEAK_BACKLOG, (Atomics.load(m, this.base + RcuG.TAIL) - Atomics.load(m, this.base + RcuG.HEAD)) | 0);
    return this.gp.tryAdvance(target);
  }

  /** The record at ticket h, if published (-1 = not yet). */
  private publishedAt(h: number): number {
    const rec = this.ring + (h & this.mask) * REC_WORDS;
    return ((Atomics.load(this.mem, rec + REC_SEQ) + (h & this.mask) - (h + 1)) | 0) === 0 ? rec : -1;
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
        const rec = this.publishedAt(h);
        if (rec >= 0) this.advance(Atomics.load(m, rec + REC_TARGET));
        this.sleepOnHead(h, this.fullSince + RING_FULL_WAIT_MS);
        return;
      }
    }
    if (this.runDue(this.cap, true) > 0) return;
    if (this.gp.readDepth > 0) {
      // We cannot wait for a grace period we hold up ourselves. If the oldest record waits for
      // a grace period that our own section blocks, nothing can ever drain the ring.
      const h = Atomics.load(m, this.base + RcuG.HEAD);
      const rec = this.ring + (h & this.mask) * REC_WORDS;
      if (blocks(Atomics.load(m, this.gp.ctrAt), Atomics.load(m, rec + REC_TARGET))) {
        throw new RcuError(
          `call_rcu() on cpu ${this.ctx.cpuId}: callback ring (${this.cap}) full inside a read-side section; enlarge rcuCallbacks`,
        );
      }
      this.sleepOnHead(h);
      return;
    }
    this.gp.synchronizeRcu();
    if (this.runDue(this.cap, true) > 0) return;
    // Records claimed but not yet published, or being drained by others: wait for HEAD to move.
    this.sleepOnHead(Atomics.load(this.mem, this.base + RcuG.HEAD));
  }

  private sleepOnHead(h: number, deadline?: number): void {
    this.sleepCounted(this.base + RcuG.HEAD, h, deadline);
  }

  /** Sleep on `at` as a HEAD waiter: consumers wake HEAD (and CB_BUSY) only when there are some. */
  private sleepCounted(at: number, v: number, deadline?: number): void {
    const m = this.mem;
    Atomics.add(m, this.base + RcuG.HEAD_WAITERS, 1);
    try {
      this.ctx.block(at, v, deadline);
    } finally {
      Atomics.sub(m, this.base + RcuG.HEAD_WAITERS, 1);
    }
  }

  private safeToRun(): boolean {
    if (this.gp.readDepth !== 0 || this.inCallback) return false;
    const m = this.mem;
    const b = this.ctx.block0;
    // Inside a wait round (blocked) or holding a tracked lock, a handler that takes a lock
    // could deadlock against ourselves: leave the work to a CPU at a clean point.
    return Atomics.load(m, b + CpuField.STATE) !== CpuState.blocked && Atomics.load(m, b + CpuField.HELD_DEPTH) === 0;
  }

  /** After a synchronous grace period: run a batch of due callbacks if it is a safe moment. */
  runAfterGp(): void {
    this.runDue(POLL_BATCH, false);
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
      if (!this.advance(Atomics.load(m, rec + REC_TARGET))) break;
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
    // HEAD only follows TAIL: a ring seen empty at this TAIL is still empty while TAIL stays put,
    // so the common poll reads one shared word, not two.
    const t = Atomics.load(m, this.base + RcuG.TAIL);
    if (t === this.emptyAtTail && this.seenEmpty) return;
    const h = Atomics.load(m, this.base + RcuG.HEAD);
    if (h === t) {
      this.emptyAtTail = t;
      this.seenEmpty = true;
      return;
    }
    if (this.safeToRun()) {
      this.runDue(POLL_BATCH, false);
      return;
    }
    // Not a safe moment for handlers, but completing the grace period helps whoever runs them.
    const rec = this.publishedAt(h);
    if (rec >= 0) this.advance(Atomics.load(m, rec + REC_TARGET));
  }

  /** rcu_barrier(): wait until every callback queued before the call has been invoked. */
  rcuBarrier(): void {
    if (this.gp.readDepth > 0 || this.inCallback) {
      throw new RcuError(`rcu_barrier() inside an RCU read-side section or callback on cpu ${this.ctx.cpuId}`);
    }
    const m = this.mem;
    this.gp.quiesce();
    const t = Atomics.load(m, this.base + RcuG.TAIL);
    const headAt = this.base + RcuG.HEAD;
    for (;;) {
      const h = Atomics.load(m, headAt);
      if (reached(h, t)) {
        const busy = this.busyBefore(t);
        if (busy < 0) return;
        this.sleepCounted(rcuCpuLine(this.base, busy) + RcuCpu.CB_BUSY, 1);
        continue;
      }
      if (this.runDue(this.cap, true) > 0) continue;
      const rec = this.publishedAt(h);
      if (rec >= 0 && !this.gp.done(Atomics.load(m, rec + REC_TARGET))) this.gp.synchronizeRcu();
      else if (Atomics.load(m, headAt) === h) this.sleepCounted(headAt, h);
    }
  }

  /** A CPU still running a callback with ticket < t, or -1. */
  private busyBefore(t: number): number {
    const m = this.mem;
    for (let r = 0; r < this.ncpu; r++) {
      const line = rcuCpuLine(this.base, r);
      if (Atomics.load(m, line + RcuCpu.CB_BUSY) === 0) continue;
      if (!reached(Atomics.load(m, line + RcuCpu.CB_TICKET), t)) return r;
    }
    return -1;
  }
}

/** Raise the word at `at` to at least v (a running maximum several CPUs update). */
function raiseTo(m: Int32Array, at: number, v: number): void {
  let mx = Atomics.load(m, at);
  while (v > mx) {
    const seen = Atomics.compareExchange(m, at, mx, v);
    if (seen === mx) break;
    mx = seen;
  }
}
