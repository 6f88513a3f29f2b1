/**
 * Completion torture over real worker threads: locktorture's sibling for struct completion
 * (locks/completion.ts), in the same style (a worker task, real Atomics waits, counted failures,
 * a bound, busted twins under locks/busted/).
 *
 * CPU 0 is the completer, CPUs 1..N-1 (W of them) the waiters. They run a fixed number of rounds
 * of a hand-off chain over four completions in the arena: `req[0]`/`req[1]` (the completer's
 * posts, alternating by round), `ack` (each waiter's "done with this round") and `ready` (each
 * waiter's "my timed wait expired"). Round r, kind chosen from (seed, r) so every CPU agrees:
 *
 * - `one`: the completer writes PAYLOAD = r, then posts W + E tokens (E in {0, 1}) with
 *   complete() on req[r % 2], bumping POSTED before each. Each waiter waits once (untimed, with
 *   a long timeout, or in a loop of short timeouts that race the posts), checks PAYLOAD === r
 *   (no return before the matching complete; the data written before it is visible) and
 *   ++CONSUMED <= POSTED (no wait passes on a count nobody posted), then complete(ack).
 * - `all`: the same with complete_all(): every waiter is released, and a second wait on the
 *   same completion must pass without sleeping (complete_all stays done until reinit).
 * - `expire`: before anything is posted each waiter's short timed wait must time out without
 *   consuming (the completer posts only after W `ready`s), then the round runs as `one`.
 *
 * After W acks the completer checks the round's books, with nobody touching req[r % 2] until
 * round r + 2: exactly E tokens left (each complete() counted one done, each wait consumed one),
 * no sleeper left registered, CONSUMED + leftovers === POSTED, `ack` fully consumed; after
 * complete_all the word is still ALL, then reinit. Then ROUND = r + 1, the watchdog's progress.
 *
 * Waits use a *strict* waiter (like a futex: wakes only on a notify, or at the deadline a timed
 * wait passed to block), so a lost wake-up strands a sleeper instead of showing as slowness. The
 * main thread is the watchdog: a ROUND that does not move for `stallMs` is a stall; it snapshots
 * who sleeps on which word (a sleeper whose word no longer holds the value it sleeps on was never
 * woken: a lost wake-up), aborts the run (blocked waits throw RunAborted) and tears it down.
 *
 * A hand-off is one wait that returned with a completion: a waiter's on req (complete or
 * complete_all), the completer's on ack and ready.
 *
 * This file is both the worker (workerData.task === 'completiontorture') and the main-thread
 * runner `runCompletionTorture`, which starts workers from the compiled copy in dist/.
 */
import { LINE_WORDS } from '../../shared-mem/layout.js';
import { CPU_STATE_NAMES } from '../../shared-mem/cpu-block.js';
import { type Cpu, strictSleeps } from '../cpu.js';
import { RunAborted } from '../../locks/ctx.js';
import * as correct from '../../locks/completion.js';
import * as bustedNoWake from '../../locks/busted/completion.js';
import * as bustedTwice from '../../locks/busted/completion-twice.js';
import type { LockCtx } from '../../locks/ctx.js';
import type { TimedLockCtx } from '../../locks/completion.js';
import { distPath } from '../paths.js';
import { type TortureBooks, sumFailKinds } from './torture-books.js';
import { type TortureCpuEnd, type TortureInput, runBookedTortureCpu, tortureTask } from './torture-cpu.js';
import { type Sleeper, TortureWorkers, type WatchedTortureResult, tortureArena } from './torture-workers.js';

export const COMPLETION_TORTURE_TYPES = [
  'completion',
  /** complete() never notifies: a lost wake-up. */
  'completion_busted',
  /** A woken waiter returns without taking the done count: one complete() passes two waits. */
  'completion_busted_twice',
] as const;
export type CompletionTortureType = (typeof COMPLETION_TORTURE_TYPES)[number];
export const COMPLETION_TORTURE_MAX_CPUS = 16;

