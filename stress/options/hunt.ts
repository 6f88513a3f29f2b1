/**
 * The flags of a hunt's search, for every command that hunts (`hunt`; `explain`, whose witness is
 * a hunt): --scenario, and the counts --ops, --iterations and --seed. Each command gives its own
 * defaults, --help words and ranges (explain's hunt is a short one); the declaration, the error
 * words and a seed drawn when none is given are one thing here.
 */
import type { Argv } from 'yargs';
import { SCENARIO_NAMES, parseChoice, parseInteger, randomSeed } from '../args.js';

type Raw = Record<string, unknown>;

export function scenarioOption<T>(y: Argv<T>, dflt: string): Argv<T> {
  return y.option('scenario', { type: 'string', requiresArg: true, default: dflt, describe: `scenario: ${SCENARIO_NAMES.join(', ')}` });
}

export function resolveScenario(a: Raw, dflt: string): string {
  return parseChoice('--scenario', a['scenario'] ?? dflt, SCENARIO_NAMES);
}

/** One count flag of a command: its default, its --help words, the range it accepts. */
export interface HuntCount {
  default: number;
  describe: string;
  min: number;
  max: number;
}

/**
 * A command's counts. The flags are declared (and listed by --help) and checked in the order of
 * this object's keys. A seed without a default is drawn at random when not given.
 */
export interface HuntCounts {
  ops: HuntCount;
  iterations: HuntCount;
  seed: { default?: number; describe: string };
}

const SEED_MAX = 2 ** 32 - 1;
const WHAT: Record<keyof HuntCounts, string> = { ops: 'an operation count', iterations: 'an iteration count', seed: 'a uint32 seed' };

function flagsOf(spec: HuntCounts): Array<keyof HuntCounts> {
  return Object.keys(spec) as Array<keyof HuntCounts>;
}

export function huntCountOptions<T>(y: Argv<T>, spec: HuntCounts): Argv<T> {
  let out = y;
  for (const f of flagsOf(spec)) {
    const d = spec[f].default;
    out = out.option(f, { type: 'string', requiresArg: true, ...(d !== undefined ? { default: String(d) } : {}), describe: spec[f].describe });
  }
  return out;
}

export function resolveHuntCounts(a: Raw, spec: HuntCounts): { ops: number; iterations: number; seed: number } {
  const got = { ops: 0, iterations: 0, seed: 0 };
  for (const f of flagsOf(spec)) {
    const v = a[f] ?? spec[f].default;
    if (f === 'seed') got.seed = a[f] === undefined && v === undefined ? randomSeed() : parseInteger('--seed', v, 0, SEED_MAX, WHAT.seed);
    else got[f] = parseInteger(`--${f}`, v, spec[f].min, spec[f].max, WHAT[f]);
  }
  return got;
}
