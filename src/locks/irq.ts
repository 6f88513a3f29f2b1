/**
 * Interrupts and IPIs between worker CPUs: the walker lock of RFC v2 without RCU table free.
 *
 * local_irq_disable() on a worker cannot stop anything real; what it models is the one property
 * fast-GUP relies on: a CPU acknowledges an IPI only while its interrupts are enabled. So a
 * TLB-shootdown sender that waits for every online CPU's acknowledgement also waits for every
 * walker that disabled interrupts before the shootdown to re-enable them.
 *
 * Per-CPU line in the `ipi` region: REQ (requests, bumped by senders), ACK (last REQ this CPU
 * acknowledged), KINDS (bitmask of pending kinds), IRQ_OFF (1 while interrupts are disabled, for
 * deadlock detection by others; published at the first poll while disabled, so the disable/enable
 * pair itself touches no shared word unless an IPI is pending). A CPU acknowledges in its poller (named points and wait rounds)
 * and in localIrqEnable — never while disabled. Idle, done and crashed CPUs count as having
 * acknowledged: they have no walker in flight.
 */
import { type Arena, CPU_WORDS, LINE_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState, HELD_WORDS, MAX_HELD } from '../shared-mem/cpu-block.js';
import { TraceEv } from '../shared-mem/trace.js';
import type { CpuCtx } from './ctx.js';
import { YieldPt } from './yield-points.js';
import { publishedHeldDepth } from './lockdep.js';
import { HIST_BUCKETS, histAdd, histPercentile, histRead } from './log2hist.js';

/** Global words, offsets from the start of the `ipi` region (4 lines). */
export const IpiG = {
  DEADLOCKS: 0,
  DL_SENDER: 1,
  DL_TARGET: 2,
  /** Word the target was blocked on (-1 = unknown). */
  DL_WORD: 3,
  SHOOTDOWNS: 4,
  /** ms a target may stay blocked with IRQs off before the sender calls it a deadlock (0 = default). */
  DEADLOCK_MS: 5,
  /** Broadcast latency histogram, log2 µs (lines 1-2). */
  HIST: 16,
} as const;

export const IpiCpu = {
  IRQ_OFF: 0,
  REQ: 1,
  ACK: 2,
  KINDS: 3,
  SENT: 4,
  ACKS: 5,
  /** Broadcasts this CPU sent, and the µs it waited for their acknowledgements (WAIT_US_HI counts 2^30 µs). */
  BROADCASTS: 6,
  WAIT_US: 7,
  WAIT_US_HI: 8,
} as const;

/** A per-CPU µs total kept in two words (low below 2^30, high = 2^30 µs units); only its CPU writes it. */
const US_WRAP = 2 ** 30;

export const IpiKind = { tlbFlush: 0, reschedule: 1, callFunction: 2 } as const;

/** Fallback for waits the held-lock chain cannot explain (a lock not tracked by lockdep-lite). */
export const IPI_DEADLOCK_DEFAULT_MS = 2000;

const GLOBAL_WORDS = 4 * LINE_WORDS;

export class IrqError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'IrqError';
  }
}

/** A CPU waits with interrupts disabled while the sender waits for its IPI acknowledgement. */
export class IpiDeadlock extends Error {
  constructor(
    readonly sender: number,
    readonly target: number,
    readonly word: number,
    readonly how: 'held-lock-chain' | 'timeout',
  ) {
    super(
      how === 'held-lock-chain'
        ? `IPI deadlock: cpu ${sender} waits for cpu ${target} to acknowledge an IPI, while cpu ${target} waits with interrupts disabled on word ${word}, which cpu ${sender} holds (directly or through a chain)`
        : `IPI deadlock (suspected): cpu ${sender} waits for cpu ${target} to acknowledge an IPI, while cpu ${target} has been blocked with interrupts disabled on word ${word} beyond the deadlock threshold`,
    );
    this.name = 'IpiDeadlock';
  }
}

function ipiLine(arena: Arena, cpu: number): number {
  return arena.base('ipi') + GLOBAL_WORDS + cpu * LINE_WORDS;
}

