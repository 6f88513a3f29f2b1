/**
 * The JSON report (schema/report.schema.json, versioned by SCHEMA_VERSION): one document per
 * `run` or `soak`, and one per `compare` holding a run report per mode plus the side-by-side
 * table. Built from the engine's RunResult; plain data, no functions, no undefined.
 */
import { designRecordOf } from '../engine/design-file.js';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../workers/paths.js';
import { exitCodeFor } from '../engine/exit.js';
import type { RunResult, RunStatus, StallReport } from '../engine/engine.js';
import { modeByName } from '../workers/hugetlb/modes.js';
import { OUTCOMES, forbidden } from '../workers/hugetlb/outcomes.js';
import { expected, scenarioByName, type Expected } from '../workers/hugetlb/scenarios.js';
import type { ViolationRecord } from '../workers/hugetlb/violations.js';
import type { LockPoint, LockStatRow } from '../locks/lockstat.js';
import type { LockdepReport } from '../locks/lockdep.js';
import type { RcuStats } from '../locks/rcu.js';
import type { IpiStats } from '../locks/irq.js';
import type { InvariantResult } from '../workers/hugetlb/invariants.js';
import type { RefHoldStats } from '../workers/hugetlb/refhold.js';
import type { TimelineJson } from '../engine/timeline.js';
import type { ShardJson } from '../engine/shard.js';
import { WORLD_ASSIGNMENT, type WorldStat } from '../engine/worlds.js';
import { latencyTable, opLatencyJson, type LatencyTable, type OpLatencyJson } from './op-latency.js';

/** Bump on any incompatible change of the report's shape (and update the schema's const). */
export const SCHEMA_VERSION = 1;

/** A failed invariant check is a finding like a violation (status 'violations', exit 1), though no dereference was caught. */
export function findingStatus(r: Pick<RunResult, 'status' | 'invariants'>): RunStatus {
  return r.status === 'ok' && !r.invariants.ok ? 'violations' : r.status;
}

/** Worst of several statuses: interrupted > stalled > crashed > violations > ok. */
export function worstStatus(statuses: readonly RunStatus[]): RunStatus {
  const rank: RunStatus[] = ['ok', 'violations', 'crashed', 'stalled', 'interrupted'];
  return statuses.reduce<RunStatus>((w, s) => (rank.indexOf(s) > rank.indexOf(w) ? s : w), 'ok');
}

let version: string | undefined;
export function toolVersion(): string {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pmdtorture' && pkg.version) version = pkg.version;
    } catch {
      /* fall through */
    }
    version ??= '0.0.0';
  }
  return version;
}

export interface ToolInfo {
  name: 'pmdtorture';
  version: string;
  node: string;
}

export function toolInfo(): ToolInfo {
  return { name: 'pmdtorture', version: toolVersion(), node: process.version };
}

export interface ConfigJson {
  scenario: string;
  mode: string;
  cpus: number;
  /** Independent worlds (--worlds; 1 = the one shared world). */
  worlds?: number | undefined;
  cores: number;
  oversubscribed: boolean;
  /** Total operations requested (0 = time-bounded). */
  ops: number;
  /** Run length in ms (0 = op-bounded; null = until interrupted). */
  durationMs: number | null;
  widen: { prob: number; us: number; points: string[] } | null;
  lockstat: boolean;
  stopOnViolation: boolean;
  /** Present when the run stopped only at a violation at these sites (the scenario's own, open in the mode). */
  stopAtSites?: string[] | undefined;
  stallTimeoutMs: number;
  statIntervalMs: number;
  plant: string | null;
  arena: Record<string, number>;
  /** Present when the mode came from a design file: its name, content hash, base and file. */
  design?: DesignJson | undefined;
}

export interface DesignJson {
  name: string;
  hash: string;
  extends: string;
  source: string;
}

export interface ViolationsJson {
  count: number;
  /** Forbidden outcomes by kind (from every site's outcome counts). */
  byKind: Record<string, number>;
  bySite: Record<string, number>;
  /** The first violations, recorded in full (KASAN-like: held locks, last trace events of every CPU). */
  recorded: Array<ViolationRecord & MergeTags>;
}

