/**
 * A torture CPU's failure books (worker side), and their sum over CPUs (main thread): counts by
 * kind, the first failure in words, and optionally the count published to an arena word for the
 * watchdog. With stopOnFail the first failure aborts the run, as locktorture's
 * torture_must_stop does.
 */
import { StopState, requestStop } from '../../shared-mem/ctl.js';
import { RunAborted } from '../../locks/ctx.js';
import type { Cpu } from '../cpu.js';

export class TortureBooks<K extends string> {
  fails = 0;
  readonly kinds: Partial<Record<K, number>> = {};
  first: string | undefined;

  /** @param publishAt arena word that shows this CPU's failure count, or -1 */
  constructor(private readonly cpu: Cpu, private readonly stopOnFail: boolean, private readonly publishAt = -1) {}

  fail(kind: K, what: string): void {
    this.fails++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    this.first ??= `cpu ${this.cpu.cpuId}: ${kind}: ${what}`;
    if (this.publishAt >= 0) Atomics.store(this.cpu.mem, this.publishAt, this.fails);
    if (this.stopOnFail) {
      requestStop(this.cpu.arena, StopState.abort);
      throw new RunAborted('stop at the first failure');
    }
  }
}

/** What a CPU's result carries of its books. */
export interface BookedResult<K extends string> {
  fails: number;
  failKinds: Partial<Record<K, number>>;
  firstFail?: string;
}

/** Copy a CPU's books into its result (none yet: the CPU failed before making them). */
export function closeBooks<K extends string>(books: TortureBooks<K> | undefined, r: BookedResult<K>): void {
  if (books === undefined) return;
  r.fails = books.fails;
  r.failKinds = books.kinds;
  if (books.first !== undefined) r.firstFail = books.first;
}

/** Failure counts by kind, summed over the CPUs' results. */
export function sumFailKinds<K extends string>(per: ReadonlyArray<{ failKinds: Partial<Record<K, number>> }>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const r of per) {
    for (const [k, n] of Object.entries(r.failKinds) as Array<[K, number]>) out[k] = (out[k] ?? 0) + n;
  }
  return out;
}
