/**
 * The stress engine: builds the arena and the model, starts one piscina worker per CPU, watches
 * them (duration, violations, stalls, crashes, interrupts), and collects everything into a
 * RunResult. Never hangs: a stop is requested first, then an abort unwinds every wait, then
 * the pool is destroyed.
 */
import { rssSplit } from './procmem.js';
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { Arena, type ArenaConfig, defaultArenaConfig } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { CPU_WORDS } from '../shared-mem/layout.js';
import { StopState, requestStop, stopState } from '../shared-mem/ctl.js';
import { readTrace } from '../shared-mem/trace.js';
import { PagePool } from '../workers/hugetlb/pool.js';
import { distPath } from '../workers/paths.js';
import type { CpuResult, CpuTask, PlantedFault } from '../workers/hugetlb/run-cpu.js';
import { setupModel } from '../workers/hugetlb/setup.js';
import { modeByName, type ModeTable } from '../workers/hugetlb/modes.js';
import { checkInvariants, plantInvariantFailure, type InvariantResult } from '../workers/hugetlb/invariants.js';
import { C, type IpiOpStats, readIpiByOp, readOutcomes, readWidened, sumCounter } from '../workers/hugetlb/stats.js';
import { openTargetsOf, scenarioByName } from '../workers/hugetlb/scenarios.js';
import { OPS, OP_NAMES, opSiteName } from '../workers/hugetlb/ops-list.js';
import { POINT_NAMES, parseWidenPoint, pointId } from '../workers/hugetlb/points.js';
import { readViolations, violationCount, type ViolationRecord } from '../workers/hugetlb/violations.js';
import { readLockStat, type LockStatRow } from '../locks/lockstat.js';
import { readLockdepReports, type HeldLock, type LockdepReport } from '../locks/lockdep.js';
import { readRcuStats, type RcuStats, findRcuStalls, takeRcuBacklogPeak } from '../locks/rcu.js';
import { readIpiStats, type IpiStats } from '../locks/irq.js';
import { rcuHoldsGp } from '../locks/rcu.js';
import { irqOffShown } from '../locks/irq.js';
import { Ctl } from '../shared-mem/ctl.js';
import { readRefHold, type RefHoldStats } from '../workers/hugetlb/refhold.js';
import { Timeline } from './timeline.js';
import { cpuSnapshot } from '../locks/cpu-snapshot.js';
import { readOpLatency } from '../workers/hugetlb/op-latency.js';
import type { ThreadSched } from '../workers/thread-sched.js';
import { EXIT_HIST_LOCKED, EXIT_HIST_WHOLE, readExitHist } from '../workers/hugetlb/exit-latency.js';
import { readWorldStats, worldsArena, type WorldStat } from './worlds.js';
// Registers the model's trace event names (hugetlb_walk, pud_clear, …) in this thread too,
// so stall reports and violation traces read by the main thread name them.
import '../workers/hugetlb/kernel.js';

export interface WidenOptions {
  /** Probability of a delay at each enabled point. */
  prob: number;
  /** Delay length, µs. */
  us: number;
  /**
   * Points to widen (default: all), each `NAME` or `NAME:PROB` or `NAME:PROB:US` (its own
   * probability and length; the others take prob and us above).
   */
  points?: readonly string[] | undefined;
}


