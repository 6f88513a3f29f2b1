/**
 * Controlled runs: the same workers, arena and model as runStress, but one CPU runs at a time
 * and a seeded scheduler (random, PCT) or a recorded schedule (replay) picks who runs at every
 * yield point. Every run returns its Schedule and trace hash; hunt() runs many short controlled
 * executions with derived seeds and writes a replay file for the first violation; shrink()
 * makes a failing schedule small and readable.
 */
import { join, resolve } from 'node:path';
import { Piscina } from 'piscina';
import { Arena, defaultArenaConfig, type ArenaConfig } from '../src/shared-mem/layout.js';
import { deriveSeed } from '../src/shared-mem/prng.js';
import { portfolioStrategy, type FoundBy } from '../src/sched/portfolio.js';
import { distPath } from '../src/workers/paths.js';
import { setupModel } from '../src/workers/hugetlb/setup.js';
import { checkInvariants, type InvariantResult } from '../src/workers/hugetlb/invariants.js';
import { readViolations, type ViolationRecord } from '../src/workers/hugetlb/violations.js';
import { MODE_CHOICES, SITES, modeByName, siteSafe } from '../src/workers/hugetlb/modes.js';
import { SCENARIO_NAMES, scenarioByName } from '../src/workers/hugetlb/scenarios.js';
import { OPS } from '../src/workers/hugetlb/ops-list.js';
import { POINT_NAMES } from '../src/workers/hugetlb/points.js';
import { EVENT_POINT_BASE } from '../src/workers/cpu.js';
import { pteYieldName } from '../src/workers/hugetlb/pte.js';
import { lockYieldName } from '../src/locks/yield-points.js';
import { TraceEv, traceEventName } from '../src/shared-mem/trace.js';
import { lockClassName } from '../src/locks/classes.js';
import {
  Abort, abortSched, createSchedBuffer, type DeadlockReport, EV_WORDS, PSEUDO, readSchedOutcome, type SchedBufferPlan,
} from '../src/sched/controlled-waiter.js';
import type { ControlledCpuResult, ControlledTask } from '../src/sched/task.js';
import type { Schedule, SchedSpec } from '../src/sched/scheduler.js';
import { REPLAY_VERSION, loadReplay, type ReplayConfig, type ReplayFile, type ReplayKnown, type ReplayViolation } from '../src/sched/replay.js';
import { normalizeSteps, shrinkSchedule, type ShrinkCandidate, type ShrinkResult } from '../src/sched/shrink.js';
import { arenaConfigFor, splitOps } from './engine.js';
import { toolVersion } from './report-json.js';
import { acceptDesign, designRecordOf } from './design-file.js';
import { writeFileAtomic } from './out-file.js';

export type SchedKind = 'random' | 'pct';

export interface ControlledConfig {
  scenario: string;
  mode: string;
  cpus: number;
  seed: number;
  /** Total operations over all CPUs, split evenly (as runStress does). */
  ops: number;
  /** Per-CPU operation counts; overrides `ops` (shrinking). */
  opsPerCpu?: number[] | undefined;
  /** Per CPU: indices of its operation stream drawn but not run (shrinking). */
  skipOps?: number[][] | undefined;
  sched: SchedKind;
  /** PCT depth d (bugs of depth d get probability >= 1/(n k^(d-1))). */
  pctDepth: number;
  /** PCT's estimate k of the steps of one run (change points are drawn from [1, k]). */
  pctSteps: number;
  /** Step budget: a run that exceeds it is aborted as 'step-limit' (livelock guard). */
  maxSteps: number;
  arena?: Partial<ArenaConfig> | undefined;
  /**
   * Where a CPU may be switched: 'events' = every named point and every trace event (each lock
   * and unlock, RCU and IPI operation, model event); 'points' = named points and blocks only.
   */
  yields: 'events' | 'points';
  /** Stop at the first violation (CPUs finish their current operation). Default true. */
  stopOnViolation?: boolean | undefined;
  /**
   * With stopOnViolation: stop only at a violation at one of these call sites (a hunt aimed at
   * the scenario's own walker; in `none` a fault races too). Violations elsewhere are counted in
   * violationCount but are not the run's `violation`, and alone leave the status 'ok'.
   */
  stopAtSites?: readonly string[] | undefined;
}