/** Scratch words (line = 16 words). */
const S_REQ0 = 0;
const S_REQ1 = LINE_WORDS;
const S_ACK = 2 * LINE_WORDS;
const S_READY = 3 * LINE_WORDS;
const S_PAYLOAD = 4 * LINE_WORDS;
const S_POSTED = 5 * LINE_WORDS;
const S_CONSUMED = 6 * LINE_WORDS;
const S_ROUND = 7 * LINE_WORDS;
/** Per-CPU line: [0] hand-offs, [1] fails, [8] private nap word (never notified). */
const S_CPU = 32 * LINE_WORDS;
const ALL = 0x7fffffff;

/** A timed wait that must not expire (the completer posts long before). */
const LONG_TIMEOUT_MS = 60_000;
/** The expire-round timeout (nothing is posted until it has expired on every waiter). */
const EXPIRE_MS = 0.2;
/** Timeouts of the short-timeout loop that races the posts. */
const SHORT_MIN_MS = 0.02;
const SHORT_MAX_MS = 0.3;

export const FAIL_KINDS = [
  /** A wait returned but PAYLOAD was not this round's: it passed before the matching complete. */
  'early',
  /** More waits passed than completions were posted. */
  'overconsumed',
  /** A wait that must have timed out (nothing posted) returned with a completion. */
  'expire-consumed',
  /** A timed wait that must not expire (its completion was posted) timed out. */
  'timed-out',
  /** Round books: tokens left on req !== E, or CONSUMED + leftovers !== POSTED. */
  'count',
  /** A sleeper still registered (sleepers word != 0) on a completion nobody waits on. */
  'sleepers',
  /** ack/ready not fully consumed after the completer took W of them. */
  'ack-count',
  /** complete_all did not release (word not ALL, or a second wait slept). */
  'all',
] as const;
export type FailKind = (typeof FAIL_KINDS)[number];

/** Defaults of the options below that are not derived from others. */
export const COMPLETIONTORTURE_DEFAULTS = { seed: 1, rounds: 30_000, delayProb: 1 / 16, delayUs: 50, waiterSpinProb: 0.25, stopOnFail: false, stallMs: 10_000, boundMs: 30_000 } as const;

export interface CompletionTortureOptions {
  type: CompletionTortureType;
  /** CPUs: one completer and cpus - 1 waiters (>= 2). */
  cpus: number;
  /** Rounds of the hand-off chain. */
  rounds?: number;
  /** No round finished for this long (ms): a stall (lost wake-up), aborted. */
  stallMs?: number;
  /** A run not finished after this long (ms) is aborted. */
  boundMs?: number;
  seed?: number;
  /** Probability per round that the completer naps `delayUs` before posting (waiters fall asleep). */
  delayProb?: number;
  delayUs?: number;
  /** Probability per round that a waiter spins a little before waiting (tokens pile up). */
  waiterSpinProb?: number;
  /** Abort the run at the first failure. */
  stopOnFail?: boolean;
}

interface WorkerInput extends TortureInput {
  task: 'completiontorture';
  opts: Required<Omit<CompletionTortureOptions, 'stallMs' | 'boundMs'>>;
}

export interface CompletionTortureCpuResult extends TortureCpuEnd {
  cpu: number;
  completer: boolean;
  rounds: number;
  handoffs: number;
  /** Times this CPU actually slept in Atomics.wait (wake-ups exercised). */
  sleeps: number;
  /** Timed waits that expired (expire rounds and the short-timeout loop). */
  timeouts: number;
  fails: number;
  failKinds: Partial<Record<FailKind, number>>;
  /** The first failure, described. */
  firstFail?: string;
}

// ================================================================ worker side

/** The primitives under test, as one table, so the busted twins drop in. */
interface CompletionOps {
  complete(ctx: LockCtx, at: number): void;
  completeAll(ctx: LockCtx, at: number): void;
  tryWaitForCompletion(ctx: LockCtx, at: number): boolean;
  waitForCompletion(ctx: LockCtx, at: number): boolean;
  waitForCompletionTimeout(ctx: TimedLockCtx, at: number, timeoutMs: number): boolean;
  reinitCompletion(mem: Int32Array, at: number): void;
}

