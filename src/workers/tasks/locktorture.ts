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
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Arena, type ArenaConfig, CPU_WORDS, LINE_WORDS } from '../../shared-mem/layout.js';
import { CpuField, CpuState, CPU_STATE_NAMES } from '../../shared-mem/cpu-block.js';
import { Ctl, StopState, ctlAt, requestStop } from '../../shared-mem/ctl.js';
import { Cpu, strictWaiter } from '../cpu.js';
import { RunAborted } from '../../locks/ctx.js';
import { barrierWait } from '../../locks/barrier.js';
import { LockClass, lockClassName } from '../../locks/classes.js';
import { correctPrims, type LockPrims } from '../../locks/prims.js';
import { bustedPrims } from '../../locks/busted/index.js';
import { LockTracker } from '../../locks/tracker.js';
import { type LockStatRow, readLockStat } from '../../locks/lockstat.js';
import { type HeldLock, type LockdepReport, readHeldLocks, readLockdepReports } from '../../locks/lockdep.js';
import { distPath } from '../paths.js';
import { TortureWorkers, tortureArenaConfig } from './torture-workers.js';

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

export interface LockTortureOptions {
  type: LockTortureType;
  cpus: number;
  /** CPUs that write (the first ones); the rest read. Default: all, or half for rwsem types. */
  writers?: number;
  /** Total acquisitions over all CPUs (default 10^6); 0 = until durationMs. */
  budget?: number;
  /** Stop after this long (ms) even if budget remains. Default: none. */
  durationMs?: number;
  /** A run not finished after this long (ms) is aborted and reported hung. Default 30000. */
  boundMs?: number;
  seed?: number;
  /** Go through LockTracker (lockdep + trace) instead of the bare primitives. Default false. */
  tracked?: boolean;
  /** With tracked: lock_stat on. Default true. */
  lockstat?: boolean;
  /** Strict (notify-only) waiter, so lost wake-ups hang. Default true. */
  strict?: boolean;
  /** Busy-loop iterations inside each critical section. Default 8. */
  csSpin?: number;
  /** Stop every CPU at the first exclusion failure (users' "stop at the first error"). Default false. */
  stopOnFail?: boolean;
  /** Probability that a critical section sleeps delayUs (race widening, locktorture's long_hold). */
  delayProb?: number;
  delayUs?: number;
}

interface WorkerInput {
  task: 'locktorture';
  buffer: SharedArrayBuffer;
  config: ArenaConfig;
  cpu: number;
  reader: boolean;
  opts: Required<Omit<LockTortureOptions, 'durationMs' | 'writers' | 'boundMs'>>;
}

export interface LockTortureCpuResult {
  cpu: number;
  reader: boolean;
  acquisitions: number;
  contended: number;
  fails: number;
  aborted: boolean;
  error?: string;
}

// ================================================================ worker side

interface Ops {
  rw: boolean;
  writeLock(): boolean;
  writeUnlock(): void;
  readLock(): boolean;
  readUnlock(): void;
}

function primsFor(type: LockTortureType): LockPrims {
  return type.endsWith('_busted') ? bustedPrims : correctPrims;
}

