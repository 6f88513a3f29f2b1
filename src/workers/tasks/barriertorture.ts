/**
 * Barrier torture over real worker threads: locktorture's sibling for the reusable generation
 * barrier (locks/barrier.ts, which every run's start barrier is), in the same style as
 * completiontorture.ts (a worker task, real Atomics waits, counted failures, a bound, busted
 * twins in locks/busted/barrier.ts).
 *
 * Every CPU runs the same number of rounds over one barrier instance in the arena. Round r:
 *
 * 1. Vary the arrival order: a seeded draw from the CPU's own PRNG (per seed and CPU) spins a
 *    few hundred loads or naps `napUs`. Every `lateEvery` rounds (round 0 included) CPU
 *    `lateCpu` arrives last on purpose: it waits until every other CPU has announced its arrival,
 *    then up to `lateMs` more — by then the others are asleep in the barrier — watching whether
 *    one of them already arrived at round r + 1 (it passed round r without this CPU: `early`).
 * 2. Announce the arrival: ARRIVED = r + 1 in its own cache line, then barrierWait.
 * 3. After passing, every other CPU's ARRIVED must be r + 1 or r + 2: below, someone had not
 *    arrived yet (`early`); above, someone is two rounds on (`ahead`, impossible for a barrier).
 * 4. The CPU that got `true` (the last arriver) counts it in TRUE[r % 4]; CPU 0 checks after
 *    round r that TRUE[(r - 2) % 4] === 1 and clears it (`trues`) — by then the barrier of round
 *    r - 1 has ordered every increment of round r - 2, and round r + 2 cannot start before.
 *
 * The runner checks the rest when every CPU has finished: the last two rounds' TRUE slots, the
 * total number of `true`s (one per round), and the barrier's words (count 0, generation = rounds).
 *
 * Waits use the *strict* waiter (like a futex: wakes only on a notify), so a lost wake-up strands
 * a sleeper instead of showing as slowness. The main thread is the watchdog: when the CPUs'
 * arrival and pass counters do not move for `boundMs` it is a stall; it snapshots who sleeps on
 * which word (a sleeper whose word no longer holds the value it sleeps on was never woken: a lost
 * wake-up), aborts the run (blocked waits throw RunAborted) and tears it down.
 *
 * A crossing is one CPU passing one barrier: a clean run makes cpus × rounds of them.
 *
 * This file is both the worker (workerData.task === 'barriertorture') and the main-thread runner
 * `runBarrierTorture`, which starts workers from the compiled copy in dist/.
 */
import { LINE_WORDS } from '../../shared-mem/layout.js';
import { CPU_STATE_NAMES } from '../../shared-mem/cpu-block.js';
import { type Cpu, strictSleeps } from '../cpu.js';
import { type LockCtx, RunAborted } from '../../locks/ctx.js';
import { barrierWait } from '../../locks/barrier.js';
import { barrierWaitEarly, barrierWaitNoWake } from '../../locks/busted/barrier.js';
import { distPath } from '../paths.js';
import { type TortureBooks, sumFailKinds } from './torture-books.js';
import { type TortureCpuEnd, type TortureInput, runBookedTortureCpu, tortureTask } from './torture-cpu.js';
import { type Sleeper, TortureWorkers, type WatchedTortureResult, tortureArena } from './torture-workers.js';

export const BARRIER_TORTURE_TYPES = [
  'barrier',
  /** Releases when parties - 1 have arrived: someone passes before everyone arrived. */
  'barrier_busted_early',
  /** The last arriver bumps the generation but wakes nobody: a lost wake-up. */
  'barrier_busted_nowake',
] as const;
export type BarrierTortureType = (typeof BARRIER_TORTURE_TYPES)[number];
export const BARRIER_TORTURE_MAX_CPUS = 16;

/** Scratch words (line = 16 words). */
const S_BARRIER = 0; // the barrier under test: [0] arrivals, [1] generation
const S_TRUE = LINE_WORDS; // TRUE[r % 4]: CPUs that got `true` in round r
/** Per-CPU line: [0] ARRIVED (r + 1 before round r's wait), [1] rounds passed, [2] fails, [8] nap word. */
const S_CPU = 32 * LINE_WORDS;
const C_ARRIVED = 0;
const C_PASSED = 1;
const C_FAILS = 2;
const C_NAP = 8;