/** Set on a violation by `pmdtorture merge`: where it was found and how to re-run it. */
export interface MergeTags {
  shard?: ShardJson | null;
  source?: string;
  rerun?: string;
}

export interface OpsJson {
  total: number;
  perSecond: number;
  perOp: Record<string, number>;
  perOpPerSecond: Record<string, number>;
  failed: Record<string, number>;
  perCpu: number[];
}

/** What every run-like report opens with: the tool, the command that re-runs it, its seed and ending. */
interface ReportHead {
  schemaVersion: number;
  tool: ToolInfo;
  command: string;
  seed: number;
  seedRandom: boolean;
  status: RunStatus;
  exitCode: number;
}

export interface RunReport extends ReportHead {
  kind: 'run' | 'soak';
  /** The truth table's expectation for this scenario × mode. */
  expected: Expected;
  config: ConfigJson;
  timing: { startedAt: string; finishedAt: string; elapsedMs: number; runMs?: number; firstOpMs: number | null };
  ops: OpsJson;
  outcomes: Record<string, Record<string, number>>;
  violations: ViolationsJson;
  model: RunResult['model'];
  lockstat: LockStatRow[];
  lockdep: LockdepReport[];
  rcu: RcuStats;
  ipi: IpiStats & { byOp?: RunResult['ipiByOp'] };
  invariants: InvariantResult;
  errors: string[];
  stalls: StallReport[];
  soak: SoakJson | null;
  /** ops/s per CPU, violations and RCU backlog over time (bounded; optional, schema v1 additions). */
  timeline?: TimelineJson;
  /** Age of walkers' page-table references at dereference: log2 ns histogram. */
  refHold?: RefHoldStats;
  /** With widening: the delays taken at every named point (zeros included). */
  widened?: Record<string, number>;
  /** Latency per op kind: p50/p99 µs from log2 ns histograms summed over CPUs (and rounds, shards). */
  opLatency?: OpLatencyJson;
  /** The shard this report covers (--shard / JOB_COMPLETION_INDEX). */
  shard?: ShardJson;
  /** `run --seeds`: the seeds run, in order. */
  seeds?: number[];
  /** Set by `pmdtorture merge`: the reports this one was merged from. */
  merged?: MergedFromJson;
  /** With more than one world (--worlds): how CPUs were assigned and what each world did. */
  worlds?: WorldsJson;
}

export interface WorldsJson {
  count: number;
  assignment: typeof WORLD_ASSIGNMENT;
  perWorld: WorldStat[];
}

export interface MergedFromJson {
  reports: number;
  shards: MergedShardJson[];
}

/** One report a merge was made of: its figures as that shard reported them. */
export interface MergedShardJson {
  file: string;
  shard: ShardJson | null;
  status: RunStatus;
  ops: number;
  violations: number;
  /** Seeds it ran (run --seeds: its seeds; soak: its rounds' seeds, as far as kept; else its seed). */
  seeds?: number[];
  /** Its measured time (timing.runMs) and rate (ops.perSecond). */
  runMs?: number;
  perSecond?: number;
  invariants?: { ok: boolean; pool: InvariantResult['pool'] };
}

export interface SoakRoundJson {
  round: number;
  seed: number;
  status: RunStatus;
  elapsedMs: number;
  ops: number;
  violations: number;
  invariantsOk: boolean;
  rssBytes: number;
}

export interface SoakJson {
  roundMs: number;
  rounds: number;
  /** The last rounds (bounded ring). */
  lastRounds: SoakRoundJson[];
  /** Whole RSS, and RssAnon (private memory: where a leak shows) where /proc gives it. */
  rss: { firstBytes: number; lastBytes: number; maxBytes: number; anonFirstBytes?: number; anonLastBytes?: number; anonMaxBytes?: number };
  statLines: number;
  invariantFailures: number;
}

