/**
 * Epoch-based RCU over the arena, shared by every worker.
 *
 * Design (a wide-counter form of liburcu's memb flavor):
 * - GP is a global epoch counter, a multiple of 4, bumped by 4 to start a grace period.
 * - Each CPU has one reader word CTR in its own cache line: 0 when outside any read-side
 *   section, else `snapshot | 1` where snapshot is GP loaded at the outermost rcu_read_lock.
 *   Bit 1 (WAIT) is set by a grace-period waiter that sleeps on the word, so the reader's
 *   unlock (an exchange, which costs the same as a sequentially consistent store in V8) knows
 *   to wake it; nesting is counted in the worker, not in shared memory.
 * - synchronizeRcu(): e = (GP += 4); wait until every CPU's CTR is 0 or carries a snapshot >= e.
 *   Proof: a reader inside a section when the add happened has snapshot <= e - 4; it keeps that
 *   CTR until it leaves the section, and any later section loads GP >= e. So observing
 *   "0 or >= e" on each CPU after the add means each such section has ended. liburcu needs two
 *   phase flips only because its counter is a single phase bit; with a 30-bit epoch one
 *   increment suffices (wrap is handled by comparing differences, and would need 2^28 GPs
 *   while one reader stays inside one section).
 * - Atomics are sequentially consistent, so no further fences are needed: the reader's CTR
 *   store precedes its loads of protected data, and the updater's unpublish precedes the add.
 * - Quiescent states are reported lazily, as non-preemptible Tree RCU does (rcu_read_unlock is
 *   free there; the CPU reports at the next context switch or tick): rcu_read_unlock leaves CTR
 *   as it is, and rcu_read_lock stores only when GP moved since the CPU's last snapshot. The CPU
 *   reports the quiescent state (CTR = 0, waking a GP waiter) at its next poll once a GP has
 *   started, at once when it is about to sleep (every ctx.block polls before sleeping: a
 *   context switch is a quiescent state), at its next rcu_read_lock, or by being done.
 *   Safety is unchanged — grace periods wait for a superset of the real readers — and the
 *   steady-state read side is one load of a read-mostly line: no store, no bounce. A CPU that
 *   sleeps or computes for long outside ctx.block and named points should call quiesce() first,
 *   or it holds grace periods up (and the stall detector names it, as the kernel names a CPU
 *   that stops reporting quiescent states).
 * - COMPLETED = the largest e whose grace period is known to be over. Because a GP with a larger
 *   e waits for a superset of readers, "COMPLETED >= c" means every GP up to c is over.
 * - Grace-period latency stamps: rcu-gp-latency.ts. call_rcu and rcu_barrier: rcu-callbacks.ts.
 *   The stall detector: rcu-stall.ts. Main-thread readers: rcu-stats.ts. Layout: rcu-words.ts.
 *   The busted flavours (a grace period that returns early, a reader that never publishes) are
 *   subclasses in busted/rcu.ts, off this hot path.
 */