/** How long the late CPU polls between looks (ms). */
const LATE_POLL_MS = 0.1;

export const FAIL_KINDS = [
  /** A CPU passed round r while another had not arrived at it yet. */
  'early',
  /** A CPU that passed round r saw another already arrived at round r + 2 or later. */
  'ahead',
  /** A round in which not exactly one CPU got `true`, or a total != rounds. */
  'trues',
  /** After a clean run, the barrier's words are not (count 0, generation = rounds). */
  'final',
] as const;
export type FailKind = (typeof FAIL_KINDS)[number];

/** Defaults of the options below that are not derived from others. */
export const BARRIERTORTURE_DEFAULTS = { seed: 1, rounds: 20_000, spinProb: 0.25, napProb: 1 / 32, napUs: 50, lateEvery: 1000, lateMs: 1, stopOnFail: false, boundMs: 10_000, limitMs: 120_000 } as const;

export interface BarrierTortureOptions {
  type: BarrierTortureType;
  /** CPUs (parties), 2..16. */
  cpus: number;
  /** Rounds every CPU runs. */
  rounds?: number;
  /** No CPU arrived at or passed a barrier for this long (ms): a stall (lost wake-up), torn down. */
  boundMs?: number;
  /** A run not finished after this long (ms) is aborted as hung. */
  limitMs?: number;
  seed?: number;
  /** Probability per round that a CPU spins up to 256 loads before arriving. */
  spinProb?: number;
  /** Probability per round that a CPU naps `napUs` before arriving. */
  napProb?: number;
  napUs?: number;
  /** The CPU that arrives late on purpose (default the last). */
  lateCpu?: number;
  /** It does so in every round r with r % lateEvery === 0 (0 = never). */
  lateEvery?: number;
  /** Once the others have arrived it waits this long (ms) more before arriving. */
  lateMs?: number;
  /** Abort the run at the first failure. */
  stopOnFail?: boolean;
}

interface WorkerInput extends TortureInput {
  task: 'barriertorture';
  opts: Required<Omit<BarrierTortureOptions, 'boundMs' | 'limitMs'>>;
}

export interface BarrierTortureCpuResult extends TortureCpuEnd {
  cpu: number;
  /** Rounds passed. */
  rounds: number;
  /** Rounds in which barrierWait returned true on this CPU. */
  trues: number;
  /** Rounds this CPU arrived late on purpose. */
  late: number;
  /** Times this CPU actually slept in Atomics.wait inside the barrier (wake-ups exercised). */
  sleeps: number;
  fails: number;
  failKinds: Partial<Record<FailKind, number>>;
  firstFail?: string;
}

// ================================================================ worker side

type BarrierWait = (ctx: LockCtx, at: number, parties: number) => boolean;

function waitFor(type: BarrierTortureType): BarrierWait {
  switch (type) {
    case 'barrier':
      return barrierWait;
    case 'barrier_busted_early':
      return barrierWaitEarly;
    case 'barrier_busted_nowake':
      return barrierWaitNoWake;
  }
}

interface Stats {
  rounds: number;
  trues: number;
  late: number;
}

export function barrierTortureWorker(input: WorkerInput): BarrierTortureCpuResult {
  const { opts } = input;
  const res: BarrierTortureCpuResult = {
    cpu: input.cpu, rounds: 0, trues: 0, late: 0, sleeps: 0, fails: 0, failKinds: {}, aborted: false,
  };
  const st: Stats = { rounds: 0, trues: 0, late: 0 };
  // The start barrier is always the correct one (in ctl): the one under test is in scratch.
  return runBookedTortureCpu<FailKind, BarrierTortureCpuResult>(input, {
    seed: opts.seed,
    stopOnFail: opts.stopOnFail,
    result: res,
    cpuLines: S_CPU,
    failsWord: C_FAILS,
    run: (cpu, mine, books) => {
      // Sleeps in the barrier under test only, not in the start barrier.
      strictSleeps.n = 0;
      tortureLoop(opts, cpu, cpu.arena.base('scratch'), mine, books, st);
    },
    finish: (_cpu, r) => {
      r.rounds = st.rounds;
      r.trues = st.trues;
      r.late = st.late;
      r.sleeps = strictSleeps.n;
    },
  });
}

