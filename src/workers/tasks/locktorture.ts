/**
 * locktorture for pmdtorture's lock library, over real worker threads.
 *
 * One ops vector per lock type (the correct primitives and their busted twins): the engine never
 * knows which lock it drives. Writers and readers hammer one lock instance in the arena and check
 * exclusion with in-critical-section counters (a writer inside must be alone; readers never share
 * with a writer), per-CPU acquisition counts give fairness (max/min, `???` when max/2 > min), and
 * a lost wake-up shows as a run that does not finish within a bound: the runner then aborts
 * (STOP = 2, blocked waits throw RunAborted), reports who waits where, and terminates workers.
 *
 * Waiting uses a *strict* waiter by default: like a futex, a sleeper wakes only when notified
 * (the parallel waiter's 20 ms re-check would hide a lost wake-up as mere slowness). It still
 * checks for an abort every chunk, so a run can always be torn down.
 *
 * This file is both the worker (workerData.task === 'locktorture') and the main-thread runner
 * `runLockTorture`, which starts workers from the compiled copy in dist/.
 */
import { LINE_WORDS } from '../../shared-mem/layout.js';
import { CpuField, CPU_STATE_NAMES } from '../../shared-mem/cpu-block.js';
import { StopState, requestStop } from '../../shared-mem/ctl.js';
import { type Cpu, strictWaiter } from '../cpu.js';
import { barrierWait } from '../../locks/barrier.js';
import { LockClass } from '../../locks/classes.js';
import { correctPrims, type LockPrims } from '../../locks/prims.js';
import { bustedPrims } from '../../locks/busted/index.js';
import { LockTracker } from '../../locks/tracker.js';
import { BareLocks, type LockApi } from '../../locks/lock-api.js';
import { type LockStatRow, readLockStat } from '../../locks/lockstat.js';
import { type LockdepReport, readLockdepReports } from '../../locks/lockdep.js';
import { distPath } from '../paths.js';
import { type TortureCpuEnd, type TortureInput, runTortureCpu, tortureTask } from './torture-cpu.js';
import { type Sleeper, TortureWorkers, tortureArena } from './torture-workers.js';

export const LOCK_TORTURE_TYPES = [
  'spin', 'mutex', 'rwsem', 'spin_busted', 'mutex_busted', 'rwsem_busted',
  // lockdep scenarios: CPU 0 takes A then B, then (after a barrier) CPU 1 takes B then A,
  // with a full lock or a trylock for the inner B→A step.
  'lockdep_ab', 'lockdep_ab_trylock',
] as const;
export type LockTortureType = (typeof LOCK_TORTURE_TYPES)[number];
export const LOCK_TORTURE_MAX_CPUS = 32;

/** Scratch words (line = 16 words). */
const S_LOCK = 0; // the lock under test (line 0)
const S_WIN = LINE_WORDS; // writers inside
const S_RIN = 2 * LINE_WORDS; // readers inside
const S_BUDGET = 3 * LINE_WORDS; // acquisitions handed out
const S_LOCK_A = 4 * LINE_WORDS; // lockdep scenario locks
const S_LOCK_B = 5 * LINE_WORDS;
const S_BARRIER = 6 * LINE_WORDS;
const S_CPU = 32 * LINE_WORDS; // per-CPU line: live acquisitions, fails
/** Acquisitions a CPU takes from the shared budget at a time. */
const CHUNK = 256;

/** Defaults of the options below that are not derived from others. */
export const LOCKTORTURE_DEFAULTS = { budget: 1_000_000, seed: 1, tracked: false, lockstat: true, strict: true, csSpin: 8, delayProb: 0, delayUs: 100, stopOnFail: false, boundMs: 30_000 } as const;

export interface LockTortureOptions {
  type: LockTortureType;
  cpus: number;
  /** CPUs that write (the first ones); the rest read. Default: all, or half for rwsem types. */
  writers?: number;
  /** Total acquisitions over all CPUs; 0 = until durationMs. */
  budget?: number;
  /** Stop after this long (ms) even if budget remains. Default: none. */
  durationMs?: number;
  /** A run not finished after this long (ms) is aborted and reported hung. */
  boundMs?: number;
  seed?: number;
  /** Go through LockTracker (lockdep + trace) instead of the bare primitives. */
  tracked?: boolean;
  /** With tracked: lock_stat on. */
  lockstat?: boolean;
  /** Strict (notify-only) waiter, so lost wake-ups hang. */
  strict?: boolean;
  /** Busy-loop iterations inside each critical section. */
  csSpin?: number;
  /** Stop every CPU at the first exclusion failure (users' "stop at the first error"). */
  stopOnFail?: boolean;
  /** Probability that a critical section sleeps delayUs (race widening, locktorture's long_hold). */
  delayProb?: number;
  delayUs?: number;
}