import { CPU_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { TraceEv } from '../shared-mem/trace.js';
import type { CpuCtx } from './ctx.js';
import { YieldPt } from './yield-points.js';
import { ACTIVE, GP_STEP, RcuCpu, RcuError, RcuG, RcuTrace, WAIT, blocks, rcuCpuLine, reached } from './rcu-words.js';
import { recordGps, stampGp } from './rcu-gp-latency.js';
import { RcuCallbacks, type RcuGpSide } from './rcu-callbacks.js';

export { RcuCpu, RcuError, RcuG, RcuTrace, rcuCtrAt, rcuRingCapacity } from './rcu-words.js';
export { resetRcuLatency } from './rcu-gp-latency.js';
export { RCU_STALL_DEFAULT_MS, type RcuStall, findRcuStalls, formatRcuStall, rcuHoldsGp, setRcuStallThreshold } from './rcu-stall.js';
export { type RcuStats, readRcuStats, takeRcuBacklogPeak } from './rcu-stats.js';

/** One per CPU (it caches what the CPU published in its reader word): `new Rcu(cpu)`. */
export class Rcu implements RcuGpSide {
  /** Read-side nesting depth of this CPU (worker-local: only the owner reads it). */
  readDepth = 0;
  /** This CPU's reader word. */
  readonly ctrAt: number;
  /** What this CPU last published in CTR, WAIT aside (0 = quiescent). Owner-local. */
  private snap = 0;
  readonly mem: Int32Array;
  readonly base: number;
  readonly gpAt: number;
  readonly mine: number;
  readonly ncpu: number;
  /** Under a controlled scheduler: only then are the read side's yield points worth a call (~2.5 ns a walk). */
  protected readonly controlled: boolean;
  /** call_rcu and rcu_barrier. */
  private readonly cbs: RcuCallbacks;

  constructor(readonly ctx: CpuCtx) {
    const arena = ctx.arena;
    this.mem = ctx.mem;
    this.base = arena.base('rcu');
    this.gpAt = this.base + RcuG.GP;
    this.ncpu = arena.config.cpus;
    this.mine = rcuCpuLine(this.base, ctx.cpuId);
    this.ctrAt = this.mine + RcuCpu.CTR;
    this.controlled = ctx.controlled;
    this.cbs = new RcuCallbacks(ctx, this);
    ctx.addPoller(() => this.poll());
  }

  // ---- read side: one load in, nothing out; a store only when a grace period has started ----

  rcuReadLock(): void {
    if (this.readDepth++ === 0) {
      const v = Atomics.load(this.mem, this.gpAt) | ACTIVE;
      if (v !== this.snap) this.republish(v);
    }
    // Controlled runs: another CPU may run (start a grace period, free) inside the new section.
    if (this.controlled) this.ctx.yieldAt(YieldPt.rcuReadLock);
  }

  rcuReadUnlock(): void {
    // Controlled runs: another CPU may run while this CPU is still inside the section.
    if (this.controlled) this.ctx.yieldAt(YieldPt.rcuReadUnlock);
    // Free, as in non-preemptible kernels: the quiescent state is reported by the next poll,
    // wait round or rcu_read_lock (which republishes when a grace period has started).
    if (--this.readDepth < 0) {
      this.readDepth = 0;
      throw new RcuError(`rcu_read_unlock without rcu_read_lock on cpu ${this.ctx.cpuId}`);
    }
  }

  private republish(v: number): void {
    // An exchange, not a store: a GP waiter may have set WAIT on the old word and sleeps on it.
    const old = Atomics.exchange(this.mem, this.ctrAt, v);
    this.snap = v;
    if ((old & WAIT) !== 0) this.ctx.wake(this.ctrAt, this.ncpu);
  }

  /** Report a quiescent state now (outside read-side sections only). Called by poll(). */
  quiesce(): void {
    if (this.readDepth !== 0 || this.snap === 0) return;
    this.snap = 0;
    if ((Atomics.exchange(this.mem, this.ctrAt, 0) & WAIT) !== 0) this.ctx.wake(this.ctrAt, this.ncpu);
  }

  /** Poller: report a deferred quiescent state when one is wanted, then the callbacks' turn. */
  poll(): void {
    // Outside any section: report the deferred quiescent state if a GP waits for one, and always
    // when about to sleep (a wait round: STATE is blocked) — a context switch is a quiescent
    // state, and a sleeper must not need a kick from every later grace period.
    if (
      this.snap !== 0 &&
      this.readDepth === 0 &&
      ((Atomics.load(this.mem, this.gpAt) | ACTIVE) !== this.snap ||
        this.mem[this.ctx.block0 + CpuField.STATE] === CpuState.blocked) // own word: only this CPU writes it
    ) {
      this.quiesce();
    }
    this.cbs.poll();
  }

  // ---- grace periods ----

  /** synchronize_rcu(): returns once every reader that was inside a section at entry has left it. */
  synchronizeRcu(): void {
    if (this.readDepth > 0) {
      throw new RcuError(`synchronize_rcu() inside an RCU read-side section on cpu ${this.ctx.cpuId} would deadlock`);
    }
    const m = this.mem;
    this.quiesce();
    const e = Atomics.add(m, this.gpAt, GP_STEP) + GP_STEP;
    stampGp(m, this.base, e);
    this.ctx.emit(TraceEv.rcu, RcuTrace.gpStart, e);
    this.waitReaders(e);
    this.complete(e);
    Atomics.add(m, this.mine + RcuCpu.SYNCS, 1);
    this.ctx.emit(TraceEv.rcu, RcuTrace.gpEnd, e);
    this.cbs.runAfterGp();
  }

  /** Wait until no other CPU is inside a section that began before epoch e. */
  protected waitReaders(e: number): void {
    const m = this.mem;
    const cpuBase = this.ctx.arena.base('cpu');
    for (let r = 0; r < this.ncpu; r++) {
      if (r === this.ctx.cpuId) continue;
      const at = rcuCpuLine(this.base, r) + RcuCpu.CTR;
      const stateAt = cpuBase + r * CPU_WORDS + CpuField.STATE;
      for (;;) {
        let v = Atomics.load(m, at);
        if (!blocks(v, e)) break;
        // A finished or crashed CPU runs no reader any more (a crash inside a section is
        // reported by the crash itself): it must not hold grace periods up forever.
        const s = Atomics.load(m, stateAt);
        if (s === CpuState.done || s === CpuState.crashed) break;
        if ((v & WAIT) === 0) {
          if (Atomics.compareExchange(m, at, v, v | WAIT) !== v) continue;
          v |= WAIT;
        }
        // Force the quiescent state (the kernel's resched IPI): a CPU asleep in a wait round
        // polls — and reports a deferred quiescent state — as soon as it is woken.
        if (s === CpuState.blocked) {
          const w = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.WAIT_ON);
          if (w >= 0) this.ctx.wake(w, this.ncpu);
        }
        this.ctx.block(at, v);
      }
    }
  }

  private complete(e: number): void {
    this.raiseCompleted(e);
    Atomics.add(this.mem, this.base + RcuG.GPS, 1);
  }

  /** COMPLETED = max(COMPLETED, e), recording the latency of the epochs it jumps over. */
  private raiseCompleted(e: number): boolean {
    const m = this.mem;
    const at = this.base + RcuG.COMPLETED;
    for (;;) {
      const c = Atomics.load(m, at);
      if (reached(c, e)) return false;
      if (Atomics.compareExchange(m, at, c, e) === c) {
        recordGps(m, this.base, c, e);
        return true;
      }
    }
  }

  done(target: number): boolean {
    return reached(Atomics.load(this.mem, this.base + RcuG.COMPLETED), target);
  }

  /**
   * Drive the grace period that `target` needs without blocking: make sure GP has reached it,
   * then scan the reader words once. Returns true when the GP is over.
   */
  tryAdvance(target: number): boolean {
    const m = this.mem;
    if (this.done(target)) return true;
    let g = Atomics.load(m, this.gpAt);
    while (!reached(g, target)) {
      const seen = Atomics.compareExchange(m, this.gpAt, g, g + GP_STEP);
      g = seen === g ? g + GP_STEP : seen;
    }
    // Whoever moved GP to target stamps it; if the stall watchdog did, this first driver does.
    stampGp(m, this.base, target);
    // Our own deferred quiescent state must not hold up the grace period we are driving.
    this.quiesce();
    // The add that produced `target` happened after the callback was queued (it read GP <
    // target), so readers without a snapshot >= target either predate the callback or are gone.
    const cpuBase = this.ctx.arena.base('cpu');
    for (let r = 0; r < this.ncpu; r++) {
      const v = Atomics.load(m, rcuCpuLine(this.base, r) + RcuCpu.CTR);
      if (!blocks(v, target)) continue;
      const s = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.STATE);
      if (s === CpuState.done || s === CpuState.crashed) continue;
      return false;
    }
    if (!this.raiseCompleted(target)) return true;
    Atomics.add(m, this.base + RcuG.GPS, 1);
    Atomics.add(m, this.base + RcuG.ASYNC_GPS, 1);
    this.ctx.emit(TraceEv.rcu, RcuTrace.asyncGp, target);
    return true;
  }

  // ---- call_rcu and rcu_barrier (rcu-callbacks.ts) ----

  /** Register this worker's handler for callback `kind` (every worker registers the same set). */
  onCallback(kind: number, fn: (arg: number) => void): void {
    this.cbs.onCallback(kind, fn);
  }

  /** call_rcu(): run handler `kind` with `arg` on some CPU after a grace period. Never fails. */
  callRcu(kind: number, arg: number): void {
    this.cbs.callRcu(kind, arg);
  }

  /** rcu_barrier(): wait until every callback queued before the call has been invoked. */
  rcuBarrier(): void {
    this.cbs.rcuBarrier();
  }
}
