/**
 * LockTracker: the tracked lock API a CPU uses (one per CPU). Each call does lockdep-lite
 * bookkeeping (the held-lock stack, published in the CPU block for the watchdog; the class
 * order graph), lock_stat accounting, a trace event, and publishes the class being waited for
 * in CpuField.WAIT_CLASS while blocked.
 *
 * Cost control: the uncontended path is trylock + a few private-array writes + 3 Atomics
 * stores for the held stack; lock_stat's accounting (a load, rarely a store, of the bounce
 * table, and private accumulators) runs after the unlock, outside the critical section. The clock
 * is read only for contended acquisitions (wait time) and for timed holds: one uncontended
 * acquisition in 2^holdSampleShift (default 1 in 64; 0 = every one, exact like the kernel).
 */
import { CpuField, HELD_WORDS, MAX_HELD } from '../shared-mem/cpu-block.js';
import { CPU_WORDS, MAX_LOCK_CLASSES } from '../shared-mem/layout.js';
import { TraceEv } from '../shared-mem/trace.js';
import type { CpuCtx } from './ctx.js';
import { correctPrims, type LockPrims } from './prims.js';
import { downgradeWrite } from './rwsem.js';
import { LockStatAcc } from './lockstat.js';
import {
  addEdge, decodeHeld, edgeAt, findPath, type HeldLock, LockdepKind, LockMode, lockdepBase, writeReport,
} from './lockdep.js';
import type { LockClassId } from './classes.js';
import type { LockApi } from './lock-api.js';
import { YieldPt } from './yield-points.js';

export type { HeldLock } from './lockdep.js';
export type HeldMode = 'read' | 'write' | 'any';

/** Defaults of the options below. */
export const TRACKER_DEFAULTS = { lockdep: true, trace: true, holdSampleShift: 6, publishEvery: 4096 } as const;

export interface LockTrackerOptions {
  /** lock_stat accounting; false = no clock reads at all. */
  lockstat: boolean;
  /** Held-lock stack queries always work; false skips the order graph and recursion checks. */
  lockdep?: boolean;
  /** Emit lock/unlock trace events. */
  trace?: boolean;
  /** Primitive table (the torture harness swaps in locks/busted/). Default: correct primitives. */
  prims?: LockPrims;
  /**
   * Time the hold of one uncontended acquisition in 2^shift (0 = every one, the kernel's way).
   * Default (TRACKER_DEFAULTS) 6: two clock reads (~2 × 50 ns) per pair would more than double a tracked lock pair,
   * so by default one hold in 64 is timed (plus every contended one, whose clock read is paid
   * anyway); holdtime-total is then estimated from them. Wait times are always exact.
   * (1 in 32 cost ~2 ns more a pair: 15% of a tracked pair at times, the budget for lock_stat.)
   */
  holdSampleShift?: number;
  /** Publish lock_stat to the arena every this many acquisitions. */
  publishEvery?: number;
}

type Acquire = (ctx: CpuCtx, at: number) => boolean;
type Release = (ctx: CpuCtx, at: number) => void;

const KIND_SPIN = 0;
const KIND_MUTEX = 1;
const KIND_RWSEM = 2;
const R = LockMode.read;
const W = LockMode.write;
const C = MAX_LOCK_CLASSES;
/** Private stack capacity; the CPU block shows the outermost MAX_HELD entries. */
const STACK = 64;