export interface RunConfig {
  scenario: string;
  mode: string;
  cpus: number;
  /** Independent worlds (default 1, at most cpus): CPU c works in world c mod worlds (worlds.ts). */
  worlds?: number | undefined;
  seed: number;
  /** Total operations over all CPUs (split evenly, deterministic); 0 = run for durationMs. */
  ops: number;
  durationMs: number;
  widen?: WidenOptions | undefined;
  lockstat: boolean;
  stopOnViolation: boolean;
  /** With stopOnViolation: stop only at a violation at one of these sites (tests aiming at one walker). */
  stopAtSites?: readonly string[] | undefined;
  /**
   * With stopOnViolation and no stopAtSites: stop only at a violation at a site the scenario is
   * named for, where the mode leaves one open (the CLI's run); violations elsewhere are counted
   * and reported. The result's config names the sites.
   */
  stopAtTargets?: boolean | undefined;
  stallTimeoutMs: number;
  arena?: Partial<ArenaConfig> | undefined;
  plant?: PlantedFault | undefined;
  /** Called every statIntervalMs with live figures (soak lines, progress). */
  statIntervalMs?: number | undefined;
  onStat?: ((s: LiveStat) => void) | undefined;
  /** Stops the run like SIGINT: finish, report, status 'interrupted'. */
  signal?: AbortSignal | undefined;
  /** Workers to run on (createStressPool; soak reuses one across rounds). Left open unless a crash or stall forced its destruction. */
  pool?: Piscina | undefined;
  /** Test hook: break one invariant (mm 0's PUD page refcount) before the end-of-run check, to prove a failed check counts. */
  plantInvariant?: boolean | undefined;
  /** Time series to sample into (a soak passes one across its rounds); default: a new one. */
  timeline?: Timeline | undefined;
  /** Per-op-kind latency histograms: 1 op in this many timed (default OP_LATENCY_EVERY; 0 = off, only to measure their cost: bench/op-latency.ts). */
  opLatencyEvery?: number | undefined;
}

/**
 * A pool of n CPU workers. runStress makes one per run; a caller running many runs (soak rounds)
 * may make one and pass it as RunConfig.pool, so threads are not created and torn down each time.
 */
export function createStressPool(n: number): Piscina {
  // Without require(esm), piscina's require() of our ES module fails cleanly and it falls back to
  // import(); with it, a failed require leaves Node 20 unable to import the module again.
  return new Piscina({
    filename: distPath('src/workers/tasks/stress.js'),
    minThreads: n,
    maxThreads: n,
    idleTimeout: 60_000,
    execArgv: ['--no-experimental-require-module'],
    // A CPU's garbage is per-operation temporaries and its live data a few MB, so a 2 MB
    // semi-space (V8 young generation 6 MB: new space 4 MB) is what a worker settles at in its
    // first seconds anyway. Uncapped, V8 doubles the new space (up to 32 MB a worker) whenever
    // survivors since the last doubling add up to its size — at some round change, hours in —
    // and RSS steps up and never comes back. Scavenges cost ~0.15% of a worker's time either way.
    resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb(n) },
  });
}

/**
 * A CPU worker's V8 young generation, MB: 6 up to 16 CPUs, then smaller so that all of them
 * together stay under ~100 MB (2 MB from 48 CPUs on). Each worker is an isolate of its own
 * (~8 MiB bare, ~11 MiB with the model loaded: bench/scale), and over a run every worker's new
 * space fills to its cap, so at --cpus 64 an uncapped 6 MB would add ~250 MiB. With many CPUs
 * on few cores each worker allocates slowly, so the extra scavenges cost nothing measurable.
 */
export function youngGenerationMb(cpus: number): number {
  return Math.max(2, Math.min(6, Math.floor(96 / cpus)));
}

export interface LiveStat {
  elapsedMs: number;
  ops: number;
  opsPerCpu: number[];
  violations: number;
  rcu: RcuStats;
  pool: { live: number; pending: number; free: number };
  rssBytes: number;
  /** RssAnon (private memory, where a leak shows) from /proc/self/status; null off Linux. */
  rssAnonBytes: number | null;
  /** process.memoryUsage() of the main thread at the same moment: V8 heap used, memory of C++ objects bound to JS, of which ArrayBuffers/SharedArrayBuffers. */
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  /** Violations recorded in full since the previous stat (for event streams). */
  newViolations: ViolationRecord[];
}

