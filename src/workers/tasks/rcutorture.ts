/**
 * rcutorture for pmdtorture's RCU and IRQ/IPI walker locks, over real worker threads.
 *
 * Updaters replace the RCU-protected "current" object (a slot in the `scratch` region) and retire
 * the old one through synchronizeRcu(), callRcu() (rcu flavor) or a TLB shootdown (irq flavor). Each
 * retired object's pipe count starts at 1 and grows by one per later grace period (or acknowledged
 * shootdown) that the retiring updater completes — only ones that started after the retirement,
 * so concurrent updaters never produce false positives. Readers read the current object inside a
 * read-side section (or with interrupts disabled), dawdle, then read its pipe count: 0 or 1 is
 * legal, 2 or more proves a reader outlived a full grace period — a violation.
 *
 * This file is both the worker (when started with workerData.task === 'rcutorture') and the
 * main-thread runner `runTorture`, which starts workers from the compiled copy in dist/.
 */
import { Arena, LINE_WORDS, defaultArenaConfig } from '../../shared-mem/layout.js';
import { CpuField } from '../../shared-mem/cpu-block.js';
import { StopState, requestStop } from '../../shared-mem/ctl.js';
import type { Cpu } from '../cpu.js';
import { distPath } from '../paths.js';
import { type RcuStall, type RcuStats, Rcu, findRcuStalls, formatRcuStall, readRcuStats, setRcuStallThreshold } from '../../locks/rcu.js';
import { type IpiStats, Irq, readIpiStats, setIpiDeadlockThreshold } from '../../locks/irq.js';
import { type RcuFlavourOps, irqOps, rcuOps } from '../../locks/rcu-flavour.js';
import { RCU_BUSTED, type RcuBusted } from '../../locks/busted/rcu.js';
import { IRQ_BUSTED, type IrqBusted } from '../../locks/busted/irq.js';
import { type TortureCpuEnd, type TortureInput, runTortureCpu, tortureTask } from './torture-cpu.js';
import { TortureWorkers } from './torture-workers.js';

/** rcutorture's RCU_TORTURE_PIPE_LEN: an object is freed when its pipe count reaches it. */
export const PIPE_LEN = 10;
export const TORTURE_MAX_CPUS = 16;
const OBJ_WORDS = 2;
const OBJ_PIPE = 0;
const OBJ_MB = 1;
/** Scratch words: line 0 control, then 16 lines each of per-CPU stats, circulation and batch, then objects. */
const S_CUR = 0;
const S_STATS = LINE_WORDS;
const S_CIRC = 17 * LINE_WORDS;
const S_BATCH = 33 * LINE_WORDS;
const S_OBJ = 49 * LINE_WORDS;
export const TORTURE_OBJECTS = 96;
/** Per-CPU stats words. */
const ST_READS = 0;
const ST_UPDATES = 1;
const ST_VIOL = 2;
const ST_MBE = 3;
const ST_ALLOC_FAIL = 4;
const ST_HIST = 5; // PIPE_LEN + 1 buckets
/** call_rcu kind used by the torture: bump the pipe count of object `arg`. */
export const TORTURE_CB_KIND = 7;

export type TortureFlavor = 'rcu' | 'irq';
export type Retire = 'sync' | 'call' | 'mixed';
export type Scenario = 'torture' | 'stall' | 'ipi-deadlock-chain' | 'ipi-deadlock-timeout' | 'sleeping-target';

/** Defaults of the options below that are not derived from others. */
export const RCUTORTURE_DEFAULTS = { retire: 'sync', delayEvery: 16, delaySpins: 2000, readerPolls: true, stallHoldMs: 600, updaters: 1, seed: 1, scenario: 'torture', minMs: 0, busted: 'none' } as const;