export class LockTracker implements LockApi {
  private readonly mem: Int32Array;
  private readonly b0: number;
  private readonly p: LockPrims;
  private readonly ld: boolean;
  private readonly tr: boolean;
  private readonly ldBase: number;
  private readonly stat: LockStatAcc | undefined;
  private readonly sampleMask: number;
  private readonly publishEvery: number;
  private sampleCtr = 0;
  private publishLeft: number;
  private n = 0;
  private readonly hAt = new Int32Array(STACK);
  /** cls | mode << 8 | kind << 12 */
  private readonly hKey = new Int32Array(STACK);
  /** performance.now() at acquisition, NaN when this hold is not timed. */
  private readonly hT0 = new Float64Array(STACK);
  /**
   * lock_stat of each held acquisition, accounted only after its unlock: the bounce table and
   * the accumulators are lock_stat's own memory traffic, kept out of the critical section so
   * that measuring contention does not lengthen holds (and so make more of it).
   * hWait: ns waited (-1 uncontended); hStat: site | (holderSite + 1) << 8 (contended only).
   */
  private readonly hWait = new Float64Array(STACK);
  private readonly hStat = new Int32Array(STACK);
  /** Edges this CPU knows to be recorded already: skips the arena load. */
  private readonly known = new Uint8Array(C * C);

  constructor(
    readonly ctx: CpuCtx,
    opts: LockTrackerOptions,
  ) {
    this.mem = ctx.mem;
    this.b0 = ctx.block0;
    this.p = opts.prims ?? correctPrims;
    this.ld = opts.lockdep ?? TRACKER_DEFAULTS.lockdep;
    this.tr = opts.trace ?? TRACKER_DEFAULTS.trace;
    this.ldBase = lockdepBase(ctx.arena);
    const shift = Math.max(0, Math.min(30, opts.holdSampleShift ?? TRACKER_DEFAULTS.holdSampleShift));
    this.stat = opts.lockstat ? new LockStatAcc(ctx.arena, ctx.cpuId, shift) : undefined;
    this.sampleMask = (1 << shift) - 1;
    this.publishEvery = Math.max(1, opts.publishEvery ?? TRACKER_DEFAULTS.publishEvery);
    this.publishLeft = this.publishEvery;
    Atomics.store(this.mem, this.b0 + CpuField.HELD_DEPTH, 0);
  }

  // ------------------------------------------------------------ spinlock
  spinLock(cls: LockClassId, at: number): boolean {
    return this.acquire(cls, at, W, KIND_SPIN, this.p.spinLock, this.p.spinTrylock);
  }
  spinTrylock(cls: LockClassId, at: number): boolean {
    return this.tryAcquire(cls, at, W, KIND_SPIN, this.p.spinTrylock);
  }
  /**
   * spin_lock_nested: same-class nesting (two ptl, in a documented order). Same-class edges are
   * never recorded (see lockdep.ts), so the subclass only documents intent at the call site.
   */
  spinLockNested(cls: LockClassId, at: number, subclass: number): boolean {
    void subclass;
    return this.spinLock(cls, at);
  }
  spinUnlock(cls: LockClassId, at: number): void {
    this.release(cls, at, W, this.p.spinUnlock);
  }

  // ------------------------------------------------------------ mutex
  mutexLock(cls: LockClassId, at: number): boolean {
    return this.acquire(cls, at, W, KIND_MUTEX, this.p.mutexLock, this.p.mutexTrylock);
  }
  mutexTrylock(cls: LockClassId, at: number): boolean {
    return this.tryAcquire(cls, at, W, KIND_MUTEX, this.p.mutexTrylock);
  }
  mutexUnlock(cls: LockClassId, at: number): void {
    this.release(cls, at, W, this.p.mutexUnlock);
  }