export interface StallReport {
  cpu: number;
  state: string;
  op: string;
  waitingOn: number;
  /** Lock class it is acquiring while blocked, if any. */
  waitingFor: string | null;
  /** Interrupts disabled at the CPU's last poll (exact for a blocked CPU). */
  irqsOff: boolean;
  /** Holds grace periods up: inside an RCU read-side section, or not yet reported quiescent. */
  rcuReader: boolean;
  heldLocks: HeldLock[];
  lastEvents: Array<{ us: number; event: string; a: number; b: number }>;
}

export type RunStatus = 'ok' | 'violations' | 'crashed' | 'stalled' | 'interrupted';

export interface RunResult {
  config: Omit<RunConfig, 'onStat' | 'signal'> & { arena: ArenaConfig };
  status: RunStatus;
  elapsedMs: number;
  /** Start barrier to the last CPU's end: the interval ops/s are measured over. */
  runMs: number;
  ops: number;
  perOp: Record<string, number>;
  failedOps: Record<string, number>;
  perCpu: number[];
  outcomes: Record<string, Record<string, number>>;
  violationCount: number;
  violations: ViolationRecord[];
  model: {
    unshares: number; tableFrees: number; shares: number; pmdAllocs: number; destroyerSawStale: number;
    /** follow-page at a migration entry: waited (no walker lock) / returned at once (walker lock, patch 3). */
    migrationWaits: number; migrationNoWait: number;
    /** tlb_remove_table_sync_one() broadcasts: per unshare (6.16) or per gather that made a table exclusive (6.19). */
    syncOne: number;
    /** TLB flushes of the unshare paths before i_mmap_rwsem is released (versions; an IPI on x86). */
    tlbFlushes: number;
    /** exit_mmap calls (exit, and fork's exit of the slot's old process) and the whole µs spent in them. */
    exitMmaps: number; exitMmapUs: number;
    /** Of exitMmapUs: the µs waiting for mmap_lock, and the IPI broadcasts sent inside exit_mmap with the µs waiting for their acknowledgements. */
    exitMmapWaitUs: number; exitMmapIpis: number; exitMmapIpiUs: number;
    /** VMA splits and merges; faults under the per-VMA lock, and those that fell back to mmap_lock. */
    splits: number; merges: number; vmaLockedFaults: number; vmaLockFallbacks: number;
    /** pud_populate over a present PUD entry: 6.2's populate race happened (huge_pmd_share vs pmd_alloc). */
    populateOverwrites: number;
    /** fork found the child's table to be the parent's after its page count said unshared (skipped: never a ptl nested in itself). */
    forkSameTable: number;
    forkInterimExits: number;
  };
  /** IPIs sent and acknowledged per operation (TLB flushes, tlb_remove_table_sync_one, IPI table frees). */
  ipiByOp: Record<string, IpiOpStats>;
  lockstat: LockStatRow[];
  lockdep: LockdepReport[];
  rcu: RcuStats;
  ipi: IpiStats;
  invariants: InvariantResult;
  errors: string[];
  stalls: StallReport[];
  oversubscribed: boolean;
  /** performance.now() of this thread (≈ ms since process start) when every CPU passed the start barrier; 0 if never. */
  firstOpAtMs: number;
  /** The start barrier on the trace clock (ms; a violation's `us` / 1000 is on it too), null if never passed. */
  firstOpTraceMs: number | null;
  /** ops/s per CPU, violations, RCU backlog over time (bounded). */
  timeline?: Timeline | undefined;
  /** Age of walkers' page-table references at dereference (refhold.ts). */
  refHold?: RefHoldStats | undefined;
  /** With widening: delays taken at every named point (zeros included: a widened point that never waited shows, and so would an unnamed one that did). */
  widened?: Record<string, number> | undefined;
  /** Latency histogram per op kind (log2 ns, summed over CPUs); absent with opLatency off. */
  opLatency?: Record<string, number[]> | undefined;
  /** Per world: its CPUs, ops, violations and first violation (one entry with one world). */
  worlds: WorldStat[];
  /** exit_mmap latency, whole and under mmap_lock (exit-latency.ts's 9% buckets, for p50 ratios); absent with no exit_mmap. */
  exitMmapHist?: { whole: number[]; locked: number[] } | undefined;
  /** Per CPU: its worker's time on a core and waiting for one over the op loop (null: not measured: no /proc, or the CPU did not finish). */
  cpuSched: Array<ThreadSched | null>;
}