export interface TortureOptions {
  flavor: TortureFlavor;
  cpus: number;
  /** Updater CPUs (the first ones); the rest read. */
  updaters?: number;
  /** rcu flavor: how updaters retire objects. */
  retire?: Retire;
  busted?: RcuBusted | IrqBusted | undefined;
  /**
   * Readers poll (a point where a CPU takes interrupts and runs RCU's poller) in the middle of
   * every dawdling section, staying inside it: with IRQs off, IRQ_OFF is published there while a
   * sender may wait for the reader. Default true; false only to show what it catches.
   */
  readerPolls?: boolean;
  /** Stop after this long (ms). */
  durationMs: number;
  /** Stop as soon as this many read-side sections have run (0 = run for durationMs). */
  minReads?: number;
  /** With minReads: run at least this long anyway (more grace periods at high CPU counts). */
  minMs?: number;
  /** Stop at the first violation (busted flavors). */
  stopOnViolation?: boolean;
  /** One read-side section in `delayEvery` dawdles for about `delaySpins` loads. */
  delayEvery?: number;
  delaySpins?: number;
  seed?: number;
  scenario?: Scenario;
  /** 'stall': how long CPU 1 holds one read-side section, and the stall threshold. */
  stallHoldMs?: number;
  stallThresholdMs?: number;
  /** 'ipi-deadlock-timeout': the sender's deadlock threshold. */
  deadlockMs?: number;
}

export interface TortureResult {
  flavor: TortureFlavor;
  busted: string;
  cpus: number;
  reads: number;
  updates: number;
  violations: number;
  mbErrors: number;
  allocFails: number;
  pipe: number[];
  /** Grace periods completed during a read-side section (informational, as in rcutorture). */
  batch: number[];
  circulation: number[];
  elapsedMs: number;
  /** ms from start to the first observed violation (-1 = none). */
  firstViolationMs: number;
  success: boolean;
  lines: string[];
  errors: string[];
  stalls: RcuStall[];
  rcu: RcuStats;
  ipi: IpiStats;
  /** A worker did not unwind and was terminated. */
  terminated: boolean;
}

interface WorkerIn extends TortureInput {
  task: 'rcutorture';
  opts: TortureOptions;
}

interface TortureCpuResult extends TortureCpuEnd {
  cpu: number;
}

// ---------------------------------------------------------------- worker side

/** What the torture knows of a flavour beyond its ops table: a new flavour is one entry. */
interface TortureFlavour {
  /** Prefix of the report lines, as rcutorture's torture_type. */
  tag: string;
  /** The ops table over a new per-CPU instance: the real one, or the named busted twin. */
  make(cpu: Cpu, busted: string | undefined): RcuFlavourOps;
  twins: Readonly<Record<string, unknown>>;
  /** Run the RCU stall detector over the reader words. */
  stalls: boolean;
  /** The flavour's grace-period counts on the summary line. */
  stats(rcu: RcuStats, ipi: IpiStats): string;
  /** How updaters retire objects. */
  retire(o: TortureOptions): string;
}

const FLAVOURS: Record<TortureFlavor, TortureFlavour> = {
  rcu: {
    tag: 'rcu-torture',
    make: (cpu, busted) => rcuOps(new (busted === undefined ? Rcu : RCU_BUSTED[busted as RcuBusted])(cpu)),
    twins: RCU_BUSTED,
    stalls: true,
    stats: (rcu) => ` gps: ${rcu.gracePeriods} cbs: ${rcu.callbacksInvoked}/${rcu.callbacksQueued} maxbacklog: ${rcu.maxBacklog}`,
    retire: (o) => o.retire ?? RCUTORTURE_DEFAULTS.retire,
  },
  irq: {
    tag: 'ipi-torture',
    make: (cpu, busted) => irqOps(new (busted === undefined ? Irq : IRQ_BUSTED[busted as IrqBusted])(cpu)),
    twins: IRQ_BUSTED,
    stalls: false,
    stats: (_rcu, ipi) => ` shootdowns: ${ipi.shootdowns} ipis: ${ipi.sent} acks: ${ipi.acks}`,
    retire: () => 'shootdown',
  },
};

class TortureCpu {
  readonly ops: RcuFlavourOps;
  private readonly m: Int32Array;
  private readonly s: number;
  private readonly st: number;
  private readonly circ: number;
  private readonly hist = new Float64Array(PIPE_LEN + 1);
  /** Reader Batch: grace periods (or shootdowns) completed during one read-side section. */
  private readonly batch = new Float64Array(PIPE_LEN + 1);
  private readonly batchAt: number;
  private reads = 0;
  private viol = 0;
  private mbe = 0;
  private readonly napAt: number;

  constructor(
    readonly cpu: Cpu,
    readonly o: TortureOptions,
  ) {
    const arena = cpu.arena;
    const id = cpu.cpuId;
    this.m = arena.mem;
    this.s = arena.base('scratch');
    this.st = this.s + S_STATS + id * LINE_WORDS;
    this.circ = this.s + S_CIRC + id * LINE_WORDS;
    // A private word for naps (the Cpu's own nap word is in the same scratch tail; use ours).
    this.napAt = this.circ + LINE_WORDS - 1;
    this.batchAt = this.s + S_BATCH + id * LINE_WORDS;
    this.ops = FLAVOURS[o.flavor].make(cpu, o.busted);
    this.ops.onCallback(TORTURE_CB_KIND, (obj) => this.pipeCallback(obj));
  }