export class Irq {
  private depth = 0;
  /** IRQ_OFF published as 1 (done lazily, at a poll while disabled). */
  private offShown = false;
  /** Last REQ value acknowledged (owner-local copy of ACK). */
  private acked = 0;
  private readonly mem: Int32Array;
  private readonly base: number;
  private readonly mine: number;
  private readonly ncpu: number;
  private readonly cpuBase: number;
  /** Under a controlled scheduler: only then are the yield points of irq disable/enable worth a call. */
  private readonly controlled: boolean;
  private readonly want: Int32Array;
  private readonly handlers = new Map<number, () => void>();
  /** The CPUs a broadcast goes to: every other CPU, unless narrowed (setPeers). */
  private peers: number[];

  /** The busted flavours (busted/irq.ts) are subclasses: this hot path carries no flag for them. */
  constructor(readonly ctx: CpuCtx) {
    this.mem = ctx.mem;
    this.base = ctx.arena.base('ipi');
    this.ncpu = ctx.arena.config.cpus;
    this.mine = ipiLine(ctx.arena, ctx.cpuId);
    this.cpuBase = ctx.arena.base('cpu');
    this.controlled = ctx.controlled;
    this.want = new Int32Array(this.ncpu);
    this.peers = Array.from({ length: this.ncpu }, (_, t) => t).filter((t) => t !== ctx.cpuId);
    this.acked = Atomics.load(this.mem, this.mine + IpiCpu.ACK);
    Atomics.store(this.mem, this.mine + IpiCpu.IRQ_OFF, 0);
    ctx.addPoller(() => this.poll());
  }

  get irqsDisabled(): boolean {
    return this.depth > 0;
  }

  /**
   * Send broadcasts only to `cpus` (this CPU excluded): the CPUs that may run anything the
   * broadcast must wait for, as flush_tlb_mm_range targets mm_cpumask. Independent worlds use it
   * (each world's CPUs alone run its processes); with every CPU it is the default.
   */
  setPeers(cpus: readonly number[]): void {
    this.peers = cpus.filter((t) => t !== this.ctx.cpuId);
  }

  /** CPUs a broadcast from this CPU goes to. */
  get peerCount(): number {
    return this.peers.length;
  }

  /** Handler run on this CPU when it acknowledges an IPI of `kind` (0..31). */
  onIpi(kind: number, fn: () => void): void {
    this.handlers.set(kind, fn);
  }

  localIrqDisable(): void {
    this.depth++;
    // Controlled runs: another CPU may run (send a shootdown, wait for our ack) while IRQs are off.
    if (this.controlled) this.ctx.yieldAt(YieldPt.irqDisable);
  }

  localIrqEnable(): void {
    if (this.depth <= 0) throw new IrqError(`local_irq_enable with interrupts enabled on cpu ${this.ctx.cpuId}`);
    // Controlled runs: another CPU may run while IRQs are still off.
    if (this.controlled) this.ctx.yieldAt(YieldPt.irqEnable);
    if (--this.depth === 0) {
      if (this.offShown) {
        this.offShown = false;
        Atomics.store(this.mem, this.mine + IpiCpu.IRQ_OFF, 0);
      }
      const r = Atomics.load(this.mem, this.mine + IpiCpu.REQ);
      if (r !== this.acked) this.ack(r);
    }
  }

  /** local_irq_save(): disable, returning the previous state for localIrqRestore. */
  localIrqSave(): number {
    const flags = this.depth;
    this.localIrqDisable();
    return flags;
  }

  localIrqRestore(flags: number): void {
    if (flags < 0 || flags >= this.depth) {
      throw new IrqError(`local_irq_restore(${flags}) at depth ${this.depth} on cpu ${this.ctx.cpuId}`);
    }
    if (flags > 0) {
      this.depth = flags;
      return;
    }
    this.depth = 1;
    this.localIrqEnable();
  }

