/**
 * A CPU: the execution context of one worker thread. Holds the per-CPU PRNG streams, the trace
 * ring, the named-point hook (race widening, scheduler yields) and the one blocking hook through
 * which every wait in pmdtorture goes (`Waiter`).
 */
import { type Arena, CPU_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { Ctl, StopState } from '../shared-mem/ctl.js';
import { Prng, Stream } from '../shared-mem/prng.js';
import { TraceEv, TraceRing } from '../shared-mem/trace.js';
import { type CpuCtx, RunAborted } from '../locks/ctx.js';

/** How a CPU waits and yields. Parallel runs use ParallelWaiter; controlled schedules their own. */
export interface Waiter {
  /** See LockCtx.block; `deadline` is in the clock of `now` (parallel waiters may ignore it). */
  block(cpu: Cpu, at: number, expected: number, deadline?: number): void;
  wake(cpu: Cpu, at: number, count: number): void;
  /** A named point: the place a controlled scheduler may switch CPUs. */
  yieldAt(cpu: Cpu, point: number): void;
  /**
   * When true, every trace event (each lock and unlock, RCU and IPI operation, model event) is
   * also a yield point: `yieldAt(cpu, EVENT_POINT_BASE + event id)` right after the event.
   * Controlled schedules only; parallel runs leave it unset and pay nothing. It also enables the
   * fine-grained yield points (Cpu.yieldAt: lock attempts, RCU/IRQ, page-table entry accesses).
   */
  readonly yieldOnEvents?: boolean | undefined;
  /**
   * True for a controlled scheduler: race-widening sleeps are off, and every timeout in the
   * lock library reads `now` instead of the wall clock.
   */
  readonly controlled?: boolean | undefined;
  /** The clock for timeouts (CpuCtx.now); missing = wall time, performance.now(). */
  now?(cpu: Cpu): number;
}

/** Point ids passed to Waiter.yieldAt for trace events (named points are small integers). */
export const EVENT_POINT_BASE = 1000;

/** Race widening: per-point probability of a delay, and its length. */
export interface WidenConfig {
  /** Probability per point id (index = point id); missing = 0. */
  prob: readonly number[];
  /** Delay length in microseconds per point id. */
  us: readonly number[];
}

export interface CpuOptions {
  seed: number;
  widen?: WidenConfig | undefined;
  waiter?: Waiter | undefined;
  /** Time origin for trace timestamps (performance.now() in this thread at run start). */
  t0?: number | undefined;
  /** Word of point 0's widening counter (point id i at +i), written by this CPU only: each delay taken is counted. */
  widenCountAt?: number | undefined;
}

const noPoll = (): void => {};

export class Cpu implements CpuCtx {
  readonly mem: Int32Array;
  readonly block0: number;
  /** Operation choices. */
  readonly rng: Prng;
  /** Race-widening draws: separate so widening never changes the operation stream. */
  readonly widenRng: Prng;
  readonly trace: TraceRing;
  waiter: Waiter;
  readonly controlled: boolean;
  private readonly eventYields: boolean;
  private readonly pollers: Array<() => void> = [];
  private poll0: () => void = noPoll;
  private poll1: () => void = noPoll;
  private beats = 0;
  private readonly widenProb: Float64Array;
  private readonly widenMs: Float64Array;
  private readonly stopAt: number;
  /** A private word to sleep on for widening delays (never notified). */
  private readonly napAt: number;
  private readonly widenCountAt: number;

  constructor(
    readonly arena: Arena,
    readonly cpuId: number,
    opts: CpuOptions,
  ) {
    if (cpuId < 0 || cpuId >= arena.config.cpus) throw new RangeError(`cpu ${cpuId} out of range`);
    this.mem = arena.mem;
    this.block0 = arena.base('cpu') + cpuId * CPU_WORDS;
    this.rng = new Prng(opts.seed, cpuId, Stream.ops);
    this.widenRng = new Prng(opts.seed, cpuId, Stream.widen);
    this.trace = new TraceRing(arena, cpuId, opts.t0);
    this.waiter = opts.waiter ?? parallelWaiter;
    this.eventYields = this.waiter.yieldOnEvents === true;
    this.controlled = this.waiter.controlled === true;
    // Under control a widening sleep changes nothing but the wall time: only one CPU runs.
    this.widenProb = Float64Array.from(this.controlled ? [] : (opts.widen?.prob ?? []));
    this.widenMs = Float64Array.from(opts.widen?.us ?? [], (us) => us / 1000);
    this.stopAt = arena.base('ctl') + Ctl.STOP;
    this.napAt = arena.base('scratch') + 64 * 16 + cpuId * 16;
    this.widenCountAt = opts.widenCountAt ?? -1;
    Atomics.store(this.mem, this.block0 + CpuField.WAIT_ON, -1);
    Atomics.store(this.mem, this.block0 + CpuField.WAIT_CLASS, -1);
  }

  // ---- LockCtx ----
  block(at: number, expected: number, deadline?: number): void {
    this.waiter.block(this, at, expected, deadline);
  }

  wake(at: number, count: number): void {
    this.waiter.wake(this, at, count);
  }

  // ---- CpuCtx ----
  emit(ev: number, a: number, b: number): void {
    this.trace.emit(ev, a, b);
    if (this.eventYields) this.waiter.yieldAt(this, EVENT_POINT_BASE + ev);
  }

  /**
   * A yield point of the lock library or the model's page-table accesses (no poll, no widening:
   * unlike `point`, it is no window of its own). Only with eventYields, so parallel runs and the
   * coarser 'points' schedules pay one branch.
   */
  yieldAt(point: number): void {
    if (this.eventYields) this.waiter.yieldAt(this, point);
  }

  addPoller(fn: () => void): void {
    if (this.pollers.length === 0) this.poll0 = fn;
    else if (this.pollers.length === 1) this.poll1 = fn;
    this.pollers.push(fn);
  }

  /**
   * Every poller, every time (interrupt delivery at each named point is what opens the IPI
   * windows). The first two (a kernel's RCU and IRQ) are called from fields of their own: each
   * call site then sees one closure and V8 inlines it, where one loop over both did not.
   */
  poll(): void {
    this.poll0();
    this.poll1();
    for (let i = 2; i < this.pollers.length; i++) this.pollers[i]!();
  }

  now(): number {
    const w = this.waiter;
    return w.now !== undefined ? w.now(this) : performance.now();
  }

  // ---- named points ----
  /**
   * A named point inside a race window: delivers pending interrupts, may be widened by a
   * seeded delay, and is where a controlled scheduler may switch to another CPU.
   */
  point(id: number): void {
    const m = this.mem;
    // Only this CPU writes its block, and only snapshots (stall and deadlock reports) read these
    // two words: plain stores (an Atomics.store costs ~15 ns here), published by the CPU's next
    // Atomics store (trace head, wait round, state), as the model's counters are.
    m[this.block0 + CpuField.LAST_POINT] = id;
    m[this.block0 + CpuField.HEARTBEAT] = ++this.beats;
    this.poll();
    const p = this.widenProb[id];
    if (p !== undefined && p > 0 && this.widenRng.next() < p) {
      this.emit(TraceEv.point, id, 1);
      // Proof that a named point really waits (reports count delays per point).
      if (this.widenCountAt >= 0) Atomics.add(m, this.widenCountAt + id, 1);
      // Sleep rather than spin: on 2 cores the other CPU gets the core and the window widens.
      Atomics.wait(m, this.napAt, 0, this.widenMs[id]!);
      this.trace.refresh();
    }
    this.waiter.yieldAt(this, id);
  }

  // ---- per-CPU block ----
  field(f: number): number {
    return Atomics.load(this.mem, this.block0 + f);
  }

  setField(f: number, v: number): void {
    Atomics.store(this.mem, this.block0 + f, v);
  }

  setState(s: number): void {
    Atomics.store(this.mem, this.block0 + CpuField.STATE, s);
  }

  /** Count one finished operation. */
  opDone(): void {
    Atomics.add(this.mem, this.block0 + CpuField.OPS, 1);
  }

  stopRequested(): boolean {
    return Atomics.load(this.mem, this.stopAt) !== StopState.running;
  }

  aborted(): boolean {
    return Atomics.load(this.mem, this.stopAt) === StopState.abort;
  }
}

/** Spin rounds before sleeping: a hand-off costs ~74 µs through the futex, far more than a short spin. */
const SPIN_ROUNDS = 64;
/** Longest single sleep: bounds how late an aborted run or an IPI is noticed. */
const SLEEP_MS = 20;

/**
 * The sleep every waiter shares: publish what this CPU waits for (the watchdog and stall reports
 * read it), run the pollers (a blocked CPU has interrupts enabled: deliver them), then
 * Atomics.wait. 'not-equal' also when the word moved before the sleep.
 */
function sleepOnWord(cpu: Cpu, at: number, expected: number, ms: number): 'ok' | 'not-equal' | 'timed-out' {
  const m = cpu.mem;
  const b = cpu.block0;
  Atomics.store(m, b + CpuField.WAIT_ON, at);
  Atomics.store(m, b + CpuField.WAIT_VAL, expected);
  const prev = Atomics.exchange(m, b + CpuField.STATE, CpuState.blocked);
  try {
    cpu.poll();
    if (Atomics.load(m, at) !== expected) return 'not-equal';
    if (cpu.aborted()) throw new RunAborted();
    Atomics.add(m, b + CpuField.HEARTBEAT, 1);
    const r = Atomics.wait(m, at, expected, ms);
    cpu.trace.refresh();
    return r;
  } finally {
    Atomics.store(m, b + CpuField.STATE, prev);
    Atomics.store(m, b + CpuField.WAIT_ON, -1);
  }
}

const notify = (cpu: Cpu, at: number, count: number): void => {
  Atomics.notify(cpu.mem, at, count);
};

/** Sleeps strictWaiter has taken in this thread (a torture test checks its sleep path ran). */
export const strictSleeps = { n: 0 };

/**
 * Futex-like waiter for the lock tortures: sleeps until notified, exactly like a kernel futex
 * waiter, or until the deadline of a timed wait (which re-checks on return) — so a lost wake-up
 * strands it (any timed re-check would hide the bug, and a timeout-then-re-arm would open a
 * window in which a real notify is lost). To tear a run down, the runner sets STOP = 2 and then
 * keeps notifying every word a CPU is blocked on.
 */
export const strictWaiter: Waiter = {
  block(cpu: Cpu, at: number, expected: number, deadline?: number): void {
    const m = cpu.mem;
    for (let i = 0; i < SPIN_ROUNDS; i++) if (Atomics.load(m, at) !== expected) return;
    let ms = Infinity;
    if (deadline !== undefined) {
      ms = deadline - cpu.now();
      if (ms <= 0) return;
    }
    if (sleepOnWord(cpu, at, expected, ms) !== 'not-equal') strictSleeps.n++;
    if (cpu.aborted()) throw new RunAborted();
  },
  wake: notify,
  yieldAt(): void {},
};

/** Real parallelism: spin briefly, then sleep on the word with Atomics.wait (at most SLEEP_MS). */
export const parallelWaiter: Waiter = {
  block(cpu: Cpu, at: number, expected: number): void {
    const m = cpu.mem;
    for (let i = 0; i < SPIN_ROUNDS; i++) {
      if (Atomics.load(m, at) !== expected) return;
    }
    sleepOnWord(cpu, at, expected, SLEEP_MS);
  },
  wake: notify,
  yieldAt(): void {},
};
