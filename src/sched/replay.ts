/**
 * Replay: a scheduler that follows a recorded schedule, and the replay file format.
 *
 * The recorded steps are run-length pairs [cpu, count]. At each step the replay scheduler
 * chooses the recorded CPU; when that CPU is not runnable (a shrunk or edited schedule) or the
 * record is exhausted, it keeps the CPU holding the turn if it can run, else the lowest
 * runnable one — the non-preemptive default, so deleting pairs removes preemptions.
 *
 * File (JSON): { version, toolVersion, config, seed, steps, violation } — version is the file
 * format's, toolVersion the pmdtorture package version that wrote it (a schedule is a list of
 * choices at yield points, so it replays only on the same model and the same yield points: a
 * file from another version is refused), config the full controlled run configuration,
 * violation what the run hit and at which step. Loading validates everything and fails with one
 * clear line (ReplayFileError), which the CLI turns into exit 2.
 */
import { readFileSync } from 'node:fs';
import { STRATEGY_NAMES, isStrategy, type StrategyName } from './registry.js';
import type { FoundBy } from './portfolio.js';
import type { ViolationRecord } from '../workers/hugetlb/violations.js';
import type { Scheduler } from './scheduler.js';

/** 2: toolVersion and config.stopAtSites. */
export const REPLAY_VERSION = 2;

/** State words: 0 pair index, 1 steps used of that pair. The pairs live in their own words (2 per pair). */
export class ReplayScheduler implements Scheduler {
  readonly name = 'replay' as const;

  constructor(
    private readonly w: Int32Array,
    private readonly pairs: Int32Array,
    private readonly len: number,
  ) {}

  static init(w: Int32Array, pairs: Int32Array, steps: ReadonlyArray<readonly [number, number]>): void {
    if (steps.length * 2 > pairs.length) throw new RangeError(`replay: ${steps.length} schedule pairs exceed the buffer (${pairs.length / 2})`);
    Atomics.store(w, 0, 0);
    Atomics.store(w, 1, 0);
    steps.forEach(([c, n], i) => {
      Atomics.store(pairs, 2 * i, c);
      Atomics.store(pairs, 2 * i + 1, n);
    });
  }

  next(runnable: readonly number[], current: number, _step: number): number {
    const w = this.w;
    const i = Atomics.load(w, 0);
    if (i < this.len) {
      const want = Atomics.load(this.pairs, 2 * i);
      const used = Atomics.load(w, 1) + 1;
      if (used >= Atomics.load(this.pairs, 2 * i + 1)) {
        Atomics.store(w, 0, i + 1);
        Atomics.store(w, 1, 0);
      } else Atomics.store(w, 1, used);
      if (runnable.includes(want)) return want;
    }
    return runnable.includes(current) ? current : runnable[0]!;
  }

  nextRandom(): number {
    return 0;
  }
}

// ------------------------------------------------------------------ file format

/** What a replay file must say about the run's configuration (src/controlled/ fills it). */
export interface ReplayConfig {
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
  sched: StrategyName;
  /** PCT depth d (bugs of depth d get probability >= 1/(n k^(d-1))). */
  pctDepth: number;
  /** PCT's estimate k of the steps of one run (change points are drawn from [1, k]). */
  pctSteps: number;
  /** Step budget: a run that exceeds it is aborted as 'step-limit' (livelock guard). */
  maxSteps: number;
  yields?: 'events' | 'points' | undefined;
  arena?: Record<string, number> | undefined;
  /** The run stopped only at a violation at one of these call sites. */
  stopAtSites?: string[] | undefined;
}

/** The violation a replay must hit again: the stable fields of a ViolationRecord, and where. */
export type ReplayViolation = Pick<
  ViolationRecord,
  'kind' | 'site' | 'op' | 'cpu' | 'page' | 'pointerGen' | 'pageGen' | 'pageState' | 'access' | 'mm' | 'pudIndex' | 'slot'
> & {
  /** Scheduler step at which the violation was first seen. */
  step: number;
};

export interface ReplayFile {
  version: number;
  /** pmdtorture package version that wrote the file; replay refuses another. */
  toolVersion: string;
  config: ReplayConfig;
  seed: number;
  steps: Array<[number, number]>;
  violation: ReplayViolation;
  /** Informational: trace hash and step count of the recorded run. */
  traceHash?: string | undefined;
  totalSteps?: number | undefined;
  shrunk?: boolean | undefined;
  /** The design file's mode (its design-file format) when config.mode is not built in: replays without the file. */
  design?: Record<string, unknown> | undefined;
  /** Informational: the hunt strategy and settings that found it (portfolio.ts). */
  foundBy?: FoundBy | undefined;
}

export class ReplayFileError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'ReplayFileError';
  }
}