/** The locktorture ops vector for a type, bare or through a tracker. */
function makeOps(type: LockTortureType, cpu: Cpu, t: LockTracker | undefined, at: number): Ops {
  const p = primsFor(type);
  const none = (): never => {
    throw new Error(`${type} has no read side`);
  };
  switch (type) {
    case 'spin':
    case 'spin_busted': {
      const cls = LockClass.torture_spin;
      return t
        ? { rw: false, writeLock: () => t.spinLock(cls, at), writeUnlock: () => t.spinUnlock(cls, at), readLock: none, readUnlock: none }
        : { rw: false, writeLock: () => p.spinLock(cpu, at), writeUnlock: () => p.spinUnlock(cpu, at), readLock: none, readUnlock: none };
    }
    case 'mutex':
    case 'mutex_busted': {
      const cls = LockClass.torture_mutex;
      return t
        ? { rw: false, writeLock: () => t.mutexLock(cls, at), writeUnlock: () => t.mutexUnlock(cls, at), readLock: none, readUnlock: none }
        : { rw: false, writeLock: () => p.mutexLock(cpu, at), writeUnlock: () => p.mutexUnlock(cpu, at), readLock: none, readUnlock: none };
    }
    case 'rwsem':
    case 'rwsem_busted': {
      const cls = LockClass.torture_rwsem;
      return t
        ? {
          rw: true,
          writeLock: () => t.downWrite(cls, at),
          writeUnlock: () => t.upWrite(cls, at),
          readLock: () => t.downRead(cls, at),
          readUnlock: () => t.upRead(cls, at),
        }
        : {
          rw: true,
          writeLock: () => p.downWrite(cpu, at),
          writeUnlock: () => p.upWrite(cpu, at),
          readLock: () => p.downRead(cpu, at),
          readUnlock: () => p.upRead(cpu, at),
        };
    }
    default:
      throw new Error(`no ops vector for ${type}`);
  }
}

export function lockTortureWorker(input: WorkerInput): LockTortureCpuResult {
  const { opts } = input;
  const arena = Arena.attach(input.buffer, input.config);
  const cpu = new Cpu(arena, input.cpu, { seed: opts.seed, waiter: opts.strict ? strictWaiter : undefined });
  const m = arena.mem;
  const s0 = arena.base('scratch');
  const res: LockTortureCpuResult = { cpu: input.cpu, reader: input.reader, acquisitions: 0, contended: 0, fails: 0, aborted: false };
  const tracker = opts.tracked || opts.type.startsWith('lockdep')
    ? new LockTracker(cpu, { lockstat: opts.lockstat, prims: primsFor(opts.type) })
    : undefined;
  const mine = s0 + S_CPU + input.cpu * LINE_WORDS;
  cpu.setState(CpuState.running);
  try {
    barrierWait(cpu, ctlAt(arena, Ctl.ARRIVED), input.config.cpus);
    if (opts.type === 'lockdep_ab' || opts.type === 'lockdep_ab_trylock') {
      lockdepScenario(opts.type, cpu, tracker!, s0, res);
    } else {
      hammer(opts, input.reader, cpu, tracker, s0, mine, res);
    }
  } catch (e) {
    if (e instanceof RunAborted) res.aborted = true;
    else res.error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
  } finally {
    tracker?.flush();
    Atomics.store(m, mine, res.acquisitions);
    Atomics.store(m, mine + 1, res.fails);
    cpu.setState(res.error !== undefined ? CpuState.crashed : CpuState.done);
  }
  return res;
}

