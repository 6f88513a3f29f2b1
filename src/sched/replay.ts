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

/** What a replay file must say about the run's configuration (stress/controlled.ts fills it). */
export interface ReplayConfig {
  scenario: string;
  mode: string;
  cpus: number;
  seed: number;
  ops: number;
  opsPerCpu?: number[] | undefined;
  skipOps?: number[][] | undefined;
  sched: 'random' | 'pct';
  pctDepth: number;
  pctSteps: number;
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
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/** Validate parsed JSON as a replay file; throws ReplayFileError with a one-line reason. */
export function validateReplay(x: unknown, known: ReplayKnown, where = 'replay file'): ReplayFile {
  const bad = (why: string): never => {
    throw new ReplayFileError(`${where}: ${why}`);
  };
  if (typeof x !== 'object' || x === null || Array.isArray(x)) bad('not a JSON object');
  const o = x as Record<string, unknown>;
  if (o.version !== REPLAY_VERSION) bad(`version ${JSON.stringify(o.version)} is not supported (this pmdtorture reads version ${REPLAY_VERSION})`);
  if (o.toolVersion !== known.toolVersion) {
    const by = typeof o.toolVersion === 'string' ? `pmdtorture ${o.toolVersion}` : 'an unknown pmdtorture version';
    bad(`written by ${by}, this is pmdtorture ${known.toolVersion}: schedules replay only on the version that recorded them`);
  }
  const c = o.config as Record<string, unknown> | undefined;
  if (typeof c !== 'object' || c === null) bad('missing "config"');
  const cfg = c as Record<string, unknown>;
  if (typeof cfg.scenario !== 'string') bad('config.scenario missing');
  if (!known.scenarios.includes(cfg.scenario as string)) bad(`unknown scenario '${String(cfg.scenario)}' (known: ${known.scenarios.join(', ')})`);
  const designName = o.design !== undefined && known.design ? known.design(o.design, `${where}: design`) : undefined;
  if (designName !== undefined && cfg.mode !== designName) bad(`config.mode '${String(cfg.mode)}' is not the embedded design's name '${designName}'`);
  if (designName === undefined && (typeof cfg.mode !== 'string' || !known.modes.includes(cfg.mode))) bad(`unknown mode '${String(cfg.mode)}' (known: ${known.modes.join(', ')})`);
  if (!isInt(cfg.cpus) || cfg.cpus < 1 || cfg.cpus > 64) bad('config.cpus must be an integer in [1, 64]');
  if (!isInt(cfg.ops) || cfg.ops < 0) bad('config.ops must be a non-negative integer');
  if (cfg.opsPerCpu !== undefined && (!Array.isArray(cfg.opsPerCpu) || cfg.opsPerCpu.length !== cfg.cpus || !cfg.opsPerCpu.every((v) => isInt(v) && v >= 0))) {
    bad('config.opsPerCpu must list a non-negative integer per CPU');
  }
  if (cfg.skipOps !== undefined && (!Array.isArray(cfg.skipOps) || cfg.skipOps.length !== cfg.cpus || !cfg.skipOps.every((a) => Array.isArray(a) && a.every((v) => isInt(v) && v >= 0)))) {
    bad('config.skipOps must list an array of operation indices per CPU');
  }
  if (cfg.sched !== 'random' && cfg.sched !== 'pct') bad(`config.sched must be random or pct, not ${JSON.stringify(cfg.sched)}`);
  if (!isInt(cfg.pctDepth) || cfg.pctDepth < 1) bad('config.pctDepth must be a positive integer');
  if (!isInt(cfg.pctSteps) || cfg.pctSteps < 1) bad('config.pctSteps must be a positive integer');
  if (!isInt(cfg.maxSteps) || cfg.maxSteps < 1) bad('config.maxSteps must be a positive integer');
  if (cfg.yields !== undefined && cfg.yields !== 'events' && cfg.yields !== 'points') bad('config.yields must be events or points');
  if (cfg.stopAtSites !== undefined && (!Array.isArray(cfg.stopAtSites) || !cfg.stopAtSites.every((x) => typeof x === 'string' && known.sites.includes(x)))) {
    bad(`config.stopAtSites must list call sites (known: ${known.sites.join(', ')})`);
  }
  if (!isInt(o.seed) || (o.seed as number) < 0 || (o.seed as number) > 0xffffffff) bad('seed must be a uint32');
  if (!Array.isArray(o.steps)) bad('missing "steps"');
  const steps = o.steps as unknown[];
  for (let i = 0; i < steps.length; i++) {
    const p = steps[i];
    if (!Array.isArray(p) || p.length !== 2 || !isInt(p[0]) || !isInt(p[1]) || p[0] < 0 || p[0] >= (cfg.cpus as number) || p[1] < 1) {
      bad(`steps[${i}] must be [cpu, count] with cpu in [0, ${String(cfg.cpus)}) and count >= 1`);
    }
  }
  const v = o.violation as Record<string, unknown> | undefined;
  if (typeof v !== 'object' || v === null) bad('missing "violation"');
  const vv = v as Record<string, unknown>;
  if (typeof vv.kind !== 'string' || !isInt(vv.step) || !isInt(vv.cpu)) bad('violation must have kind, cpu and step');
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
