/**
 * The controlled Waiter: real worker threads, but only one CPU runs at a time.
 *
 * A scheduler buffer (its own SharedArrayBuffer, so the arena layout is untouched) holds the
 * turn, the step counter, each CPU's scheduling status, the scheduler's state words, the
 * recorded schedule and the trace hash. The worker holding the turn runs until its next yield
 * point (a named point, a block, its end); there it asks the Scheduler who runs next. If the
 * answer is itself it just continues — no hand-off, no shared write beyond the log — otherwise
 * it sets the chosen CPU's GO word and waits on its own: spinning briefly first, then
 * Atomics.wait (a futex sleep and wake costs ~74 µs here; a spin-observed hand-off far less).
 *
 * Blocking under control: block(at, expected) marks the CPU blocked on (at, expected); it is
 * runnable again once mem[at] differs or somebody wakes `at` (a spurious wake is allowed by the
 * hook's contract, and is how an IPI "kick" reaches a blocked CPU so it can acknowledge). Nobody
 * ever sleeps on a futex that only a descheduled CPU could release. No runnable CPU while some
 * are blocked is a deadlock: reported with every CPU's held locks and what it waits on.
 *
 * Timeouts under control: the lock library's timeouts (the IPI deadlock detector, call_rcu's
 * wait on a full ring) read CpuCtx.now(), which here is a virtual clock (VCLOCK, in ms) that
 * stands still while any CPU can run and, when none can, jumps to the earliest deadline of a
 * CPU blocked with one (LockCtx.block's `deadline`), making exactly the CPUs due at that time
 * runnable. So a timeout never fires because a descheduled CPU has not run yet or the host is
 * slow; it fires, at the same step in every replay, only where nothing but the timeout could
 * make progress — and only when no CPU has a deadline is that a deadlock.
 *
 * Determinism: every decision reads only shared state written under the turn (the arena and
 * this buffer) and the scheduler's seeded state; nothing reads a clock. Every word of this
 * buffer, as of the arena, is read and written with Atomics (sequentially consistent: the turn
 * hand-off orders them between workers; the main thread reads them after the workers joined). Hashing the CPUs' trace
 * events (timestamps excluded) in turn order gives a trace hash that two runs with the same
 * seed reproduce bit for bit.
 */
