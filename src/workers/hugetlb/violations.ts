/**
 * Violation records in the `violations` region: a KASAN-like splat per violation. The first
 * `violationSlots` are kept in full (fields, the CPU's held locks, the last 32 trace events of
 * every CPU); later ones are only counted. A record is published by writing VALID last.
 */
import { type Arena, LINE_WORDS, TRACE_EVENT_WORDS, VIOLATION_WORDS } from '../../shared-mem/layout.js';
import { CpuField, HELD_WORDS } from '../../shared-mem/cpu-block.js';
import { CPU_WORDS } from '../../shared-mem/layout.js';
import { copyTrace, traceEventName } from '../../shared-mem/trace.js';
import { lockClassName } from '../../locks/classes.js';
import { PAGE_LEVEL_NAMES, PAGE_STATE_NAMES } from './pool.js';
import { OUTCOMES } from './outcomes.js';
import { SITES } from './modes.js';
import { OPS } from './ops-list.js';
import { ROLES_IN_RECORD, describeRole } from './roles.js';

export const TRACE_PER_CPU = 32;
const V = {
  VALID: 0, KIND: 1, SITE: 2, OP: 3, CPU: 4, PAGE: 5, TAG: 6, GEN: 7, STATE: 8, LEVEL: 9, OWNER: 10,
  MM: 11, PUD_INDEX: 12, SLOT: 13, VALUE: 14, ACCESS: 15, US: 16, HELD_DEPTH: 20, HELD: 21,
  /** After the held locks (21 + 16 × 2): the page's last roles, (µs, role word) pairs. */
  ROLES_N: 53, ROLES: 54,
} as const;
const MAX_HELD_REC = 16;
const ACCESS_NAMES = ['read', 'lock', 'write', 'get_page', 'walk'] as const;
export const Access = { read: 0, lock: 1, write: 2, getPage: 3, walk: 4 } as const;

export interface ViolationInput {
  kind: number;
  site: number;
  op: number;
  page: number;
  tag: number;
  gen: number;
  state: number;
  level: number;
  owner: number;
  mm: number;
  pudIndex: number;
  slot: number;
  value: number;
  access: number;
  /** The PMD page's last roles as flat (µs, role word) pairs (roles.ts), when it is one. */
  roles?: readonly number[] | undefined;
}

function slotBase(arena: Arena, i: number): number {
  return arena.base('violations') + LINE_WORDS + i * (VIOLATION_WORDS + arena.config.cpus * TRACE_PER_CPU * TRACE_EVENT_WORDS);
}

/** Count a violation and, while slots remain, record it in full. Returns its sequence number. */
export function recordViolation(arena: Arena, cpu: number, v: ViolationInput, t0: number): number {
  const m = arena.mem;
  const seq = Atomics.add(m, arena.base('violations'), 1);
  if (seq >= arena.config.violationSlots) return seq;
  const b = slotBase(arena, seq);
  const put = (f: number, x: number): void => {
    Atomics.store(m, b + f, x);
  };
  put(V.KIND, v.kind);
  put(V.SITE, v.site);
  put(V.OP, v.op);
  put(V.CPU, cpu);
  put(V.PAGE, v.page);
  put(V.TAG, v.tag);
  put(V.GEN, v.gen);
  put(V.STATE, v.state);
  put(V.LEVEL, v.level);
  put(V.OWNER, v.owner);
  put(V.MM, v.mm);
  put(V.PUD_INDEX, v.pudIndex);
  put(V.SLOT, v.slot);
  put(V.VALUE, v.value);
  put(V.ACCESS, v.access);
  put(V.US, Math.round((performance.now() - t0) * 1000));
  const blk = arena.base('cpu') + cpu * CPU_WORDS;
  const depth = Math.min(Atomics.load(m, blk + CpuField.HELD_DEPTH), MAX_HELD_REC);
  put(V.HELD_DEPTH, depth);
  for (let i = 0; i < depth * HELD_WORDS; i++) put(V.HELD + i, Atomics.load(m, blk + CpuField.HELD + i));
  const roles = v.roles ?? [];
  const nRoles = Math.min(roles.length >> 1, ROLES_IN_RECORD);
  put(V.ROLES_N, nRoles);
  for (let i = 0; i < 2 * nRoles; i++) put(V.ROLES + i, roles[roles.length - 2 * nRoles + i]!);
  const tr = b + VIOLATION_WORDS;
  for (let c = 0; c < arena.config.cpus; c++) {
    const dst = tr + c * TRACE_PER_CPU * TRACE_EVENT_WORDS;
    for (let i = 0; i < TRACE_PER_CPU * TRACE_EVENT_WORDS; i++) Atomics.store(m, dst + i, 0);
    copyTrace(arena, c, TRACE_PER_CPU, dst);
  }
  Atomics.store(m, b + V.VALID, 1);
  return seq;
}