  /** Poller: acknowledge pending IPIs if interrupts are enabled. */
  poll(): void {
    if (this.depth !== 0) {
      // Others need IRQ_OFF only to judge a CPU that waits with interrupts off, and every wait
      // round polls before sleeping: publishing here keeps local_irq_disable store-free.
      if (!this.offShown) {
        this.offShown = true;
        Atomics.store(this.mem, this.mine + IpiCpu.IRQ_OFF, 1);
        // A sender already waiting for our ack saw IRQs on and waits with no deadline (we would
        // ack at our next poll): wake it so it re-judges us (blocked, IRQs off: the detector).
        // Without this a controlled run reports the scheduler's deadlock instead of IpiDeadlock.
        if (Atomics.load(this.mem, this.mine + IpiCpu.REQ) !== this.acked) this.ctx.wake(this.mine + IpiCpu.ACK, this.ncpu);
      }
      return;
    }
    const r = Atomics.load(this.mem, this.mine + IpiCpu.REQ);
    if (r !== this.acked) this.ack(r);
  }

  /**
   * This CPU stops for good (done or crashed; its state already says so): like a CPU going
   * offline, it counts as having acknowledged everything. Senders judge a stopped CPU by its state,
   * but one that read it still running sleeps on our ACK word: move the word and wake it. (No
   * handler runs: a stopped CPU has no TLB to flush.) Sequentially consistent: a sender that
   * bumps REQ after our load reads our stopped state afterwards.
   */
  offline(): void {
    const m = this.mem;
    const r = Atomics.load(m, this.mine + IpiCpu.REQ);
    this.acked = r;
    Atomics.store(m, this.mine + IpiCpu.ACK, r);
    this.ctx.wake(this.mine + IpiCpu.ACK, this.ncpu);
  }

  private ack(r: number): void {
    const m = this.mem;
    let kinds = Atomics.exchange(m, this.mine + IpiCpu.KINDS, 0);
    while (kinds !== 0) {
      const k = 31 - Math.clz32(kinds);
      kinds &= ~(1 << k);
      this.handlers.get(k)?.();
    }
    this.acked = r;
    Atomics.store(m, this.mine + IpiCpu.ACK, r);
    Atomics.add(m, this.mine + IpiCpu.ACKS, 1);
    this.ctx.emit(TraceEv.ipi, -1, r);
    this.ctx.wake(this.mine + IpiCpu.ACK, this.ncpu);
  }

  /**
   * Send IPI `kind` to every peer (every other CPU unless setPeers narrowed them) and wait until
   * each online one has acknowledged. The
   * sender keeps interrupts enabled and keeps acknowledging others' IPIs while it waits, so two
   * concurrent shootdowns cannot deadlock. Throws IpiDeadlock instead of hanging. Returns the µs
   * this CPU waited for the acknowledgements (measured around the wait alone, sends excluded).
   */
  ipiBroadcast(kind: number): number {
    const me = this.ctx.cpuId;
    if (this.depth > 0) {
      throw new IrqError(`IPI broadcast with interrupts disabled on cpu ${me} (smp_call_function with IRQs off can deadlock)`);
    }
    if (!(kind >= 0 && kind < 32)) throw new RangeError(`ipi kind ${kind}`);
    const m = this.mem;
    const t0 = performance.now();
    for (const t of this.peers) {
      const line = ipiLine(this.ctx.arena, t);
      Atomics.or(m, line + IpiCpu.KINDS, 1 << kind);
      this.want[t] = Atomics.add(m, line + IpiCpu.REQ, 1) + 1;
      this.kick(t);
    }
    Atomics.add(m, this.mine + IpiCpu.SENT, this.peers.length);
    this.ctx.emit(TraceEv.ipi, kind, me);
    const t1 = performance.now();
    this.waitAcks();
    const t2 = performance.now();
    const waitUs = (t2 - t1) * 1000;
    this.addWait(waitUs);
    Atomics.add(m, this.base + IpiG.SHOOTDOWNS, 1);
    histAdd(m, this.base + IpiG.HIST, (t2 - t0) * 1000);
    return waitUs;
  }