  // ------------------------------------------------------------ rw_semaphore
  downRead(cls: LockClassId, at: number): boolean {
    return this.acquire(cls, at, R, KIND_RWSEM, this.p.downRead, this.p.downReadTrylock);
  }
  upRead(cls: LockClassId, at: number): void {
    this.release(cls, at, R, this.p.upRead);
  }
  downWrite(cls: LockClassId, at: number): boolean {
    return this.acquire(cls, at, W, KIND_RWSEM, this.p.downWrite, this.p.downWriteTrylock);
  }
  upWrite(cls: LockClassId, at: number): void {
    this.release(cls, at, W, this.p.upWrite);
  }
  /** downgrade_write: the held write lock becomes a read lock in place (no unlock, no new edge). */
  downgradeWrite(cls: LockClassId, at: number): void {
    let i = this.n - 1;
    while (i >= 0 && !(this.hAt[i] === at && (this.hKey[i]! & 0xfff) === (cls | W << 8))) i--;
    if (i < 0) {
      if (this.ld) this.report(LockdepKind.badUnlock, cls, at, -1, -1, -1, -1, []);
    } else {
      this.hKey[i] = (this.hKey[i]! & ~(3 << 8)) | R << 8;
      if (i < MAX_HELD) Atomics.store(this.mem, this.b0 + CpuField.HELD + i * HELD_WORDS + 1, this.hKey[i]! & 0xfff);
    }
    downgradeWrite(this.ctx, at);
  }
  downReadTrylock(cls: LockClassId, at: number): boolean {
    return this.tryAcquire(cls, at, R, KIND_RWSEM, this.p.downReadTrylock);
  }
  downWriteTrylock(cls: LockClassId, at: number): boolean {
    return this.tryAcquire(cls, at, W, KIND_RWSEM, this.p.downWriteTrylock);
  }

  // ------------------------------------------------------------ queries
  get depth(): number {
    return this.n;
  }

  /** Held locks, outermost first. */
  held(): HeldLock[] {
    const out: HeldLock[] = [];
    for (let i = 0; i < this.n; i++) out.push(decodeHeld(this.hAt[i]!, this.hKey[i]!));
    return out;
  }

  /** 'read' = held shared, 'write' = held exclusive (or a spinlock/mutex), 'any' = either. */
  isHeld(cls: LockClassId, at: number, mode: HeldMode): boolean {
    for (let i = this.n - 1; i >= 0; i--) {
      if (this.hAt[i] === at && (this.hKey[i]! & 0xff) === cls && modeMatches(this.hKey[i]!, mode)) return true;
    }
    return false;
  }

  /** Any instance of the class. */
  holdsClass(cls: LockClassId, mode: HeldMode): boolean {
    for (let i = this.n - 1; i >= 0; i--) {
      if ((this.hKey[i]! & 0xff) === cls && modeMatches(this.hKey[i]!, mode)) return true;
    }
    return false;
  }

  /** lockdep_assert_held: false (and a recorded report) when this CPU does not hold it so. */
  assertHeld(cls: LockClassId, at: number, mode: HeldMode): boolean {
    if (this.isHeld(cls, at, mode)) return true;
    this.report(LockdepKind.assertHeld, cls, at, -1, -1, -1, -1, []);
    return false;
  }

  /** Where no lock may be held (end of an operation): false, and a report per held lock, if any is. */
  assertNoneHeld(): boolean {
    for (let i = 0; i < this.n; i++) this.report(LockdepKind.heldAtExit, this.hKey[i]! & 0xff, this.hAt[i]!, -1, -1, -1, -1, []);
    return this.n === 0;
  }

  /** Publish lock_stat to the arena now. */
  flush(): void {
    this.stat?.publish();
  }

  /** Release everything, innermost first (unwinding after RunAborted). Returns how many. */
  releaseAll(): number {
    const count = this.n;
    while (this.n > 0) {
      const i = this.n - 1;
      const key = this.hKey[i]!;
      const at = this.hAt[i]!;
      const kind = key >> 12;
      const read = (key >> 8 & 3) === R;
      this.pop(i);
      const ctx = this.ctx;
      if (kind === KIND_SPIN) this.p.spinUnlock(ctx, at);
      else if (kind === KIND_MUTEX) this.p.mutexUnlock(ctx, at);
      else if (read) this.p.upRead(ctx, at);
      else this.p.upWrite(ctx, at);
    }
    this.flush();
    return count;
  }