  obj(i: number): number {
    return this.s + S_OBJ + i * OBJ_WORDS;
  }

  /** Bump one retired object's pipe count; free it at PIPE_LEN. Returns true when freed. */
  private bump(i: number): boolean {
    const at = this.obj(i);
    // Only one chain (a callback or one updater's list) bumps an object, so the next count is
    // known. rtort_mbtest is cleared BEFORE the count makes the object allocatable: clearing it
    // after would race with an updater that reallocates and republishes it meanwhile, and a
    // reader would then see a live object with mb == 0 (a false rtmbe).
    const p = Atomics.load(this.m, at + OBJ_PIPE) + 1;
    if (p >= PIPE_LEN) Atomics.store(this.m, at + OBJ_MB, 0);
    Atomics.store(this.m, at + OBJ_PIPE, p);
    Atomics.add(this.m, this.circ + Math.min(p, PIPE_LEN), 1);
    return p >= PIPE_LEN;
  }

  private pipeCallback(i: number): void {
    if (!this.bump(i)) this.ops.call(TORTURE_CB_KIND, i);
  }

  private flush(): void {
    const m = this.m;
    Atomics.store(m, this.st + ST_READS, this.reads);
    Atomics.store(m, this.st + ST_VIOL, this.viol);
    Atomics.store(m, this.st + ST_MBE, this.mbe);
    for (let i = 0; i <= PIPE_LEN; i++) {
      Atomics.store(m, this.st + ST_HIST + i, this.hist[i]!);
      Atomics.store(m, this.batchAt + i, this.batch[i]!);
    }
  }

  private dawdle(spins: number): void {
    let x = 0;
    for (let i = 0; i < spins; i++) x += Atomics.load(this.m, this.napAt);
    if (x !== 0) Atomics.store(this.m, this.napAt, 0);
  }

  reader(): void {
    const m = this.m;
    const cpu = this.cpu;
    const rng = cpu.rng;
    const every = this.o.delayEvery ?? RCUTORTURE_DEFAULTS.delayEvery;
    const spins = this.o.delaySpins ?? RCUTORTURE_DEFAULTS.delaySpins;
    const polls = this.o.readerPolls ?? RCUTORTURE_DEFAULTS.readerPolls;
    const ops = this.ops;
    const gpCountAt = ops.gpCountAt;
    const curAt = this.s + S_CUR;
    const objBase = this.s + S_OBJ;
    for (let n = 1; ; n++) {
      if ((n & 255) === 0) {
        this.flush();
        cpu.poll();
        if (cpu.stopRequested()) break;
      }
      const r = rng.nextU32();
      const delay = r % every === 0;
      const nest = (r >>> 8) % 8 === 0;
      ops.readLock();
      const g0 = Atomics.load(m, gpCountAt);
      const p = Atomics.load(m, curAt);
      const token = nest ? ops.readLockNested() : 0;
      if (delay) {
        // Stay inside across a poll: interrupts would be taken there if they were enabled, and a
        // CPU with them disabled shows it (IRQ_OFF) to a sender waiting for its acknowledgement.
        if (polls) {
          this.dawdle(spins >> 1);
          cpu.poll();
        }
        // A rare long nap gives the other core whole updates to run while we hold the object.
        if ((r >>> 16) % 256 === 0) Atomics.wait(m, this.napAt, 0, 0.2);
        else this.dawdle(polls ? spins - (spins >> 1) : spins);
      }
      if (nest) ops.readUnlockNested(token);
      const at = objBase + p * OBJ_WORDS;
      const pipe = Atomics.load(m, at + OBJ_PIPE);
      const mb = Atomics.load(m, at + OBJ_MB);
      const b = Atomics.load(m, gpCountAt) - g0;
      ops.readUnlock();
      this.reads++;
      this.hist[pipe < PIPE_LEN ? pipe : PIPE_LEN]!++;
      this.batch[b < PIPE_LEN ? b : PIPE_LEN]!++;
      if (mb === 0) this.mbe++;
      if (pipe >= 2) {
        if (this.viol++ === 0) Atomics.store(m, this.st + ST_VIOL, 1);
      }
    }
    this.flush();
  }