  /** Count one broadcast and its wait in this CPU's line (whole µs; a soak's hours fit the two words). */
  private addWait(us: number): void {
    const m = this.mem;
    Atomics.add(m, this.mine + IpiCpu.BROADCASTS, 1);
    const lo = Atomics.load(m, this.mine + IpiCpu.WAIT_US) + Math.round(us);
    Atomics.store(m, this.mine + IpiCpu.WAIT_US, lo % US_WRAP);
    if (lo >= US_WRAP) Atomics.add(m, this.mine + IpiCpu.WAIT_US_HI, Math.floor(lo / US_WRAP));
  }

  /** flush_tlb_*: a TLB-flush IPI to every CPU, waiting for all acknowledgements. */
  tlbShootdown(): number {
    return this.ipiBroadcast(IpiKind.tlbFlush);
  }

  /** Wake a sleeping target so its wait round polls (and acknowledges) promptly. */
  private kick(t: number): void {
    const w = Atomics.load(this.mem, this.cpuBase + t * CPU_WORDS + CpuField.WAIT_ON);
    if (w >= 0) this.ctx.wake(w, this.ncpu);
  }

  /** Wait for every other CPU's acknowledgement of the broadcast just sent. */
  protected waitAcks(): void {
    for (const t of this.peers) this.waitAck(t);
  }

  /**
   * Target t, in CPU state s, needs no acknowledgement: idle, done and crashed CPUs have no
   * walker in flight (a CPU with interrupts disabled is exactly the one that must be waited for).
   */
  protected exempt(t: number, s: number): boolean {
    return s === CpuState.idle || s === CpuState.done || s === CpuState.crashed;
  }

  private waitAck(t: number): void {
    const m = this.mem;
    const ackAt = ipiLine(this.ctx.arena, t) + IpiCpu.ACK;
    const offAt = ipiLine(this.ctx.arena, t) + IpiCpu.IRQ_OFF;
    const block = this.cpuBase + t * CPU_WORDS;
    const want = this.want[t]!;
    let stuckSince = -1;
    let stuckOn = -1;
    for (;;) {
      const a = Atomics.load(m, ackAt);
      if (((a - want) | 0) >= 0) return;
      const s = Atomics.load(m, block + CpuField.STATE);
      if (this.exempt(t, s)) return;
      this.poll();
      if (s === CpuState.blocked && Atomics.load(m, offAt) !== 0) {
        const w = Atomics.load(m, block + CpuField.WAIT_ON);
        if (w >= 0 && this.chainReachesMe(t)) this.deadlock(t, w, 'held-lock-chain');
        // The detector's clock is the CPU's: wall time in parallel runs; under a controlled
        // scheduler a virtual clock that only advances once no CPU can run (a real deadlock).
        const now = this.ctx.now();
        if (stuckSince < 0 || w !== stuckOn) {
          stuckSince = now;
          stuckOn = w;
        } else if (now - stuckSince > this.deadlockMs()) {
          this.deadlock(t, w, 'timeout');
        }
      } else {
        stuckSince = -1;
      }
      this.kick(t);
      this.ctx.block(ackAt, a, stuckSince < 0 ? undefined : stuckSince + this.deadlockMs() + 1);
    }
  }

  private deadlockMs(): number {
    return Atomics.load(this.mem, this.base + IpiG.DEADLOCK_MS) || IPI_DEADLOCK_DEFAULT_MS;
  }

  /** Does the wait-for chain starting at CPU t (word waited on -> holder -> ...) reach us? */
  private chainReachesMe(t: number): boolean {
    const m = this.mem;
    const me = this.ctx.cpuId;
    let cur = t;
    for (let step = 0; step < this.ncpu; step++) {
      const w = Atomics.load(m, this.cpuBase + cur * CPU_WORDS + CpuField.WAIT_ON);
      if (w < 0) return false;
      const holder = this.holderOf(w);
      if (holder < 0) return false;
      if (holder === me) return true;
      if (Atomics.load(m, this.cpuBase + holder * CPU_WORDS + CpuField.STATE) !== CpuState.blocked) return false;
      cur = holder;
    }
    return false;
  }