/** Atomics.waitAsync (Node 16+; in lib es2024, newer than this project's target). */
interface AtomicsWaitAsync {
  waitAsync(mem: Int32Array, at: number, value: number, timeoutMs: number): { async: boolean; value: Promise<string> | string };
}

/** Defaults of RunConfig's optional fields. */
export const ENGINE_DEFAULTS = { statIntervalMs: 1000 } as const;

/** How long a --duration run may take to start its CPUs before its duration runs regardless. */
const START_ALLOWANCE_MS = 120_000;
/** After an abort, how long workers get to unwind before the pool is destroyed. */
const ABORT_GRACE_MS = 2000;

export function widenTable(w: WidenOptions | undefined): CpuTask['widen'] {
  if (!w || w.prob <= 0) return undefined;
  const prob = POINT_NAMES.map(() => 0);
  const us = POINT_NAMES.map(() => w.us);
  for (const spec of w.points && w.points.length > 0 ? w.points : POINT_NAMES) {
    const p = parseWidenPoint(spec);
    prob[pointId(p.name)] = p.prob ?? w.prob;
    us[pointId(p.name)] = p.us ?? w.us;
  }
  return { prob, us };
}

/** The engine's default shape, then the scenario's (Scenario.arena), then the caller's: one world's; times the worlds. */
export function arenaConfigFor(cfg: Pick<RunConfig, 'cpus' | 'arena' | 'worlds'> & { scenario?: string | undefined }): ArenaConfig {
  const sc = cfg.scenario === undefined ? undefined : scenarioByName(cfg.scenario)?.arena;
  return worldsArena(defaultArenaConfig(cfg.cpus, { mms: 4, files: 2, vmas: 16, pages: 64, folios: 1024, ...sc, ...cfg.arena }), cfg.worlds ?? 1);
}

/**
 * `total` operations over `cpus` CPUs, evenly and deterministically: the first `total % cpus`
 * CPUs get one more. With fewer operations than CPUs some CPUs get 0, and run none.
 */
export function splitOps(total: number, cpus: number): number[] {
  return Array.from({ length: cpus }, (_, c) => Math.floor(total / cpus) + (c < total % cpus ? 1 : 0));
}

/**
 * One parallel run, in its steps: set up the arena, model and pool; start one task per CPU;
 * watch them until they settle (duration, stalls, crashes, interrupts, live stats); tear the
 * pool down; collect the counters into a RunResult.
 */
export async function runStress(cfg: RunConfig): Promise<RunResult> {
  const run = setUpRun(cfg);
  startCpus(run, cpuTasks(run));
  watchFirstOp(run);
  await watchdog(run);
  await tearDown(run);
  return collectResult(run);
}

/** What the steps of one run share. */
interface StressRun {
  readonly cfg: RunConfig;
  readonly arena: Arena;
  readonly arenaCfg: ArenaConfig;
  readonly n: number;
  readonly widen: CpuTask['widen'];
  readonly mode: ModeTable;
  readonly startEpochMs: number;
  /** The pool is this run's own (closed at the end), not a caller's. */
  readonly ownPool: boolean;
  readonly pool: Piscina;
  readonly t0: number;
  readonly errors: string[];
  readonly stalls: StallReport[];
  readonly results: Array<CpuResult | undefined>;
  readonly timeline: Timeline;
  status: RunStatus | undefined;
  settled: boolean;
  settledAt: number;
  /** performance.now() when every CPU passed the start barrier; 0 until then. */
  firstOpAtMs: number;
}

