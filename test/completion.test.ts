/**
 * Completion torture over real workers (src/workers/tasks/completiontorture.ts): the correct
 * completion passes a hand-off chain of complete / complete_all / timed and untimed waits with zero
 * failures and no stall, and each busted twin (src/locks/busted/completion*.ts) is caught — the
 * lost wake-up by the watchdog (never a hang), the double consume by the books.
 */
import { describe, expect, it } from 'vitest';
import type { LockCtx } from '../src/locks/ctx.js';
import { complete, tryWaitForCompletion, waitForCompletionTimeout } from '../src/locks/completion.js';
import { FAIL_KINDS, runCompletionTorture, type CompletionTortureResult } from '../src/workers/tasks/completiontorture.js';

function clean(r: CompletionTortureResult, rounds: number): void {
  const why = [...r.lines, ...r.errors].join('\n');
  expect(r.errors, why).toEqual([]);
  expect(r.stalled, why).toBe(false);
  expect(r.hung, why).toBe(false);
  expect(r.fails, why).toBe(0);
  expect(r.rounds, why).toBe(rounds);
  for (const c of r.perCpu) expect(c.rounds, why).toBe(rounds);
  // Every complete() consumed exactly once (by a waiter, or drained as the round's extra).
  expect(r.consumed, why).toBe(r.posted);
  const waiters = r.perCpu.filter((c) => !c.completer);
  // The wake-up and timeout paths were exercised, not just the fast path.
  expect(waiters.reduce((x, c) => x + c.sleeps, 0), why).toBeGreaterThan(rounds / 10);
  expect(r.perCpu[0]!.sleeps, why).toBeGreaterThan(rounds / 10);
  expect(r.timeouts, why).toBeGreaterThan(rounds / 100);
}

describe('waitForCompletionTimeout (one thread)', () => {
  interface Ctx extends LockCtx {
    t: number;
    now(): number;
    deadlines: Array<number | undefined>;
    onBlock: Array<() => void>;
  }
  function ctx(): Ctx {
    const c: Ctx = {
      mem: new Int32Array(new SharedArrayBuffer(256)),
      cpuId: 0,
      t: 100,
      deadlines: [],
      onBlock: [],
      now: () => c.t,
      block(_at: number, _expected: number, deadline?: number): void {
        c.deadlines.push(deadline);
        const f = c.onBlock.shift();
        if (f) f();
        else c.t = deadline ?? Infinity; // nobody posts: sleep until the deadline
      },
      wake(): void {},
    };
    return c;
  }
  it('times out taking nothing, takes a posted completion, and one posted by the expiry', () => {
    const c = ctx();
    const at = 16;
    expect(waitForCompletionTimeout(c, at, 5)).toBe(false);
    expect(c.deadlines).toEqual([105]); // the deadline reaches the block hook
    expect(Atomics.load(c.mem, at)).toBe(0);
    expect(Atomics.load(c.mem, at + 1)).toBe(0); // no sleeper left registered
    complete(c, at);
    expect(waitForCompletionTimeout(c, at, 5)).toBe(true); // fast path
    expect(Atomics.load(c.mem, at)).toBe(0);
    // Posted while asleep, noticed only at the expiry: still taken (kernel semantics).
    c.onBlock.push(() => {
      complete(c, at);
      c.t = 1000;
    });
    expect(waitForCompletionTimeout(c, at, 5)).toBe(true);
    expect(tryWaitForCompletion(c, at)).toBe(false);
    expect(waitForCompletionTimeout(c, at, 0)).toBe(false);
  });
});

describe('completion torture: correct completion', () => {
  it('3 CPUs (1 completer, 2 waiters): 30 000 rounds, >= 10^5 hand-offs, no failure, no stall', async () => {
    const rounds = 30_000;
    const r = await runCompletionTorture({ type: 'completion', cpus: 3, rounds, stallMs: 10_000, boundMs: 30_000, seed: 41 });
    console.log('completion 3 cpus', r.lines.join(' | '), `${r.handoffs} hand-offs`, `${r.elapsedMs.toFixed(0)} ms`);
    clean(r, rounds);
    expect(r.handoffs).toBeGreaterThanOrEqual(100_000);
  });
  it('2 CPUs (ping-pong, 1 waiter): 25 000 rounds, no failure, no stall', async () => {
    const rounds = 25_000;
    const r = await runCompletionTorture({ type: 'completion', cpus: 2, rounds, stallMs: 10_000, boundMs: 30_000, seed: 42 });
    console.log('completion 2 cpus', r.lines.join(' | '), `${r.handoffs} hand-offs`, `${r.elapsedMs.toFixed(0)} ms`);
    clean(r, rounds);
    expect(r.handoffs).toBeGreaterThanOrEqual(2 * rounds);
  });
});

describe('completion torture: busted twins are caught', () => {
  it('completion_busted (complete() never notifies): lost wake-up found by the watchdog, run torn down', async () => {
    const stallMs = 1_500;
    const r = await runCompletionTorture({ type: 'completion_busted', cpus: 3, rounds: 30_000, stallMs, boundMs: 20_000, seed: 43 });
    console.log('completion_busted', r.lines.join('\n'), r.errors.join('\n'));
    expect(r.errors, r.errors.join('\n')).toEqual([]);
    expect(r.stalled).toBe(true);
    expect(r.rounds).toBeLessThan(30_000);
    // Someone sleeps on a completion word that was posted without waking it.
    expect(r.lostWakeups).toBeGreaterThan(0);
    expect(r.stalledCpus.some((c) => c.lostWakeup && c.wordNow > 0)).toBe(true);
    expect(r.lines.join('\n')).toContain('lost wake-up');
    // Torn down shortly after the stall is seen, never hanging the test.
    expect(r.elapsedMs).toBeLessThan(stallMs + 5_000);
  });
  it('completion_busted_twice (a woken waiter keeps the done count): counts go wrong, caught and stopped', async () => {
    const r = await runCompletionTorture({ type: 'completion_busted_twice', cpus: 3, rounds: 30_000, stallMs: 1_500, boundMs: 20_000, seed: 44, stopOnFail: true });
    console.log('completion_busted_twice', r.lines.join('\n'), r.errors.join('\n'));
    expect(r.errors, r.errors.join('\n')).toEqual([]);
    expect(r.fails).toBeGreaterThan(0);
    expect(r.stalled).toBe(false);
    expect(r.lines.join('\n')).toContain('!!!');
    // Only the consumption books can catch this bug.
    const kinds = Object.keys(r.failKinds);
    expect(kinds.length).toBeGreaterThan(0);
    for (const k of kinds) expect(['count', 'ack-count', 'overconsumed', 'early', 'sleepers']).toContain(k);
    expect(FAIL_KINDS).toEqual(expect.arrayContaining(kinds));
    expect(r.elapsedMs).toBeLessThan(10_000);
  });
});