  /** A CPU whose lockdep-lite held-lock stack contains lock word w, or -1. */
  private holderOf(w: number): number {
    const m = this.mem;
    for (let c = 0; c < this.ncpu; c++) {
      const b = this.cpuBase + c * CPU_WORDS;
      const n = publishedHeldDepth(this.ctx.arena, c);
      for (let i = 0; i < n; i++) if (Atomics.load(m, b + CpuField.HELD + i * HELD_WORDS) === w) return c;
    }
    return -1;
  }

  private deadlock(t: number, w: number, how: 'held-lock-chain' | 'timeout'): never {
    const m = this.mem;
    Atomics.add(m, this.base + IpiG.DEADLOCKS, 1);
    Atomics.store(m, this.base + IpiG.DL_SENDER, this.ctx.cpuId);
    Atomics.store(m, this.base + IpiG.DL_TARGET, t);
    Atomics.store(m, this.base + IpiG.DL_WORD, w);
    throw new IpiDeadlock(this.ctx.cpuId, t, w, how);
  }
}

// ---- main-thread readers ----

export interface IpiStats {
  /** IPIs sent (one per target per broadcast). */
  sent: number;
  acks: number;
  shootdowns: number;
  /** Broadcasts and the total µs their senders waited for acknowledgements (from the per-CPU lines). */
  broadcasts: number;
  waitUs: number;
  /** waitUs / broadcasts (0 with none). */
  meanWaitUs: number;
  latencyHist: number[];
  p50Us: number;
  p99Us: number;
  deadlocks: number;
  /** The last deadlock reported, if any. */
  lastDeadlock: { sender: number; target: number; word: number } | null;
}

export function readIpiStats(arena: Arena): IpiStats {
  const m = arena.mem;
  const base = arena.base('ipi');
  let sent = 0;
  let acks = 0;
  let broadcasts = 0;
  let waitUs = 0;
  for (let c = 0; c < arena.config.cpus; c++) {
    const line = ipiLine(arena, c);
    sent += Atomics.load(m, line + IpiCpu.SENT);
    acks += Atomics.load(m, line + IpiCpu.ACKS);
    broadcasts += Atomics.load(m, line + IpiCpu.BROADCASTS);
    waitUs += Atomics.load(m, line + IpiCpu.WAIT_US) + Atomics.load(m, line + IpiCpu.WAIT_US_HI) * US_WRAP;
  }
  const hist = histRead(m, base + IpiG.HIST);
  const deadlocks = Atomics.load(m, base + IpiG.DEADLOCKS);
  return {
    sent,
    acks,
    shootdowns: Atomics.load(m, base + IpiG.SHOOTDOWNS),
    broadcasts,
    waitUs,
    meanWaitUs: broadcasts === 0 ? 0 : Math.round((waitUs / broadcasts) * 10) / 10,
    latencyHist: hist,
    p50Us: histPercentile(hist, 0.5),
    p99Us: histPercentile(hist, 0.99),
    deadlocks,
    lastDeadlock:
      deadlocks === 0
        ? null
        : {
            sender: Atomics.load(m, base + IpiG.DL_SENDER),
            target: Atomics.load(m, base + IpiG.DL_TARGET),
            word: Atomics.load(m, base + IpiG.DL_WORD),
          },
  };
}

export function setIpiDeadlockThreshold(arena: Arena, ms: number): void {
  Atomics.store(arena.mem, arena.base('ipi') + IpiG.DEADLOCK_MS, Math.max(1, Math.round(ms)));
}

export function resetIpiLatency(arena: Arena): void {
  const at = arena.base('ipi') + IpiG.HIST;
  for (let i = 0; i < HIST_BUCKETS; i++) Atomics.store(arena.mem, at + i, 0);
}

/**
 * For watchdogs and stall reports: did CPU `cpu` have interrupts disabled at its last poll?
 * IRQ_OFF is published lazily (at the first poll while disabled), so this is exact for a CPU
 * that is blocked (every wait round polls first) and may lag for a running one.
 */
export function irqOffShown(arena: Arena, cpu: number): boolean {
  return Atomics.load(arena.mem, ipiLine(arena, cpu) + IpiCpu.IRQ_OFF) !== 0;
}