  updater(uIndex: number, nUpdaters: number): void {
    const m = this.m;
    const cpu = this.cpu;
    const rng = cpu.rng;
    const retire = this.o.retire ?? RCUTORTURE_DEFAULTS.retire;
    const per = Math.floor(TORTURE_OBJECTS / nUpdaters);
    const lo = uIndex * per;
    const removed: number[] = [];
    let updates = 0;
    let fails = 0;
    let next = lo;
    for (;;) {
      if (cpu.stopRequested()) break;
      cpu.poll();
      // Allocate from our own partition: freed objects have pipe == PIPE_LEN.
      let o = -1;
      for (let k = 0; k < per; k++) {
        const i = lo + ((next - lo + k) % per);
        if (Atomics.load(m, this.obj(i) + OBJ_PIPE) >= PIPE_LEN && Atomics.load(m, S_CUR + this.s) !== i) {
          o = i;
          next = i + 1;
          break;
        }
      }
      if (o < 0) {
        fails++;
        Atomics.store(m, this.st + ST_ALLOC_FAIL, fails);
        // Everything is in flight: push grace periods along ourselves.
        this.ops.sync();
        this.bumpRemoved(removed);
        continue;
      }
      const at = this.obj(o);
      Atomics.store(m, at + OBJ_PIPE, 0);
      Atomics.store(m, at + OBJ_MB, 1);
      const old = Atomics.exchange(m, this.s + S_CUR, o);
      Atomics.store(m, this.obj(old) + OBJ_PIPE, 1);
      Atomics.add(m, this.circ + 1, 1);
      const useCall = this.ops.hasCall && (retire === 'call' || (retire === 'mixed' && (rng.nextU32() & 1) === 0));
      if (useCall) {
        this.ops.call(TORTURE_CB_KIND, old);
      } else {
        removed.push(old);
        this.ops.sync();
        this.bumpRemoved(removed);
      }
      updates++;
      if ((updates & 63) === 0) Atomics.store(m, this.st + ST_UPDATES, updates);
    }
    Atomics.store(m, this.st + ST_UPDATES, updates);
  }

  /** After one of OUR grace periods: every object we retired before it moves one stage on. */
  private bumpRemoved(removed: number[]): void {
    let w = 0;
    for (let k = 0; k < removed.length; k++) {
      const i = removed[k]!;
      if (!this.bump(i)) removed[w++] = i;
    }
    removed.length = w;
  }

  /** CPU 1 holds one read-side section for stallHoldMs: the stall detector must name it. */
  staller(): void {
    const hold = this.o.stallHoldMs ?? RCUTORTURE_DEFAULTS.stallHoldMs;
    this.ops.readLock();
    Atomics.wait(this.m, this.napAt, 0, hold);
    this.ops.readUnlock();
  }

  /** Sender side of the IPI deadlock scenarios: "hold" word L, then shoot down. */
  deadlockSender(lockAt: number, tracked: boolean): void {
    const b = this.cpu.block0;
    Atomics.store(this.m, lockAt, 1);
    if (tracked) {
      Atomics.store(this.m, b + CpuField.HELD, lockAt);
      Atomics.store(this.m, b + CpuField.HELD + 1, 0);
      Atomics.store(this.m, b + CpuField.HELD_DEPTH, 1);
    }
    // Give the target time to disable interrupts and start waiting.
    Atomics.wait(this.m, this.napAt, 0, 50);
    try {
      this.ops.sync();
    } finally {
      Atomics.store(this.m, b + CpuField.HELD_DEPTH, 0);
    }
  }

  /**
   * 'sleeping-target': CPU 1 leaves one read-side section (its quiescent state deferred) and
   * then sleeps in ctx.block with interrupts enabled; CPU 0 runs grace periods or shootdowns,
   * each of which must wake it rather than wait out its sleep.
   */
  sleeper(): void {
    const at = this.napAt - 1;
    while (!this.cpu.stopRequested()) {
      // Every wake-up: one more section, so every grace period finds a deferred state here
      // (rcu; with interrupts, the enable acknowledges what is pending).
      this.ops.readLock();
      this.ops.readUnlock();
      this.cpu.block(at, 0);
    }
  }