function tortureLoop(opts: WorkerInput['opts'], cpu: Cpu, s0: number, mine: number, b: TortureBooks<FailKind>, st: Stats): void {
  const m = cpu.mem;
  const wait = waitFor(opts.type);
  const n = cpu.arena.config.cpus;
  const me = cpu.cpuId;
  const bar = s0 + S_BARRIER;
  const rng = cpu.rng;
  const napAt = mine + C_NAP; // private, never notified
  const napMs = opts.napUs / 1000;
  const late = me === opts.lateCpu && opts.lateEvery > 0;
  const arrivedAt = (c: number): number => s0 + S_CPU + c * LINE_WORDS + C_ARRIVED;
  for (let r = 0; r < opts.rounds; r++) {
    if (cpu.aborted()) throw new RunAborted();
    if (late && r % opts.lateEvery === 0) {
      arriveLate(opts, cpu, r, napAt, arrivedAt, b);
      st.late++;
    } else {
      const x = rng.next();
      if (x < opts.napProb) Atomics.wait(m, napAt, 0, napMs);
      else if (x < opts.napProb + opts.spinProb) for (let k = rng.below(256); k > 0; k--) Atomics.load(m, bar);
    }
    Atomics.store(m, mine + C_ARRIVED, r + 1);
    const last = wait(cpu, bar, n);
    // Everyone arrived at round r (ARRIVED >= r + 1), and nobody can have passed round r + 1
    // (ARRIVED <= r + 2) while this CPU has not arrived at it.
    for (let c = 0; c < n; c++) {
      if (c === me) continue;
      const a = Atomics.load(m, arrivedAt(c));
      if (a < r + 1) b.fail('early', `passed round ${r} while CPU ${c} had not arrived (${a > 0 ? `last arrived at round ${a - 1}` : 'not arrived at any round yet'})`);
      else if (a > r + 2) b.fail('ahead', `passed round ${r} and CPU ${c} already arrived at round ${a - 1}`);
    }
    if (last) {
      st.trues++;
      Atomics.add(m, s0 + S_TRUE + (r & 3), 1);
    }
    if (me === 0 && r >= 2) {
      const got = Atomics.exchange(m, s0 + S_TRUE + ((r - 2) & 3), 0);
      if (got !== 1) b.fail('trues', `round ${r - 2}: ${got} CPUs got true (want exactly 1, the last arriver)`);
    }
    st.rounds = r + 1;
    Atomics.store(m, mine + C_PASSED, r + 1);
    cpu.opDone();
  }
}

/**
 * Arrive last at round r on purpose: wait until every other CPU has announced its arrival, then
 * up to lateMs more (the others fall asleep in the barrier). A CPU announcing round r + 1 in the
 * meantime passed round r without this one: caught here, and by its own check.
 */
function arriveLate(opts: WorkerInput['opts'], cpu: Cpu, r: number, napAt: number, arrivedAt: (c: number) => number, b: TortureBooks<FailKind>): void {
  const m = cpu.mem;
  const n = cpu.arena.config.cpus;
  for (let c = 0; c < n; c++) {
    if (c === cpu.cpuId) continue;
    // Unbounded: a stall here (someone stranded in an earlier round) is the watchdog's to find.
    while (Atomics.load(m, arrivedAt(c)) < r + 1) {
      if (cpu.aborted()) throw new RunAborted();
      Atomics.wait(m, napAt, 0, LATE_POLL_MS);
    }
  }
  const until = performance.now() + opts.lateMs;
  for (;;) {
    for (let c = 0; c < n; c++) {
      if (c === cpu.cpuId) continue;
      const a = Atomics.load(m, arrivedAt(c));
      if (a > r + 1) {
        b.fail('early', `CPU ${c} passed round ${r} (it arrived at round ${a - 1}) before this CPU arrived`);
        return;
      }
    }
    if (cpu.aborted()) throw new RunAborted();
    const left = until - performance.now();
    if (left <= 0) return;
    Atomics.wait(m, napAt, 0, Math.min(left, LATE_POLL_MS));
  }
}

tortureTask<WorkerInput>('barriertorture', barrierTortureWorker);

// ================================================================ main-thread runner

export interface StalledCpu extends Sleeper {
  /** Rounds it passed, and the round it last arrived at (-1: none). */
  rounds: number;
  arrivedAt: number;
}

