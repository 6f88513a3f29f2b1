/**
 * Command-line parsing and validation shared by the stress commands (run, soak, compare).
 *
 * yargs only splits the command line: options are declared as strings or booleans and every
 * value is validated here, so a bad value ends in one line naming the flag and the accepted
 * values (UsageError → exit 2), never in yargs' usage dump.
 */
import { randomInt } from 'node:crypto';
import { MODE_CHOICES, MODE_NAMES } from '../src/workers/hugetlb/modes.js';
import { SCENARIO_NAMES } from '../src/workers/hugetlb/scenarios.js';
import { POINT_NAMES } from '../src/workers/hugetlb/points.js';
import { UsageError } from '../src/engine/exit.js';

export const MAX_CPUS = 64;

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

export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

/** Quote one shell word if it needs it. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
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
