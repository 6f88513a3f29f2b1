/**
 * Design files: a protection mode written as JSON, `"extends"` a built-in mode and states only
 * what it changes (objects merge per key, guards per site and field). Validated against the
 * field registry (mode-fields.ts); refused with a DesignError naming the JSON path and the
 * accepted values; then checked for combinations the model cannot run (rules derived from the
 * code, below). A design is identified by its name and a hash of its locking content.
 */
import { createHash } from 'node:crypto';
import { MODES, MODE_CHOICES, SITES, registerMode, type Guard, type ModeTable, type Site } from './modes.js';
import { GUARD_FIELDS, MODE_FIELDS, MODE_FIELD_NAMES, acceptedOf, type FieldDesc } from './mode-fields.js';

/** A design refused: `path` is the JSON path ($.guards["follow-page"].vma), `why` says what is accepted. */
export class DesignError extends Error {
  constructor(
    readonly path: string,
    readonly why: string,
  ) {
    super(`${path}: ${why}`);
    this.name = 'DesignError';
  }
}

export interface Design {
  table: ModeTable;
  /** The built-in mode it extends (canonical name). */
  extends: string;
  /** sha256 (first 16 hex) of the locking content: every field but name, description, kernel, commits. */
  hash: string;
}

/** Keys a design file may hold besides the fields: `$schema` (editors) and `extends`. */
const META_KEYS = ['$schema', 'extends'] as const;
const DESIGN_FIELDS = MODE_FIELD_NAMES.filter((k) => MODE_FIELDS[k].where === 'design');
/** Fields that name and describe a design without changing what it locks. */
const LABEL_FIELDS: ReadonlyArray<keyof ModeTable> = ['name', 'aliases', 'description', 'kernel', 'commits'];
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Only follow_hugetlb_page's FOLL_NOWAIT calls walk with mayNotSleep (walkers.ts opGupSlow). */
const TRYLOCK_SITES: readonly Site[] = ['gup-slow'];

const ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
export const jsonPath = (...keys: string[]): string => '$' + keys.map((k) => (ident.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkValue(d: FieldDesc, v: unknown, path: string[]): void {
  const at = jsonPath(...path);
  const typeOf = Array.isArray(v) ? 'an array' : v === null ? 'null' : `a ${typeof v}`;
  switch (d.kind) {
    case 'enum':
      if (typeof v !== 'string') throw new DesignError(at, `expected a string, got ${typeOf} (accepted: ${acceptedOf(d)})`);
      if (!d.values.includes(v)) throw new DesignError(at, `unknown value ${show(v)} (accepted: ${acceptedOf(d)})`);
      return;
    case 'boolean':
      if (typeof v !== 'boolean') throw new DesignError(at, `expected true or false, got ${show(v)} (accepted: true, false)`);
      return;
    case 'string':
      if (typeof v !== 'string') throw new DesignError(at, `expected a string, got ${typeOf}`);
      return;
    case 'strings':
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new DesignError(at, `expected an array of strings, got ${typeOf === 'an array' ? 'an array with a non-string' : typeOf}`);
      return;
    case 'object':
      checkObject(v, d.fields, path, 'field');
      return;
    case 'guards': {
      if (!isObject(v)) throw new DesignError(at, `expected an object keyed by call site, got ${typeOf} (accepted sites: ${SITES.join(', ')})`);
      for (const [site, g] of Object.entries(v)) {
        if (!(SITES as readonly string[]).includes(site)) throw new DesignError(jsonPath(...path, site), `unknown call site (accepted: ${SITES.join(', ')})`);
        checkObject(g, GUARD_FIELDS, [...path, site], 'guard field');
      }
      return;
    }
  }
}

function checkObject(v: unknown, fields: Readonly<Record<string, FieldDesc>>, path: string[], what: string): void {
  if (!isObject(v)) throw new DesignError(jsonPath(...path), `expected an object (accepted: ${Object.keys(fields).join(', ')})`);
  for (const [k, x] of Object.entries(v)) {
    const d = fields[k];
    if (d === undefined) throw new DesignError(jsonPath(...path, k), `unknown ${what} (accepted: ${Object.keys(fields).join(', ')})`);
    checkValue(d, x, [...path, k]);
  }
}

/** A built-in mode by name or alias (designs cannot extend designs: one level, always reviewable). */
function builtin(name: string): ModeTable | undefined {
  return MODES.find((m) => m.name === name || m.aliases.includes(name));
}

/** The locking content in registry order, for hashing and comparing. */
function lockingContent(m: ModeTable): unknown[] {
  return MODE_FIELD_NAMES.filter((k) => !LABEL_FIELDS.includes(k)).map((k) => {
    if (k === 'guards') return SITES.map((s) => Object.keys(GUARD_FIELDS).map((f) => m.guards[s][f as keyof Guard]));
    if (k === 'unshare') return Object.keys(MODE_FIELDS.unshare.kind === 'object' ? MODE_FIELDS.unshare.fields : {}).map((f) => m.unshare[f as keyof ModeTable['unshare']]);
    return m[k];
  });
}

export function modeHash(m: ModeTable): string {
  return createHash('sha256').update(JSON.stringify(lockingContent(m))).digest('hex').slice(0, 16);
}

/** The first field (JSON path) where two tables lock differently, if any. */
export function firstDifference(a: ModeTable, b: ModeTable): string | undefined {
  for (const k of MODE_FIELD_NAMES) {
    if (LABEL_FIELDS.includes(k)) continue;
    if (k === 'guards') {
      for (const s of SITES) for (const f of Object.keys(GUARD_FIELDS) as Array<keyof Guard>) if (a.guards[s][f] !== b.guards[s][f]) return jsonPath('guards', s, f);
    } else if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return jsonPath(k);
  }
  return undefined;
}

/**
 * Combinations the model cannot run, derived from the code; each refused at the path the design
 * stated (`given`), so the message points at the line to change.
 */
function checkRunnable(m: ModeTable, given: Record<string, unknown>): void {
  const guardsGiven = isObject(given['guards']) ? given['guards'] : {};
  const stated = (site: Site, f: keyof Guard): boolean => isObject(guardsGiven[site]) && f in (guardsGiven[site] as object);
  const at = (site: Site, f: keyof Guard): string => (stated(site, f) || !('walkerLock' in given) ? jsonPath('guards', site, f) : jsonPath('walkerLock'));
  for (const site of SITES) {
    const g = m.guards[site];
    // kernel.ts walkerLock() does nothing when the mode has none: the guard would silently protect nothing.
    if (g.walker && m.walkerLock === 'none') {
      throw new DesignError(at(site, 'walker'), `guards["${site}"].walker is true but walkerLock is 'none': there is no walker lock to take (accepted: walkerLock rcu or irq, or walker false at ${site})`);
    }
    // kernel.ts guardEnter: only a mayNotSleep walk trylocks; elsewhere 'tryread' would silently be 'read'.
    if (g.vma === 'tryread' && !TRYLOCK_SITES.includes(site)) {
      throw new DesignError(jsonPath('guards', site, 'vma'), `'tryread' only where a walk may not sleep (${TRYLOCK_SITES.join(', ')}: FOLL_NOWAIT); ${site} always sleeps for the lock (accepted: none, read)`);
    }
  }
  // fault.ts: hugetlbFaultLocked holds the fault guard across huge_pte_alloc → huge_pmd_share, which takes its own guard inside it.
  const f = m.guards.fault;
  const s = m.guards['pmd-share'];
  if (f.walker) {
    throw new DesignError(jsonPath('guards', 'fault', 'walker'), 'the fault guard encloses huge_pte_alloc (pmd_alloc may sleep) and huge_pmd_share\'s sleeping locks: a walker lock (rcu_read_lock / IRQs off) cannot be held there; the RFC adds it to walkers, not to the fault (accepted: false)');
  }
  if (f.vma !== 'none' && s.vma !== 'none') {
    throw new DesignError(jsonPath('guards', stated('pmd-share', 'vma') ? 'pmd-share' : 'fault', 'vma'), "huge_pmd_share runs inside the fault's guard on the same VMA: taking its vma lock again is a recursive down_read that deadlocks behind a waiting writer (accepted: the vma lock in one of fault, pmd-share)");
  }
  if (f.iMmap !== 'none' && s.iMmap !== 'none') {
    throw new DesignError(jsonPath('guards', stated('pmd-share', 'iMmap') ? 'pmd-share' : 'fault', 'iMmap'), "huge_pmd_share runs inside the fault's guard on the same file: taking i_mmap_rwsem again is a recursive lock that deadlocks (accepted: i_mmap_rwsem in one of fault, pmd-share)");
  }
}

/** Validate a parsed design file and resolve it against the built-in it extends. */
export function resolveDesign(x: unknown): Design {
  if (!isObject(x)) throw new DesignError('$', `expected a JSON object (accepted: { "extends": "<mode>", "name": "<name>", ...fields })`);
  const accepted = [...META_KEYS, ...DESIGN_FIELDS];
  for (const k of Object.keys(x)) {
    if (k === 'aliases') throw new DesignError(jsonPath(k), 'designs have no aliases (other names of a built-in mode); name the design with "name"');
    if (!(accepted as readonly string[]).includes(k)) throw new DesignError(jsonPath(k), `unknown field (accepted: ${accepted.join(', ')})`);
  }
  if (x['$schema'] !== undefined && typeof x['$schema'] !== 'string') throw new DesignError(jsonPath('$schema'), 'expected a string (the path or URL of mode.schema.json)');
  const ext = x['extends'];
  if (ext === undefined) throw new DesignError(jsonPath('extends'), `missing: a design states the built-in mode it starts from (accepted: ${MODE_CHOICES.join(', ')})`);
  if (typeof ext !== 'string' || builtin(ext) === undefined) throw new DesignError(jsonPath('extends'), `unknown mode ${show(ext)} (accepted: ${MODE_CHOICES.join(', ')})`);
  const base = builtin(ext)!;
  if (x['name'] === undefined) throw new DesignError(jsonPath('name'), "missing: a design needs a name (letters, digits, '.', '_', '-'), used in reports and replay files");
  for (const k of DESIGN_FIELDS) if (x[k] !== undefined) checkValue(MODE_FIELDS[k], x[k], [k]);
  const name = x['name'] as string;
  if (!NAME_RE.test(name) || name.endsWith('.json')) throw new DesignError(jsonPath('name'), `${show(name)} is not a name (accepted: letters, digits, '.', '_', '-', starting with a letter or digit, not ending in .json)`);
  const given = x as Partial<Record<keyof ModeTable, unknown>>;
  const guardsGiven = (given.guards ?? {}) as Partial<Record<Site, Partial<Guard>>>;
  const table: ModeTable = {
    ...base,
    ...(Object.fromEntries(DESIGN_FIELDS.filter((k) => given[k] !== undefined && k !== 'guards' && k !== 'unshare').map((k) => [k, given[k]])) as Partial<ModeTable>),
    name,
    aliases: [],
    unshare: { ...base.unshare, ...((given.unshare ?? {}) as Partial<ModeTable['unshare']>) },
    guards: Object.fromEntries(SITES.map((s) => [s, { ...base.guards[s], ...guardsGiven[s] }])) as Record<Site, Guard>,
  };
  checkRunnable(table, x);
  const taken = builtin(name);
  if (taken !== undefined) {
    const diff = firstDifference(table, taken);
    if (diff !== undefined) throw new DesignError(jsonPath('name'), `'${name}' is the built-in mode ${taken.name}'s name and this design differs from it at ${diff}: give the design a name of its own`);
  }
  return { table, extends: base.name, hash: modeHash(table) };
}

/**
 * A mode in the design-file format: what `list --mode NAME --json` prints, so a user starts
 * from a copy. A built-in extends itself; a design keeps its base.
 */
export function designFileOf(m: ModeTable, ext: string = m.name): Record<string, unknown> {
  const out: Record<string, unknown> = { extends: ext };
  for (const k of DESIGN_FIELDS) {
    if (k === 'guards') out[k] = Object.fromEntries(SITES.map((s) => [s, Object.fromEntries(Object.keys(GUARD_FIELDS).map((f) => [f, m.guards[s][f as keyof Guard]]))]));
    else out[k] = Array.isArray(m[k]) ? [...(m[k] as readonly string[])] : isObject(m[k]) ? { ...(m[k] as object) } : m[k];
  }
  return out;
}

// ------------------------------------------------------------------ loaded designs

export interface LoadedDesign extends Design {
  /** The file it was read from (or 'replay file' when it came embedded in one). */
  source: string;
}

const LOADED = new Map<string, LoadedDesign>();

/** Register a resolved design under its name; a second, different design of that name is refused. */
export function registerDesign(d: Design, source: string): LoadedDesign {
  const name = d.table.name;
  if (builtin(name) !== undefined) return { ...d, table: builtin(name)!, source }; // an unchanged copy of a built-in is the built-in
  const prev = LOADED.get(name);
  if (prev !== undefined && prev.hash !== d.hash) {
    throw new DesignError(jsonPath('name'), `a different design named '${name}' is already loaded from ${prev.source} (hash ${prev.hash}, this one ${d.hash}): give one of them another name`);
  }
  const l: LoadedDesign = { ...d, source };
  LOADED.set(name, l);
  registerMode(d.table);
  return l;
}

/** The loaded design of this name, if the mode is a design (not a built-in). */
export function loadedDesign(name: string): LoadedDesign | undefined {
  return builtin(name) === undefined ? LOADED.get(name) : undefined;
}