import { type Arena, LINE_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { Ctl, requestStop, StopState } from '../shared-mem/ctl.js';
import { RunAborted } from '../locks/ctx.js';
import { type HeldLock } from '../locks/lockdep.js';
import { type Cpu, EVENT_POINT_BASE, type Waiter } from '../workers/cpu.js';
import { cpuSnapshots } from '../locks/cpu-snapshot.js';
import { SCHED_STATE_WORDS, type SchedSpec, type Scheduler } from './scheduler.js';
import { STRATEGIES } from './registry.js';
import { ReplayScheduler } from './replay.js';

// ---------------------------------------------------------------- buffer layout

/** Header words (line 0 and 1). */
export const SH = {
  TURN: 0,
  STEP: 1,
  ABORT: 2,
  VIOL_STEP: 3,
  VIOL_CPU: 4,
  HASH_A: 5,
  HASH_B: 6,
  LOG_LEN: 7,
  SWITCHES: 8,
  PREEMPTIONS: 9,
  MAX_STEPS: 10,
  EV_LEN: 11,
  EV_CAP: 12,
  LOG_CAP: 13,
  REPLAY_LEN: 14,
  CPUS: 15,
  ABORT_STEP: 16,
  FINISHED: 17,
  /** Virtual clock (ms) for timeouts: CpuCtx.now() under control. */
  VCLOCK: 18,
  /** Times the virtual clock advanced (a blocked CPU's timeout came due). */
  TIMEOUTS: 19,
} as const;

export const Abort = { none: 0, deadlock: 1, crash: 2, stepLimit: 3, external: 4, logFull: 5 } as const;
export const ABORT_NAMES = ['none', 'deadlock', 'crash', 'step-limit', 'external', 'log-full'] as const;

/** Per-CPU scheduling status. */
export const St = { runnable: 0, blocked: 1, done: 2 } as const;
const ST_NAMES = ['runnable', 'blocked', 'done'];

/** Per-CPU words in the CPU's state line. */
const PC = { STATUS: 0, BLOCK_AT: 1, BLOCK_VAL: 2, WOKEN: 3, TRACE_SEEN: 4, STEPS: 5, TIMED: 6, DEADLINE: 7 } as const;

/** Pseudo point ids for decisions that are not named points. */
export const PSEUDO = { block: -2, finish: -3 } as const;

/** Words per recorded interleaving event: deciding cpu, op + 1, point, chosen cpu, event a, event b. */
export const EV_WORDS = 6;

export interface SchedBufferPlan {
  cpus: number;
  logCap: number;
  replayCap: number;
  evCap: number;
}

interface Offsets {
  go: number;
  pcpu: number;
  state: number;
  log: number;
  replay: number;
  ev: number;
  total: number;
}

function offsets(p: SchedBufferPlan): Offsets {
  const go = 2 * LINE_WORDS;
  const pcpu = go + p.cpus * LINE_WORDS;
  const state = pcpu + p.cpus * LINE_WORDS;
  const log = state + SCHED_STATE_WORDS;
  const replay = log + 2 * p.logCap;
  const ev = replay + 2 * p.replayCap;
  return { go, pcpu, state, log, replay, ev, total: ev + EV_WORDS * p.evCap };
}

/** Main thread: a fresh scheduler buffer for one run, with the scheduler's state initialised. */
export function createSchedBuffer(plan: SchedBufferPlan, spec: SchedSpec, maxSteps: number): SharedArrayBuffer {
  const o = offsets(plan);
  const buf = new SharedArrayBuffer(o.total * 4);
  const s = new Int32Array(buf);
  Atomics.store(s, SH.CPUS, plan.cpus);
  Atomics.store(s, SH.LOG_CAP, plan.logCap);
  Atomics.store(s, SH.EV_CAP, plan.evCap);
  Atomics.store(s, SH.MAX_STEPS, maxSteps);
  Atomics.store(s, SH.VIOL_STEP, -1);
  Atomics.store(s, SH.VIOL_CPU, -1);
  Atomics.store(s, SH.ABORT_STEP, -1);
  Atomics.store(s, SH.HASH_A, 0x811c9dc5 | 0);
  Atomics.store(s, SH.HASH_B, 0x3c6ef372 | 0);
  const state = s.subarray(o.state, o.state + SCHED_STATE_WORDS);
  if (spec.kind === 'replay') {
    ReplayScheduler.init(state, s.subarray(o.replay, o.replay + 2 * plan.replayCap), spec.steps);
    Atomics.store(s, SH.REPLAY_LEN, spec.steps.length);
  } else STRATEGIES[spec.kind].init(state, spec);
  // CPU 0 holds the first turn.
  Atomics.store(s, SH.TURN, 0);
  Atomics.store(s, o.go, 1);
  return buf;
}

export function planOf(buf: SharedArrayBuffer, cpus: number, replayCap: number): SchedBufferPlan {
  const s = new Int32Array(buf);
  return { cpus, logCap: Atomics.load(s, SH.LOG_CAP), replayCap, evCap: Atomics.load(s, SH.EV_CAP) };
}

/**
 * What the model calls its operations (by op id) and named points (by point id): data the task
 * carries, so the scheduler names them in deadlock reports without importing the model.
 */
export interface StepNames {
  ops: readonly string[];
  points: readonly string[];
}

const NO_NAMES: StepNames = { ops: [], points: [] };

// ---------------------------------------------------------------- main-thread readers

export interface DeadlockCpu {
  cpu: number;
  status: string;
  op: string;
  lastPoint: string;
  /** Arena word it blocks on (-1 = not blocked) and the value it waits to change. */
  waitingOn: number;
  waitValue: number;
  waitClass: string;
  /** CPU holding the awaited lock word, per the held-lock stacks (-1 = none known). */
  heldBy: number;
  heldLocks: HeldLock[];
}

export interface DeadlockReport {
  step: number;
  cpus: DeadlockCpu[];
  text: string;
}

export interface SchedOutcome {
  steps: number;
  switches: number;
  preemptions: number;
  traceHash: string;
  /** Times a timeout came due on the virtual clock (a CPU whose only way on was its timeout). */
  timeouts: number;
  schedule: Array<[number, number]>;
  violationStep: number;
  violationCpu: number;
  abort: (typeof ABORT_NAMES)[number];
  abortStep: number;
  /** Per decision: [deciding cpu, op + 1 (0 = between ops), point id or PSEUDO, chosen cpu, a, b of a trace-event point]. */
  events: Int32Array;
}

export function readSchedOutcome(buf: SharedArrayBuffer, plan: SchedBufferPlan): SchedOutcome {
  const s = new Int32Array(buf);
  const o = offsets(plan);
  const n = Math.min(Atomics.load(s, SH.LOG_LEN), plan.logCap);
  const schedule: Array<[number, number]> = [];
  for (let i = 0; i < n; i++) schedule.push([Atomics.load(s, o.log + 2 * i), Atomics.load(s, o.log + 2 * i + 1)]);
  const ev = Math.min(Atomics.load(s, SH.EV_LEN), plan.evCap);
  return {
    steps: Atomics.load(s, SH.STEP),
    switches: Atomics.load(s, SH.SWITCHES),
    preemptions: Atomics.load(s, SH.PREEMPTIONS),
    traceHash: hex(Atomics.load(s, SH.HASH_A)) + hex(Atomics.load(s, SH.HASH_B)),
    timeouts: Atomics.load(s, SH.TIMEOUTS),
    schedule,
    violationStep: Atomics.load(s, SH.VIOL_STEP),
    violationCpu: Atomics.load(s, SH.VIOL_CPU),
    abort: ABORT_NAMES[Atomics.load(s, SH.ABORT)] ?? 'none',
    abortStep: Atomics.load(s, SH.ABORT_STEP),
    events: Int32Array.from({ length: EV_WORDS * ev }, (_, i) => Atomics.load(s, o.ev + i)),
  };
}

function hex(x: number): string {
  return (x >>> 0).toString(16).padStart(8, '0');
}

/** Any thread: abort a controlled run (all waiting workers unwind with RunAborted). */
export function abortSched(buf: SharedArrayBuffer, cpus: number, why: number): void {
  const s = new Int32Array(buf);
  if (Atomics.compareExchange(s, SH.ABORT, 0, why) !== 0) return;
  Atomics.store(s, SH.ABORT_STEP, Atomics.load(s, SH.STEP));
  const go = 2 * LINE_WORDS;
  for (let c = 0; c < cpus; c++) {
    Atomics.store(s, go + c * LINE_WORDS, 1);
    Atomics.notify(s, go + c * LINE_WORDS);
  }
}

// ---------------------------------------------------------------- the waiter

/**
 * Spin rounds on the GO word before sleeping, adapted per worker: a hand-off seen while spinning
 * costs well under a µs, a futex sleep and wake ~74 µs; but with more runnable threads than
 * cores a spinner steals the core of the CPU it waits for. So the budget doubles after a hand-off
 * caught by spinning and halves after one that needed a sleep.
 */
const SPIN_MIN = 256;
const SPIN_MAX = 16_384;

export class ControlledWaiter implements Waiter {
  readonly s: Int32Array;
  private readonly o: Offsets;
  private readonly n: number;
  private readonly me: number;
  private readonly goAt: number;
  private readonly sleepAt: number;
  private readonly mine: number;
  private readonly sched: Scheduler;
  private readonly runnable: number[] = [];
  private readonly mem: Int32Array;
  private readonly traceBase: number;
  private readonly traceRing: number;
  private readonly traceMask: number;
  private readonly violAt: number;
  private readonly stopAt: number;
  private spin = 4096;
  /** Filled when this worker found the deadlock. */
  deadlock: DeadlockReport | undefined;
  /** Every trace event (lock, unlock, RCU, IPI, model event) is a yield point too. */
  readonly yieldOnEvents: boolean;
  readonly controlled = true;

  constructor(
    buf: SharedArrayBuffer,
    private readonly arena: Arena,
    me: number,
    spec: SchedSpec,
    replayCap: number,
    yieldOnEvents = true,
    /**
     * The run stops only at violations at chosen sites (RunConfig.stopAtSites): the violation
     * step is the one at which a violation requested the stop, not the first of any violation.
     */
    private readonly violationStop = false,
    /** The model's names for its operations and points (deadlock reports); none: numbers. */
    private readonly names: StepNames = NO_NAMES,
  ) {
    this.yieldOnEvents = yieldOnEvents;
    this.s = new Int32Array(buf);
    this.n = arena.config.cpus;
    this.o = offsets(planOf(buf, this.n, replayCap));
    this.me = me;
    this.goAt = this.o.go + me * LINE_WORDS;
    this.sleepAt = this.goAt + 1;
    this.mine = this.o.pcpu + me * LINE_WORDS;
    const state = this.s.subarray(this.o.state, this.o.state + SCHED_STATE_WORDS);
    this.sched = spec.kind === 'replay' ? new ReplayScheduler(state, this.s.subarray(this.o.replay, this.o.replay + 2 * replayCap), Atomics.load(this.s, SH.REPLAY_LEN)) : STRATEGIES[spec.kind].create(state);
    this.mem = arena.mem;
    const depth = arena.config.traceDepth;
    this.traceBase = arena.base('trace') + me * LINE_WORDS;
    this.traceRing = arena.base('trace') + this.n * LINE_WORDS + me * depth * 4;
    this.traceMask = depth - 1;
    this.violAt = arena.base('violations');
    this.stopAt = arena.base('ctl') + Ctl.STOP;
  }

  aborted(): boolean {
    return Atomics.load(this.s, SH.ABORT) !== Abort.none;
  }

  /** Wait for this CPU's turn. Returns false when the run was aborted meanwhile. */
  waitTurn(): boolean {
    const s = this.s;
    const go = this.goAt;
    let got = false;
    const spin = this.spin;
    for (let i = 0; i < spin; i++) {
      if (Atomics.load(s, go) !== 0) {
        got = true;
        break;
      }
    }
    this.spin = got ? Math.min(SPIN_MAX, spin * 2) : Math.max(SPIN_MIN, spin >> 1);
    while (!got) {
      Atomics.store(s, this.sleepAt, 1);
      if (Atomics.load(s, go) === 0) Atomics.wait(s, go, 0, 1000);
      Atomics.store(s, this.sleepAt, 0);
      got = Atomics.load(s, go) !== 0;
    }
    Atomics.store(s, go, 0);
    return Atomics.load(s, SH.ABORT) === Abort.none;
  }

  private handOff(next: number): void {
    const s = this.s;
    const go = this.o.go + next * LINE_WORDS;
    Atomics.store(s, SH.TURN, next);
    Atomics.store(s, go, 1);
    if (Atomics.load(s, go + 1) !== 0) Atomics.notify(s, go, 1);
  }

  // ---- Waiter ----

  yieldAt(cpu: Cpu, point: number): void {
    this.decide(cpu.field(CpuField.CUR_OP), point);
  }

  /** The virtual clock: written only under the turn, so every replay reads the same value at the same step. */
  now(_cpu: Cpu): number {
    return Atomics.load(this.s, SH.VCLOCK);
  }

  block(cpu: Cpu, at: number, expected: number, deadline?: number): void {
    const m = this.mem;
    if (Atomics.load(m, at) !== expected) return;
    if (this.aborted() || cpu.aborted()) throw new RunAborted('controlled run aborted');
    const b = cpu.block0;
    Atomics.store(m, b + CpuField.WAIT_ON, at);
    Atomics.store(m, b + CpuField.WAIT_VAL, expected);
    const prev = Atomics.exchange(m, b + CpuField.STATE, CpuState.blocked);
    const s = this.s;
    const mine = this.mine;
    try {
      // Interrupt delivery (IPI acknowledgement, RCU help) happens in a wait round, as in parallel runs.
      cpu.poll();
      if (Atomics.load(m, at) !== expected) return;
      Atomics.store(s, mine + PC.BLOCK_AT, at);
      Atomics.store(s, mine + PC.BLOCK_VAL, expected);
      Atomics.store(s, mine + PC.WOKEN, 0);
      Atomics.store(s, mine + PC.TIMED, deadline === undefined ? 0 : 1);
      // Clamped to int32 ms; a deadline already past is due at the next idle moment.
      Atomics.store(s, mine + PC.DEADLINE, deadline === undefined ? 0 : Math.min(0x7fffffff, Math.max(0, Math.ceil(deadline))));
      Atomics.store(s, mine + PC.STATUS, St.blocked);
      this.decide(cpu.field(CpuField.CUR_OP), PSEUDO.block);
    } finally {
      Atomics.store(s, mine + PC.STATUS, St.runnable);
      Atomics.store(s, mine + PC.TIMED, 0);
      Atomics.store(m, b + CpuField.STATE, prev);
      Atomics.store(m, b + CpuField.WAIT_ON, -1);
    }
  }

  wake(_cpu: Cpu, at: number, _count: number): void {
    if (this.aborted()) return;
    // Every CPU blocked on `at` becomes runnable (a spurious wake-up is within the contract).
    const s = this.s;
    for (let c = 0; c < this.n; c++) {
      const l = this.o.pcpu + c * LINE_WORDS;
      if (Atomics.load(s, l + PC.STATUS) === St.blocked && Atomics.load(s, l + PC.BLOCK_AT) === at) Atomics.store(s, l + PC.WOKEN, 1);
    }
  }

  /** The CPU's run is over (runCpu returned): hand the turn on for good. */
  finish(status: 'ok' | 'aborted' | 'crashed'): void {
    if (status === 'crashed') {
      abortSched(this.s.buffer as SharedArrayBuffer, this.n, Abort.crash);
      return;
    }
    if (this.aborted()) return;
    Atomics.store(this.s, this.mine + PC.STATUS, St.done);
    try {
      this.decide(0, PSEUDO.finish);
    } catch (e) {
      if (!(e instanceof RunAborted)) throw e;
    }
  }

  // ---- the decision ----

  private decide(curOp: number, point: number): void {
    const s = this.s;
    if (Atomics.load(s, SH.ABORT) !== Abort.none) throw new RunAborted('controlled run aborted');
    const me = this.me;
    const step = Atomics.load(s, SH.STEP);
    Atomics.store(s, SH.STEP, step + 1);
    Atomics.add(s, this.mine + PC.STEPS, 1);
    this.hashStep(point);
    if (Atomics.load(s, SH.VIOL_STEP) < 0 && this.violationSeen()) {
      Atomics.store(s, SH.VIOL_STEP, step);
      Atomics.store(s, SH.VIOL_CPU, me);
    }
    if (step >= Atomics.load(s, SH.MAX_STEPS)) this.abort(Abort.stepLimit);
    // Runnable set, ascending.
    const r = this.runnable;
    r.length = 0;
    const m = this.mem;
    let done = 0;
    for (let c = 0; c < this.n; c++) {
      const l = this.o.pcpu + c * LINE_WORDS;
      const st = Atomics.load(s, l + PC.STATUS);
      if (st === St.runnable) r.push(c);
      else if (st === St.blocked) {
        if (Atomics.load(s, l + PC.WOKEN) !== 0 || Atomics.load(m, Atomics.load(s, l + PC.BLOCK_AT)) !== Atomics.load(s, l + PC.BLOCK_VAL)) r.push(c);
      } else done++;
    }
    if (r.length === 0 && done < this.n) this.timeoutsDue(r);
    if (r.length === 0) {
      if (done === this.n) {
        Atomics.store(s, SH.FINISHED, 1);
        Atomics.store(s, SH.TURN, -1);
        return;
      }
      this.deadlock = this.deadlockReport(step);
      this.abort(Abort.deadlock);
    }
    const next = this.sched.next(r, me, step);
    // Record the step.
    const logLen = Atomics.load(s, SH.LOG_LEN);
    const lastAt = this.o.log + 2 * (logLen - 1);
    if (logLen > 0 && Atomics.load(s, lastAt) === next) Atomics.add(s, lastAt + 1, 1);
    else {
      if (logLen >= Atomics.load(s, SH.LOG_CAP)) this.abort(Abort.logFull);
      Atomics.store(s, lastAt + 2, next);
      Atomics.store(s, lastAt + 3, 1);
      Atomics.store(s, SH.LOG_LEN, logLen + 1);
    }
    const evLen = Atomics.load(s, SH.EV_LEN);
    if (evLen < Atomics.load(s, SH.EV_CAP)) {
      const e = this.o.ev + EV_WORDS * evLen;
      Atomics.store(s, e, me);
      Atomics.store(s, e + 1, curOp);
      Atomics.store(s, e + 2, point);
      Atomics.store(s, e + 3, next);
      if (point >= EVENT_POINT_BASE) {
        const last = this.traceRing + ((Atomics.load(m, this.traceBase) - 1) & this.traceMask) * 4;
        Atomics.store(s, e + 4, Atomics.load(m, last + 2));
        Atomics.store(s, e + 5, Atomics.load(m, last + 3));
      }
      Atomics.store(s, SH.EV_LEN, evLen + 1);
    }
    if (next === me) return;
    Atomics.add(s, SH.SWITCHES, 1);
    if (Atomics.load(s, this.mine + PC.STATUS) === St.runnable) Atomics.add(s, SH.PREEMPTIONS, 1);
    this.handOff(next);
    if (Atomics.load(s, this.mine + PC.STATUS) === St.done) return;
    if (!this.waitTurn()) throw new RunAborted('controlled run aborted');
  }

  /** Has the violation the run is after happened (the first one, or the first at a stop site)? */
  private violationSeen(): boolean {
    if (this.violationStop) return Atomics.load(this.mem, this.stopAt) === StopState.stop;
    return Atomics.load(this.mem, this.violAt) > 0;
  }

  /**
   * Nobody can run: advance the virtual clock to the earliest deadline of a CPU blocked with
   * one, and make every CPU due by then runnable (ascending, into `r`). No deadline: no change.
   */
  private timeoutsDue(r: number[]): void {
    const s = this.s;
    let min = -1;
    for (let c = 0; c < this.n; c++) {
      const l = this.o.pcpu + c * LINE_WORDS;
      if (Atomics.load(s, l + PC.STATUS) !== St.blocked || Atomics.load(s, l + PC.TIMED) === 0) continue;
      const d = Atomics.load(s, l + PC.DEADLINE);
      if (min < 0 || d < min) min = d;
    }
    if (min < 0) return;
    const clock = Math.max(Atomics.load(s, SH.VCLOCK), min);
    Atomics.store(s, SH.VCLOCK, clock);
    Atomics.add(s, SH.TIMEOUTS, 1);
    for (let c = 0; c < this.n; c++) {
      const l = this.o.pcpu + c * LINE_WORDS;
      if (Atomics.load(s, l + PC.STATUS) !== St.blocked || Atomics.load(s, l + PC.TIMED) === 0 || Atomics.load(s, l + PC.DEADLINE) > clock) continue;
      Atomics.store(s, l + PC.WOKEN, 1);
      r.push(c);
    }
  }

  private abort(why: number): never {
    requestStop(this.arena, StopState.abort);
    abortSched(this.s.buffer as SharedArrayBuffer, this.n, why);
    throw new RunAborted(`controlled run aborted: ${ABORT_NAMES[why] ?? why}`);
  }

  /** Fold this CPU's new trace events (timestamps excluded), the point and the step into the hash. */
  private hashStep(point: number): void {
    const s = this.s;
    const m = this.mem;
    let a = Atomics.load(s, SH.HASH_A);
    let b = Atomics.load(s, SH.HASH_B);
    const head = Atomics.load(m, this.traceBase);
    const seen = Atomics.load(s, this.mine + PC.TRACE_SEEN);
    const from = Math.max(seen, head - this.traceMask - 1);
    const mix = (x: number): void => {
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul(b ^ x, 0x5bd1e995);
      b ^= b >>> 15;
    };
    mix(this.me);
    mix(head);
    for (let i = from; i < head; i++) {
      const at = this.traceRing + (i & this.traceMask) * 4;
      mix(Atomics.load(m, at + 1));
      mix(Atomics.load(m, at + 2));
      mix(Atomics.load(m, at + 3));
    }
    mix(point);
    Atomics.store(s, this.mine + PC.TRACE_SEEN, head);
    Atomics.store(s, SH.HASH_A, a);
    Atomics.store(s, SH.HASH_B, b);
  }

  private deadlockReport(step: number): DeadlockReport {
    const s = this.s;
    const snaps = cpuSnapshots(this.arena);
    const cpus: DeadlockCpu[] = snaps.map((c) => {
      const l = this.o.pcpu + c.cpu * LINE_WORDS;
      const st = Atomics.load(s, l + PC.STATUS);
      const waitingOn = st === St.blocked ? Atomics.load(s, l + PC.BLOCK_AT) : -1;
      return {
        cpu: c.cpu,
        status: ST_NAMES[st] ?? String(st),
        op: c.curOp > 0 ? (this.names.ops[c.curOp - 1] ?? `op${c.curOp - 1}`) : '-',
        lastPoint: this.names.points[c.lastPoint] ?? '-',
        waitingOn,
        waitValue: st === St.blocked ? Atomics.load(s, l + PC.BLOCK_VAL) : 0,
        waitClass: c.waitClassId >= 0 && st === St.blocked ? c.waitClass : '-',
        heldBy: waitingOn < 0 ? -1 : snaps.findIndex((o) => o.held.some((h) => h.at === waitingOn)),
        heldLocks: c.held,
      };
    });
    const lines = [`deadlock at step ${step}: no CPU can run`];
    for (const d of cpus) {
      const h = d.heldLocks.map((x) => `${x.name}@${x.at}(${x.mode})`).join(', ') || 'none';
      const w = d.waitingOn >= 0 ? `waits on word ${d.waitingOn} (== ${d.waitValue}${d.waitClass !== '-' ? `, ${d.waitClass}` : ''}${d.heldBy >= 0 ? `, held by cpu ${d.heldBy}` : ''})` : d.status;
      lines.push(`  cpu ${d.cpu}: ${w}; in ${d.op} after ${d.lastPoint}; holds ${h}`);
    }
    return { step, cpus, text: lines.join('\n') };
  }
}