export interface RunMeta {
  kind: 'run' | 'soak';
  command: string;
  seedRandom: boolean;
  statIntervalMs: number;
  startedAt: Date;
  finishedAt: Date;
  /** ms since process start of the first operation (engine firstOpAtMs), if known. */
  firstOpMs?: number | undefined;
  soak?: SoakJson | undefined;
}

export function violationsByKind(r: Pick<RunResult, 'outcomes' | 'violationCount' | 'violations'>, mode: string): { byKind: Record<string, number>; bySite: Record<string, number> } {
  const m = modeByName(mode);
  const byKind: Record<string, number> = {};
  const bySite: Record<string, number> = {};
  let sum = 0;
  for (const [site, counts] of Object.entries(r.outcomes)) {
    for (const [kind, n] of Object.entries(counts)) {
      if (n === 0 || !m || !forbidden(m, OUTCOMES.indexOf(kind as (typeof OUTCOMES)[number]))) continue;
      byKind[kind] = (byKind[kind] ?? 0) + n;
      bySite[site] = (bySite[site] ?? 0) + n;
      sum += n;
    }
  }
  // Violations not attributed to a walk site's outcome (e.g. found by a destroyer).
  if (r.violationCount > sum) {
    for (const v of r.violations) if (!(v.site in r.outcomes)) bySite[v.site] = (bySite[v.site] ?? 0) + 1;
    byKind['other'] = r.violationCount - sum;
  }
  return { byKind, bySite };
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** `{ design }` for a design file's mode, nothing for a built-in (reports and merges tell designs apart by hash). */
export function designJsonOf(mode: string): { design?: DesignJson } {
  const d = designRecordOf(mode);
  return d ? { design: { name: d.name, hash: d.hash, extends: d.extends, source: d.source } } : {};
}

export function buildRunReport(r: RunResult, meta: RunMeta): RunReport {
  const cfg = r.config;
  const sec = r.runMs / 1000;
  const perOpPerSecond: Record<string, number> = {};
  for (const [k, n] of Object.entries(r.perOp)) perOpPerSecond[k] = sec > 0 ? round2(n / sec) : 0;
  const sc = scenarioByName(cfg.scenario);
  const mode = modeByName(cfg.mode);
  const { byKind, bySite } = violationsByKind(r, cfg.mode);
  const untilStopped = cfg.ops === 0 && cfg.durationMs >= Number.MAX_SAFE_INTEGER;
  const status = findingStatus(r);
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: meta.kind,
    tool: toolInfo(),
    command: meta.command,
    seed: cfg.seed,
    seedRandom: meta.seedRandom,
    status,
    exitCode: exitCodeFor(status),
    expected: sc && mode ? expected(sc, mode) : 'race',
    config: {
      scenario: cfg.scenario,
      mode: cfg.mode,
      cpus: cfg.cpus,
      worlds: cfg.worlds ?? 1,
      cores: availableParallelism(),
      oversubscribed: r.oversubscribed,
      ops: cfg.ops,
      durationMs: untilStopped ? null : cfg.durationMs,
      widen: cfg.widen ? { prob: cfg.widen.prob, us: cfg.widen.us, points: [...(cfg.widen.points ?? [])] } : null,
      lockstat: cfg.lockstat,
      stopOnViolation: cfg.stopOnViolation,
      ...(cfg.stopOnViolation && cfg.stopAtSites !== undefined ? { stopAtSites: [...cfg.stopAtSites] } : {}),
      stallTimeoutMs: cfg.stallTimeoutMs,
      statIntervalMs: meta.statIntervalMs,
      plant: cfg.plant ?? null,
      arena: { ...cfg.arena } as unknown as Record<string, number>,
      ...designJsonOf(cfg.mode),
    },
    timing: {
      startedAt: meta.startedAt.toISOString(),
      finishedAt: meta.finishedAt.toISOString(),
      elapsedMs: round2(r.elapsedMs),
      runMs: round2(r.runMs),
      firstOpMs: meta.firstOpMs !== undefined && meta.firstOpMs > 0 ? round2(meta.firstOpMs) : null,
    },
    ops: {
      total: r.ops,
      perSecond: sec > 0 ? round2(r.ops / sec) : 0,
      perOp: r.perOp,
      perOpPerSecond,
      failed: r.failedOps,
      perCpu: r.perCpu,
    },
    outcomes: r.outcomes,
    violations: { count: r.violationCount, byKind, bySite, recorded: r.violations },
    model: r.model,
    lockstat: r.lockstat,
    lockdep: r.lockdep,
    rcu: r.rcu,
    ipi: { ...r.ipi, byOp: r.ipiByOp },
    invariants: r.invariants,
    errors: r.errors,
    stalls: r.stalls,
    soak: meta.soak ?? null,
    ...(r.timeline ? { timeline: r.timeline.toJSON() } : {}),
    ...(r.refHold ? { refHold: r.refHold } : {}),
    ...(r.widened ? { widened: r.widened } : {}),
    ...(r.opLatency ? { opLatency: opLatencyJson(r.opLatency) } : {}),
    ...((cfg.worlds ?? 1) > 1 ? { worlds: { count: cfg.worlds ?? 1, assignment: WORLD_ASSIGNMENT, perWorld: r.worlds } } : {}),
  };
}