export type ControlledStatus = 'ok' | 'violations' | 'deadlock' | 'crashed' | 'step-limit' | 'timeout' | 'interrupted';

export interface StepEvent {
  step: number;
  cpu: number;
  op: string;
  point: string;
  next: number;
}

export interface ControlledResult {
  config: ControlledConfig;
  sched: SchedKind | 'replay';
  status: ControlledStatus;
  schedule: Schedule;
  steps: number;
  switches: number;
  preemptions: number;
  traceHash: string;
  /** First violation, with the step it was seen at. */
  violation?: ReplayViolation | undefined;
  violationCount: number;
  violations: ViolationRecord[];
  deadlock?: DeadlockReport | undefined;
  perCpu: number[];
  elapsedMs: number;
  stepsPerSec: number;
  invariants?: InvariantResult | undefined;
  errors: string[];
  /** Per step (only with recordEvents). */
  interleaving?: StepEvent[] | undefined;
}

export const CONTROLLED_DEFAULTS = { pctDepth: 3, maxStepsPerOp: 400, timeoutMs: 120_000 } as const;

/** A full config from the few things a caller cares about. */
export function controlledConfig(c: Partial<ControlledConfig> & Pick<ControlledConfig, 'scenario' | 'mode'>): ControlledConfig {
  const cpus = c.cpus ?? 2;
  const ops = c.ops ?? 200;
  const maxSteps = c.maxSteps ?? Math.max(20_000, ops * CONTROLLED_DEFAULTS.maxStepsPerOp);
  return {
    scenario: c.scenario,
    mode: c.mode,
    cpus,
    seed: c.seed ?? 1,
    ops,
    opsPerCpu: c.opsPerCpu,
    skipOps: c.skipOps,
    sched: c.sched ?? 'pct',
    pctDepth: c.pctDepth ?? CONTROLLED_DEFAULTS.pctDepth,
    pctSteps: c.pctSteps ?? estimateSteps(ops),
    maxSteps,
    yields: c.yields ?? 'events',
    arena: c.arena,
    stopOnViolation: c.stopOnViolation ?? true,
    stopAtSites: c.stopAtSites,
  };
}

/** First guess at the steps of a run of `ops` operations (hunt refines it from real runs). */
export function estimateSteps(ops: number): number {
  return Math.max(16, ops * 3);
}

function opsSplit(cfg: ControlledConfig): number[] {
  return cfg.opsPerCpu ?? splitOps(cfg.ops, cfg.cpus);
}

