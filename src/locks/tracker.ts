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
  addEdge, decodeHeld, edgeAt, findPath, type HeldLock, LockdepKind, LockMode, lockdepBase, publishedHeldDepth, writeReport,
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
      Atomics.store(this.mem, this.b0 + CpuField.HELD_DEPTH, this.n);
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
  /*
   * The hot paths (acquire, tryAcquire, release, push, pop) are kept small so V8 inlines them into
   * each public method, where the primitive passed in is a constant: an uncontended pair without
   * lock_stat is then the primitive, private-array writes, and one Atomics store a lock and one an
   * unlock (the trace head, or the held-stack depth with trace off; see publish). Contention,
   * lock_stat, lockdep's first sight of a class pair and misuse go to the out-of-line paths.
   */
  private acquire(cls: number, at: number, mode: number, kind: number, lock: Acquire, trylock: Acquire): boolean {
    const ctx = this.ctx;
    // Another CPU may run between deciding to lock and the attempt (it may free the lock's page).
    ctx.yieldAt(YieldPt.lockAttempt + cls);
    if (this.ld && this.n !== 0) this.checkOrder(cls, at);
    if (!trylock(ctx, at)) return this.acquireContended(cls, at, mode, kind, lock);
    const i = this.push(at, cls | mode << 8 | kind << 12);
    if (this.stat !== undefined) this.sampleHold(i);
    this.publish(TraceEv.lock, cls, at);
    return false;
  }

  /** The trylock failed: wait in the primitive (published in WAIT_CLASS), timed with lock_stat. */
  private acquireContended(cls: number, at: number, mode: number, kind: number, lock: Acquire): boolean {
    const stat = this.stat;
    const m = this.mem;
    Atomics.store(m, this.b0 + CpuField.WAIT_CLASS, cls);
    const holder = stat !== undefined ? this.holderSite(at) : -1;
    const t0 = stat !== undefined ? performance.now() : 0;
    try {
      lock(this.ctx, at);
    } finally {
      Atomics.store(m, this.b0 + CpuField.WAIT_CLASS, -1);
    }
    const i = this.push(at, cls | mode << 8 | kind << 12);
    if (stat !== undefined) {
      const t = performance.now();
      const site = Atomics.load(m, this.b0 + CpuField.CUR_OP);
      this.hT0[i] = t;
      this.hWait[i] = (t - t0) * 1e6;
      this.hStat[i] = Math.min(site, 0xff) | Math.min(holder + 1, 0xff) << 8;
    }
    this.publish(TraceEv.lock, cls, at);
    return true;
  }

  /** lock_stat of an uncontended acquisition: its hold is timed one time in 2^holdSampleShift. */
  private sampleHold(i: number): void {
    this.hT0[i] = (++this.sampleCtr & this.sampleMask) === 0 ? performance.now() : NaN;
    this.hWait[i] = -1;
    this.hStat[i] = 0;
  }

  private tryAcquire(cls: number, at: number, mode: number, kind: number, trylock: Acquire): boolean {
    // No order edge for a trylock (it cannot deadlock), as in the kernel.
    this.ctx.yieldAt(YieldPt.lockAttempt + cls);
    if (!trylock(this.ctx, at)) return false;
    const i = this.push(at, cls | mode << 8 | kind << 12);
    if (this.stat !== undefined) this.sampleHold(i);
    this.publish(TraceEv.lock, cls, at);
    return true;
  }

  private release(cls: number, at: number, mode: number, unlock: Release): void {
    let i = this.n - 1;
    // The innermost lock is the common case; otherwise search (out-of-order release is legal).
    if (i < 0 || this.hAt[i] !== at || (this.hKey[i]! & 0xfff) !== (cls | mode << 8)) {
      i = this.find(cls, at, mode);
      if (i < 0) {
        if (this.ld) this.report(LockdepKind.badUnlock, cls, at, -1, -1, -1, -1, []);
        this.publish(TraceEv.unlock, cls, at);
        unlock(this.ctx, at);
        return;
      }
    }
    const stat = this.stat;
    if (stat === undefined) {
      this.pop(i);
      this.publish(TraceEv.unlock, cls, at);
      unlock(this.ctx, at);
      return;
    }
    const t0 = this.hT0[i]!;
    const hold = t0 === t0 ? (performance.now() - t0) * 1e6 : -1; // the clock stops before the unlock
    const waitNs = this.hWait[i]!;
    const info = this.hStat[i]!;
    this.pop(i);
    this.publish(TraceEv.unlock, cls, at);
    unlock(this.ctx, at);
    this.account(stat, cls, mode === R ? 0 : 1, at, hold, waitNs, info);
  }

  private find(cls: number, at: number, mode: number): number {
    let i = this.n - 1;
    while (i >= 0 && !(this.hAt[i] === at && (this.hKey[i]! & 0xfff) === (cls | mode << 8))) i--;
    return i;
  }

  /** lock_stat of one released acquisition, after the unlock (outside the critical section). */
  private account(stat: LockStatAcc, cls: number, side: number, at: number, hold: number, waitNs: number, info: number): void {
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
      const depth = publishedHeldDepth(this.ctx.arena, c);
      for (let i = 0; i < depth; i++) {
        if (Atomics.load(m, b + CpuField.HELD + i * HELD_WORDS) === at) return Atomics.load(m, b + CpuField.CUR_OP);
      }
    }
    return -1;
  }

  /** Push onto the private stack and its published copy (entries only: see publish). Returns the index. */
  private push(at: number, key: number): number {
    const i = this.n;
    if (i >= STACK) tooDeep();
    this.hAt[i] = at;
    this.hKey[i] = key;
    this.n = i + 1;
    if (i < MAX_HELD) {
      // Plain stores: only this CPU writes its block, and publish()'s Atomics store orders them.
      const e = this.b0 + CpuField.HELD + i * HELD_WORDS;
      this.mem[e] = at;
      this.mem[e + 1] = key & 0xfff;
    }
    return i;
  }

  /** Remove entry i (out of order: close the gap). The caller publishes. */
  private pop(i: number): void {
    const n = this.n - 1;
    this.n = n;
    if (i !== n) this.closeGap(i, n);
  }

  private closeGap(i: number, n: number): void {
    const m = this.mem;
    for (let j = i; j < n; j++) {
      this.hAt[j] = this.hAt[j + 1]!;
      this.hKey[j] = this.hKey[j + 1]!;
      this.hT0[j] = this.hT0[j + 1]!;
      this.hWait[j] = this.hWait[j + 1]!;
      this.hStat[j] = this.hStat[j + 1]!;
      if (j < MAX_HELD) {
        const e = this.b0 + CpuField.HELD + j * HELD_WORDS;
        m[e] = this.hAt[j]!;
        m[e + 1] = this.hKey[j]! & 0xfff;
      }
    }
  }

  /**
   * Publish the held-lock stack after a push or pop to the CPUs that read it (the watchdog,
   * deadlock and stall reports, lock_stat's holder site, the IPI deadlock check: all through
   * publishedHeldDepth). With trace on, the lock/unlock event's head store (one Atomics store)
   * publishes the depth and entries written before it with plain stores; with trace off, an
   * Atomics store of the depth does. Either way one Atomics store per lock or unlock, not four.
   */
  private publish(ev: number, cls: number, at: number): void {
    const d = this.b0 + CpuField.HELD_DEPTH;
    if (this.tr) {
      this.mem[d] = this.n;
      this.ctx.emit(ev, cls, at);
    } else {
      Atomics.store(this.mem, d, this.n);
    }
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

function tooDeep(): never {
  throw new RangeError(`lockdep: more than ${STACK} locks held`);
}

function modeMatches(key: number, mode: HeldMode): boolean {
  if (mode === 'any') return true;
  return (key >> 8 & 3) === (mode === 'read' ? R : W);
}