/** The scenario's own sites `mode` leaves open, when the run stops only there (RunConfig.stopAtTargets). */
function aimedStopSites(cfg: RunConfig, mode: ModeTable): string[] | undefined {
  if (cfg.stopAtSites !== undefined || !cfg.stopOnViolation || cfg.stopAtTargets !== true) return undefined;
  const sc = scenarioByName(cfg.scenario);
  const sites = sc === undefined ? [] : openTargetsOf(sc, mode);
  return sites.length > 0 ? sites : undefined;
}

function setUpRun(given: RunConfig): StressRun {
  // Workers get the table itself: a design file's mode exists only in this thread's registry.
  const mode = modeByName(given.mode);
  if (mode === undefined) throw new RangeError(`runStress: unknown mode '${given.mode}'`);
  const aimed = aimedStopSites(given, mode);
  // Violations elsewhere come first and may fill the default slots before the one aimed at.
  const cfg = aimed === undefined ? given : { ...given, stopAtSites: aimed, arena: { violationSlots: 128, ...given.arena } };
  const arenaCfg = arenaConfigFor(cfg);
  const arena = Arena.create(arenaCfg);
  setupModel(arena);
  const n = cfg.cpus;
  if (cfg.pool && cfg.pool.options.maxThreads < n) throw new RangeError(`runStress: the pool given cannot run ${n} CPUs`);
  return {
    cfg, arena, arenaCfg, n, mode,
    widen: widenTable(cfg.widen),
    startEpochMs: performance.timeOrigin + performance.now(),
    ownPool: cfg.pool === undefined,
    pool: cfg.pool ?? createStressPool(n),
    t0: performance.now(),
    errors: [],
    stalls: [],
    results: new Array<CpuResult | undefined>(n),
    timeline: cfg.timeline ?? new Timeline(),
    status: undefined,
    settled: false,
    settledAt: 0,
    firstOpAtMs: 0,
  };
}

function cpuTasks(run: StressRun): CpuTask[] {
  const { cfg, n } = run;
  return Array.from({ length: n }, (_, cpu) => ({
    buffer: run.arena.buffer,
    arena: run.arenaCfg,
    cpu,
    seed: cfg.seed,
    mode: run.mode,
    scenario: cfg.scenario,
    ops: cfg.ops > 0 ? splitOps(cfg.ops, n)[cpu]! : null,
    widen: run.widen,
    lockstat: cfg.lockstat,
    stopOnViolation: cfg.stopOnViolation,
    stopAtSites: cfg.stopAtSites,
    plant: cfg.plant,
    startEpochMs: run.startEpochMs,
    opLatencyEvery: cfg.opLatencyEvery,
    // Workers of a caller's pool ran earlier runs: each drops their arenas before this one.
    ...(run.ownPool ? {} : { collect: true }),
  }));
}

/** Runs every task on the pool; a crashed CPU or a dead worker aborts the others. */
function startCpus(run: StressRun, tasks: CpuTask[]): void {
  const { arena, errors } = run;
  const running = tasks.map((t, i) =>
    run.pool.run(t).then(
      (r: CpuResult) => {
        run.results[i] = r;
        if (r.status === 'crashed') {
          errors.push(`cpu ${r.cpu} crashed: ${r.error ?? ''}`);
          run.status ??= 'crashed';
          requestStop(arena, StopState.abort);
        }
      },
      (e: unknown) => {
        errors.push(`cpu ${i} worker died: ${e instanceof Error ? e.message : String(e)}`);
        run.status ??= 'crashed';
        requestStop(arena, StopState.abort);
      },
    ),
  );
  void Promise.all(running).then(() => {
    run.settled = true;
    run.settledAt = performance.now();
  });
}

/** The start barrier's generation word moves when the last CPU arrives: the first operation. */
function watchFirstOp(run: StressRun): void {
  const { arena } = run;
  const goAt = arena.base('ctl') + Ctl.GO;
  const go = (Atomics as unknown as AtomicsWaitAsync).waitAsync(arena.mem, goAt, 0, 60_000);
  if (go.async) void (go.value as Promise<string>).then(() => (run.firstOpAtMs = Atomics.load(arena.mem, goAt) !== 0 ? performance.now() : 0));
  else run.firstOpAtMs = performance.now();
}

