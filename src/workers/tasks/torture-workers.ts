/**
 * The main-thread side every torture shares (its worker side: torture-cpu.ts): one worker thread
 * per CPU over one arena, their results and errors, the start of the run, a watchdog, one
 * snapshot of who waits where, and a stop or teardown that never hangs. Strict waiters sleep
 * without a timeout, so an abort alone cannot wake a CPU stranded by a lost wake-up: teardown
 * keeps notifying the word every CPU publishes it sleeps on (CpuField.WAIT_ON) until all have
 * unwound, then terminates.
 */
import { Worker } from 'node:worker_threads';
import { Arena, type ArenaConfig, CPU_WORDS, defaultArenaConfig } from '../../shared-mem/layout.js';
import { CpuField, CpuState } from '../../shared-mem/cpu-block.js';
import { Ctl, StopState, ctlAt, requestStop, stopState } from '../../shared-mem/ctl.js';
import type { HeldLock } from '../../locks/lockdep.js';
import { cpuSnapshots } from '../../locks/cpu-snapshot.js';

/** The arena of a lock torture: CPU blocks, lock words and scratch; the hugetlb model's tables at their smallest. */
export function tortureArenaConfig(cpus: number): ArenaConfig {
  return defaultArenaConfig(cpus, { pages: 4, entriesPerPage: 4, folios: 4, rcuCallbacks: 4, vmas: 1, mms: 1, files: 1, faultMutexes: 1 });
}

/** A lock torture's arena, once its CPU count is known good (a RangeError naming the torture if not). */
export function tortureArena(name: string, cpus: number, minCpus: number, maxCpus: number): Arena {
  if (!Number.isInteger(cpus) || cpus < minCpus || cpus > maxCpus) {
    throw new RangeError(`${name}: cpus=${cpus} must be in [${minCpus}, ${maxCpus}]`);
  }
  return Arena.create(tortureArenaConfig(cpus));
}

/**
 * How a watched torture ended: finished, a worker crashed, a CPU stopped at its first failure
 * (or crashed and aborted the others), no progress, the overall limit, or the watcher's own stop.
 */
export type TortureOutcome = 'done' | 'crashed' | 'aborted' | 'stalled' | 'hung' | 'stopped';

/** A CPU still running at a snapshot: where it sleeps, on what lock class, holding what. */
export interface Sleeper {
  cpu: number;
  state: number;
  waitOn: number;
  /** Lock class it waits for (CpuField.WAIT_CLASS), or '-'. */
  waitClass: string;
  /** Its lockdep-lite held-lock stack. */
  held: HeldLock[];
  /** Name of the word it sleeps on (from the torture's names), or '-'. */
  waitName: string;
  waitVal: number;
  /** The word's value at the snapshot. */
  wordNow: number;
  /** It sleeps although its word no longer holds the value it sleeps on: never woken. */
  lostWakeup: boolean;
}

/** What a watched torture's result says of its run, beside its own counts. */
export interface WatchedTortureResult<K extends string, S extends Sleeper, C> {
  fails: number;
  failKinds: Partial<Record<K, number>>;
  firstFails: string[];
  /** No progress for the stall bound: a lost wake-up (or a deadlock), torn down. */
  stalled: boolean;
  /** The overall limit passed before every CPU finished. */
  hung: boolean;
  stalledCpus: S[];
  /** CPUs found asleep on a word that changed without waking them. */
  lostWakeups: number;
  errors: string[];
  elapsedMs: number;
  lines: string[];
  perCpu: C[];
}

export class TortureWorkers<R extends { error?: string | undefined }> {
  readonly results: Array<R | undefined>;
  readonly errors: string[] = [];
  /** Every worker has exited. */
  readonly all: Promise<void>;
  /** Resolves the first time a worker errors or exits without posting its result. */
  readonly crash: Promise<'crashed'>;
  private readonly workers: Worker[] = [];
  private exited = false;
  private crashedFlag = false;