  // ------------------------------------------------------------ internals
  private acquire(cls: number, at: number, mode: number, kind: number, lock: Acquire, trylock: Acquire): boolean {
    const ctx = this.ctx;
    // Another CPU may run between deciding to lock and the attempt (it may free the lock's page).
    ctx.yieldAt(YieldPt.lockAttempt + cls);
    if (this.ld) this.checkOrder(cls, at);
    const stat = this.stat;
    let t = NaN;
    let waitNs = -1;
    let contended = false;
    let holder = -1;
    if (!trylock(ctx, at)) {
      contended = true;
      const m = this.mem;
      Atomics.store(m, this.b0 + CpuField.WAIT_CLASS, cls);
      if (stat !== undefined) holder = this.holderSite(at);
      const t0 = stat !== undefined ? performance.now() : 0;
      try {
        lock(ctx, at);
      } finally {
        Atomics.store(m, this.b0 + CpuField.WAIT_CLASS, -1);
      }
      if (stat !== undefined) {
        t = performance.now();
        waitNs = (t - t0) * 1e6;
      }
    } else if (stat !== undefined && (++this.sampleCtr & this.sampleMask) === 0) {
      t = performance.now();
    }
    const site = contended && stat !== undefined ? Atomics.load(this.mem, this.b0 + CpuField.CUR_OP) : 0;
    this.push(at, cls | mode << 8 | kind << 12, t, waitNs, Math.min(site, 0xff) | Math.min(holder + 1, 0xff) << 8);
    if (this.tr) ctx.emit(TraceEv.lock, cls, at);
    return contended;
  }

  private tryAcquire(cls: number, at: number, mode: number, kind: number, trylock: Acquire): boolean {
    // No order edge for a trylock (it cannot deadlock), as in the kernel.
    this.ctx.yieldAt(YieldPt.lockAttempt + cls);
    if (!trylock(this.ctx, at)) return false;
    const stat = this.stat;
    const t = stat !== undefined && (++this.sampleCtr & this.sampleMask) === 0 ? performance.now() : NaN;
    this.push(at, cls | mode << 8 | kind << 12, t, -1, 0);
    if (this.tr) this.ctx.emit(TraceEv.lock, cls, at);
    return true;
  }

  private release(cls: number, at: number, mode: number, unlock: Release): void {
    let i = this.n - 1;
    while (i >= 0 && !(this.hAt[i] === at && (this.hKey[i]! & 0xfff) === (cls | mode << 8))) i--;
    const stat = i >= 0 ? this.stat : undefined;
    let hold = -1;
    let waitNs = -1;
    let info = 0;
    if (i < 0) {
      if (this.ld) this.report(LockdepKind.badUnlock, cls, at, -1, -1, -1, -1, []);
    } else {
      if (stat !== undefined) {
        const t0 = this.hT0[i]!;
        if (t0 === t0) hold = (performance.now() - t0) * 1e6; // the clock stops before the unlock
        waitNs = this.hWait[i]!;
        info = this.hStat[i]!;
      }
      this.pop(i);
    }
    if (this.tr) this.ctx.emit(TraceEv.unlock, cls, at);
    unlock(this.ctx, at);
    if (stat === undefined) return;
    const side = mode === R ? 0 : 1;
    const bounced = stat.acquired(cls, side, at);
    if (waitNs >= 0) stat.contended(cls, side, waitNs, bounced, info & 0xff, (info >> 8 & 0xff) - 1);
    if (hold >= 0) stat.held(cls, side, hold);
    if (--this.publishLeft === 0) {
      this.publishLeft = this.publishEvery;
      stat.publish();
    }
  }


  /**
   * The call site (CUR_OP) of a CPU seen holding lock word `at`, from the held stacks every CPU
   * publishes; -1 if none is seen (released meanwhile, not yet published, or a rwsem whose trylock
   * failed on a waiting writer). The kernel reads the holder's acquire ip from the lock; only
   * contended acquisitions pay this scan.
   */
  private holderSite(at: number): number {
    const m = this.mem;
    const cpus = this.ctx.arena.config.cpus;
    const base = this.ctx.arena.base('cpu');
    for (let c = 0; c < cpus; c++) {
      if (c === this.ctx.cpuId) continue;
      const b = base + c * CPU_WORDS;
      const depth = Math.min(Atomics.load(m, b + CpuField.HELD_DEPTH), MAX_HELD);
      for (let i = 0; i < depth; i++) {
        if (Atomics.load(m, b + CpuField.HELD + i * HELD_WORDS) === at) return Atomics.load(m, b + CpuField.CUR_OP);
      }
    }
    return -1;
  }