/** Piscina threads kept across controlled runs (hunt runs hundreds of short ones). */
export class ControlledPool {
  private readonly pool: Piscina;
  constructor(readonly cpus: number) {
    this.pool = new Piscina({ filename: distPath('src/sched/task.js'), minThreads: cpus, maxThreads: cpus, idleTimeout: 60_000 });
  }
  run(t: ControlledTask): Promise<ControlledCpuResult> {
    return this.pool.run(t) as Promise<ControlledCpuResult>;
  }
  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

export interface RunControlledOptions {
  pool?: ControlledPool | undefined;
  /** Follow this recorded schedule instead of the seeded scheduler. */
  replay?: Array<[number, number]> | undefined;
  /** Record every step (cpu, op, point) for a readable interleaving. */
  recordEvents?: boolean | undefined;
  timeoutMs?: number | undefined;
  /**
   * Called on the main thread with the fresh arena, after the model is set up and before any CPU
   * starts (tests: tune thresholds stored in the arena, e.g. setIpiDeadlockThreshold).
   */
  prepare?: ((arena: Arena) => void) | undefined;
  /** Ends the run early (SIGINT): status 'interrupted'. */
  signal?: AbortSignal | undefined;
}

export function validateControlled(cfg: ControlledConfig): void {
  if (!scenarioByName(cfg.scenario)) throw new RangeError(`unknown scenario '${cfg.scenario}' (known: ${SCENARIO_NAMES.join(', ')})`);
  if (!modeByName(cfg.mode)) throw new RangeError(`unknown mode '${cfg.mode}' (known: ${MODE_CHOICES.join(', ')})`);
  if (!Number.isInteger(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 64) throw new RangeError(`cpus=${cfg.cpus} must be in [1, 64]`);
  if (cfg.opsPerCpu && cfg.opsPerCpu.length !== cfg.cpus) throw new RangeError('opsPerCpu must list one count per CPU');
  if (cfg.skipOps && cfg.skipOps.length !== cfg.cpus) throw new RangeError('skipOps must list one array per CPU');
  if (!Number.isInteger(cfg.ops) || cfg.ops < 1) {
    if (!cfg.opsPerCpu) throw new RangeError(`controlled runs need a finite --ops (got ${cfg.ops})`);
  }
  for (const site of cfg.stopAtSites ?? []) {
    if (!(SITES as readonly string[]).includes(site)) throw new RangeError(`unknown call site '${site}' (known: ${SITES.join(', ')})`);
  }
}

/** The sites a scenario is named for that `mode` leaves open: what a hunt aimed at the scenario stops at. */
export function openTargets(scenario: string, mode: string): string[] {
  const sc = scenarioByName(scenario);
  const m = modeByName(mode);
  if (!sc || !m) throw new RangeError(`unknown scenario '${scenario}' or mode '${mode}'`);
  return sc.targets.filter((s) => !siteSafe(m, s));
}

export async function runControlled(cfg: ControlledConfig, opts: RunControlledOptions = {}): Promise<ControlledResult> {
  validateControlled(cfg);
  const n = cfg.cpus;
  // Stopping at chosen sites: violations elsewhere come first and may fill the default 16 slots.
  const slots = cfg.stopAtSites !== undefined ? { violationSlots: 128 } : {};
  const arenaCfg = arenaConfigFor({ cpus: n, arena: { traceDepth: 128, ...slots, ...cfg.arena } });
  const arena = Arena.create(arenaCfg);
  setupModel(arena);
  opts.prepare?.(arena);
  const spec: SchedSpec = opts.replay
    ? { kind: 'replay', seed: cfg.seed, steps: opts.replay }
    : cfg.sched === 'random'
      ? { kind: 'random', seed: cfg.seed }
      : { kind: 'pct', seed: cfg.seed, depth: cfg.pctDepth, cpus: n, estSteps: cfg.pctSteps };
  const plan: SchedBufferPlan = {
    cpus: n,
    // Random switches at about half the steps (~15 steps per operation): 24 runs per op is ample;
    // a schedule that outgrows it ends as step-limit rather than eating memory.
    logCap: Math.max(16, Math.min(cfg.maxSteps + 1, Math.max(4096, (cfg.opsPerCpu ? cfg.opsPerCpu.reduce((a, b) => a + b, 0) : cfg.ops) * 24))),
    replayCap: Math.max(1, opts.replay?.length ?? 1),
    evCap: opts.recordEvents ? Math.min(cfg.maxSteps + 1, 1 << 20) : 0,
  };
  const sbuf = createSchedBuffer(plan, spec, cfg.maxSteps);
  const split = opsSplit(cfg);
  const own = opts.pool === undefined;
  const pool = opts.pool ?? new ControlledPool(n);
  if (pool.cpus !== n) throw new RangeError(`pool has ${pool.cpus} threads, the run needs ${n}`);
  const t0 = performance.now();
  const errors: string[] = [];
  const results: Array<ControlledCpuResult | undefined> = new Array(n);
  let deadlock: DeadlockReport | undefined;
  const running = split.map((ops, cpu) =>
    pool
      .run({
        buffer: arena.buffer,
        arena: arenaCfg,
        cpu,
        seed: cfg.seed,
        mode: modeByName(cfg.mode)!,
        scenario: cfg.scenario,
        ops,
        lockstat: false,
        stopOnViolation: cfg.stopOnViolation ?? true,
        stopAtSites: cfg.stopAtSites,
        skip: cfg.skipOps?.[cpu],
        sched: { buffer: sbuf, spec, replayCap: plan.replayCap, yields: cfg.yields },
      })
      .then(
        (r) => {
          results[cpu] = r;
          if (r.deadlock) deadlock = r.deadlock;
          if (r.status === 'crashed') {
            errors.push(`cpu ${cpu} crashed: ${r.error ?? ''}`);
            abortSched(sbuf, n, Abort.crash);
          }
        },
        (e: unknown) => {
          errors.push(`cpu ${cpu} worker died: ${e instanceof Error ? e.message : String(e)}`);
          abortSched(sbuf, n, Abort.crash);
        },
      ),
  );
  // Wall-clock guard only: it never influences a decision, it ends a run that hangs.
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = opts.timeoutMs ?? CONTROLLED_DEFAULTS.timeoutMs + 2 * cfg.ops;
  const guard = new Promise<void>((res) => {
    timer = setTimeout(() => {
      errors.push(`controlled run exceeded ${timeoutMs} ms of wall time: aborted`);
      abortSched(sbuf, n, Abort.external);
      res();
    }, timeoutMs);
  });
  let interrupted = false;
  const onAbort = (): void => {
    interrupted = true;
    abortSched(sbuf, n, Abort.external);
  };
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) onAbort();
  await Promise.race([Promise.all(running), guard]);
  await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, 3000))]);
  clearTimeout(timer);
  opts.signal?.removeEventListener('abort', onAbort);
  if (own) await pool.close();
  const elapsedMs = performance.now() - t0;

  const out = readSchedOutcome(sbuf, plan);
  const violations = readViolations(arena, cfg);
  const stopAt = cfg.stopAtSites;
  const first = stopAt !== undefined ? violations.find((v) => stopAt.includes(v.site)) : violations[0];
  if (stopAt !== undefined && !first && out.violationStep >= 0) {
    errors.push(`a violation at ${stopAt.join(', ')} was seen at step ${out.violationStep} but not recorded: every violation slot was taken by violations elsewhere`);
  }
  const perCpu = results.map((r) => r?.ops ?? 0);
  let status: ControlledStatus;
  if (out.abort === 'deadlock') status = 'deadlock';
  else if (out.abort === 'crash' || errors.length > 0 && out.abort !== 'external') status = 'crashed';
  else if (out.abort === 'step-limit' || out.abort === 'log-full') status = 'step-limit';
  else if (out.abort === 'external') status = interrupted ? 'interrupted' : 'timeout';
  else status = first ? 'violations' : 'ok';
  if (out.abort === 'step-limit') errors.push(`step budget of ${cfg.maxSteps} exceeded (livelock?)`);
  if (out.abort === 'log-full') errors.push(`schedule log full after ${out.steps} steps (${plan.logCap} runs): controlled runs are meant to be short`);
  const quiescent = out.abort === 'none' && results.every((r) => r?.status === 'ok');
  return {
    config: cfg,
    sched: opts.replay ? 'replay' : cfg.sched,
    status,
    schedule: { seed: cfg.seed, steps: out.schedule },
    steps: out.steps,
    switches: out.switches,
    preemptions: out.preemptions,
    traceHash: out.traceHash,
    violation: first ? { ...summarize(first), step: out.violationStep } : undefined,
    violationCount: violations.length,
    violations,
    deadlock,
    perCpu,
    elapsedMs,
    stepsPerSec: out.steps / (elapsedMs / 1000),
    invariants: quiescent ? checkInvariants(arena) : undefined,
    errors,
    interleaving: opts.recordEvents ? decodeEvents(out.events) : undefined,
  };
}