/** Until every CPU has settled: duration, stalls, RCU stalls, an abort's grace, live stats and the timeline. */
async function watchdog(run: StressRun): Promise<void> {
  const { cfg, arena, n, t0, errors, timeline } = run;
  const goAt = arena.base('ctl') + Ctl.GO;
  const onAbort = (): void => {
    run.status ??= 'interrupted';
    requestStop(arena, StopState.stop);
  };
  cfg.signal?.addEventListener('abort', onAbort);
  if (cfg.signal?.aborted) onAbort();
  const lastOps = new Array<number>(n).fill(-1);
  const lastChange = new Array<number>(n).fill(performance.now());
  let lastStat = performance.now();
  let abortAt = 0;
  let delivered = 0;
  timeline.beginRun(n);
  while (!run.settled) {
    await new Promise((r) => setTimeout(r, 50));
    const now = performance.now();
    // The barrier's wait above gives up after 60 s: a start-up slower than that is seen here.
    if (run.firstOpAtMs === 0 && Atomics.load(arena.mem, goAt) !== 0) run.firstOpAtMs = now;
    // --duration counts from the first operation: with many CPUs, starting the workers takes
    // seconds (one V8 isolate each) and must not eat into the time asked for. A start that never
    // completes still ends, START_ALLOWANCE_MS later than the duration.
    if (cfg.ops === 0 && (run.firstOpAtMs > 0 ? now - run.firstOpAtMs >= cfg.durationMs : now - t0 >= cfg.durationMs + START_ALLOWANCE_MS)) requestStop(arena, StopState.stop);
    for (let c = 0; c < n; c++) {
      const b = arena.base('cpu') + c * CPU_WORDS;
      const ops = Atomics.load(arena.mem, b + CpuField.OPS);
      const st = Atomics.load(arena.mem, b + CpuField.STATE);
      if (ops !== lastOps[c] || st === CpuState.done || st === CpuState.idle) {
        lastOps[c] = ops;
        lastChange[c] = now;
      } else if (now - lastChange[c]! > cfg.stallTimeoutMs && run.status === undefined) {
        run.status = 'stalled';
        for (let d = 0; d < n; d++) run.stalls.push(stallReport(arena, d));
        errors.push(`cpu ${c} made no progress for ${cfg.stallTimeoutMs} ms`);
        timeline.mark({ tMs: timeline.endMs, kind: 'stall', n: 1, label: `stall: cpu ${c}` });
        requestStop(arena, StopState.abort);
      }
    }
    for (const s of findRcuStalls(arena, Date.now())) if (s.first) errors.push(`rcu stall: cpu ${s.cpu} in one read-side section for ${Math.round(s.ms)} ms`);
    if (stopState(arena) === StopState.abort && abortAt === 0) abortAt = now;
    if (abortAt > 0 && now - abortAt > ABORT_GRACE_MS) {
      errors.push('workers did not unwind after abort: terminated');
      break;
    }
    sampleTimeline(run, now);
    if (cfg.onStat && now - lastStat >= (cfg.statIntervalMs ?? ENGINE_DEFAULTS.statIntervalMs)) {
      lastStat = now;
      const st = liveStat(arena, cfg, now - t0, delivered);
      delivered += st.newViolations.length;
      cfg.onStat(st);
    }
  }
  cfg.signal?.removeEventListener('abort', onAbort);
}

function sampleTimeline(run: StressRun, now: number, force = false): void {
  const { arena, n } = run;
  const opsPerCpu = Array.from({ length: n }, (_, c) => Atomics.load(arena.mem, arena.base('cpu') + c * CPU_WORDS + CpuField.OPS));
  run.timeline.sample({ elapsedMs: now - run.t0, opsPerCpu, violations: violationCount(arena), rcuBacklog: takeRcuBacklogPeak(arena) }, force);
}