function hammer(
  opts: WorkerInput['opts'], reader: boolean, cpu: Cpu, tracker: LockTracker | undefined, s0: number, mine: number, res: LockTortureCpuResult,
): void {
  const m = cpu.mem;
  const ops = makeOps(opts.type, cpu, tracker, s0 + S_LOCK);
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
        if (ops.readLock()) contended++;
        Atomics.add(m, rin, 1);
        if (Atomics.load(m, win) !== 0) fails++;
        for (let i = 0; i < csSpin; i++) Atomics.load(m, win);
        if (delayProb > 0 && rng.next() < delayProb) Atomics.wait(m, napAt, 0, delayMs);
        Atomics.sub(m, rin, 1);
        ops.readUnlock();
      } else {
        if (ops.writeLock()) contended++;
        // Both counters are checked after our own increment: of two overlapping CPUs, at
        // least one sees the other (Atomics are sequentially consistent).
        if (Atomics.add(m, win, 1) !== 0 || Atomics.load(m, rin) !== 0) fails++;
        for (let i = 0; i < csSpin; i++) Atomics.load(m, rin);
        if (delayProb > 0 && rng.next() < delayProb) Atomics.wait(m, napAt, 0, delayMs);
        Atomics.sub(m, win, 1);
        ops.writeUnlock();
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

if (!isMainThread && parentPort && (workerData as { task?: string } | null)?.task === 'locktorture') {
  parentPort.postMessage(lockTortureWorker(workerData as WorkerInput));
}

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

export interface HungCpu {
  cpu: number;
  state: number;
  waitOn: number;
  waitClass: string;
  held: HeldLock[];
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
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > LOCK_TORTURE_MAX_CPUS) {
    throw new RangeError(`locktorture: cpus=${cpus} must be in [1, ${LOCK_TORTURE_MAX_CPUS}]`);
  }
  const rwType = o.type.startsWith('rwsem');
  const writers = Math.max(1, Math.min(cpus, o.writers ?? (rwType ? Math.ceil(cpus / 2) : cpus)));
  const seed = (o.seed ?? 1) >>> 0;
  const config = tortureArenaConfig(cpus);
  const arena = Arena.create(config);
  const opts: WorkerInput['opts'] = {
    type: o.type,
    cpus,
    budget: o.budget ?? (o.durationMs !== undefined ? 0 : 1_000_000),
    seed,
    tracked: o.tracked ?? false,
    lockstat: o.lockstat ?? true,
    strict: o.strict ?? true,
    csSpin: o.csSpin ?? 8,
    delayProb: o.delayProb ?? 0,
    delayUs: o.delayUs ?? 100,
    stopOnFail: o.stopOnFail ?? false,
  };
  const file = distPath('src/workers/tasks/locktorture.js');
  const t0 = performance.now();
  const inputs = Array.from({ length: cpus }, (_, i): WorkerInput => ({ task: 'locktorture', buffer: arena.buffer, config, cpu: i, reader: rwType && i >= writers, opts }));
  const tw = new TortureWorkers<LockTortureCpuResult>(arena, file, inputs);
  const { results, errors, all } = tw;
  let stopTimer: NodeJS.Timeout | undefined;
  if (o.durationMs !== undefined) stopTimer = setTimeout(() => requestStop(arena, StopState.stop), o.durationMs);
  let boundTimer: NodeJS.Timeout | undefined;
  const bound = o.boundMs ?? 30_000;
  // A worker that dies (failed to load, threw outside the loop) would leave the others waiting
  // at the start barrier until the bound: end the run at once instead.
  const outcome = await Promise.race([
    all.then(() => 'done' as const),
    tw.crash,
    new Promise<'hung'>((resolve) => {
      boundTimer = setTimeout(() => resolve('hung'), bound);
    }),
  ]);
  const timedOut = outcome === 'hung';
  clearTimeout(stopTimer);
  clearTimeout(boundTimer);
  const mem = arena.mem;
  const hungCpus: HungCpu[] = [];
  if (timedOut) {
    // Snapshot who waits where before tearing down, then abort: blocked waits throw RunAborted.
    for (let i = 0; i < cpus; i++) {
      const b = arena.base('cpu') + i * CPU_WORDS;
      const state = Atomics.load(mem, b + CpuField.STATE);
      if (state === CpuState.done || state === CpuState.idle) continue; // idle: never started
      const wc = Atomics.load(mem, b + CpuField.WAIT_CLASS);
      hungCpus.push({
        cpu: i,
        state,
        waitOn: Atomics.load(mem, b + CpuField.WAIT_ON),
        waitClass: wc >= 0 ? lockClassName(wc) : '-',
        held: readHeldLocks(arena, i),
        acquisitions: Atomics.load(mem, arena.base('scratch') + S_CPU + i * LINE_WORDS),
      });
    }
  }
  if (outcome !== 'done') await tw.tearDown();
  const elapsedMs = performance.now() - t0;
  const scratch = arena.base('scratch');
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
