/**
 * Command-line parsing and validation shared by the stress commands (run, soak, compare).
 *
 * yargs only splits the command line: options are declared as strings or booleans and every
 * value is validated here, so a bad value ends in one line naming the flag and the accepted
 * values (UsageError → exit 2), never in yargs' usage dump.
 */
import { availableParallelism } from 'node:os';
import { randomInt } from 'node:crypto';
import type { Argv } from 'yargs';
import { MODE_CHOICES, MODE_NAMES } from '../src/workers/hugetlb/modes.js';
import { SCENARIO_NAMES } from '../src/workers/hugetlb/scenarios.js';
import { POINT_NAMES, parseWidenPoint } from '../src/workers/hugetlb/points.js';
import type { RunConfig, WidenOptions } from '../src/engine/engine.js';
import { modeArgOf } from '../src/engine/design-file.js';
import { UsageError } from '../src/engine/exit.js';
import { fmtMs } from '../src/report/report-text.js';

export const MAX_CPUS = 64;
export const DEFAULT_WIDEN_PROB = 0.05;
export const DEFAULT_WIDEN_US = 200;
export const DEFAULT_STALL_TIMEOUT_MS = 10_000;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_HINT = 'accepted: a positive number with a unit ms, s, m or h, e.g. 500ms, 10s, 5m, 1h; a bare number is seconds';

/** `10s`, `5m`, `1h`, `500ms`, `1.5s`, `90` (seconds) → milliseconds. */
export function parseDuration(flag: string, v: unknown): number {
  const s = String(v ?? '').trim();
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
  if (!m) throw new UsageError(flag, `'${s}' is not a duration (${DURATION_HINT})`);
  const ms = Number(m[1]) * UNITS[m[2] ?? 's']!;
  if (!(ms >= 1) || !Number.isFinite(ms)) throw new UsageError(flag, `'${s}' is too short (${DURATION_HINT})`);
  return Math.round(ms);
}

/** A whole number in [min, max]; accepts 1_000, 1e6, 0x10. */
export function parseInteger(flag: string, v: unknown, min: number, max: number, what = 'an integer'): number {
  const s = String(v ?? '').trim().replace(/_/g, '');
  const n = s === '' ? NaN : Number(s);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(flag, `'${String(v ?? '')}' is not valid (accepted: ${what} from ${min} to ${max})`);
  }
  return n;
}

export function parseProbability(flag: string, v: unknown): number {
  const s = String(v ?? '').trim();
  const n = s === '' ? NaN : Number(s);
  if (!(n > 0 && n <= 1)) throw new UsageError(flag, `'${s}' is not valid (accepted: a probability 0 < P <= 1, e.g. 0.05)`);
  return n;
}

export function parseChoice(flag: string, v: unknown, accepted: readonly string[]): string {
  const s = String(v ?? '').trim();
  if (!accepted.includes(s)) throw new UsageError(flag, `unknown value '${s}' (accepted: ${accepted.join(', ')})`);
  return s;
}

/** `a,b` or repeated flags → validated list, in the order given, without duplicates. */
export function parseList(flag: string, v: unknown, accepted: readonly string[], allWord?: string): string[] {
  const raw = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x ?? '').split(',')).map((x) => x.trim()).filter((x) => x !== '');
  if (raw.length === 0) throw new UsageError(flag, `needs a value (accepted: ${allWord ? `${allWord} or ` : ''}a comma-separated list of ${accepted.join(', ')})`);
  if (allWord && raw.length === 1 && raw[0] === allWord) return [...accepted];
  const out: string[] = [];
  for (const x of raw) {
    if (!accepted.includes(x)) throw new UsageError(flag, `unknown value '${x}' (accepted: ${allWord ? `${allWord} or ` : ''}${accepted.join(', ')})`);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

/** --widen-point NAME[:PROB[:US]] (repeatable, comma-separated): validated, duplicates dropped. */
function parseWidenPoints(v: unknown): string[] {
  const raw = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x ?? '').split(',')).map((x) => x.trim()).filter((x) => x !== '');
  if (raw.length === 0) throw new UsageError('--widen-point', `needs a value (accepted: NAME[:PROB[:US]], NAME one of ${POINT_NAMES.join(', ')})`);
  const out: string[] = [];
  for (const spec of raw) {
    try {
      parseWidenPoint(spec);
    } catch (e) {
      throw new UsageError('--widen-point', (e as Error).message);
    }
    if (!out.includes(spec)) out.push(spec);
  }
  return out;
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

/** How a stress command's flags default. */
export interface StressDefaults {
  stopOnViolation: boolean;
  /** Used when neither --duration nor --ops is given; 0 = until interrupted. */
  durationMs: number;
  statIntervalMs: number;
}

/** Options every stress command shares. `--mode` is per command (compare has `--modes`). */
/** What a command says about --duration's default and --ops, when not the stress defaults (compare, soak). */
export interface StressHelp {
  /** Replaces '(default …)' after --duration's description. */
  durationDefault?: string;
  /** --ops's description; false: hidden (the command refuses it with its own message). */
  ops?: string | false;
}