  waker(n: number): void {
    // Let CPU 1 fall asleep first.
    Atomics.wait(this.m, this.napAt, 0, 30);
    for (let i = 0; i < n && !this.cpu.stopRequested(); i++) {
      this.ops.sync();
      Atomics.store(this.m, this.st + ST_UPDATES, i + 1);
      // Give the sleeper time to go back to sleep (and possibly to defer a state again).
      Atomics.wait(this.m, this.napAt, 0, 1);
    }
    requestStop(this.cpu.arena, StopState.stop);
  }

  /** Target side: interrupts off, then wait for L — which the sender will never release. */
  deadlockTarget(lockAt: number): void {
    while (Atomics.load(this.m, lockAt) === 0) Atomics.wait(this.m, this.napAt, 0, 1);
    this.ops.readLock();
    try {
      while (Atomics.load(this.m, lockAt) === 1) this.cpu.block(lockAt, 1);
    } finally {
      this.ops.readUnlock();
    }
  }
}

function tortureCpuMain(d: WorkerIn): TortureCpuResult {
  const o = d.opts;
  const nUp = Math.max(1, Math.min(o.updaters ?? RCUTORTURE_DEFAULTS.updaters, o.cpus - 1));
  let t: TortureCpu | undefined;
  return runTortureCpu(d, {
    seed: o.seed ?? RCUTORTURE_DEFAULTS.seed,
    result: { cpu: d.cpu, aborted: false },
    setup: (cpu) => {
      t = new TortureCpu(cpu, o);
    },
    run: (cpu) => {
      const lockAt = cpu.arena.base('scratch') + S_CUR + 8;
      switch (o.scenario ?? RCUTORTURE_DEFAULTS.scenario) {
        case 'torture':
          if (d.cpu < nUp) t!.updater(d.cpu, nUp);
          else t!.reader();
          break;
        case 'stall':
          if (d.cpu === 1) t!.staller();
          else if (d.cpu === 0) t!.updater(0, 1);
          else t!.reader();
          break;
        case 'sleeping-target':
          if (d.cpu === 0) t!.waker(200);
          else t!.sleeper();
          break;
        case 'ipi-deadlock-chain':
        case 'ipi-deadlock-timeout':
          if (d.cpu === 0) t!.deadlockSender(lockAt, o.scenario === 'ipi-deadlock-chain');
          else if (d.cpu === 1) t!.deadlockTarget(lockAt);
          break;
      }
    },
  });
}

tortureTask<WorkerIn>('rcutorture', tortureCpuMain);

// ---------------------------------------------------------------- main-thread runner

export function tortureWorkerPath(): string {
  return distPath('src/workers/tasks/rcutorture.js');
}

function readPerCpu(arena: Arena, cpus: number, word: number): number {
  let s = 0;
  const st = arena.base('scratch') + S_STATS;
  for (let c = 0; c < cpus; c++) s += Atomics.load(arena.mem, st + c * LINE_WORDS + word);
  return s;
}