function opsFor(type: CompletionTortureType): CompletionOps {
  switch (type) {
    case 'completion':
      return correct;
    case 'completion_busted':
      return bustedNoWake;
    case 'completion_busted_twice':
      return bustedTwice;
  }
}

type Kind = 'one' | 'all' | 'expire';

/** Round kind and extra tokens, from (seed, round): every CPU computes the same. */
function roundPlan(seed: number, r: number): { kind: Kind; extra: number } {
  let x = (seed ^ Math.imul(r + 1, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  const k = x & 15;
  const kind: Kind = k < 2 ? 'all' : k === 2 ? 'expire' : 'one';
  return { kind, extra: (x >>> 8) & 1 };
}

export function completionTortureWorker(input: WorkerInput): CompletionTortureCpuResult {
  const { opts } = input;
  const completer = input.cpu === 0;
  const res: CompletionTortureCpuResult = {
    cpu: input.cpu, completer, rounds: 0, handoffs: 0, sleeps: 0, timeouts: 0, fails: 0, failKinds: {}, aborted: false,
  };
  const st = { handoffs: 0, timeouts: 0, rounds: 0 };
  // Always the strict waiter: the parallel one's 20 ms re-check would hide a lost wake-up and
  // stretch every sub-millisecond timeout to its sleep.
  return runBookedTortureCpu<FailKind, CompletionTortureCpuResult>(input, {
    seed: opts.seed,
    stopOnFail: opts.stopOnFail,
    result: res,
    cpuLines: S_CPU,
    setup: () => {
      strictSleeps.n = 0;
    },
    run: (cpu, mine, books) => {
      const s0 = cpu.arena.base('scratch');
      if (completer) completerLoop(opts, cpu, s0, mine, books, st);
      else waiterLoop(opts, cpu, s0, mine, books, st);
    },
    finish: (cpu, r, mine) => {
      r.rounds = st.rounds;
      r.handoffs = st.handoffs;
      r.timeouts = st.timeouts;
      r.sleeps = strictSleeps.n;
      Atomics.store(cpu.mem, mine, st.handoffs);
      Atomics.store(cpu.mem, mine + 1, r.fails);
    },
  });
}

interface Stats {
  handoffs: number;
  timeouts: number;
  rounds: number;
}

function nap(m: Int32Array, at: number, us: number): void {
  Atomics.wait(m, at, 0, us / 1000);
}

function completerLoop(opts: WorkerInput['opts'], cpu: Cpu, s0: number, mine: number, b: TortureBooks<FailKind>, st: Stats): void {
  const m = cpu.mem;
  const ops = opsFor(opts.type);
  const W = cpu.arena.config.cpus - 1;
  const ack = s0 + S_ACK;
  const ready = s0 + S_READY;
  const rng = cpu.rng;
  const napAt = mine + 8;
  /** Take W completions from `at` (ack or ready), untimed or with a long timeout. */
  const collect = (at: number, what: string, r: number): void => {
    for (let i = 0; i < W; i++) {
      if (rng.next() < 0.25) {
        if (!ops.waitForCompletionTimeout(cpu, at, LONG_TIMEOUT_MS)) {
          b.fail('timed-out', `round ${r}: ${what} ${i + 1}/${W} not posted within ${LONG_TIMEOUT_MS} ms`);
          ops.waitForCompletion(cpu, at);
        }
      } else {
        ops.waitForCompletion(cpu, at);
      }
      st.handoffs++;
    }
    // Every waiter posted exactly one for this round and none for the next yet.
    const left = Atomics.load(m, at);
    if (left !== 0) b.fail('ack-count', `round ${r}: ${what} holds ${left} after ${W} taken (want 0)`);
  };
  for (let r = 0; r < opts.rounds; r++) {
    if (cpu.aborted()) throw new RunAborted();
    const { kind, extra } = roundPlan(opts.seed, r);
    const req = s0 + (r & 1 ? S_REQ1 : S_REQ0);
    if (kind === 'expire') collect(ready, 'ready', r);
    // Race widening: let the waiters fall asleep before the posts.
    if (opts.delayProb > 0 && rng.next() < opts.delayProb) nap(m, napAt, opts.delayUs);
    Atomics.store(m, s0 + S_PAYLOAD, r);
    if (kind === 'all') {
      ops.completeAll(cpu, req);
    } else {
      for (let i = 0; i < W + extra; i++) {
        Atomics.add(m, s0 + S_POSTED, 1);
        ops.complete(cpu, req);
        if (rng.next() < 0.25) for (let k = rng.below(64); k > 0; k--) Atomics.load(m, req);
      }
    }
    collect(ack, 'ack', r);
    // The round's books: no waiter touches req[r % 2] again before round r + 2 is posted.
    if (kind === 'all') {
      const d = Atomics.load(m, req);
      if (d !== ALL) b.fail('all', `round ${r}: complete_all word ${d} after every waiter passed (want ALL)`);
      ops.reinitCompletion(m, req);
    } else {
      const d = Atomics.load(m, req);
      if (d !== extra) b.fail('count', `round ${r}: ${d} done left after ${W + extra} complete() and ${W} waits (want ${extra})`);
      let drained = 0;
      while (ops.tryWaitForCompletion(cpu, req)) {
        drained++;
        if (drained > W + extra + 1) break;
      }
      const consumed = Atomics.add(m, s0 + S_CONSUMED, drained) + drained;
      const posted = Atomics.load(m, s0 + S_POSTED);
      if (consumed !== posted) b.fail('count', `round ${r}: consumed ${consumed} (incl. ${drained} left over) != posted ${posted}`);
      if (consumed !== posted) Atomics.store(m, s0 + S_CONSUMED, posted); // re-sync the books
    }
    // Only the completer waits on ack and ready, and the waiters now wait on req[(r + 1) % 2].
    for (const at of [req, ack, ready]) {
      const n = Atomics.load(m, at + 1);
      if (n !== 0) b.fail('sleepers', `round ${r}: word ${at} has ${n} registered sleepers, nobody waits on it`);
    }
    st.rounds = r + 1;
    Atomics.store(m, mine, st.handoffs);
    Atomics.store(m, s0 + S_ROUND, r + 1);
    cpu.opDone();
  }
}

function waiterLoop(opts: WorkerInput['opts'], cpu: Cpu, s0: number, mine: number, b: TortureBooks<FailKind>, st: Stats): void {
  const m = cpu.mem;
  const ops = opsFor(opts.type);
  const ack = s0 + S_ACK;
  const ready = s0 + S_READY;
  const rng = cpu.rng;
  for (let r = 0; r < opts.rounds; r++) {
    if (cpu.aborted()) throw new RunAborted();
    const { kind } = roundPlan(opts.seed, r);
    const req = s0 + (r & 1 ? S_REQ1 : S_REQ0);
    if (kind === 'expire') {
      // Nothing is posted before every waiter's `ready`: this must time out, taking nothing.
      if (ops.waitForCompletionTimeout(cpu, req, EXPIRE_MS)) {
        b.fail('expire-consumed', `round ${r}: a timed wait returned a completion before any was posted (word ${Atomics.load(m, req)})`);
      } else {
        st.timeouts++;
      }
      ops.complete(cpu, ready);
    }
    if (rng.next() < opts.waiterSpinProb) for (let k = rng.below(512); k > 0; k--) Atomics.load(m, req);
    const how = rng.next();
    if (how < 0.5) {
      ops.waitForCompletion(cpu, req);
    } else if (how < 0.75) {
      if (!ops.waitForCompletionTimeout(cpu, req, LONG_TIMEOUT_MS)) {
        b.fail('timed-out', `round ${r}: no completion within ${LONG_TIMEOUT_MS} ms though the completer posts at once`);
        ops.waitForCompletion(cpu, req);
      }
    } else {
      // Short timeouts racing the posts: an expired wait takes nothing, a post at expiry is kept.
      const t = SHORT_MIN_MS + rng.next() * (SHORT_MAX_MS - SHORT_MIN_MS);
      while (!ops.waitForCompletionTimeout(cpu, req, t)) {
        st.timeouts++;
        if (cpu.aborted()) throw new RunAborted();
      }
    }
    st.handoffs++;
    const p = Atomics.load(m, s0 + S_PAYLOAD);
    if (p !== r) b.fail('early', `round ${r}: returned from the wait with payload ${p} (round ${r}'s not yet written)`);
    if (kind === 'all') {
      // complete_all stays done: a second wait passes at once, without sleeping.
      const d = Atomics.load(m, req);
      if (d !== ALL) b.fail('all', `round ${r}: word ${d} after complete_all (want ALL)`);
      if (ops.waitForCompletion(cpu, req)) b.fail('all', `round ${r}: a second wait after complete_all had to sleep`);
    } else {
      const c = Atomics.add(m, s0 + S_CONSUMED, 1) + 1;
      const posted = Atomics.load(m, s0 + S_POSTED);
      if (c > posted) b.fail('overconsumed', `round ${r}: ${c} waits passed, ${posted} complete() posted`);
    }
    st.rounds = r + 1;
    Atomics.store(m, mine, st.handoffs);
    ops.complete(cpu, ack);
    cpu.opDone();
  }
}

tortureTask<WorkerInput>('completiontorture', completionTortureWorker);

// ================================================================ main-thread runner

export interface StalledCpu extends Sleeper {
  handoffs: number;
}

/** stalled: no round finished within stallMs; hung: boundMs passed before every CPU finished. */
export interface CompletionTortureResult extends WatchedTortureResult<FailKind, StalledCpu, CompletionTortureCpuResult> {
  type: CompletionTortureType;
  cpus: number;
  seed: number;
  /** Rounds the completer finished. */
  rounds: number;
  /** All hand-offs (waits that returned with a completion), every CPU. */
  handoffs: number;
  posted: number;
  consumed: number;
  sleeps: number;
  timeouts: number;
}


export async function runCompletionTorture(o: CompletionTortureOptions): Promise<CompletionTortureResult> {
  const cpus = o.cpus;
  const arena = tortureArena('completiontorture', cpus, 2, COMPLETION_TORTURE_MAX_CPUS);
  const config = arena.config;
  const seed = (o.seed ?? COMPLETIONTORTURE_DEFAULTS.seed) >>> 0;
  const opts: WorkerInput['opts'] = {
    type: o.type,
    cpus,
    rounds: o.rounds ?? COMPLETIONTORTURE_DEFAULTS.rounds,
    seed,
    delayProb: o.delayProb ?? COMPLETIONTORTURE_DEFAULTS.delayProb,
    delayUs: o.delayUs ?? COMPLETIONTORTURE_DEFAULTS.delayUs,
    waiterSpinProb: o.waiterSpinProb ?? COMPLETIONTORTURE_DEFAULTS.waiterSpinProb,
    stopOnFail: o.stopOnFail ?? COMPLETIONTORTURE_DEFAULTS.stopOnFail,
  };
  const stallMs = o.stallMs ?? COMPLETIONTORTURE_DEFAULTS.stallMs;
  const bound = o.boundMs ?? COMPLETIONTORTURE_DEFAULTS.boundMs;
  const file = distPath('src/workers/tasks/completiontorture.js');
  const t0 = performance.now();
  const inputs = Array.from({ length: cpus }, (_, i): WorkerInput => ({ task: 'completiontorture', buffer: arena.buffer, config, cpu: i, opts }));
  const tw = new TortureWorkers<CompletionTortureCpuResult>(arena, file, inputs);
  const { results, errors } = tw;
  const mem = arena.mem;
  const s0 = arena.base('scratch');
  // The watchdog: the completer's round counter; no movement for stallMs is a stall.
  const outcome = await tw.watch(() => Atomics.load(mem, s0 + S_ROUND), stallMs, bound);
  const names = new Map<number, string>([
    [s0 + S_REQ0, 'req0'], [s0 + S_REQ1, 'req1'], [s0 + S_ACK, 'ack'], [s0 + S_READY, 'ready'],
  ]);
  const stalledCpus: StalledCpu[] = outcome === 'stalled' || outcome === 'hung'
    ? tw.snapshot(names).map((c) => ({ ...c, handoffs: Atomics.load(mem, s0 + S_CPU + c.cpu * LINE_WORDS) }))
    : [];
  if (outcome !== 'done') await tw.tearDown();
  const elapsedMs = performance.now() - t0;
  const per: CompletionTortureCpuResult[] = results.map((r, i) => r ?? {
    cpu: i,
    completer: i === 0,
    rounds: 0,
    handoffs: Atomics.load(mem, s0 + S_CPU + i * LINE_WORDS),
    sleeps: 0,
    timeouts: 0,
    fails: Atomics.load(mem, s0 + S_CPU + i * LINE_WORDS + 1),
    failKinds: {},
    aborted: true,
  });
  const failKinds = sumFailKinds<FailKind>(per);
  const sum = (f: (r: CompletionTortureCpuResult) => number, rs = per): number => rs.reduce((x, r) => x + f(r), 0);
  const waiters = per.filter((r) => !r.completer);
  const wh = waiters.map((r) => r.handoffs);
  const fails = sum((r) => r.fails);
  const rounds = Atomics.load(mem, s0 + S_ROUND);
  const posted = Atomics.load(mem, s0 + S_POSTED);
  const consumed = Atomics.load(mem, s0 + S_CONSUMED);
  const lostWakeups = stalledCpus.filter((c) => c.lostWakeup).length;
  const flag = fails > 0 ? ' !!!' : '';
  const lines = [
    `Completer: Rounds: ${rounds} Hand-offs: ${per[0]!.handoffs} Posted: ${posted} Consumed: ${consumed} Sleeps: ${per[0]!.sleeps} Fail: ${per[0]!.fails}${per[0]!.fails > 0 ? ' !!!' : ''}`,
    `Waiters: Hand-offs: ${sum((r) => r.handoffs, waiters)} Max/Min: ${Math.max(...wh)}/${Math.min(...wh)} Timeouts: ${sum((r) => r.timeouts, waiters)} Sleeps: ${sum((r) => r.sleeps, waiters)} Fail: ${sum((r) => r.fails, waiters)}${flag}`,
  ];
  if (fails > 0) lines.push(`!!! failures ${JSON.stringify(failKinds)}; first: ${per.map((r) => r.firstFail).filter((x) => x !== undefined).join(' | ')}`);
  if (outcome === 'stalled' || outcome === 'hung') {
    const words = [...names].map(([at, n]) => `${n} [done ${Atomics.load(mem, at)} sleepers ${Atomics.load(mem, at + 1)}]`).join(', ');
    lines.push(outcome === 'stalled'
      ? `!!! no round finished for ${stallMs} ms at round ${rounds} (${lostWakeups > 0 ? 'lost wake-up' : 'stall: lost wake-up or deadlock'}); ${words}:`
      : `!!! not finished within ${bound} ms at round ${rounds}; ${words}:`);
    for (const c of stalledCpus) {
      lines.push(`  CPU ${c.cpu} ${CPU_STATE_NAMES[c.state] ?? `state ${c.state}`}, sleeps on word ${c.waitOn} (${c.waitName}) for value ${c.waitVal}, word now ${c.wordNow}${c.lostWakeup ? ' — never woken: lost wake-up' : ''}, ${c.handoffs} hand-offs`);
    }
  }
  if (outcome === 'aborted') lines.push('stopped at the first failure');
  return {
    type: o.type,
    cpus,
    seed,
    rounds,
    handoffs: sum((r) => r.handoffs),
    posted,
    consumed,
    sleeps: sum((r) => r.sleeps),
    timeouts: sum((r) => r.timeouts),
    fails,
    failKinds,
    firstFails: per.map((r) => r.firstFail).filter((x): x is string => x !== undefined),
    stalled: outcome === 'stalled',
    hung: outcome === 'hung',
    stalledCpus,
    lostWakeups,
    errors,
    elapsedMs,
    lines,
    perCpu: per,
  };
}