function summarize(v: ViolationRecord): Omit<ReplayViolation, 'step'> {
  return {
    kind: v.kind, site: v.site, op: v.op, cpu: v.cpu, page: v.page, pointerGen: v.pointerGen, pageGen: v.pageGen,
    pageState: v.pageState, access: v.access, mm: v.mm, pudIndex: v.pudIndex, slot: v.slot,
  };
}

function decodeEvents(ev: Int32Array): StepEvent[] {
  const out: StepEvent[] = [];
  for (let i = 0; i + EV_WORDS <= ev.length; i += EV_WORDS) {
    const op = ev[i + 1]!;
    const p = ev[i + 2]!;
    out.push({
      step: i / EV_WORDS,
      cpu: ev[i]!,
      op: op > 0 ? (OPS[op - 1]?.name ?? `op${op - 1}`) : '-',
      point: pointName(p, ev[i + 4]!, ev[i + 5]!),
      next: ev[i + 3]!,
    });
  }
  return out;
}

function pointName(p: number, a: number, b: number): string {
  if (p === PSEUDO.block) return 'blocks';
  if (p === PSEUDO.finish) return 'finished';
  if (p < EVENT_POINT_BASE) return POINT_NAMES[p] ?? pteYieldName(p) ?? lockYieldName(p) ?? `point${p}`;
  const ev = p - EVENT_POINT_BASE;
  const name = traceEventName(ev);
  if (ev === TraceEv.lock || ev === TraceEv.unlock) return `${name} ${lockClassName(a)}`;
  if (ev === TraceEv.rcu) return `rcu:${['', 'gp-start', 'gp-end', 'call_rcu', 'rcu-callback', 'async-gp'][a] ?? a}`;
  if (ev === TraceEv.ipi) return a < 0 ? 'ipi-ack' : 'ipi-send';
  if (ev >= TraceEv.model) return `${name}(${a},${b})`;
  return name;
}