/** The last sample and marks; a caller's pool stays open for its next run, unless workers had to be killed. */
async function tearDown(run: StressRun): Promise<void> {
  const { timeline } = run;
  sampleTimeline(run, performance.now(), true);
  if (run.status === 'crashed') timeline.mark({ tMs: timeline.endMs, kind: 'crash', n: 1, label: 'crash' });
  if (run.status === 'interrupted') timeline.mark({ tMs: timeline.endMs, kind: 'interrupt', n: 1, label: 'interrupted' });
  if (!run.settled) await run.pool.destroy();
  else if (run.ownPool) await run.pool.close();
}

/** Everything the arena counted, the invariants (at a quiescent end), and the run's status. */
function collectResult(run: StressRun): RunResult {
  const { cfg, arena, arenaCfg, n, widen, errors, stalls, firstOpAtMs, startEpochMs, timeline } = run;
  const elapsedMs = performance.now() - run.t0;
  // The measured interval: from the start barrier to the last CPU's end (start-up and pool
  // teardown are reported apart, as firstOpAtMs).
  const runMs = firstOpAtMs > 0 && run.settledAt > firstOpAtMs ? run.settledAt - firstOpAtMs : elapsedMs;
  const results = run.results;
  let status = run.status;

  const perOp: Record<string, number> = {};
  const failedOps: Record<string, number> = {};
  OPS.forEach((o, i) => {
    const c = sumCounter(arena, C.OPS + i);
    if (c > 0) perOp[o.name] = c;
    const f = sumCounter(arena, C.FAILS + i);
    if (f > 0) failedOps[o.name] = f;
  });
  const perCpu = Array.from({ length: n }, (_, c) => Atomics.load(arena.mem, arena.base('cpu') + c * CPU_WORDS + CpuField.OPS));
  const vcount = violationCount(arena);
  // Invariants only mean something at a quiescent point: every CPU finished cleanly.
  const quiescent = results.every((r) => r !== undefined && r.status !== 'crashed');
  if (quiescent && cfg.plantInvariant) plantInvariantFailure(arena);
  const invariants = quiescent ? checkInvariants(arena) : { ok: false, errors: ['not checked: the run did not end quiescent'], pool: { free: 0, live: 0, pending: 0, allocs: 0, frees: 0, allocFailures: 0 } };
  status ??= vcount > 0 ? 'violations' : 'ok';
  const violations = readViolations(arena, cfg);
  const firstOpTraceMs = firstOpAtMs > 0 ? firstOpAtMs - (startEpochMs - performance.timeOrigin) : null;
  const { onStat: _o, signal: _s, timeline: _t, pool: _p, ...plain } = cfg;
  return {
    config: { ...plain, arena: arenaCfg },
    status,
    elapsedMs,
    runMs,
    ops: perCpu.reduce((a, b) => a + b, 0),
    perOp,
    failedOps,
    perCpu,
    outcomes: readOutcomes(arena),
    violationCount: vcount,
    violations,
    model: {
      unshares: sumCounter(arena, C.UNSHARES),
      tableFrees: sumCounter(arena, C.TABLE_FREES),
      shares: sumCounter(arena, C.SHARES),
      pmdAllocs: sumCounter(arena, C.PMD_ALLOCS),
      destroyerSawStale: sumCounter(arena, C.ZAP_STALE),
      migrationWaits: sumCounter(arena, C.MIGRATION_WAITS),
      migrationNoWait: sumCounter(arena, C.MIGRATION_NOWAIT),
      syncOne: sumCounter(arena, C.SYNC_ONE),
      tlbFlushes: sumCounter(arena, C.TLB_FLUSHES),
      exitMmaps: sumCounter(arena, C.EXIT_MMAPS),
      exitMmapUs: sumCounter(arena, C.EXIT_MMAP_US),
      exitMmapWaitUs: sumCounter(arena, C.EXIT_MMAP_WAIT_US),
      exitMmapIpis: sumCounter(arena, C.EXIT_MMAP_IPIS),
      exitMmapIpiUs: sumCounter(arena, C.EXIT_MMAP_IPI_US),
      populateOverwrites: sumCounter(arena, C.POPULATE_OVERWRITES),
      forkSameTable: sumCounter(arena, C.FORK_SAME_TABLE),
      forkInterimExits: sumCounter(arena, C.FORK_INTERIM_EXITS),
      splits: sumCounter(arena, C.SPLITS),
      merges: sumCounter(arena, C.MERGES),
      vmaLockedFaults: sumCounter(arena, C.VMA_LOCKED_FAULTS),
      vmaLockFallbacks: sumCounter(arena, C.VMA_LOCK_FALLBACKS),
    },
    ipiByOp: readIpiByOp(arena, OP_NAMES),
    lockstat: cfg.lockstat ? readLockStat(arena, opSiteName) : [],
    lockdep: readLockdepReports(arena, opSiteName),
    rcu: readRcuStats(arena),
    ipi: readIpiStats(arena),
    invariants,
    errors,
    stalls,
    oversubscribed: n > availableParallelism(),
    firstOpAtMs,
    firstOpTraceMs,
    timeline,
    refHold: readRefHold(arena),
    ...(widen ? { widened: readWidened(arena, POINT_NAMES) } : {}),
    ...(cfg.opLatencyEvery !== 0 ? { opLatency: readOpLatency(arena, OPS.map((o) => o.name)) } : {}),
    ...(sumCounter(arena, C.EXIT_MMAPS) > 0 ? { exitMmapHist: { whole: readExitHist(arena, EXIT_HIST_WHOLE), locked: readExitHist(arena, EXIT_HIST_LOCKED) } } : {}),
    worlds: readWorldStats(arena, perCpu, firstOpTraceMs),
    cpuSched: Array.from({ length: n }, (_, c) => results[c]?.sched ?? null),
  };
}