export interface HeldLockInfo {
  cls: string;
  at: number;
  mode: 'read' | 'write';
}

export interface ViolationRecord {
  kind: string;
  /** The run's scenario and protection mode (run-wide, named in every record so a splat stands alone). */
  scenario: string;
  mode: string;
  site: string;
  op: string;
  cpu: number;
  /** With several worlds (--worlds): the world of the CPU that found it (cpu mod worlds). */
  world?: number | undefined;
  page: number;
  /** Generation the walker's pointer carried. */
  pointerGen: number;
  /** Generation (low 15 bits) of the page when it was dereferenced. */
  pageGen: number;
  pageState: string;
  pageLevel: string;
  pageOwner: number;
  mm: number;
  pudIndex: number;
  slot: number;
  value: number;
  access: string;
  us: number;
  /** The page's last roles, oldest first: who it belonged to and when (PMD pages only). */
  roleHistory?: Array<{ us: number; role: string }> | undefined;
  /** The command that re-runs this violation's own seed, where the report folds several (soak rounds, --seeds). */
  rerun?: string | undefined;
  heldLocks: HeldLockInfo[];
  trace: Array<{ cpu: number; us: number; event: string; a: number; b: number }>;
}

export function violationCount(arena: Arena): number {
  return Atomics.load(arena.mem, arena.base('violations'));
}

/** Main thread: the recorded violations, in order, labelled with the run's scenario and mode. */
export function readViolations(arena: Arena, run: { scenario: string; mode: string }): ViolationRecord[] {
  const m = arena.mem;
  const n = Math.min(violationCount(arena), arena.config.violationSlots);
  const worlds = arena.config.worlds ?? 1;
  const out: ViolationRecord[] = [];
  for (let i = 0; i < n; i++) {
    const b = slotBase(arena, i);
    const g = (f: number): number => Atomics.load(m, b + f);
    if (g(V.VALID) !== 1) continue;
    const held: HeldLockInfo[] = [];
    for (let h = 0; h < g(V.HELD_DEPTH); h++) {
      const at = g(V.HELD + h * HELD_WORDS);
      const cm = g(V.HELD + h * HELD_WORDS + 1);
      held.push({ cls: lockClassName(cm & 0xff), at, mode: cm >> 8 === 1 ? 'read' : 'write' });
    }
    const trace: ViolationRecord['trace'] = [];
    for (let c = 0; c < arena.config.cpus; c++) {
      const tr = b + VIOLATION_WORDS + c * TRACE_PER_CPU * TRACE_EVENT_WORDS;
      for (let e = 0; e < TRACE_PER_CPU; e++) {
        const at = tr + e * TRACE_EVENT_WORDS;
        const ev = Atomics.load(m, at + 1);
        if (ev === 0) break;
        trace.push({ cpu: c, us: Atomics.load(m, at), event: traceEventName(ev), a: Atomics.load(m, at + 2), b: Atomics.load(m, at + 3) });
      }
    }
    trace.sort((x, y) => x.us - y.us);
    const roleHistory: Array<{ us: number; role: string }> = [];
    for (let i = 0; i < Math.min(g(V.ROLES_N), ROLES_IN_RECORD); i++) roleHistory.push({ us: g(V.ROLES + 2 * i), role: describeRole(g(V.ROLES + 2 * i + 1)) });
    out.push({
      kind: OUTCOMES[g(V.KIND)] ?? `kind${g(V.KIND)}`,
      scenario: run.scenario,
      mode: run.mode,
      site: SITES[g(V.SITE)] ?? 'destroyer',
      op: OPS[g(V.OP)]?.name ?? `op${g(V.OP)}`,
      cpu: g(V.CPU),
      ...(worlds > 1 ? { world: g(V.CPU) % worlds } : {}),
      page: g(V.PAGE),
      pointerGen: g(V.TAG),
      pageGen: g(V.GEN),
      pageState: PAGE_STATE_NAMES[g(V.STATE)] ?? String(g(V.STATE)),
      pageLevel: PAGE_LEVEL_NAMES[g(V.LEVEL)] ?? String(g(V.LEVEL)),
      pageOwner: g(V.OWNER),
      mm: g(V.MM),
      pudIndex: g(V.PUD_INDEX),
      slot: g(V.SLOT),
      value: g(V.VALUE),
      access: ACCESS_NAMES[g(V.ACCESS)] ?? '?',
      us: g(V.US),
      ...(roleHistory.length > 0 ? { roleHistory } : {}),
      heldLocks: held,
      trace,
    });
  }
  return out;
}