/** stalled: no CPU arrived or passed for boundMs; hung: limitMs passed before every CPU finished. */
export interface BarrierTortureResult extends WatchedTortureResult<FailKind, StalledCpu, BarrierTortureCpuResult> {
  type: BarrierTortureType;
  cpus: number;
  seed: number;
  /** Rounds asked of every CPU. */
  rounds: number;
  /** Barriers passed, summed over CPUs (cpus × rounds in a clean run). */
  crossings: number;
  /** barrierWait returned true, summed over CPUs (rounds in a clean run). */
  trues: number;
  sleeps: number;
  late: number;
  /** When the watchdog gave up (stall, hang, abort or crash), ms from the start; undefined: clean. */
  detectedMs: number | undefined;
  /** How long teardown took after that (ms). */
  teardownMs: number;
}


export async function runBarrierTorture(o: BarrierTortureOptions): Promise<BarrierTortureResult> {
  const cpus = o.cpus;
  const arena = tortureArena('barriertorture', cpus, 2, BARRIER_TORTURE_MAX_CPUS);
  const config = arena.config;
  const seed = (o.seed ?? BARRIERTORTURE_DEFAULTS.seed) >>> 0;
  const opts: WorkerInput['opts'] = {
    type: o.type,
    cpus,
    rounds: o.rounds ?? BARRIERTORTURE_DEFAULTS.rounds,
    seed,
    spinProb: o.spinProb ?? BARRIERTORTURE_DEFAULTS.spinProb,
    napProb: o.napProb ?? BARRIERTORTURE_DEFAULTS.napProb,
    napUs: o.napUs ?? BARRIERTORTURE_DEFAULTS.napUs,
    lateCpu: o.lateCpu ?? cpus - 1,
    lateEvery: o.lateEvery ?? BARRIERTORTURE_DEFAULTS.lateEvery,
    lateMs: o.lateMs ?? BARRIERTORTURE_DEFAULTS.lateMs,
    stopOnFail: o.stopOnFail ?? BARRIERTORTURE_DEFAULTS.stopOnFail,
  };
  if (!Number.isInteger(opts.lateCpu) || opts.lateCpu < 0 || opts.lateCpu >= cpus) {
    throw new RangeError(`barriertorture: lateCpu=${opts.lateCpu} must be a CPU in [0, ${cpus - 1}]`);
  }
  const bound = o.boundMs ?? BARRIERTORTURE_DEFAULTS.boundMs;
  const limit = o.limitMs ?? BARRIERTORTURE_DEFAULTS.limitMs;
  const file = distPath('src/workers/tasks/barriertorture.js');
  const mem = arena.mem;
  const s0 = arena.base('scratch');
  const line = (c: number): number => s0 + S_CPU + c * LINE_WORDS;
  for (let c = 0; c < cpus; c++) Atomics.store(mem, line(c) + C_ARRIVED, 0);
  const t0 = performance.now();
  const inputs = Array.from({ length: cpus }, (_, i): WorkerInput => ({ task: 'barriertorture', buffer: arena.buffer, config, cpu: i, opts }));
  const tw = new TortureWorkers<BarrierTortureCpuResult>(arena, file, inputs);
  const { results, errors } = tw;
  // The watchdog: every CPU's arrival and pass counters; no movement for the bound is a stall.
  const progress = (): number => {
    let p = 0;
    for (let c = 0; c < cpus; c++) p += Atomics.load(mem, line(c) + C_ARRIVED) + Atomics.load(mem, line(c) + C_PASSED);
    return p;
  };
  const outcome = await tw.watch(progress, bound, limit);
  const bar = s0 + S_BARRIER;
  const names = new Map<number, string>([[bar, 'count'], [bar + 1, 'gen']]);
  const stalledCpus: StalledCpu[] = outcome === 'stalled' || outcome === 'hung'
    ? tw.snapshot(names).map((c) => ({ ...c, rounds: Atomics.load(mem, line(c.cpu) + C_PASSED), arrivedAt: Atomics.load(mem, line(c.cpu) + C_ARRIVED) - 1 }))
    : [];
  const detectedMs = outcome === 'done' ? undefined : performance.now() - t0;
  const td0 = performance.now();
  if (outcome !== 'done') await tw.tearDown();
  const teardownMs = performance.now() - td0;
  const elapsedMs = performance.now() - t0;
  const per: BarrierTortureCpuResult[] = results.map((r, i) => r ?? {
    cpu: i,
    rounds: Atomics.load(mem, line(i) + C_PASSED),
    trues: 0,
    late: 0,
    sleeps: 0,
    fails: Atomics.load(mem, line(i) + C_FAILS),
    failKinds: {},
    aborted: true,
  });
  const failKinds = sumFailKinds<FailKind>(per);
  const firstFails = per.map((r) => r.firstFail).filter((x): x is string => x !== undefined);
  const sum = (f: (r: BarrierTortureCpuResult) => number): number => per.reduce((x, r) => x + f(r), 0);
  let fails = sum((r) => r.fails);
  const trues = sum((r) => r.trues);
  const R = opts.rounds;
  // The books CPU 0 cannot close itself, once every CPU has passed every round.
  if (outcome === 'done' && per.every((r) => r.rounds === R && r.error === undefined)) {
    const mainFail = (kind: FailKind, what: string): void => {
      fails++;
      failKinds[kind] = (failKinds[kind] ?? 0) + 1;
      firstFails.push(`main: ${kind}: ${what}`);
    };
    for (let r = Math.max(0, R - 2); r < R; r++) {
      const got = Atomics.load(mem, s0 + S_TRUE + (r & 3));
      if (got !== 1) mainFail('trues', `round ${r}: ${got} CPUs got true (want exactly 1, the last arriver)`);
    }
    if (trues !== R) mainFail('trues', `${trues} true returns over ${R} rounds (want one per round)`);
    const count = Atomics.load(mem, bar);
    const gen = Atomics.load(mem, bar + 1);
    if (count !== 0 || gen !== R) mainFail('final', `barrier words after ${R} rounds: count ${count} gen ${gen} (want 0 and ${R})`);
  }
  const crossings = sum((r) => r.rounds);
  const rs = per.map((r) => r.rounds);
  const lostWakeups = stalledCpus.filter((c) => c.lostWakeup).length;
  const lines = [
    `Barrier: CPUs: ${cpus} Rounds: ${R} Crossings: ${crossings} True: ${trues} Late: ${sum((r) => r.late)} Sleeps: ${sum((r) => r.sleeps)} Fail: ${fails}${fails > 0 ? ' !!!' : ''}`,
    `Rounds per CPU Max/Min: ${Math.max(...rs)}/${Math.min(...rs)} (${rs.join(' ')}) in ${elapsedMs.toFixed(0)} ms`,
  ];
  if (fails > 0) lines.push(`!!! failures ${JSON.stringify(failKinds)}; first: ${firstFails.join(' | ')}`);
  if (outcome === 'stalled' || outcome === 'hung') {
    const words = `count ${Atomics.load(mem, bar)}, gen ${Atomics.load(mem, bar + 1)}`;
    lines.push(outcome === 'stalled'
      ? `!!! no CPU arrived or passed for ${bound} ms (${lostWakeups > 0 ? 'lost wake-up' : 'stall: lost wake-up or deadlock'}); barrier ${words}:`
      : `!!! not finished within ${limit} ms; barrier ${words}:`);
    for (const c of stalledCpus) {
      const where = c.waitOn >= 0
        ? `sleeps on word ${c.waitOn} (${c.waitName}) for value ${c.waitVal}, word now ${c.wordNow}${c.lostWakeup ? ' — never woken: lost wake-up' : ''}`
        : 'not in a barrier wait';
      lines.push(`  CPU ${c.cpu} ${CPU_STATE_NAMES[c.state] ?? `state ${c.state}`}, ${where}, arrived at round ${c.arrivedAt}, ${c.rounds} passed`);
    }
    lines.push(`torn down in ${teardownMs.toFixed(0)} ms`);
  }
  if (outcome === 'aborted') lines.push('stopped at the first failure');
  if (outcome === 'crashed') lines.push('!!! a CPU crashed');
  return {
    type: o.type,
    cpus,
    seed,
    rounds: R,
    crossings,
    trues,
    sleeps: sum((r) => r.sleeps),
    late: sum((r) => r.late),
    fails,
    failKinds,
    firstFails,
    stalled: outcome === 'stalled',
    hung: outcome === 'hung',
    stalledCpus,
    lostWakeups,
    errors,
    elapsedMs,
    detectedMs,
    teardownMs,
    lines,
    perCpu: per,
  };
}
