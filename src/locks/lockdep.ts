/**
 * lockdep-lite: the lock-class order graph and the reports, in the `lockdep` region.
 *
 *   [0, C²·2)          edge (A held, B taken): word 0 = first-seen info (0 = never seen:
 *                      1 + cpu | heldMode << 8 | takenMode << 10), word 1 = that CPU's CUR_OP
 *   then one line      header: reports claimed, assert failures, recursion, inversions
 *   then 32 lines      report records (REPORT_SLOTS), one line each, `kind` written last
 *
 * Like the kernel, it validates classes, not instances, and reports the first time a cycle
 * becomes possible (before any deadlock). A new edge A→B is checked by a search from B over
 * recorded edges back to A (any length), which with ≤ 32 classes is cheap and happens at most
 * C² times per run. Trylocks add no edge. Same-class edges are not recorded: nesting two
 * instances of one class (two ptl, two VMA locks) is left to the caller's documented order —
 * the kernel needs an annotation (spin_lock_nested) for that; we choose not to flag it.
 */
import { type Arena, CPU_WORDS, LINE_WORDS, MAX_LOCK_CLASSES } from '../shared-mem/layout.js';
import { CpuField, HELD_WORDS, MAX_HELD } from '../shared-mem/cpu-block.js';
import { traceHeadAt } from '../shared-mem/trace.js';
import { lockClassName } from './classes.js';
import type { SiteNamer } from './lockstat.js';

const C = MAX_LOCK_CLASSES;
export const REPORT_SLOTS = 32;
const HDR = C * C * 2;
const REPORTS = HDR + LINE_WORDS;
const REPORT_WORDS = LINE_WORDS;
const MAX_PATH = 5;

export const LockMode = { read: 1, write: 2 } as const;
export type LockModeName = 'read' | 'write';

export const LockdepKind = {
  /** Taking B while holding A closes a cycle in the class order graph. */
  inversion: 1,
  /** Taking a lock instance this CPU already holds. */
  recursive: 2,
  /** lockdep_assert_held failed. */
  assertHeld: 3,
  /** Releasing a lock this CPU does not hold. */
  badUnlock: 4,
  /** A lock still held where none may be (end of an operation: "held when returning to user space"). */
  heldAtExit: 5,
} as const;

const KIND_NAMES = ['', 'possible circular locking dependency', 'possible recursive locking', 'lockdep_assert_held failed', 'unlock of a lock not held', 'lock held at exit'];

export interface HeldLock {
  cls: number;
  name: string;
  at: number;
  mode: LockModeName;
}

export interface LockdepReport {
  kind: number;
  kindName: string;
  cpu: number;
  /** The CPU's CUR_OP when it reported (op id + 1; 0 = between ops). */
  op: number;
  /** `op` named by the workload's op list (e.g. `fault [hugetlb_fault]`), '' for 0. */
  opName: string;
  cls: number;
  clsName: string;
  at: number;
  /** The lock held while taking `cls` (inversion, recursion), else -1. */
  heldCls: number;
  heldName: string;
  heldAt: number;
  /** CPU and op that first recorded the opposite order (inversion), else -1. */
  otherCpu: number;
  otherOp: number;
  otherOpName: string;
  /** The reverse path cls → … → heldCls that was already recorded (inversion). */
  path: number[];
  message: string;
}

export function lockdepBase(arena: Arena): number {
  if (arena.layout.lockdep.words < REPORTS + REPORT_SLOTS * REPORT_WORDS) {
    throw new Error('lockdep: the lockdep region is smaller than locks/lockdep.ts lays out');
  }
  return arena.base('lockdep');
}

export function edgeAt(base: number, a: number, b: number): number {
  return base + (a * C + b) * 2;
}

/** Record A→B if new; returns true when this call recorded it first. */
export function addEdge(mem: Int32Array, base: number, a: number, b: number, info: number, op: number): boolean {
  const at = edgeAt(base, a, b);
  if (Atomics.load(mem, at) !== 0) return false;
  if (Atomics.compareExchange(mem, at, 0, info) !== 0) return false;
  Atomics.store(mem, at + 1, op);
  return true;
}