/** Run one torture test with real workers; never hangs (bounded, abort, then terminate). */
export async function runTorture(o: TortureOptions): Promise<TortureResult> {
  if (o.cpus < 2 || o.cpus > TORTURE_MAX_CPUS) throw new RangeError(`torture cpus ${o.cpus} not in [2, ${TORTURE_MAX_CPUS}]`);
  const fl = FLAVOURS[o.flavor];
  if (o.busted !== undefined && !(o.busted in fl.twins)) {
    throw new RangeError(`torture: no busted ${o.flavor} flavour '${o.busted}' (known: ${Object.keys(fl.twins).join(', ')})`);
  }
  const config = defaultArenaConfig(o.cpus, { pages: 4, entriesPerPage: 4, folios: 4, rcuCallbacks: 1024 });
  const arena = Arena.create(config);
  const m = arena.mem;
  const sc = arena.base('scratch');
  // Object 0 is current; every other object starts free.
  for (let i = 0; i < TORTURE_OBJECTS; i++) {
    Atomics.store(m, sc + S_OBJ + i * OBJ_WORDS + OBJ_PIPE, i === 0 ? 0 : PIPE_LEN);
    Atomics.store(m, sc + S_OBJ + i * OBJ_WORDS + OBJ_MB, i === 0 ? 1 : 0);
  }
  Atomics.store(m, sc + S_CUR, 0);
  if (o.stallThresholdMs !== undefined) setRcuStallThreshold(arena, o.stallThresholdMs);
  if (o.deadlockMs !== undefined) setIpiDeadlockThreshold(arena, o.deadlockMs);

  const inputs = Array.from({ length: o.cpus }, (_, c): WorkerIn => ({ task: 'rcutorture', buffer: arena.buffer, config, cpu: c, opts: o }));
  const tw = new TortureWorkers<TortureCpuResult>(arena, tortureWorkerPath(), inputs);
  const errors = tw.errors;
  const t0 = await tw.started();
  const stalls: RcuStall[] = [];
  let firstViolationMs = -1;
  // No progress counter to watch: the stall detector, the duration and the read target decide.
  const outcome = await tw.watch(() => 0, Infinity, Infinity, (now) => {
    if (fl.stalls) for (const s of findRcuStalls(arena, now)) if (s.first) stalls.push(s);
    if (firstViolationMs < 0 && readPerCpu(arena, o.cpus, ST_VIOL) > 0) firstViolationMs = now - t0;
    if (now - t0 >= o.durationMs) return true;
    if (o.minReads && now - t0 >= (o.minMs ?? RCUTORTURE_DEFAULTS.minMs) && readPerCpu(arena, o.cpus, ST_READS) >= o.minReads) return true;
    return o.stopOnViolation === true && firstViolationMs >= 0;
  });
  const terminated = outcome === 'done' ? false : await tw.stop(5000);
  if (terminated) errors.push('workers did not unwind after abort: terminated');
  const elapsedMs = performance.now() - t0;

  const st = sc + S_STATS;
  const pipe: number[] = [];
  const circulation: number[] = [];
  const batch: number[] = [];
  for (let i = 0; i <= PIPE_LEN; i++) {
    let p = 0;
    let c = 0;
    for (let cpu = 0; cpu < o.cpus; cpu++) {
      p += Atomics.load(m, st + cpu * LINE_WORDS + ST_HIST + i);
      c += Atomics.load(m, sc + S_CIRC + cpu * LINE_WORDS + i);
    }
    let bt = 0;
    for (let cpu = 0; cpu < o.cpus; cpu++) bt += Atomics.load(m, sc + S_BATCH + cpu * LINE_WORDS + i);
    pipe.push(p);
    circulation.push(c);
    batch.push(bt);
  }
  const reads = readPerCpu(arena, o.cpus, ST_READS);
  const updates = readPerCpu(arena, o.cpus, ST_UPDATES);
  const violations = pipe.slice(2).reduce((a, b) => a + b, 0);
  const mbErrors = readPerCpu(arena, o.cpus, ST_MBE);
  const allocFails = readPerCpu(arena, o.cpus, ST_ALLOC_FAIL);
  const rcu = readRcuStats(arena);
  const ipi = readIpiStats(arena);
  const success = violations === 0 && mbErrors === 0 && errors.length === 0 && !terminated;
  const tag = fl.tag;
  const busted = o.busted ?? RCUTORTURE_DEFAULTS.busted;
  const lines = [
    `${tag}: rtc: ${Atomics.load(m, sc + S_CUR)} ver: ${updates} tfle: 0 rta: ${updates} rtaf: ${allocFails} rtf: ${circulation[PIPE_LEN]} rtmbe: ${mbErrors} nt: ${reads}` +
      fl.stats(rcu, ipi),
    `${tag}: Reader Pipe:  ${pipe.join(' ')}`,
    `${tag}: Reader Batch:  ${batch.join(' ')}`,
    `${tag}: Free-Block Circulation:  ${circulation.join(' ')}`,
    ...stalls.map(formatRcuStall),
    ...errors.map((e) => `${tag}: ERROR ${e.split('\n')[0]}`),
    `${tag}: --- End of test: ${success ? 'SUCCESS' : 'FAILURE'}: flavor=${o.flavor} busted=${busted} nreaders=${o.cpus - Math.max(1, Math.min(o.updaters ?? RCUTORTURE_DEFAULTS.updaters, o.cpus - 1))} nupdaters=${Math.max(1, Math.min(o.updaters ?? RCUTORTURE_DEFAULTS.updaters, o.cpus - 1))} retire=${fl.retire(o)} seed=${o.seed ?? RCUTORTURE_DEFAULTS.seed} ms=${Math.round(elapsedMs)}`,
  ];
  return {
    flavor: o.flavor,
    busted,
    cpus: o.cpus,
    reads,
    updates,
    violations,
    mbErrors,
    allocFails,
    pipe,
    batch,
    circulation,
    elapsedMs,
    firstViolationMs,
    success,
    lines,
    errors,
    stalls,
    rcu,
    ipi,
    terminated,
  };
}
