/**
 * Barrier torture over real workers (src/workers/tasks/barriertorture.ts): the reusable generation
 * barrier (src/locks/barrier.ts, every run's start barrier) lets nobody pass before everyone
 * arrived, returns true on exactly one CPU per round, and wakes every sleeper — with 2 CPUs and
 * with 6 on 2 cores — and each busted twin (src/locks/busted/barrier.ts) is caught: the early
 * release by the arrival check, the lost wake-up by the bound (never a hang).
 */
import { describe, expect, it } from 'vitest';
import { FAIL_KINDS, runBarrierTorture, type BarrierTortureResult } from '../src/workers/tasks/barriertorture.js';

function clean(r: BarrierTortureResult, cpus: number, rounds: number): void {
  const why = [...r.lines, ...r.errors].join('\n');
  expect(r.errors, why).toEqual([]);
  expect(r.stalled, why).toBe(false);
  expect(r.hung, why).toBe(false);
  expect(r.fails, why).toBe(0);
  expect(r.failKinds, why).toEqual({});
  for (const c of r.perCpu) expect(c.rounds, why).toBe(rounds);
  expect(r.crossings, why).toBe(cpus * rounds);
  // Exactly one `true` per round (checked per round in the arena too: fails would be > 0).
  expect(r.trues, why).toBe(rounds);
  // The wake-up path ran, not only the spin: CPUs slept in the barrier and were woken.
  expect(r.sleeps, why).toBeGreaterThan(rounds / 20);
  expect(r.late, why).toBeGreaterThan(0);
}

describe('barrier torture: correct barrier', () => {
  it('2 CPUs: 50 000 rounds = 100 000 crossings, nobody passes early, one true per round, no stall', async () => {
    const cpus = 2;
    const rounds = 50_000;
    const r = await runBarrierTorture({ type: 'barrier', cpus, rounds, boundMs: 10_000, seed: 51 });
    console.log('barrier 2 cpus', r.lines.join(' | '));
    clean(r, cpus, rounds);
    expect(r.crossings).toBeGreaterThanOrEqual(100_000);
  });
  it('6 CPUs on 2 cores: 17 000 rounds = 102 000 crossings, nobody passes early, one true per round, no stall', async () => {
    const cpus = 6;
    const rounds = 17_000;
    const r = await runBarrierTorture({ type: 'barrier', cpus, rounds, boundMs: 10_000, seed: 52 });
    console.log('barrier 6 cpus', r.lines.join(' | '));
    clean(r, cpus, rounds);
    expect(r.crossings).toBeGreaterThanOrEqual(100_000);
  });
});

describe('barrier torture: busted twins are caught', () => {
  it('barrier_busted_early (releases at parties - 1): a CPU passes before the late one arrives, caught and stopped', async () => {
    // CPU 3 arrives last in round 0 on purpose: it waits for the others to arrive, then until one
    // of them has passed (or 30 s): the race is certain, not hoped for.
    const r = await runBarrierTorture({
      type: 'barrier_busted_early', cpus: 4, rounds: 20_000, boundMs: 5_000, seed: 53, lateEvery: 100, lateMs: 30_000, stopOnFail: true,
    });
    console.log('barrier_busted_early', r.lines.join('\n'), r.errors.join('\n'));
    expect(r.errors, r.errors.join('\n')).toEqual([]);
    expect(r.fails).toBeGreaterThan(0);
    expect(r.failKinds.early).toBeGreaterThan(0);
    expect(r.stalled).toBe(false);
    expect(FAIL_KINDS).toEqual(expect.arrayContaining(Object.keys(r.failKinds)));
    expect(r.firstFails.join('\n')).toMatch(/round 0/);
    expect(r.lines.join('\n')).toContain('!!!');
    expect(r.elapsedMs).toBeLessThan(10_000);
  });
  it('barrier_busted_early with 2 CPUs (nobody waits at all): caught', async () => {
    const r = await runBarrierTorture({
      type: 'barrier_busted_early', cpus: 2, rounds: 20_000, boundMs: 5_000, seed: 54, lateEvery: 100, lateMs: 30_000, stopOnFail: true,
    });
    console.log('barrier_busted_early 2 cpus', r.lines.join('\n'), r.errors.join('\n'));
    expect(r.errors, r.errors.join('\n')).toEqual([]);
    expect(r.failKinds.early).toBeGreaterThan(0);
    expect(r.elapsedMs).toBeLessThan(10_000);
  });
  it('barrier_busted_nowake (no wake after the bump): the sleepers are stranded, found by the bound, torn down', async () => {
    // CPU 3 arrives last in round 0, 200 ms after the others announced their arrival: they are
    // asleep in the barrier by then, and its bump wakes nobody.
    const boundMs = 1_500;
    const lateMs = 200;
    const grace = 5_000;
    const r = await runBarrierTorture({ type: 'barrier_busted_nowake', cpus: 4, rounds: 20_000, boundMs, seed: 55, lateEvery: 100, lateMs });
    console.log('barrier_busted_nowake', r.lines.join('\n'), r.errors.join('\n'));
    expect(r.errors, r.errors.join('\n')).toEqual([]);
    expect(r.stalled).toBe(true);
    expect(r.hung).toBe(false);
    expect(r.crossings).toBeLessThan(4 * 20_000);
    // Someone sleeps on the generation word although it moved: never woken.
    expect(r.lostWakeups).toBeGreaterThan(0);
    expect(r.stalledCpus.some((c) => c.lostWakeup && c.waitName === 'gen' && c.wordNow > c.waitVal)).toBe(true);
    expect(r.lines.join('\n')).toContain('lost wake-up');
    // Every CPU unwound (aborted), none crashed; torn down shortly after the stall was seen.
    for (const c of r.perCpu) expect(c.aborted).toBe(true);
    expect(r.teardownMs).toBeLessThan(grace);
    expect(r.elapsedMs).toBeLessThan(lateMs + boundMs + grace);
  });
});
