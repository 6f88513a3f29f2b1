/**
 * The flags every stress command (run, soak, compare) shares, their defaults (STRESS_DEFAULTS
 * and each command's StressDefaults), their validation into the engine's config (mode inside
 * it), and the command that re-runs a configuration. yargs only splits the command line: every
 * value is validated here (UsageError → one line, exit 2).
 */
import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import type { RunConfig, WidenOptions } from '../../src/engine/engine.js';
import { modeArgOf } from '../../src/engine/design-file.js';
import { UsageError } from '../../src/engine/exit.js';
import { fmtMs } from '../../src/report/report-text.js';
import { parseWidenPoint } from '../../src/workers/hugetlb/points.js';
import { MAX_CPUS, POINT_NAMES, SCENARIO_NAMES, parseChoice, parseDuration, parseInteger, parseProbability, randomSeed, shellWord } from '../args.js';
import { modeOption, modesOption, resolveMode, resolveModes } from './mode.js';

/** Defaults of the stress flags that do not differ between commands. */
export const STRESS_DEFAULTS = { scenario: 'mixed', widenProb: 0.05, widenUs: 200, stallTimeoutMs: 10_000, lockstat: true } as const;

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

/** --worlds N: 1 (the default) to the CPU count, since every world needs a CPU of its own. */
export function parseWorlds(v: unknown, cpus: number): number {
  if (v === undefined) return 1;
  const worlds = parseInteger('--worlds', v, 1, MAX_CPUS, 'a world count');
  if (worlds > cpus) throw new UsageError('--worlds', `${worlds} worlds but only ${cpus} CPU${cpus === 1 ? '' : 's'}: every world needs at least one CPU (accepted: 1 to --cpus)`);
  return worlds;
}

/** How a stress command's flags default. */
export interface StressDefaults {
  /** --mode's default; undefined: the command takes --modes (compare). */
  mode?: string | undefined;
  stopOnViolation: boolean;
  /** Used when neither --duration nor --ops is given; 0 = until interrupted. */
  durationMs: number;
  statIntervalMs: number;
}

/** What a command says about --duration's default and --ops, when not the stress defaults (compare, soak). */
export interface StressHelp {
  /** Replaces '(default …)' after --duration's description. */
  durationDefault?: string;
  /** --ops's description; false: hidden (the command refuses it with its own message). */
  ops?: string | false;
}

/** Options every stress command shares, --mode (or compare's --modes) included. */
export function stressOptions<T>(y: Argv<T>, d: StressDefaults, help: StressHelp = {}): Argv<T> {
  const cores = availableParallelism();
  return (d.mode !== undefined ? modeOption(y, d.mode) : modesOption(y))
    .option('scenario', { type: 'string', requiresArg: true, default: STRESS_DEFAULTS.scenario, describe: `scenario to run (see \`pmdtorture list\`): ${SCENARIO_NAMES.join(', ')}` })
    .option('cpus', { type: 'string', requiresArg: true, default: String(cores), describe: `CPUs (worker threads), 1..${MAX_CPUS}; more than the ${cores} cores is allowed and reported as oversubscribed` })
    .option('worlds', { type: 'string', requiresArg: true, describe: 'independent worlds (default 1): each its own processes, files and page tables, worked on by its own CPUs (CPU c in world c mod N; at most --cpus), so throughput grows with CPUs while each world keeps one world\'s race density' })
    .option('duration', { type: 'string', requiresArg: true, describe: `how long to run, e.g. 10s, 5m, 1h (default: ${help.durationDefault ?? (d.durationMs > 0 ? `${fmtMs(d.durationMs)} unless --ops` : 'until SIGINT/SIGTERM')})` })
    .option('ops', {
      type: 'string',
      requiresArg: true,
      hidden: help.ops === false,
      describe: help.ops || 'run exactly N operations in total, split evenly over the CPUs (a CPU whose share is 0 runs none; instead of --duration); the op stream then depends only on the seed',
    })
    .option('seed', { type: 'string', requiresArg: true, describe: 'uint32 seed of every operation stream (default: random; always printed)' })
    .option('widen', { type: 'boolean', default: false, describe: `widen race windows at every delay point (probability ${STRESS_DEFAULTS.widenProb}, ${STRESS_DEFAULTS.widenUs} µs)` })
    .option('widen-prob', { type: 'string', requiresArg: true, describe: 'probability of a delay at each widened point (implies --widen)' })
    .option('widen-us', { type: 'string', requiresArg: true, describe: 'delay length in µs (implies --widen)' })
    .option('widen-point', { type: 'string', requiresArg: true, array: true, describe: `widen only this delay point (repeatable; implies --widen): ${POINT_NAMES.join(', ')}` })
    .option('lockstat', { type: 'boolean', default: STRESS_DEFAULTS.lockstat, describe: 'collect lock_stat (--no-lockstat to switch off)' })
    .option('stop-on-violation', { type: 'boolean', default: d.stopOnViolation, describe: 'stop at the first violation at a call site the scenario is named for (at any site where the mode leaves none of those open); violations elsewhere are counted and reported' })
    .option('stall-timeout', { type: 'string', requiresArg: true, default: fmtMs(STRESS_DEFAULTS.stallTimeoutMs), describe: 'a CPU making no progress this long is a stall (exit 4)' })
    .option('stat-interval', { type: 'string', requiresArg: true, default: fmtMs(d.statIntervalMs), describe: 'interval of periodic stats (status lines, --events)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the JSON report on stdout (human text goes to stderr)' })
    .option('quiet', { type: 'boolean', default: false, describe: 'no progress or status lines; only the summary, on stderr' })
    .option('report', { type: 'string', requiresArg: true, describe: 'write the JSON report to FILE' })
    .option('events', { type: 'string', requiresArg: true, describe: 'write an NDJSON event stream to FILE: every violation and periodic stats' })
    .option('plant', { type: 'string', requiresArg: true, hidden: true, describe: 'plant a fault on CPU 0 (crash|stall), to test exit codes' });
}