export function stressOptions<T>(y: Argv<T>, d: StressDefaults, help: StressHelp = {}): Argv<T> {
  const cores = availableParallelism();
  return y
    .option('scenario', { type: 'string', requiresArg: true, default: 'mixed', describe: `scenario to run (see \`pmdtorture list\`): ${SCENARIO_NAMES.join(', ')}` })
    .option('cpus', { type: 'string', requiresArg: true, default: String(cores), describe: `CPUs (worker threads), 1..${MAX_CPUS}; more than the ${cores} cores is allowed and reported as oversubscribed` })
    .option('duration', { type: 'string', requiresArg: true, describe: `how long to run, e.g. 10s, 5m, 1h (default: ${help.durationDefault ?? (d.durationMs > 0 ? `${fmtMs(d.durationMs)} unless --ops` : 'until SIGINT/SIGTERM')})` })
    .option('ops', {
      type: 'string',
      requiresArg: true,
      hidden: help.ops === false,
      describe: help.ops || 'run exactly N operations in total, split evenly over the CPUs (a CPU whose share is 0 runs none; instead of --duration); the op stream then depends only on the seed',
    })
    .option('seed', { type: 'string', requiresArg: true, describe: 'uint32 seed of every operation stream (default: random; always printed)' })
    .option('widen', { type: 'boolean', default: false, describe: `widen race windows at every delay point (probability ${DEFAULT_WIDEN_PROB}, ${DEFAULT_WIDEN_US} µs)` })
    .option('widen-prob', { type: 'string', requiresArg: true, describe: 'probability of a delay at each widened point (implies --widen)' })
    .option('widen-us', { type: 'string', requiresArg: true, describe: 'delay length in µs (implies --widen)' })
    .option('widen-point', { type: 'string', requiresArg: true, array: true, describe: `widen only this delay point (repeatable; implies --widen): ${POINT_NAMES.join(', ')}` })
    .option('lockstat', { type: 'boolean', default: true, describe: 'collect lock_stat (--no-lockstat to switch off)' })
    .option('stop-on-violation', { type: 'boolean', default: d.stopOnViolation, describe: 'stop at the first violation' })
    .option('stall-timeout', { type: 'string', requiresArg: true, default: fmtMs(DEFAULT_STALL_TIMEOUT_MS), describe: 'a CPU making no progress this long is a stall (exit 4)' })
    .option('stat-interval', { type: 'string', requiresArg: true, default: fmtMs(d.statIntervalMs), describe: 'interval of periodic stats (status lines, --events)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the JSON report on stdout (human text goes to stderr)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or status lines; only the summary, on stderr' })
    .option('report', { type: 'string', requiresArg: true, describe: 'write the JSON report to FILE' })
    .option('events', { type: 'string', requiresArg: true, describe: 'write an NDJSON event stream to FILE: every violation and periodic stats' })
    .option('plant', { type: 'string', requiresArg: true, hidden: true, describe: 'plant a fault on CPU 0 (crash|stall), to test exit codes' });
}

/** Everything a stress command needs, validated. */
export interface StressArgs {
  /** The engine config, except mode (set per run). */
  base: Omit<RunConfig, 'mode' | 'onStat' | 'signal'>;
  statIntervalMs: number;
  json: boolean;
  quiet: boolean;
  reportFile: string | undefined;
  eventsFile: string | undefined;
  /** True when --seed was not given. */
  seedRandom: boolean;
  /** Flags given by the user that shape the run, for the re-run command. */
  cores: number;
}

type Raw = Record<string, unknown>;