/** ms from the run's start barrier to violation `v` (both on the trace clock), null if the run never started. */
export function msToViolation(r: Pick<RunResult, 'firstOpTraceMs'>, v: ViolationRecord): number | null {
  return r.firstOpTraceMs === null ? null : Math.max(0, v.us / 1000 - r.firstOpTraceMs);
}

function liveStat(arena: Arena, run: { scenario: string; mode: string }, elapsedMs: number, delivered: number): LiveStat {
  const n = arena.config.cpus;
  const opsPerCpu = Array.from({ length: n }, (_, c) => Atomics.load(arena.mem, arena.base('cpu') + c * CPU_WORDS + CpuField.OPS));
  const { live, pending, free } = new PagePool(arena).counts();
  const mem = process.memoryUsage();
  return {
    elapsedMs,
    ops: opsPerCpu.reduce((a, b) => a + b, 0),
    opsPerCpu,
    violations: violationCount(arena),
    rcu: readRcuStats(arena),
    pool: { live, pending, free },
    rssBytes: mem.rss,
    rssAnonBytes: rssSplit()?.anonBytes ?? null,
    heapUsedBytes: mem.heapUsed,
    externalBytes: mem.external,
    arrayBuffersBytes: mem.arrayBuffers,
    newViolations: violationCount(arena) > delivered ? readViolations(arena, run).slice(delivered) : [],
  };
}

function stallReport(arena: Arena, cpu: number): StallReport {
  const c = cpuSnapshot(arena, cpu);
  return {
    cpu,
    state: c.stateName,
    op: c.curOp > 0 ? (OPS[c.curOp - 1]?.name ?? '?') : '-',
    waitingOn: c.waitOn,
    waitingFor: c.waitClassId >= 0 && c.state === CpuState.blocked ? c.waitClass : null,
    irqsOff: irqOffShown(arena, cpu),
    rcuReader: rcuHoldsGp(arena, cpu),
    heldLocks: c.held,
    lastEvents: readTrace(arena, cpu, 16).map((e) => ({ us: e.us, event: e.name + (c.waitClassId >= 0 && e.name === 'block' ? ` (${c.waitClass})` : ''), a: e.a, b: e.b })),
  };
}
