/**
 * The worker side every torture shares (the kernel's kernel/torture.c does this for locktorture
 * and rcutorture): attach the arena, make the CPU, meet the others at the start barrier (ctl's
 * ARRIVED/GO pair; the main thread reads GO to time the run from the moment all have arrived),
 * run the body, turn an abort into `aborted` and anything else into `error` — aborting the
 * others, who may wait for this CPU forever — then mark the CPU done or crashed and post the
 * result. Each torture keeps only its own body, books and result fields.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Arena, type ArenaConfig, LINE_WORDS } from '../../shared-mem/layout.js';
import { CpuState } from '../../shared-mem/cpu-block.js';
import { Ctl, StopState, ctlAt, requestStop } from '../../shared-mem/ctl.js';
import { Cpu, type Waiter, strictWaiter } from '../cpu.js';
import { RunAborted } from '../../locks/ctx.js';
import { barrierWait } from '../../locks/barrier.js';
import { type BookedResult, TortureBooks, closeBooks } from './torture-books.js';

/** What every torture worker is started with (plus its own fields). */
export interface TortureInput {
  task: string;
  buffer: SharedArrayBuffer;
  config: ArenaConfig;
  cpu: number;
}

/** What every torture worker posts back (plus its own fields). */
export interface TortureCpuEnd {
  aborted: boolean;
  error?: string;
}

export interface TortureCpuSpec<R extends TortureCpuEnd> {
  seed: number;
  waiter?: Waiter | undefined;
  /** The result, filled in by run and finish. */
  result: R;
  /** Before the start barrier (per-CPU state that others may rely on once it is passed). */
  setup?(cpu: Cpu): void;
  /** The torture itself, after the start barrier. */
  run(cpu: Cpu): void;
  /** Always, last: publish counts to the arena, copy books into the result. */
  finish?(cpu: Cpu, result: R): void;
}

export function runTortureCpu<R extends TortureCpuEnd>(input: TortureInput, spec: TortureCpuSpec<R>): R {
  const arena = Arena.attach(input.buffer, input.config);
  const cpu = new Cpu(arena, input.cpu, { seed: spec.seed, waiter: spec.waiter });
  const res = spec.result;
  cpu.setState(CpuState.running);
  try {
    spec.setup?.(cpu);
    barrierWait(cpu, ctlAt(arena, Ctl.ARRIVED), input.config.cpus);
    spec.run(cpu);
  } catch (e) {
    if (e instanceof RunAborted) {
      res.aborted = true;
    } else {
      res.error = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
      requestStop(arena, StopState.abort);
    }
  } finally {
    spec.finish?.(cpu, res);
    cpu.setState(res.error !== undefined ? CpuState.crashed : CpuState.done);
  }
  return res;
}

export interface BookedTortureCpuSpec<K extends string, R extends TortureCpuEnd & BookedResult<K>> {
  seed: number;
  stopOnFail: boolean;
  result: R;
  /** Scratch offset of the per-CPU lines: this CPU's line (`mine`) is one LINE_WORDS slot of them. */
  cpuLines: number;
  /** Word of its line that shows its failure count to the watchdog (none: not shown). */
  failsWord?: number;
  /** Before the start barrier, once the books exist. */
  setup?(cpu: Cpu): void;
  run(cpu: Cpu, mine: number, books: TortureBooks<K>): void;
  /** Always, last, after the books are copied into the result. */
  finish?(cpu: Cpu, result: R, mine: number): void;
}

/**
 * runTortureCpu for a torture that keeps failure books and a scratch line per CPU, and waits
 * like a futex (the strict waiter: a lost wake-up strands a sleeper instead of showing as
 * slowness).
 */
export function runBookedTortureCpu<K extends string, R extends TortureCpuEnd & BookedResult<K>>(input: TortureInput, spec: BookedTortureCpuSpec<K, R>): R {
  let books: TortureBooks<K> | undefined;
  let mine = 0;
  return runTortureCpu(input, {
    seed: spec.seed,
    waiter: strictWaiter,
    result: spec.result,
    setup: (cpu) => {
      mine = cpu.arena.base('scratch') + spec.cpuLines + input.cpu * LINE_WORDS;
      books = new TortureBooks<K>(cpu, spec.stopOnFail, spec.failsWord === undefined ? -1 : mine + spec.failsWord);
      spec.setup?.(cpu);
    },
    run: (cpu) => spec.run(cpu, mine, books!),
    finish: (cpu, r) => {
      closeBooks(books, r);
      spec.finish?.(cpu, r, mine);
    },
  });
}

/** Run `main` and post its result when this thread is a worker started for `task`. */
export function tortureTask<I extends TortureInput>(task: I['task'], main: (input: I) => TortureCpuEnd): void {
  if (!isMainThread && parentPort && (workerData as { task?: string } | null)?.task === task) {
    parentPort.postMessage(main(workerData as I));
  }
}
