/**
 * What a lock primitive needs from the CPU that runs it. Every blocking wait in pmdtorture goes
 * through `block`, so a scheduler can take over waiting without touching any primitive: the
 * parallel waiter spins then sleeps on Atomics.wait; the controlled scheduler (sched/) marks the
 * CPU not runnable until the word changes.
 */
export interface LockCtx {
  /** The arena's words. */
  readonly mem: Int32Array;
  readonly cpuId: number;
  /**
   * Wait while mem[at] === expected. May return early (spuriously): callers re-check their
   * condition in a loop. Throws RunAborted when the run is being torn down.
   *
   * `deadline` (in the clock of CpuCtx.now()) marks a wait its caller will give up on at that
   * time (a timeout it re-checks on return). Parallel waiters return within a short sleep anyway
   * and ignore it; a controlled waiter must, or a CPU whose only way out is its timeout would
   * look deadlocked.
   */
  block(at: number, expected: number, deadline?: number): void;
  /** Wake up to `count` CPUs blocked on mem[at]. */
  wake(at: number, count: number): void;
}

/** Thrown out of a wait when the run is aborted (deadlock, crash, SIGINT): unwinds the CPU. */
export class RunAborted extends Error {
  constructor(why = 'run aborted') {
    super(why);
    this.name = 'RunAborted';
  }
}

/**
 * The wider CPU context that RCU, the IRQ model and lock tracking need: the arena, the trace,
 * and a way to run code at every interruptible moment (named points and wait rounds), which is
 * where a CPU with interrupts enabled acknowledges IPIs and runs due RCU callbacks.
 */
export interface CpuCtx extends LockCtx {
  readonly arena: import('../shared-mem/layout.js').Arena;
  /** Word index of this CPU's block in the `cpu` region (see shared-mem/cpu-block.ts). */
  readonly block0: number;
  /** Append an event to this CPU's trace ring. */
  emit(ev: number, a: number, b: number): void;
  /** Register a poller run at every named point and every wait round (interrupt delivery). */
  addPoller(fn: () => void): void;
  /** Run the pollers now. */
  poll(): void;
  /**
   * The clock every timeout in the lock library reads (ms). Parallel runs: wall time
   * (performance.now()). Controlled runs: the scheduler's virtual clock, which reads the same at
   * the same step of every replay and advances only when no CPU can run without a timeout
   * firing — so a timeout never fires because a descheduled CPU has not run yet, or because
   * the host is slow. Timestamps kept only for statistics and traces may read the wall clock.
   */
  now(): number;
  /** True under a controlled scheduler (one CPU runs at a time; decisions must not read time). */
  readonly controlled: boolean;
  /**
   * A fine-grained yield point (ids: locks/yield-points.ts, workers/hugetlb/pte.ts): where a
   * controlled scheduler may switch CPUs between two shared accesses. Parallel runs pay a
   * branch on a constant field and nothing else.
   */
  yieldAt(point: number): void;
}