interface WorkerInput extends TortureInput {
  task: 'locktorture';
  reader: boolean;
  opts: Required<Omit<LockTortureOptions, 'durationMs' | 'writers' | 'boundMs'>>;
}

export interface LockTortureCpuResult extends TortureCpuEnd {
  cpu: number;
  reader: boolean;
  acquisitions: number;
  contended: number;
  fails: number;
}

// ================================================================ worker side

/** locktorture's lock_torture_ops for one lock: written once, run through any LockApi (tracked or bare). */
interface LockTortureOps {
  readonly rw: boolean;
  writeLock(l: LockApi, at: number): boolean;
  writeUnlock(l: LockApi, at: number): void;
  readLock(l: LockApi, at: number): boolean;
  readUnlock(l: LockApi, at: number): void;
}

const noReadSide = (): never => {
  throw new Error('this lock has no read side');
};

/** The ops of a lock with no read side. */
function exclusiveOps(writeLock: LockTortureOps['writeLock'], writeUnlock: LockTortureOps['writeUnlock']): LockTortureOps {
  return { rw: false, writeLock, writeUnlock, readLock: noReadSide, readUnlock: noReadSide };
}

/** One table per lock; a new lock (or a busted twin of one: `<lock>_busted`) is one entry. */
const LOCK_OPS: Record<'spin' | 'mutex' | 'rwsem', LockTortureOps> = {
  spin: exclusiveOps(
    (l, at) => l.spinLock(LockClass.torture_spin, at),
    (l, at) => l.spinUnlock(LockClass.torture_spin, at),
  ),
  mutex: exclusiveOps(
    (l, at) => l.mutexLock(LockClass.torture_mutex, at),
    (l, at) => l.mutexUnlock(LockClass.torture_mutex, at),
  ),
  rwsem: {
    rw: true,
    writeLock: (l, at) => l.downWrite(LockClass.torture_rwsem, at),
    writeUnlock: (l, at) => l.upWrite(LockClass.torture_rwsem, at),
    readLock: (l, at) => l.downRead(LockClass.torture_rwsem, at),
    readUnlock: (l, at) => l.upRead(LockClass.torture_rwsem, at),
  },
};

function primsFor(type: LockTortureType): LockPrims {
  return type.endsWith('_busted') ? bustedPrims : correctPrims;
}

function opsFor(type: LockTortureType): LockTortureOps {
  const ops = LOCK_OPS[type.replace(/_busted$/, '') as keyof typeof LOCK_OPS] as LockTortureOps | undefined;
  if (ops === undefined) throw new Error(`no ops vector for ${type}`);
  return ops;
}

export function lockTortureWorker(input: WorkerInput): LockTortureCpuResult {
  const { opts } = input;
  let tracker: LockTracker | undefined;
  let mine = 0;
  const res: LockTortureCpuResult = { cpu: input.cpu, reader: input.reader, acquisitions: 0, contended: 0, fails: 0, aborted: false };
  return runTortureCpu(input, {
    seed: opts.seed,
    waiter: opts.strict ? strictWaiter : undefined,
    result: res,
    setup: (cpu) => {
      mine = cpu.arena.base('scratch') + S_CPU + input.cpu * LINE_WORDS;
      if (opts.tracked || opts.type.startsWith('lockdep')) tracker = new LockTracker(cpu, { lockstat: opts.lockstat, prims: primsFor(opts.type) });
    },
    run: (cpu) => {
      const s0 = cpu.arena.base('scratch');
      if (opts.type === 'lockdep_ab' || opts.type === 'lockdep_ab_trylock') lockdepScenario(opts.type, cpu, tracker!, s0, res);
      else hammer(opts, input.reader, cpu, tracker ?? new BareLocks(cpu, primsFor(opts.type)), s0, mine, res);
    },
    finish: (cpu, res) => {
      tracker?.flush();
      Atomics.store(cpu.mem, mine, res.acquisitions);
      Atomics.store(cpu.mem, mine + 1, res.fails);
    },
  });
}