/** Names the loader checks against (passed in, so this file stays free of the model). */
export interface ReplayKnown {
  scenarios: readonly string[];
  modes: readonly string[];
  /** Call sites (config.stopAtSites). */
  sites: readonly string[];
  /** This pmdtorture's package version. */
  toolVersion: string;
  /** Validate and register an embedded design (throws on a bad one); returns the mode name it registered. */
  design?: ((x: unknown, where: string) => string) | undefined;
  /** ArenaConfig fields a file may set in config.arena (cpus is config.cpus). */
  arenaKeys?: readonly string[] | undefined;
}

/** Bounds of a controlled run (hunt's --ops and --pct-depth take the same). */
export const REPLAY_LIMITS = { cpus: 64, ops: 10_000_000, pctDepth: 64, steps: 2 ** 31 - 1, arenaValue: 1 << 20 } as const;

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

const CONFIG_KEYS = ['scenario', 'mode', 'cpus', 'seed', 'ops', 'opsPerCpu', 'skipOps', 'sched', 'pctDepth', 'pctSteps', 'maxSteps', 'yields', 'arena', 'stopAtSites'];
const FILE_KEYS = ['version', 'toolVersion', 'config', 'seed', 'steps', 'violation', 'traceHash', 'totalSteps', 'shrunk', 'design', 'foundBy'];

/**
 * Validate parsed JSON as a replay file: every field's type and range, names against `known`,
 * and the fields against each other (steps vs cpus, the violation vs the schedule). Throws
 * ReplayFileError with a one-line reason.
 */