/** A recorded path from → … → to (class ids), or undefined. Breadth-first, so the shortest. */
export function findPath(mem: Int32Array, base: number, from: number, to: number): number[] | undefined {
  const prev = new Int8Array(C).fill(-1);
  const queue = [from];
  prev[from] = from;
  while (queue.length > 0) {
    const x = queue.shift()!;
    if (x === to) {
      const path = [x];
      for (let y = x; y !== from; ) {
        y = prev[y]!;
        path.unshift(y);
      }
      return path;
    }
    for (let y = 0; y < C; y++) {
      if (prev[y] === -1 && y !== x && Atomics.load(mem, edgeAt(base, x, y)) !== 0) {
        prev[y] = x;
        queue.push(y);
      }
    }
  }
  return undefined;
}

export interface ReportInput {
  kind: number;
  cpu: number;
  op: number;
  cls: number;
  at: number;
  heldCls: number;
  heldAt: number;
  otherCpu: number;
  otherOp: number;
  path: readonly number[];
}

export function writeReport(mem: Int32Array, base: number, r: ReportInput): void {
  Atomics.add(mem, base + HDR + r.kind, 1);
  const slot = Atomics.add(mem, base + HDR, 1);
  if (slot >= REPORT_SLOTS) return;
  const at = base + REPORTS + slot * REPORT_WORDS;
  const w = [0, r.cpu, r.op, r.cls, r.at, r.heldCls, r.heldAt, r.otherCpu, r.otherOp, Math.min(r.path.length, MAX_PATH)];
  for (let i = 1; i < w.length; i++) Atomics.store(mem, at + i, w[i]!);
  for (let i = 0; i < Math.min(r.path.length, MAX_PATH); i++) Atomics.store(mem, at + 10 + i, r.path[i]!);
  Atomics.store(mem, at, r.kind);
}

/** Without the workload's op list an op is only numbered (`op 2`). */
const defaultOpName: SiteNamer = (slot) => `op ${slot - 1}`;

function describe(r: Omit<LockdepReport, 'message' | 'kindName' | 'clsName' | 'heldName' | 'opName' | 'otherOpName'>, opName: SiteNamer): string {
  const n = lockClassName;
  const who = (cpu: number, op: number): string => `CPU ${cpu}${op > 0 ? ` (${opName(op)})` : ''}`;
  switch (r.kind) {
    case LockdepKind.inversion:
      return `possible circular locking dependency: ${who(r.cpu, r.op)} takes ${n(r.cls)} while holding ${n(r.heldCls)}, `
        + `but ${who(r.otherCpu, r.otherOp)} already took ${r.path.map(n).join(' -> ')} `
        + `(${n(r.cls)} then ${n(r.heldCls)}): ${n(r.heldCls)} <-> ${n(r.cls)} may deadlock`;
    case LockdepKind.recursive:
      return `possible recursive locking: ${who(r.cpu, r.op)} takes ${n(r.cls)} @${r.at} which it already holds`;
    case LockdepKind.assertHeld:
      return `lockdep_assert_held failed: ${who(r.cpu, r.op)} does not hold ${n(r.cls)} @${r.at}`;
    case LockdepKind.badUnlock:
      return `bad unlock: ${who(r.cpu, r.op)} releases ${n(r.cls)} @${r.at} which it does not hold`;
    case LockdepKind.heldAtExit:
      return `lock held at exit: ${who(r.cpu, r.op)} still holds ${n(r.cls)} @${r.at}`;
    default:
      return `lockdep report kind ${r.kind}`;
  }
}

export interface LockdepCounts {
  reports: number;
  inversions: number;
  recursive: number;
  assertHeld: number;
  badUnlock: number;
  heldAtExit: number;
}