  private push(at: number, key: number, t: number, waitNs: number, statInfo: number): void {
    const i = this.n;
    if (i >= STACK) throw new RangeError(`lockdep: more than ${STACK} locks held`);
    this.hAt[i] = at;
    this.hKey[i] = key;
    this.hT0[i] = t;
    this.hWait[i] = waitNs;
    this.hStat[i] = statInfo;
    this.n = i + 1;
    const m = this.mem;
    if (i < MAX_HELD) {
      const e = this.b0 + CpuField.HELD + i * HELD_WORDS;
      Atomics.store(m, e, at);
      Atomics.store(m, e + 1, key & 0xfff);
    }
    Atomics.store(m, this.b0 + CpuField.HELD_DEPTH, i + 1);
  }

  private pop(i: number): void {
    const n = this.n - 1;
    const m = this.mem;
    // Out-of-order release is legal: close the gap.
    for (let j = i; j < n; j++) {
      this.hAt[j] = this.hAt[j + 1]!;
      this.hKey[j] = this.hKey[j + 1]!;
      this.hT0[j] = this.hT0[j + 1]!;
      this.hWait[j] = this.hWait[j + 1]!;
      this.hStat[j] = this.hStat[j + 1]!;
      if (j < MAX_HELD) {
        const e = this.b0 + CpuField.HELD + j * HELD_WORDS;
        Atomics.store(m, e, this.hAt[j]!);
        Atomics.store(m, e + 1, this.hKey[j]! & 0xfff);
      }
    }
    this.n = n;
    Atomics.store(m, this.b0 + CpuField.HELD_DEPTH, n);
  }

  private checkOrder(cls: number, at: number): void {
    for (let i = 0; i < this.n; i++) {
      const a = this.hKey[i]! & 0xff;
      if (this.hAt[i] === at) {
        this.report(LockdepKind.recursive, cls, at, a, at, -1, -1, []);
        continue;
      }
      if (a === cls) continue; // same-class nesting: not tracked (see lockdep.ts)
      const k = a * C + cls;
      if (this.known[k] !== 0) continue;
      this.known[k] = 1;
      this.newEdge(a, this.hAt[i]!, this.hKey[i]! >> 8 & 3, cls, at);
    }
  }

  private newEdge(a: number, aAt: number, aMode: number, b: number, bAt: number): void {
    const m = this.mem;
    const base = this.ldBase;
    const op = Atomics.load(m, this.b0 + CpuField.CUR_OP);
    const info = (1 + this.ctx.cpuId) | aMode << 8;
    if (!addEdge(m, base, a, b, info, op)) return;
    // First to record a→b: does b already reach a? Then a cycle is possible.
    const path = findPath(m, base, b, a);
    if (path === undefined || path.length < 2) return;
    const e = edgeAt(base, path[0]!, path[1]!);
    const otherInfo = Atomics.load(m, e);
    this.report(LockdepKind.inversion, b, bAt, a, aAt, (otherInfo & 0xff) - 1, Atomics.load(m, e + 1), path);
  }

  private report(kind: number, cls: number, at: number, heldCls: number, heldAt: number, otherCpu: number, otherOp: number, path: readonly number[]): void {
    writeReport(this.mem, this.ldBase, {
      kind, cpu: this.ctx.cpuId, op: Atomics.load(this.mem, this.b0 + CpuField.CUR_OP), cls, at, heldCls, heldAt, otherCpu, otherOp, path,
    });
  }
}

function modeMatches(key: number, mode: HeldMode): boolean {
  if (mode === 'any') return true;
  return (key >> 8 & 3) === (mode === 'read' ? R : W);
}