/** Same violation: everything but timestamps and traces, and the step. */
export function sameViolation(a: ReplayViolation | undefined, b: ReplayViolation | undefined): boolean {
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Same kind of failure (shrinking may move it to another page or step). */
export function sameKind(a: ReplayViolation | undefined, b: ReplayViolation | undefined): boolean {
  return !!a && !!b && a.kind === b.kind && a.site === b.site;
}

// ------------------------------------------------------------------ replay files

export const REPLAY_KNOWN: ReplayKnown = {
  scenarios: SCENARIO_NAMES, modes: MODE_CHOICES, sites: SITES, toolVersion: toolVersion(),
  design: (x, where) => acceptDesign('', where, x).table.name,
  arenaKeys: Object.keys(defaultArenaConfig(1)).filter((k) => k !== 'cpus'),
};

export function replayFileOf(r: ControlledResult, shrunk = false): ReplayFile {
  if (!r.violation) throw new Error('replay files are written for violations only');
  const c = r.config;
  const config: ReplayConfig = {
    scenario: c.scenario, mode: c.mode, cpus: c.cpus, seed: c.seed, ops: c.ops, opsPerCpu: c.opsPerCpu, skipOps: c.skipOps,
    sched: c.sched, pctDepth: c.pctDepth, pctSteps: c.pctSteps, maxSteps: c.maxSteps, yields: c.yields,
    arena: c.arena as Record<string, number> | undefined, stopAtSites: c.stopAtSites !== undefined ? [...c.stopAtSites] : undefined,
  };
  const design = designRecordOf(c.mode)?.table;
  return { version: REPLAY_VERSION, toolVersion: toolVersion(), config, seed: c.seed, steps: r.schedule.steps, violation: r.violation, traceHash: r.traceHash, totalSteps: r.steps, shrunk, ...(design ? { design } : {}) };
}

export function configOfReplay(f: ReplayFile): ControlledConfig {
  const c = f.config;
  return controlledConfig({
    scenario: c.scenario, mode: c.mode, cpus: c.cpus, seed: f.seed, ops: c.ops, opsPerCpu: c.opsPerCpu, skipOps: c.skipOps, sched: c.sched,
    pctDepth: c.pctDepth, pctSteps: c.pctSteps, maxSteps: c.maxSteps, yields: c.yields ?? 'events', arena: c.arena as Partial<ArenaConfig> | undefined,
    stopAtSites: c.stopAtSites,
  });
}

/** The name hunt and run --sched give a replay file. */
export function replayFileName(f: ReplayFile): string {
  return `pmdtorture-${f.config.scenario}-${f.config.mode}-${f.config.sched}-${f.seed >>> 0}.replay.json`;
}

export function replayFileText(f: ReplayFile): string {
  return JSON.stringify(f, null, 1) + '\n';
}

/** Write a replay file into `dir` (atomically; throws on failure); its full path. */
export function writeReplayFile(dir: string, f: ReplayFile, name?: string): string {
  const file = resolve(join(dir, name ?? replayFileName(f)));
  writeFileAtomic(file, replayFileText(f));
  return file;
}

export interface ReplayOutcome {
  result: ControlledResult;
  recurred: boolean;
  sameStep: boolean;
  sameHash: boolean;
}

export async function replayFile(f: ReplayFile, opts: { pool?: ControlledPool; recordEvents?: boolean } = {}): Promise<ReplayOutcome> {
  const cfg = configOfReplay(f);
  const result = await runControlled(cfg, { pool: opts.pool, replay: f.steps, recordEvents: opts.recordEvents });
  const recurred = sameViolation(result.violation, f.violation);
  return { result, recurred, sameStep: recurred, sameHash: f.traceHash === undefined || f.traceHash === result.traceHash };
}

/** Load (validating) and replay a file. */
export async function loadAndReplay(path: string, opts: { pool?: ControlledPool; recordEvents?: boolean } = {}): Promise<ReplayOutcome> {
  return replayFile(loadReplay(path, REPLAY_KNOWN), opts);
}

// ------------------------------------------------------------------ hunt

export interface HuntConfig extends ControlledConfig {
  iterations: number;
  /** The iterations to run, in order (a shard's share: stress/shard.ts); default 0..iterations-1. */
  items?: readonly number[] | undefined;
  /** Where the replay file goes (undefined = do not write). */
  outDir?: string | undefined;
  /**
   * PCT's k. Default (undefined): calibrated once per hunt — the steps of one execution with its
   * own seed (calibratePctSteps) — then the same for every iteration. true: pctSteps as given.
   * Either way iteration i is the same execution whatever ran before it, so a shard runs exactly
   * its iterations of the unsharded hunt. false: k grows to the longest run seen so far (the old
   * default; not shardable, and slower to find races in bench/sched.ts).
   */
  fixedPctSteps?: boolean | undefined;
  /** Stops the hunt (SIGINT): the current execution is aborted and the result says interrupted. */
  signal?: AbortSignal | undefined;
  /** Run the scheduler portfolio (src/sched/portfolio.ts): iteration i's strategy from (seed, i); sched/pctDepth are then per iteration. */
  portfolio?: boolean | undefined;
  onIteration?: ((i: number, r: ControlledResult) => void) | undefined;
}

export interface HuntResult {
  found: boolean;
  /** Stopped by HuntConfig.signal before the iterations were done. */
  interrupted: boolean;
  /** Iterations run (the failing one included). */
  iterations: number;
  /** The failing iteration's run. */
  failure?: ControlledResult | undefined;
  replayPath?: string | undefined;
  elapsedMs: number;
  totalSteps: number;
  /** Runs that ended in something other than ok/violations (deadlock, crash, step-limit). */
  anomalies: Array<{ iteration: number; seed: number; status: ControlledStatus; errors: string[] }>;
  /** The strategy and settings of the failing iteration. */
  foundBy?: FoundBy | undefined;
}

/** A hunt's configuration of one execution (the hunt-only fields dropped). */
function iterationConfig(cfg: HuntConfig, seed: number, pctSteps: number): ControlledConfig {
  const { iterations: _i, items: _t, outDir: _o, onIteration: _n, fixedPctSteps: _f, signal: _s, portfolio: _p, ...run } = cfg;
  return { ...run, seed, pctSteps };
}

/** Mixed into the hunt's seed for the calibration run, so it is none of the iterations. */
const CALIBRATION_SALT = 0x6b43a9b5;

/**
 * PCT's k for a hunt: the steps of one execution of its configuration (seed derived from the
 * hunt's, run past violations to its end), at least the configured estimate. A function of the
 * configuration and seed alone, so every shard computes the same k. Change points then fall
 * anywhere in a typical run: the first guess (3 steps per op, several times short) bunches them
 * at the start, and the longest-run-so-far k used before spreads them past most runs' end; in
 * bench/sched.ts this k found races at their own call site soonest of the three.
 */
export async function calibratePctSteps(cfg: HuntConfig, pool: ControlledPool): Promise<number> {
  const run = { ...iterationConfig(cfg, deriveSeed(cfg.seed ^ CALIBRATION_SALT, 0), cfg.pctSteps), stopOnViolation: false };
  const r = await runControlled(run, { pool, signal: cfg.signal });
  return Math.max(cfg.pctSteps, r.steps);
}

export async function hunt(cfg: HuntConfig, pool?: ControlledPool): Promise<HuntResult> {
  validateControlled(cfg);
  if (cfg.items && cfg.fixedPctSteps === false) throw new RangeError('a sharded hunt (items) needs a fixed PCT k: an adaptive k makes iteration i depend on the iterations before it');
  const own = pool === undefined;
  const p = pool ?? new ControlledPool(cfg.cpus);
  const t0 = performance.now();
  let total = 0;
  const anomalies: HuntResult['anomalies'] = [];
  const items = cfg.items ?? Array.from({ length: cfg.iterations }, (_, i) => i);
  try {
    // PCT's k, calibrated at the first PCT iteration (a portfolio's random iterations need none,
    // and run with the configured estimate, which they ignore): the same k whatever ran before.
    let k = cfg.fixedPctSteps === undefined ? undefined : cfg.pctSteps;
    const interrupted = (n: number): HuntResult => ({ found: false, interrupted: true, iterations: n, elapsedMs: performance.now() - t0, totalSteps: total, anomalies });
    for (let n = 0; n < items.length; n++) {
      if (cfg.signal?.aborted) return interrupted(n);
      // Iteration i's execution depends on (seed, i) alone (and, with fixedPctSteps false, on k).
      const i = items[n]!;
      const seed = deriveSeed(cfg.seed, i);
      const strategy = cfg.portfolio ? portfolioStrategy(cfg.seed, i) : { sched: cfg.sched, pctDepth: cfg.pctDepth };
      if (strategy.sched === 'pct') k ??= await calibratePctSteps(cfg, p);
      const r = await runControlled({ ...iterationConfig(cfg, seed, strategy.sched === 'pct' ? k! : cfg.pctSteps), ...strategy }, { pool: p, signal: cfg.signal });
      if (r.status === 'interrupted') return interrupted(n);
      total += r.steps;
      cfg.onIteration?.(i, r);
      if (cfg.fixedPctSteps === false && r.status === 'ok') k = Math.max(k ?? cfg.pctSteps, r.steps);
      if (r.status === 'violations' && r.violation) {
        const c = r.config;
        const foundBy: FoundBy = { hunt: cfg.portfolio ? 'portfolio' : c.sched, sched: c.sched, ...(c.sched === 'pct' ? { pctDepth: c.pctDepth, pctSteps: c.pctSteps } : {}), iteration: i };
        const path = cfg.outDir !== undefined ? writeReplayFile(cfg.outDir, { ...replayFileOf(r), foundBy }) : undefined;
        return { found: true, interrupted: false, iterations: n + 1, failure: r, replayPath: path, elapsedMs: performance.now() - t0, totalSteps: total, anomalies, foundBy };
      }
      if (r.status !== 'ok') anomalies.push({ iteration: i, seed, status: r.status, errors: r.errors });
      if (r.status === 'deadlock' || r.status === 'crashed') {
        return { found: false, interrupted: false, iterations: n + 1, failure: r, elapsedMs: performance.now() - t0, totalSteps: total, anomalies };
      }
    }
    return { found: false, interrupted: cfg.signal?.aborted === true, iterations: items.length, elapsedMs: performance.now() - t0, totalSteps: total, anomalies };
  } finally {
    if (own) await p.close();
  }
}

// ------------------------------------------------------------------ shrink

export interface ShrinkOutcome {
  file: ReplayFile;
  result: ControlledResult;
  stats: ShrinkResult;
}

function truncateSteps(steps: ReadonlyArray<readonly [number, number]>, upTo: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let left = upTo;
  for (const [c, n] of steps) {
    if (left <= 0) break;
    out.push([c, Math.min(n, left)]);
    left -= n;
  }
  return out;
}

/** Per step: [deciding cpu, index of its operation among those that ran (-1 between operations)]. */
function opOwners(evs: readonly StepEvent[]): Array<[number, number]> {
  const started = new Map<number, number>();
  return evs.map((e) => {
    if (e.point === 'op-start') started.set(e.cpu, (started.get(e.cpu) ?? 0) + 1);
    // The op-gap point right after an operation belongs to it: a skipped operation has none.
    const cur = (started.get(e.cpu) ?? 0) - 1;
    return [e.cpu, e.op !== '-' || e.point === 'op-gap' ? cur : -1];
  });
}

/** Shrink a failing replay file; returns the smallest failing file found, re-run with its interleaving. */
export async function shrinkReplay(f: ReplayFile, budget = { maxRuns: 300, maxMs: 60_000 }): Promise<ShrinkOutcome> {
  const base = configOfReplay(f);
  const pools = new Map<number, ControlledPool>();
  const poolFor = (n: number): ControlledPool => {
    let p = pools.get(n);
    if (!p) pools.set(n, (p = new ControlledPool(n)));
    return p;
  };
  const cfgOf = (c: ShrinkCandidate): ControlledConfig => ({
    ...base, cpus: c.cpus, opsPerCpu: c.opsPerCpu, ops: c.opsPerCpu.reduce((a, b) => a + b, 0),
    skipOps: c.skip.some((s) => s.length > 0) ? c.skip : undefined,
  });
  try {
    const start: ShrinkCandidate = {
      cpus: base.cpus,
      opsPerCpu: base.opsPerCpu ?? opsSplit(base),
      skip: base.skipOps ?? Array.from({ length: base.cpus }, () => []),
      steps: f.steps,
    };
    const stats = await shrinkSchedule(
      start,
      async (c) => {
        if (c.opsPerCpu.every((o, i) => o - (c.skip[i]?.length ?? 0) <= 0)) return { fails: false };
        const r = await runControlled(cfgOf(c), { pool: poolFor(c.cpus), replay: c.steps, recordEvents: true });
        const fails = r.status === 'violations' && sameKind(r.violation, f.violation);
        if (!fails) return { fails };
        return { fails, steps: truncateSteps(r.schedule.steps, r.violation!.step + 1), opsUsed: r.perCpu, preemptions: r.preemptions, owners: opOwners(r.interleaving ?? []) };
      },
      budget,
    );
    const best = stats.best;
    const result = await runControlled(cfgOf(best), { pool: poolFor(best.cpus), replay: best.steps, recordEvents: true });
    const file: ReplayFile = {
      ...replayFileOf({ ...result, schedule: { seed: f.seed, steps: normalizeSteps(best.steps) } }, true),
    };
    return { file, result, stats };
  } finally {
    for (const p of pools.values()) await p.close();
  }
}

// ------------------------------------------------------------------ printing

/**
 * A readable interleaving: one line per stretch of one CPU inside one operation (the op-gap
 * point after an operation stays on its line), with the yield points it passed and the CPU
 * the scheduler switched to.
 */
export function formatInterleaving(evs: readonly StepEvent[], violationStep = -1): string {
  const lines: string[] = ['step   cpu  operation          yield points (→ next CPU)'];
  let i = 0;
  while (i < evs.length) {
    const e = evs[i]!;
    let j = i;
    const pts: string[] = [];
    while (j < evs.length && evs[j]!.cpu === e.cpu && (evs[j]!.op === e.op || (evs[j]!.op === '-' && e.op !== '-' && evs[j]!.point === 'op-gap'))) {
      const x = evs[j]!;
      pts.push(x.point + (x.step === violationStep ? ' [VIOLATION seen]' : ''));
      j++;
      if (x.next !== x.cpu || x.op === '-') break;
    }
    const last = evs[j - 1]!;
    const to = last.next !== last.cpu ? `  → cpu ${last.next}` : '';
    lines.push(`${String(e.step).padStart(5)}  ${String(e.cpu).padStart(3)}  ${e.op.padEnd(18)} ${compress(pts).join(', ')}${to}`);
    i = j;
  }
  return lines.join('\n');
}

/** "zap, zap, zap" → "zap ×3". */
function compress(xs: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j < xs.length && xs[j] === xs[i]) j++;
    out.push(j - i > 1 ? `${xs[i]} ×${j - i}` : xs[i]!);
    i = j;
  }
  return out;
}