/** Everything a stress command needs, validated. */
export interface StressArgs {
  /** The engine config; mode is --mode's, or the first of compare's --modes. */
  base: Omit<RunConfig, 'onStat' | 'signal'>;
  /** [--mode], or compare's --modes. */
  modes: string[];
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
  const modes = d.mode !== undefined ? [resolveMode(a, d.mode)] : resolveModes(a);
  const scenario = parseChoice('--scenario', a['scenario'], SCENARIO_NAMES);
  const cpus = parseInteger('--cpus', a['cpus'], 1, MAX_CPUS, 'a CPU count');
  const worlds = parseWorlds(a['worlds'], cpus);
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
      prob: a['widen-prob'] !== undefined ? parseProbability('--widen-prob', a['widen-prob']) : STRESS_DEFAULTS.widenProb,
      us: a['widen-us'] !== undefined ? parseInteger('--widen-us', a['widen-us'], 1, 1_000_000, 'µs') : STRESS_DEFAULTS.widenUs,
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
      mode: modes[0]!,
      cpus,
      ...(worlds > 1 ? { worlds } : {}),
      seed,
      ops,
      durationMs: ops > 0 ? 0 : durationMs,
      widen,
      lockstat: a['lockstat'] === undefined ? STRESS_DEFAULTS.lockstat : a['lockstat'] === true,
      stopOnViolation: a['stop-on-violation'] === undefined ? d.stopOnViolation : a['stop-on-violation'] === true,
      stopAtTargets: true,
      stallTimeoutMs,
      plant,
    },
    statIntervalMs,
    json: a['json'] === true,
    quiet: a['quiet'] === true,
    reportFile: fileArg('report'),
    eventsFile: fileArg('events'),
    modes,
    seedRandom,
    cores: availableParallelism(),
  };
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
  if ((cfg.worlds ?? 1) > 1) w.push('--worlds', String(cfg.worlds));
  if (cfg.ops > 0) w.push('--ops', String(cfg.ops));
  else if (cfg.durationMs > 0 && cfg.durationMs < Number.MAX_SAFE_INTEGER) w.push('--duration', fmtMs(cfg.durationMs));
  w.push('--seed', String(cfg.seed));
  if (cfg.widen) {
    w.push('--widen-prob', String(cfg.widen.prob), '--widen-us', String(cfg.widen.us));
    for (const p of cfg.widen.points ?? []) w.push('--widen-point', p);
  }
  if (!cfg.lockstat) w.push('--no-lockstat');
  if (cfg.stopOnViolation !== extra.stopOnViolationDefault) w.push(cfg.stopOnViolation ? '--stop-on-violation' : '--no-stop-on-violation');
  if (cfg.stallTimeoutMs !== STRESS_DEFAULTS.stallTimeoutMs) w.push('--stall-timeout', fmtMs(cfg.stallTimeoutMs));
  if (extra.roundMs !== undefined) w.push('--round', fmtMs(extra.roundMs));
  if (cfg.plant) w.push('--plant', cfg.plant);
  return w.map(shellWord).join(' ');
}