export function readLockdepCounts(arena: Arena): LockdepCounts {
  const m = arena.mem;
  const h = lockdepBase(arena) + HDR;
  return {
    reports: Atomics.load(m, h),
    inversions: Atomics.load(m, h + LockdepKind.inversion),
    recursive: Atomics.load(m, h + LockdepKind.recursive),
    assertHeld: Atomics.load(m, h + LockdepKind.assertHeld),
    badUnlock: Atomics.load(m, h + LockdepKind.badUnlock),
    heldAtExit: Atomics.load(m, h + LockdepKind.heldAtExit),
  };
}

/**
 * Reports recorded so far (the first REPORT_SLOTS in full; counts in readLockdepCounts). `opName`
 * names a CUR_OP value (the workload's op list, e.g. opSiteName); by default ops are numbered.
 */
export function readLockdepReports(arena: Arena, opName: SiteNamer = defaultOpName): LockdepReport[] {
  const m = arena.mem;
  const base = lockdepBase(arena);
  const n = Math.min(Atomics.load(m, base + HDR), REPORT_SLOTS);
  const out: LockdepReport[] = [];
  for (let i = 0; i < n; i++) {
    const at = base + REPORTS + i * REPORT_WORDS;
    const kind = Atomics.load(m, at);
    if (kind === 0) continue; // being written
    const w = (k: number): number => Atomics.load(m, at + k);
    const path: number[] = [];
    for (let k = 0; k < w(9); k++) path.push(w(10 + k));
    const r = { kind, cpu: w(1), op: w(2), cls: w(3), at: w(4), heldCls: w(5), heldAt: w(6), otherCpu: w(7), otherOp: w(8), path };
    out.push({
      ...r,
      opName: r.op > 0 ? opName(r.op) : '',
      otherOpName: r.otherOp > 0 ? opName(r.otherOp) : '',
      clsName: lockClassName(r.cls),
      heldName: r.heldCls >= 0 ? lockClassName(r.heldCls) : '',
      kindName: KIND_NAMES[kind] ?? `kind ${kind}`,
      message: describe(r, opName),
    });
  }
  return out;
}

/** Recorded class-order edges (for reports and debugging). */
export function readLockdepEdges(arena: Arena): Array<{ from: number; to: number; cpu: number; op: number }> {
  const m = arena.mem;
  const base = lockdepBase(arena);
  const out: Array<{ from: number; to: number; cpu: number; op: number }> = [];
  for (let a = 0; a < C; a++) {
    for (let b = 0; b < C; b++) {
      const info = Atomics.load(m, edgeAt(base, a, b));
      if (info !== 0) out.push({ from: a, to: b, cpu: (info & 0xff) - 1, op: Atomics.load(m, edgeAt(base, a, b) + 1) });
    }
  }
  return out;
}

/** Decode one held-lock entry word pair. */
export function decodeHeld(at: number, key: number): HeldLock {
  const cls = key & 0xff;
  return { cls, name: lockClassName(cls), at, mode: (key >> 8 & 3) === LockMode.read ? 'read' : 'write' };
}

/**
 * How many entries of CPU `cpu`'s published held-lock stack to read (at most MAX_HELD), for a
 * reader on another thread. The owning CPU writes the stack with plain stores and publishes it
 * with one Atomics store: its next trace event's head (trace on) or the depth (trace off), see
 * LockTracker.publish. Loading the head first makes the stack published with it visible here.
 */
export function publishedHeldDepth(arena: Arena, cpu: number): number {
  const m = arena.mem;
  Atomics.load(m, traceHeadAt(arena, cpu));
  return Math.min(Atomics.load(m, arena.base('cpu') + cpu * CPU_WORDS + CpuField.HELD_DEPTH), MAX_HELD);
}

/** The held-lock stack of a CPU as published in its CPU block (for the watchdog), outermost first. */
export function readHeldLocks(arena: Arena, cpu: number): HeldLock[] {
  const m = arena.mem;
  const b = arena.base('cpu') + cpu * CPU_WORDS;
  const depth = publishedHeldDepth(arena, cpu);
  const out: HeldLock[] = [];
  for (let i = 0; i < depth; i++) {
    const e = b + CpuField.HELD + i * HELD_WORDS;
    out.push(decodeHeld(Atomics.load(m, e), Atomics.load(m, e + 1)));
  }
  return out;
}