export function resolveStress(a: Raw, d: StressDefaults): StressArgs {
  const scenario = parseChoice('--scenario', a['scenario'], SCENARIO_NAMES);
  const cpus = parseInteger('--cpus', a['cpus'], 1, MAX_CPUS, 'a CPU count');
  if (a['duration'] !== undefined && a['ops'] !== undefined) throw new UsageError('--duration', 'give --duration or --ops, not both');
  let ops = 0;
  let durationMs = d.durationMs;
  if (a['ops'] !== undefined) ops = parseInteger('--ops', a['ops'], 1, Number.MAX_SAFE_INTEGER, 'an operation count');
  if (a['duration'] !== undefined) durationMs = parseDuration('--duration', a['duration']);
  if (ops === 0 && durationMs === 0) durationMs = Number.MAX_SAFE_INTEGER; // until interrupted
  const seedRandom = a['seed'] === undefined;
  const seed = seedRandom ? randomSeed() : parseInteger('--seed', a['seed'], 0, 2 ** 32 - 1, 'a uint32 seed');
  const pointsRaw = a['widen-point'];
  const anyWiden = a['widen'] === true || a['widen-prob'] !== undefined || a['widen-us'] !== undefined || pointsRaw !== undefined;
  let widen: WidenOptions | undefined;
  if (anyWiden) {
    widen = {
      prob: a['widen-prob'] !== undefined ? parseProbability('--widen-prob', a['widen-prob']) : DEFAULT_WIDEN_PROB,
      us: a['widen-us'] !== undefined ? parseInteger('--widen-us', a['widen-us'], 1, 1_000_000, 'µs') : DEFAULT_WIDEN_US,
      points: pointsRaw !== undefined ? parseWidenPoints(pointsRaw) : undefined,
    };
  }
  const stallTimeoutMs = parseDuration('--stall-timeout', a['stall-timeout']);
  const statIntervalMs = parseDuration('--stat-interval', a['stat-interval']);
  let plant: 'crash' | 'stall' | undefined;
  if (a['plant'] !== undefined) plant = parseChoice('--plant', a['plant'], ['crash', 'stall']) as 'crash' | 'stall';
  const fileArg = (flag: string): string | undefined => {
    const v = a[flag];
    if (v === undefined) return undefined;
    const s = String(v);
    if (s.trim() === '' || v === true) throw new UsageError(`--${flag}`, 'needs a file name (accepted: a writable path)');
    return s;
  };
  return {
    base: {
      scenario,
      cpus,
      seed,
      ops,
      durationMs: ops > 0 ? 0 : durationMs,
      widen,
      lockstat: a['lockstat'] !== false,
      stopOnViolation: a['stop-on-violation'] === undefined ? d.stopOnViolation : a['stop-on-violation'] === true,
      stallTimeoutMs,
      plant,
    },
    statIntervalMs,
    json: a['json'] === true,
    quiet: a['quiet'] === true,
    reportFile: fileArg('report'),
    eventsFile: fileArg('events'),
    seedRandom,
    cores: availableParallelism(),
  };
}

/** Quote one shell word if it needs it. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The exact command that re-runs a configuration: every flag that shapes the run, with its
 * effective value (so a changed default cannot change the re-run), --seed always included.
 */
export function rerunCommand(command: string, cfg: Omit<RunConfig, 'onStat' | 'signal'>, extra: { modes?: readonly string[]; stopOnViolationDefault: boolean; statIntervalMs?: number; roundMs?: number }): string {
  const w: string[] = ['pmdtorture', command, '--scenario', cfg.scenario];
  if (extra.modes) w.push('--modes', extra.modes.map(modeArgOf).join(','));
  else w.push('--mode', modeArgOf(cfg.mode));
  w.push('--cpus', String(cfg.cpus));
  if (cfg.ops > 0) w.push('--ops', String(cfg.ops));
  else if (cfg.durationMs > 0 && cfg.durationMs < Number.MAX_SAFE_INTEGER) w.push('--duration', fmtMs(cfg.durationMs));
  w.push('--seed', String(cfg.seed));
  if (cfg.widen) {
    w.push('--widen-prob', String(cfg.widen.prob), '--widen-us', String(cfg.widen.us));
    for (const p of cfg.widen.points ?? []) w.push('--widen-point', p);
  }
  if (!cfg.lockstat) w.push('--no-lockstat');
  if (cfg.stopOnViolation !== extra.stopOnViolationDefault) w.push(cfg.stopOnViolation ? '--stop-on-violation' : '--no-stop-on-violation');
  if (cfg.stallTimeoutMs !== DEFAULT_STALL_TIMEOUT_MS) w.push('--stall-timeout', fmtMs(cfg.stallTimeoutMs));
  if (extra.roundMs !== undefined) w.push('--round', fmtMs(extra.roundMs));
  if (cfg.plant) w.push('--plant', cfg.plant);
  return w.map(shellWord).join(' ');
}

export { MODE_CHOICES, MODE_NAMES, SCENARIO_NAMES, POINT_NAMES };

/** What a flag accepts, for "needs a value" messages. */
export function acceptedFor(flag: string): string {
  switch (flag) {
    case 'scenario':
      return SCENARIO_NAMES.join(', ');
    case 'mode':
      return MODE_CHOICES.join(', ');
    case 'modes':
      return `all or a comma-separated list of ${MODE_CHOICES.join(', ')}`;
    case 'widen-point':
      return `NAME[:PROB[:US]], NAME one of ${POINT_NAMES.join(', ')}`;
    case 'cpus':
      return `a CPU count from 1 to ${MAX_CPUS}`;
    case 'duration':
    case 'stall-timeout':
    case 'stat-interval':
    case 'round':
      return 'a duration such as 500ms, 10s, 5m, 1h';
    case 'ops':
      return 'an operation count, e.g. 100000';
    case 'seed':
      return 'a uint32 seed';
    case 'widen-prob':
      return 'a probability 0 < P <= 1';
    case 'widen-us':
      return 'µs from 1 to 1000000';
    case 'report':
    case 'events':
      return 'a writable file path';
    case 'plant':
      return 'crash, stall';
    default:
      return '';
  }
}