function hammer(
  opts: WorkerInput['opts'], reader: boolean, cpu: Cpu, locks: LockApi, s0: number, mine: number, res: LockTortureCpuResult,
): void {
  const m = cpu.mem;
  const ops = opsFor(opts.type);
  const at = s0 + S_LOCK;
  const win = s0 + S_WIN;
  const rin = s0 + S_RIN;
  const budgetAt = s0 + S_BUDGET;
  const napAt = mine + 8; // private, never notified
  const csSpin = opts.csSpin;
  const delayProb = opts.delayProb;
  const delayMs = opts.delayUs / 1000;
  const rng = cpu.rng;
  const read = reader && ops.rw;
  let acq = 0;
  let contended = 0;
  let fails = 0;
  for (;;) {
    if (cpu.stopRequested()) break;
    if (opts.budget > 0 && Atomics.add(m, budgetAt, CHUNK) >= opts.budget) break;
    for (let k = 0; k < CHUNK; k++) {
      if (read) {
        if (ops.readLock(locks, at)) contended++;
        Atomics.add(m, rin, 1);
        if (Atomics.load(m, win) !== 0) fails++;
        for (let i = 0; i < csSpin; i++) Atomics.load(m, win);
        if (delayProb > 0 && rng.next() < delayProb) Atomics.wait(m, napAt, 0, delayMs);
        Atomics.sub(m, rin, 1);
        ops.readUnlock(locks, at);
      } else {
        if (ops.writeLock(locks, at)) contended++;
        // Both counters are checked after our own increment: of two overlapping CPUs, at
        // least one sees the other (Atomics are sequentially consistent).
        if (Atomics.add(m, win, 1) !== 0 || Atomics.load(m, rin) !== 0) fails++;
        for (let i = 0; i < csSpin; i++) Atomics.load(m, rin);
        if (delayProb > 0 && rng.next() < delayProb) Atomics.wait(m, napAt, 0, delayMs);
        Atomics.sub(m, win, 1);
        ops.writeUnlock(locks, at);
      }
      acq++;
    }
    res.acquisitions = acq;
    res.contended = contended;
    res.fails = fails;
    Atomics.store(m, mine, acq);
    Atomics.store(m, mine + 1, fails);
    cpu.opDone();
    if (fails > 0 && opts.stopOnFail) requestStop(cpu.arena, StopState.stop);
  }
  res.acquisitions = acq;
  res.contended = contended;
  res.fails = fails;
}

/** Plant an A→B / B→A order inversion without ever deadlocking: the two CPUs take turns. */
function lockdepScenario(type: LockTortureType, cpu: Cpu, t: LockTracker, s0: number, res: LockTortureCpuResult): void {
  const A = LockClass.torture_a;
  const B = LockClass.torture_b;
  const a = s0 + S_LOCK_A;
  const b = s0 + S_LOCK_B;
  const parties = cpu.arena.config.cpus;
  const op = (n: number): void => cpu.setField(CpuField.CUR_OP, n + 1);
  if (cpu.cpuId === 0) {
    op(1);
    t.mutexLock(A, a);
    t.spinLock(B, b);
    t.spinUnlock(B, b);
    t.mutexUnlock(A, a);
    res.acquisitions += 2;
  }
  barrierWait(cpu, s0 + S_BARRIER, parties);
  if (cpu.cpuId === 1) {
    op(2);
    t.spinLock(B, b);
    if (type === 'lockdep_ab_trylock') {
      if (t.mutexTrylock(A, a)) {
        t.mutexUnlock(A, a);
        res.acquisitions++;
      }
    } else {
      t.mutexLock(A, a);
      t.mutexUnlock(A, a);
      res.acquisitions++;
    }
    t.spinUnlock(B, b);
    res.acquisitions++;
  }
  op(-1);
}

tortureTask<WorkerInput>('locktorture', lockTortureWorker);

// ================================================================ main-thread runner

export interface TortureCount {
  total: number;
  max: number;
  min: number;
  perCpu: number[];
  fails: number;
  /** locktorture's `???`: max/2 > min. */
  unfair: boolean;
}

export interface HungCpu extends Sleeper {
  acquisitions: number;
}

export interface LockTortureResult {
  type: LockTortureType;
  cpus: number;
  seed: number;
  writes: TortureCount;
  reads: TortureCount | undefined;
  contended: number;
  /** Exclusion failures (writes.fails + reads.fails). */
  fails: number;
  /** The bound passed before every CPU finished: a lost wake-up or a deadlock. */
  hung: boolean;
  hungCpus: HungCpu[];
  errors: string[];
  elapsedMs: number;
  /** The locktorture-style lines. */
  lines: string[];
  lockstat: LockStatRow[];
  lockdep: LockdepReport[];
  /** Per-CPU results (aborted ones included). */
  perCpu: LockTortureCpuResult[];
}

function count(rs: LockTortureCpuResult[]): TortureCount {
  const per = rs.map((r) => r.acquisitions);
  const max = per.length ? Math.max(...per) : 0;
  const min = per.length ? Math.min(...per) : 0;
  return {
    total: per.reduce((x, y) => x + y, 0),
    max,
    min,
    perCpu: per,
    fails: rs.reduce((x, r) => x + r.fails, 0),
    unfair: max / 2 > min,
  };
}


function line(what: string, c: TortureCount): string {
  const flag = c.fails > 0 ? ' !!!' : c.unfair ? ' ???' : '';
  return `${what}: Total: ${c.total} Max/Min: ${c.max}/${c.min}${flag} Fail: ${c.fails}`;
}

