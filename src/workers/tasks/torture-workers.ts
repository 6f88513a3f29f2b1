/**
 * The main-thread side the lock tortures share: one worker thread per CPU over one arena, their
 * results and errors, and a teardown that never hangs. Strict waiters sleep without a timeout, so
 * an abort alone cannot wake a CPU stranded by a lost wake-up: teardown keeps notifying the word
 * every CPU publishes it sleeps on (CpuField.WAIT_ON) until all have unwound, then terminates.
 */
import { Worker } from 'node:worker_threads';
import { type Arena, CPU_WORDS } from '../../shared-mem/layout.js';
import { CpuField } from '../../shared-mem/cpu-block.js';
import { StopState, requestStop } from '../../shared-mem/ctl.js';

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

  get finished(): boolean {
    return this.exited;
  }

  get crashed(): boolean {
    return this.crashedFlag;
  }

  /** Abort the run (STOP = 2), kick every sleeper until all unwound (≤ 1 s), then terminate. */
  async tearDown(): Promise<void> {
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
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
