/**
 * Controlled runs: the same workers, arena and model as runStress, but one CPU runs at a time
 * and a seeded scheduler (random, PCT) or a recorded schedule (replay) picks who runs at every
 * yield point. Every run returns its Schedule and trace hash. Built on it: replay files
 * (replay-file.ts), hunt (hunt.ts), shrinking (shrink.ts), the readable interleaving
 * (interleaving.ts).
 */
import { Piscina } from 'piscina';
import type { StepNames } from '../sched/controlled-waiter.js';
import type { StrategyName } from '../sched/registry.js';
import { OPS } from '../workers/hugetlb/ops-list.js';
import { POINT_NAMES } from '../workers/hugetlb/points.js';
import { Arena, type ArenaConfig } from '../shared-mem/layout.js';
import { distPath } from '../workers/paths.js';
import { setupModel } from '../workers/hugetlb/setup.js';
import { checkInvariants, plantInvariantFailure, type InvariantResult } from '../workers/hugetlb/invariants.js';
import { readViolations, type ViolationRecord } from '../workers/hugetlb/violations.js';
import { MODE_CHOICES, SITES, modeByName } from '../workers/hugetlb/modes.js';
import { SCENARIO_NAMES, openTargetsOf, scenarioByName } from '../workers/hugetlb/scenarios.js';
import { Abort, abortSched, createSchedBuffer, type DeadlockReport, readSchedOutcome, type SchedBufferPlan } from '../sched/controlled-waiter.js';
import type { ControlledCpuResult, ControlledTask } from '../workers/tasks/controlled.js';
import type { Schedule, SchedSpec } from '../sched/scheduler.js';
import type { ReplayConfig, ReplayViolation } from '../sched/replay.js';
import { arenaConfigFor, splitOps } from '../engine/engine.js';
import { decodeEvents, type StepEvent } from './interleaving.js';

/** A seeded strategy of src/sched/registry.ts. */
export type SchedKind = StrategyName;

/** The model's names the scheduler prints in deadlock reports. */
const STEP_NAMES: StepNames = { ops: OPS.map((o) => o.name), points: POINT_NAMES };

/** A controlled run: what its replay file records (ReplayConfig), with the run's own types. */
export interface ControlledConfig extends Omit<ReplayConfig, 'arena' | 'yields' | 'stopAtSites'> {
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
   * violationCount but are not the run's `violation`, and alone leave the status 'ok'; so does a
   * failed invariant check.
   */
  stopAtSites?: readonly string[] | undefined;
}

/** invariants: the run (not aimed: no stopAtSites) ended quiescent with no violation at all, but the end-of-run check (invariants.ts) failed. */
export type ControlledStatus = 'ok' | 'violations' | 'invariants' | 'deadlock' | 'crashed' | 'step-limit' | 'timeout' | 'interrupted';

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

export const CONTROLLED_DEFAULTS = { cpus: 2, ops: 200, seed: 1, sched: 'pct', yields: 'events', pctDepth: 3, maxStepsPerOp: 400, timeoutMs: 120_000, minMaxSteps: 20_000 } as const;

/** A full config from the few things a caller cares about. */
export function controlledConfig(c: Partial<ControlledConfig> & Pick<ControlledConfig, 'scenario' | 'mode'>): ControlledConfig {
  const cpus = c.cpus ?? CONTROLLED_DEFAULTS.cpus;
  const ops = c.ops ?? CONTROLLED_DEFAULTS.ops;
  const maxSteps = c.maxSteps ?? Math.max(CONTROLLED_DEFAULTS.minMaxSteps, ops * CONTROLLED_DEFAULTS.maxStepsPerOp);
  return {
    scenario: c.scenario,
    mode: c.mode,
    cpus,
    seed: c.seed ?? CONTROLLED_DEFAULTS.seed,
    ops,
    opsPerCpu: c.opsPerCpu,
    skipOps: c.skipOps,
    sched: c.sched ?? CONTROLLED_DEFAULTS.sched,
    pctDepth: c.pctDepth ?? CONTROLLED_DEFAULTS.pctDepth,
    pctSteps: c.pctSteps ?? estimateSteps(ops),
    maxSteps,
    yields: c.yields ?? CONTROLLED_DEFAULTS.yields,
    arena: c.arena,
    stopOnViolation: c.stopOnViolation ?? true,
    stopAtSites: c.stopAtSites,
  };
}

/** First guess at the steps of a run of `ops` operations (hunt refines it from real runs). */
export function estimateSteps(ops: number): number {
  return Math.max(16, ops * 3);
}

export function opsSplit(cfg: ControlledConfig): number[] {
  return cfg.opsPerCpu ?? splitOps(cfg.ops, cfg.cpus);
}

/** Piscina threads kept across controlled runs (hunt runs hundreds of short ones). */
export class ControlledPool {
  private readonly pool: Piscina;
  constructor(readonly cpus: number) {
    this.pool = new Piscina({ filename: distPath('src/workers/tasks/controlled.js'), minThreads: cpus, maxThreads: cpus, idleTimeout: 60_000 });
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
  return openTargetsOf(sc, m);
}

export async function runControlled(cfg: ControlledConfig, opts: RunControlledOptions = {}): Promise<ControlledResult> {
  validateControlled(cfg);
  const n = cfg.cpus;
  // Stopping at chosen sites: violations elsewhere come first and may fill the default 16 slots.
  const slots = cfg.stopAtSites !== undefined ? { violationSlots: 128 } : {};
  const arenaCfg = arenaConfigFor({ cpus: n, scenario: cfg.scenario, arena: { traceDepth: 128, ...slots, ...cfg.arena } });
  const arena = Arena.create(arenaCfg);
  setupModel(arena);
  opts.prepare?.(arena);
  const spec: SchedSpec = opts.replay
    ? { kind: 'replay', seed: cfg.seed, steps: opts.replay }
    : { kind: cfg.sched, seed: cfg.seed, depth: cfg.pctDepth, cpus: n, estSteps: cfg.pctSteps };
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
        sched: { buffer: sbuf, spec, replayCap: plan.replayCap, yields: cfg.yields, names: STEP_NAMES },
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
  // Test hook (tests only, undocumented), as soak's: the end-of-run check finds a planted fault.
  if (quiescent && process.env['PMDTORTURE_TEST_PLANT_INVARIANT'] === '1') plantInvariantFailure(arena);
  const invariants = quiescent ? checkInvariants(arena) : undefined;
  // A check that fails where no violation explains it: corruption the model did not see happen.
  // A run aimed at some sites (stopAtSites) leaves it, like violations elsewhere, out of its status.
  if (status === 'ok' && stopAt === undefined && violations.length === 0 && invariants && !invariants.ok) status = 'invariants';
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
    invariants,
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

export function sameViolation(a: ReplayViolation | undefined, b: ReplayViolation | undefined): boolean {
  if (!a || !b) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Same kind of failure (shrinking may move it to another page or step). */
export function sameKind(a: ReplayViolation | undefined, b: ReplayViolation | undefined): boolean {
  return !!a && !!b && a.kind === b.kind && a.site === b.site;
}