export async function runLockTorture(o: LockTortureOptions): Promise<LockTortureResult> {
  const cpus = o.cpus;
  const arena = tortureArena('locktorture', cpus, 1, LOCK_TORTURE_MAX_CPUS);
  const config = arena.config;
  const rwType = o.type.startsWith('rwsem');
  const writers = Math.max(1, Math.min(cpus, o.writers ?? (rwType ? Math.ceil(cpus / 2) : cpus)));
  const seed = (o.seed ?? LOCKTORTURE_DEFAULTS.seed) >>> 0;
  const opts: WorkerInput['opts'] = {
    type: o.type,
    cpus,
    budget: o.budget ?? (o.durationMs !== undefined ? 0 : LOCKTORTURE_DEFAULTS.budget),
    seed,
    tracked: o.tracked ?? LOCKTORTURE_DEFAULTS.tracked,
    lockstat: o.lockstat ?? LOCKTORTURE_DEFAULTS.lockstat,
    strict: o.strict ?? LOCKTORTURE_DEFAULTS.strict,
    csSpin: o.csSpin ?? LOCKTORTURE_DEFAULTS.csSpin,
    delayProb: o.delayProb ?? LOCKTORTURE_DEFAULTS.delayProb,
    delayUs: o.delayUs ?? LOCKTORTURE_DEFAULTS.delayUs,
    stopOnFail: o.stopOnFail ?? LOCKTORTURE_DEFAULTS.stopOnFail,
  };
  const file = distPath('src/workers/tasks/locktorture.js');
  const t0 = performance.now();
  const inputs = Array.from({ length: cpus }, (_, i): WorkerInput => ({ task: 'locktorture', buffer: arena.buffer, config, cpu: i, reader: rwType && i >= writers, opts }));
  const tw = new TortureWorkers<LockTortureCpuResult>(arena, file, inputs);
  const { results, errors } = tw;
  const bound = o.boundMs ?? LOCKTORTURE_DEFAULTS.boundMs;
  const mem = arena.mem;
  const scratch = arena.base('scratch');
  // The bound is the watchdog (a lost wake-up or a deadlock shows as not finishing); a worker
  // that dies (failed to load, threw) ends the run at once instead of leaving the others waiting.
  const outcome = await tw.watch(() => 0, Infinity, bound, (now) => {
    if (o.durationMs !== undefined && now - t0 >= o.durationMs) requestStop(arena, StopState.stop);
    return false;
  });
  const timedOut = outcome === 'hung';
  // Snapshot who waits where before tearing down, then abort: blocked waits throw RunAborted.
  const hungCpus: HungCpu[] = timedOut
    ? tw.snapshot().map((c) => ({ ...c, acquisitions: Atomics.load(mem, scratch + S_CPU + c.cpu * LINE_WORDS) }))
    : [];
  if (outcome !== 'done') await tw.tearDown();
  const elapsedMs = performance.now() - t0;
  const per: LockTortureCpuResult[] = results.map((r, i) => r ?? {
    cpu: i,
    reader: rwType && i >= writers,
    acquisitions: Atomics.load(mem, scratch + S_CPU + i * LINE_WORDS),
    contended: 0,
    fails: Atomics.load(mem, scratch + S_CPU + i * LINE_WORDS + 1),
    aborted: true,
  });
  const writes = count(per.filter((r) => !r.reader));
  const readRs = per.filter((r) => r.reader);
  const reads = readRs.length > 0 ? count(readRs) : undefined;
  const lines = [line('Writes', writes)];
  if (reads) lines.push(line('Reads', reads));
  if (timedOut) {
    const lw = [0, 1, 2].map((k) => Atomics.load(mem, arena.base('scratch') + S_LOCK + k));
    lines.push(`!!! no progress within ${bound} ms (lost wake-up or deadlock); lock words [${lw.map((x) => `0x${(x >>> 0).toString(16)}`).join(' ')}]:`);
    for (const h of hungCpus) {
      lines.push(`  CPU ${h.cpu} ${CPU_STATE_NAMES[h.state] ?? `state ${h.state}`}, waits on word ${h.waitOn} for ${h.waitClass}, holds [${h.held.map((x) => `${x.name}@${x.at}`).join(', ')}], ${h.acquisitions} acquisitions`);
    }
  }
  return {
    type: o.type,
    cpus,
    seed,
    writes,
    reads,
    contended: per.reduce((x, r) => x + r.contended, 0),
    fails: writes.fails + (reads?.fails ?? 0),
    hung: timedOut,
    hungCpus,
    errors,
    elapsedMs,
    lines,
    lockstat: readLockStat(arena),
    lockdep: readLockdepReports(arena),
    perCpu: per,
  };
}