  constructor(
    private readonly arena: Arena,
    file: string,
    inputs: readonly unknown[],
  ) {
    this.results = new Array<R | undefined>(inputs.length).fill(undefined);
    let onCrash: () => void = () => {};
    this.crash = new Promise<'crashed'>((resolve) => {
      onCrash = () => {
        this.crashedFlag = true;
        resolve('crashed');
      };
    });
    const done = inputs.map((workerData, i) => {
      const w = new Worker(file, { workerData });
      this.workers.push(w);
      return new Promise<void>((resolve) => {
        w.on('message', (r: R) => {
          this.results[i] = r;
          if (r.error !== undefined) this.errors.push(`cpu ${i}: ${r.error}`);
        });
        w.on('error', (e) => {
          this.errors.push(`cpu ${i}: ${e.message}`);
          onCrash();
        });
        w.on('exit', () => {
          if (this.results[i] === undefined) onCrash();
          resolve();
        });
      });
    });
    this.all = Promise.all(done).then(() => {
      this.exited = true;
    });
  }

  /**
   * The start of the run: when every CPU has passed the start barrier (ctl GO moved), in
   * performance.now() ms; or now, if a worker died first or `limitMs` passed.
   */
  async started(limitMs = 20_000): Promise<number> {
    const goAt = ctlAt(this.arena, Ctl.GO);
    const t0 = performance.now();
    while (Atomics.load(this.arena.mem, goAt) === 0 && !this.exited && !this.crashedFlag && performance.now() - t0 < limitMs) {
      await new Promise((r) => setTimeout(r, 2));
    }
    return performance.now();
  }

  /**
   * The watchdog: until every worker has exited, poll `progress` (a counter the CPUs move);
   * no movement for `stallMs` is a stall, `limitMs` in all is a hang. `tick` runs at every poll
   * with the time (its own checks: stall detectors, a duration); true ends the watch ('stopped').
   */
  async watch(progress: () => number, stallMs: number, limitMs: number, tick?: (now: number) => boolean): Promise<TortureOutcome> {
    const t0 = performance.now();
    let last = Number.NaN;
    let lastMove = t0;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.all, new Promise<void>((r) => {
        timer = setTimeout(r, 20);
      })]);
      clearTimeout(timer);
      if (this.exited) return 'done';
      if (this.crashedFlag) return 'crashed';
      const now = performance.now();
      const p = progress();
      if (p !== last) {
        last = p;
        lastMove = now;
      }
      if (tick?.(now) === true) return 'stopped';
      if (stopState(this.arena) === StopState.abort) return 'aborted'; // a CPU stopped at its first failure
      if (now - lastMove > stallMs) return 'stalled';
      if (now - t0 > limitMs) return 'hung';
    }
  }

  /**
   * The one "who waits where" snapshot, taken before a teardown: every CPU not done, the word
   * it sleeps on, whether it was lost, the lock class it waits for and the locks it holds.
   */
  snapshot(names: ReadonlyMap<number, string> = new Map()): Sleeper[] {
    return cpuSnapshots(this.arena)
      .filter((c) => c.state !== CpuState.done && c.state !== CpuState.idle)
      .map((c) => ({
        cpu: c.cpu, state: c.state, waitOn: c.waitOn, waitClass: c.waitClass, held: c.held,
        waitName: names.get(c.waitOn) ?? '-', waitVal: c.waitVal, wordNow: c.wordNow, lostWakeup: c.lostWakeup,
      }));
  }

  get finished(): boolean {
    return this.exited;
  }

  get crashed(): boolean {
    return this.crashedFlag;
  }

  /**
   * End a run that is going well: ask every CPU to stop (STOP = 1), give them `graceMs` to
   * finish their current step, then tear down. True when a worker had to be terminated.
   */
  async stop(graceMs: number): Promise<boolean> {
    requestStop(this.arena, StopState.stop);
    if (!this.exited) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.all, new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      })]);
      clearTimeout(timer);
    }
    return this.exited ? false : this.tearDown();
  }

  /**
   * Abort the run (STOP = 2), kick every sleeper until all unwound (≤ 1 s), then terminate.
   * True when a worker did not unwind and had to be terminated.
   */
  async tearDown(): Promise<boolean> {
    const { arena } = this;
    const mem = arena.mem;
    requestStop(arena, StopState.abort);
    // A CPU may check STOP just before a kick and then sleep: keep kicking.
    for (let i = 0; i < 200 && !this.exited; i++) {
      for (let c = 0; c < arena.config.cpus; c++) {
        const on = Atomics.load(mem, arena.base('cpu') + c * CPU_WORDS + CpuField.WAIT_ON);
        if (on >= 0) Atomics.notify(mem, on);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    const terminated = !this.exited;
    await Promise.all(this.workers.map((w) => w.terminate()));
    return terminated;
  }
}