export function validateReplay(x: unknown, known: ReplayKnown, where = 'replay file'): ReplayFile {
  const bad = (why: string): never => {
    throw new ReplayFileError(`${where}: ${why}`);
  };
  if (!isObject(x)) return bad('not a JSON object');
  const o = x;
  // A report of another command, given by mistake: say what it is.
  const tool = isObject(o.tool) ? o.tool.name : undefined;
  if (o.version === undefined && tool === 'pmdtorture' && typeof o.kind === 'string') {
    return bad(`not a replay file (it is a ${o.kind} report; replay files are written by hunt and run --sched random|pct)`);
  }
  if (o.version !== REPLAY_VERSION) bad(`version ${JSON.stringify(o.version) ?? 'missing'} is not supported (this pmdtorture reads version ${REPLAY_VERSION})`);
  if (o.toolVersion !== known.toolVersion) {
    const by = typeof o.toolVersion === 'string' ? `pmdtorture ${o.toolVersion}` : 'an unknown pmdtorture version';
    bad(`written by ${by}, this is pmdtorture ${known.toolVersion}: schedules replay only on the version that recorded them`);
  }
  for (const k of Object.keys(o)) if (!FILE_KEYS.includes(k)) bad(`unknown field "${k}" (known: ${FILE_KEYS.join(', ')})`);
  if (!isObject(o.config)) return bad('missing "config"');
  const cfg = o.config;
  for (const k of Object.keys(cfg)) if (!CONFIG_KEYS.includes(k)) bad(`unknown field config.${k} (known: ${CONFIG_KEYS.join(', ')})`);
  if (typeof cfg.scenario !== 'string') bad('config.scenario missing');
  if (!known.scenarios.includes(cfg.scenario as string)) bad(`unknown scenario '${String(cfg.scenario)}' (known: ${known.scenarios.join(', ')})`);
  const designName = o.design !== undefined && known.design ? known.design(o.design, `${where}: design`) : undefined;
  if (designName !== undefined && cfg.mode !== designName) bad(`config.mode '${String(cfg.mode)}' is not the embedded design's name '${designName}'`);
  if (designName === undefined && (typeof cfg.mode !== 'string' || !known.modes.includes(cfg.mode))) bad(`unknown mode '${String(cfg.mode)}' (known: ${known.modes.join(', ')})`);
  const L = REPLAY_LIMITS;
  const intIn = (v: unknown, name: string, min: number, max: number): number => (isInt(v) && v >= min && v <= max ? v : bad(`${name} must be an integer in [${min}, ${max}], not ${JSON.stringify(v)}`));
  const cpus = intIn(cfg.cpus, 'config.cpus', 1, L.cpus);
  if (!isInt(o.seed) || o.seed < 0 || o.seed > 0xffffffff) bad('seed must be a uint32');
  if (cfg.seed !== undefined && cfg.seed !== o.seed) bad(`config.seed ${JSON.stringify(cfg.seed)} differs from seed ${String(o.seed)}`);
  const ops = intIn(cfg.ops, 'config.ops', 0, L.ops);
  let perCpu: number[] | undefined;
  if (cfg.opsPerCpu !== undefined) {
    if (!Array.isArray(cfg.opsPerCpu) || cfg.opsPerCpu.length !== cpus || !cfg.opsPerCpu.every((v) => isInt(v) && v >= 0 && v <= L.ops)) {
      bad(`config.opsPerCpu must list ${cpus} integers in [0, ${L.ops}], one per CPU`);
    }
    perCpu = cfg.opsPerCpu as number[];
    const sum = perCpu.reduce((a, b) => a + b, 0);
    if (sum !== ops) bad(`config.opsPerCpu adds up to ${sum}, config.ops says ${ops}`);
  }
  if (ops === 0 && perCpu === undefined) bad('config.ops must be positive (a controlled run is a fixed number of operations)');
  if (cfg.skipOps !== undefined) {
    if (!Array.isArray(cfg.skipOps) || cfg.skipOps.length !== cpus) bad(`config.skipOps must list ${cpus} arrays of operation indices, one per CPU`);
    (cfg.skipOps as unknown[]).forEach((a, c) => {
      const limit = perCpu?.[c] ?? L.ops;
      if (!Array.isArray(a) || !a.every((v) => isInt(v) && v >= 0 && v < limit) || new Set(a).size !== a.length) {
        bad(`config.skipOps[${c}] must list distinct operation indices of CPU ${c}, in [0, ${limit})`);
      }
    });
  }
  if (o.foundBy !== undefined && !(isObject(o.foundBy) && typeof o.foundBy.hunt === 'string' && o.foundBy.sched === cfg.sched && isInt(o.foundBy.iteration) && o.foundBy.iteration >= 0)) bad('foundBy must name the hunt (hunt), the strategy that found it (sched, as config.sched) and its iteration');
  if (!isStrategy(cfg.sched)) bad(`config.sched must be ${STRATEGY_NAMES.join(' or ')}, not ${JSON.stringify(cfg.sched)}`);
  intIn(cfg.pctDepth, 'config.pctDepth', 1, L.pctDepth);
  intIn(cfg.pctSteps, 'config.pctSteps', 1, L.steps);
  intIn(cfg.maxSteps, 'config.maxSteps', 1, L.steps);
  if (cfg.yields !== undefined && cfg.yields !== 'events' && cfg.yields !== 'points') bad(`config.yields must be events or points, not ${JSON.stringify(cfg.yields)}`);
  if (cfg.arena !== undefined) {
    if (!isObject(cfg.arena)) bad('config.arena must be an object');
    const keys = known.arenaKeys ?? [];
    for (const [k, v] of Object.entries(cfg.arena as Record<string, unknown>)) {
      if (!keys.includes(k)) bad(`unknown field config.arena.${k} (known: ${keys.join(', ')})`);
      intIn(v, `config.arena.${k}`, k === 'quarantine' ? 0 : 1, L.arenaValue);
    }
  }
  if (cfg.stopAtSites !== undefined && (!Array.isArray(cfg.stopAtSites) || !cfg.stopAtSites.every((s) => typeof s === 'string' && known.sites.includes(s)))) {
    bad(`config.stopAtSites must list call sites (known: ${known.sites.join(', ')})`);
  }
  if (!Array.isArray(o.steps)) return bad('missing "steps"');
  const steps = o.steps as unknown[];
  let total = 0;
  const seen = new Set<number>();
  for (let i = 0; i < steps.length; i++) {
    const p = steps[i];
    if (!Array.isArray(p) || p.length !== 2 || !isInt(p[0]) || !isInt(p[1]) || p[0] < 0 || p[0] >= cpus || p[1] < 1) {
      bad(`steps[${i}] must be [cpu, count] with cpu in [0, ${cpus}) and count >= 1`);
    }
    seen.add((p as number[])[0]!);
    total += (p as number[])[1]!;
  }
  // A recorded (not shrunk) schedule runs to the end, where every CPU has had its turn to finish.
  if (o.shrunk !== true && seen.size !== cpus) {
    bad(`config.cpus is ${cpus} but the schedule runs CPUs ${[...seen].sort((a, b) => a - b).join(', ') || 'none'}: every CPU of a recorded run has turns`);
  }
  if (!isObject(o.violation)) return bad('missing "violation"');
  const v = o.violation;
  if (typeof v.kind !== 'string' || !isInt(v.step) || !isInt(v.cpu)) bad('violation must have kind, cpu and step');
  if (typeof v.site !== 'string' || typeof v.op !== 'string') bad('violation must name its call site and operation');
  intIn(v.cpu, 'violation.cpu', 0, cpus - 1);
  intIn(v.step, 'violation.step', 0, total - 1);
  for (const k of ['page', 'pointerGen', 'pageGen', 'mm', 'pudIndex', 'slot'] as const) {
    if (v[k] !== undefined && !isInt(v[k])) bad(`violation.${k} must be an integer`);
  }
  if (o.traceHash !== undefined && typeof o.traceHash !== 'string') bad('traceHash must be a string');
  if (o.totalSteps !== undefined) intIn(o.totalSteps, 'totalSteps', 0, L.steps);
  if (o.shrunk !== undefined && typeof o.shrunk !== 'boolean') bad('shrunk must be true or false');
  return o as unknown as ReplayFile;
}

/** Read and validate a replay file. */
export function loadReplay(path: string, known: ReplayKnown): ReplayFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReplayFileError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch {
    throw new ReplayFileError(`${path}: corrupt (not valid JSON)`);
  }
  return validateReplay(x, known, path);
}