// ------------------------------------------------------------------ compare

export interface CompareLockCell {
  acquisitions: number;
  contentions: number;
  waitP50: number;
  waitP99: number;
  holdP99: number;
  /** The call site that waited most for it in this mode (its top contention point). */
  topWaiter?: LockPoint;
}

export interface CompareTable {
  modes: string[];
  /** Operations per second per op kind, per mode. */
  opsPerSecond: Record<string, Record<string, number>>;
  totalOpsPerSecond: Record<string, number>;
  violations: Record<string, { count: number; expected: Expected; status: RunStatus; byKind: Record<string, number> }>;
  /** Per lock class and side; a mode that never took the lock has no cell. Times in µs. */
  locks: Array<{ name: string; side: 'read' | 'write'; perMode: Record<string, CompareLockCell> }>;
  /** Latency p50/p99 µs per op kind, per mode. */
  latency?: LatencyTable;
}

export interface CompareReport extends ReportHead {
  kind: 'compare';
  timing: { startedAt: string; finishedAt: string; elapsedMs: number };
  table: CompareTable;
  runs: RunReport[];
}

export function compareTable(runs: readonly RunReport[]): CompareTable {
  const modes = runs.map((r) => r.config.mode);
  const ops = new Set<string>();
  for (const r of runs) for (const k of Object.keys(r.ops.perOp)) ops.add(k);
  const opsPerSecond: CompareTable['opsPerSecond'] = {};
  for (const op of ops) opsPerSecond[op] = Object.fromEntries(runs.map((r) => [r.config.mode, r.ops.perOpPerSecond[op] ?? 0]));
  const locks: CompareTable['locks'] = [];
  const key = (n: string, s: string): string => `${n}\u0000${s}`;
  const index = new Map<string, CompareTable['locks'][number]>();
  for (const r of runs) {
    for (const row of r.lockstat) {
      let e = index.get(key(row.name, row.side));
      if (!e) {
        e = { name: row.name, side: row.side, perMode: {} };
        index.set(key(row.name, row.side), e);
        locks.push(e);
      }
      const top = row.contentionPoints?.[0];
      e.perMode[r.config.mode] = { acquisitions: row.acquisitions, contentions: row.contentions, waitP50: row.waitP50, waitP99: row.waitP99, holdP99: row.holdP99, ...(top ? { topWaiter: { ...top } } : {}) };
    }
  }
  return {
    modes,
    opsPerSecond,
    totalOpsPerSecond: Object.fromEntries(runs.map((r) => [r.config.mode, r.ops.perSecond])),
    violations: Object.fromEntries(runs.map((r) => [r.config.mode, { count: r.violations.count, expected: r.expected, status: r.status, byKind: r.violations.byKind }])),
    locks,
    ...(latencyTable(runs) ? { latency: latencyTable(runs)! } : {}),
  };
}
