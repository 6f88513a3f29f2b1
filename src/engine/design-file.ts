/**
 * `--mode FILE.json`: a value ending in .json is a design file (src/workers/hugetlb/mode-design.ts),
 * anything else a built-in mode's name. A file that cannot be read, is not JSON or is refused by
 * the validator ends the command in one line naming the file, the JSON path and what is
 * accepted (UsageError, exit 2). A loaded design is registered under its name, so everything
 * downstream (engine, controlled runs, reports) finds it like a built-in.
 */
import { readFileSync } from 'node:fs';
import { MODE_CHOICES, modeByName, type ModeTable } from '../workers/hugetlb/modes.js';
import { DesignError, designFileOf, loadedDesign, registerDesign, resolveDesign, type LoadedDesign } from '../workers/hugetlb/mode-design.js';
import { UsageError } from './exit.js';

export const isDesignPath = (v: string): boolean => v.endsWith('.json');

const ACCEPTED = `accepted: ${MODE_CHOICES.join(', ')}, or a design file FILE.json`;

/** Validate and register a parsed design; `where` names its origin in errors (a file, or a replay file's "design"). */
export function acceptDesign(flag: string, where: string, x: unknown): LoadedDesign {
  try {
    return registerDesign(resolveDesign(x), where);
  } catch (e) {
    if (e instanceof DesignError) throw new UsageError(flag, `${where}: ${e.message}`);
    throw e;
  }
}

/** Read, parse, validate and register a design file. */
export function loadDesignFile(flag: string, path: string): LoadedDesign {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(flag, `${path}: cannot read the design file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new UsageError(flag, `${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return acceptDesign(flag, path, x);
}

/** `--mode NAME|FILE.json` → the mode's name (a design is loaded and registered first). */
export function parseModeArg(flag: string, v: unknown): string {
  const s = String(v ?? '').trim();
  if (isDesignPath(s)) return loadDesignFile(flag, s).table.name;
  if (!MODE_CHOICES.includes(s)) throw new UsageError(flag, `unknown value '${s}' (${ACCEPTED})`);
  return s;
}

/** `--modes a,FILE.json,b` (or `all`) → names in order, without duplicates. */
export function parseModeListArg(flag: string, v: unknown, allWord: string, all: readonly string[]): string[] {
  const raw = (Array.isArray(v) ? v : [v]).flatMap((x) => String(x ?? '').split(',')).map((x) => x.trim()).filter((x) => x !== '');
  if (raw.length === 0) throw new UsageError(flag, `needs a value (accepted: ${allWord} or a comma-separated list of ${MODE_CHOICES.join(', ')} or design files FILE.json)`);
  if (raw.length === 1 && raw[0] === allWord) return [...all];
  const out: string[] = [];
  for (const x of raw) {
    if (x !== allWord && modeByName(x) === undefined && !x.endsWith('.json')) {
      throw new UsageError(flag, `unknown value '${x}' (accepted: ${allWord}, or a comma-separated list of ${MODE_CHOICES.join(', ')} or design files FILE.json)`);
    }
    const name = x === allWord ? undefined : parseModeArg(flag, x);
    if (name === undefined) throw new UsageError(flag, `'${allWord}' stands alone (accepted: ${allWord}, or a list of modes)`);
    if (!out.includes(name)) out.push(name);
  }
  return out;
}

/** The table of a mode that parseModeArg accepted (built-in or registered design). */
export function modeTableOf(name: string): ModeTable {
  const m = modeByName(name);
  if (m === undefined) throw new RangeError(`mode '${name}' is neither built in nor a loaded design`);
  return m;
}

/** How a re-run command names a mode: a design by the file it came from. */
export function modeArgOf(name: string): string {
  return loadedDesign(name)?.source ?? name;
}

/** What reports and replay files carry about a design: name, hash, base, and the full table. */
export interface DesignRecord {
  name: string;
  hash: string;
  extends: string;
  source: string;
  /** The resolved design in the design-file format: a replay or a report re-loads it without the file. */
  table: Record<string, unknown>;
}

export function designRecordOf(name: string): DesignRecord | undefined {
  const d = loadedDesign(name);
  return d === undefined ? undefined : { name, hash: d.hash, extends: d.extends, source: d.source, table: designFileOf(d.table, d.extends) };
}
