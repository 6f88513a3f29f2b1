/**
 * Timeouts under a controlled scheduler read its virtual clock, never the wall clock: the IPI
 * deadlock detector (waitAck) and call_rcu's wait on a full ring. Before, a slow host or a
 * descheduled CPU fired the detector spuriously (and differently from run to run), and a CPU
 * whose only way on was the ring-full timeout was reported as deadlocked. Workers load dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Piscina } from 'piscina';
import { Arena } from '../src/shared-mem/layout.js';
import { setIpiDeadlockThreshold } from '../src/locks/irq.js';
import { createSchedBuffer, readSchedOutcome, type SchedOutcome } from '../src/sched/controlled-waiter.js';
import type { TimeoutSelftestKind, TimeoutSelftestResult } from '../src/sched/selftest-timeouts.js';
import { ControlledPool, controlledConfig, runControlled } from '../src/controlled/run.js';
import { arenaConfigFor } from '../src/engine/engine.js';
import { distPath } from '../src/workers/paths.js';

interface SelftestRun {
  results: TimeoutSelftestResult[];
  out: SchedOutcome;
  wallMs: number;
}

describe('timeouts under control (lock self-tests)', () => {
  let pool: Piscina;
  beforeAll(() => {
    pool = new Piscina({ filename: distPath('src/sched/selftest-timeouts.js'), minThreads: 3, maxThreads: 3 });
  });
  afterAll(async () => {
    await pool.destroy();
  });

  async function run(kind: TimeoutSelftestKind, seed: number, o: { cpus: number; steps: number; burnUs: number; ipiMs?: number }): Promise<SelftestRun> {
    const arenaCfg = arenaConfigFor({ cpus: o.cpus, arena: { rcuCallbacks: 4 } });
    const arena = Arena.create(arenaCfg);
    if (o.ipiMs !== undefined) setIpiDeadlockThreshold(arena, o.ipiMs);
    const spec = { kind: 'random' as const, seed };
    const plan = { cpus: o.cpus, logCap: 100_000, replayCap: 1, evCap: 0 };
    const sbuf = createSchedBuffer(plan, spec, 200_000);
    const t0 = performance.now();
    const results = (await Promise.all(
      Array.from({ length: o.cpus }, (_, cpu) =>
        pool.run({ buffer: arena.buffer, arena: arenaCfg, cpu, kind, steps: o.steps, burnUs: o.burnUs, sched: { buffer: sbuf, spec, replayCap: 1 } }),
      ),
    )) as TimeoutSelftestResult[];
    return { results, out: readSchedOutcome(sbuf, plan), wallMs: performance.now() - t0 };
  }

  it.each([1, 2, 3])('seed %i: a sender waiting for an ack from a CPU blocked with IRQs off on a slow host is no IPI deadlock (threshold 1 ms), and two runs are identical', async (seed) => {
    const o = { cpus: 3, steps: 40, burnUs: 300, ipiMs: 1 };
    const a = await run('ipi-slow', seed, o);
    // The wall time far exceeds the 1 ms threshold: only the virtual clock keeps the detector quiet.
    expect(a.wallMs).toBeGreaterThan(10);
    expect(a.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(a.out.abort).toBe('none');
    expect(a.out.timeouts).toBe(0);
    const b = await run('ipi-slow', seed, { ...o, burnUs: 0 });
    expect(b.results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    expect(b.out.traceHash).toBe(a.out.traceHash);
    expect(b.out.schedule).toEqual(a.out.schedule);
  });

  it('a real IPI deadlock is reported by the detector at the same step in every run, without waiting out its wall-clock threshold', async () => {
    const o = { cpus: 3, steps: 0, burnUs: 0 }; // default threshold: 2000 ms
    const a = await run('ipi-deadlock', 7, o);
    const b = await run('ipi-deadlock', 7, { ...o, burnUs: 200 });
    for (const r of [a, b]) {
      expect(r.results[0]!.status).toBe('ipi-deadlock');
      expect(r.results[0]!.error).toMatch(/IPI deadlock \(suspected\): cpu 0 waits for cpu 1/);
      expect(r.out.abort).toBe('crash');
      expect(r.out.timeouts).toBe(1);
      expect(r.wallMs).toBeLessThan(1500);
    }
    expect(b.out.abortStep).toBe(a.out.abortStep);
    expect(b.out.traceHash).toBe(a.out.traceHash);
  });

  it.each([1, 2, 3])('seed %i: call_rcu on a full ring (4) holding a lock that the only other CPU waits for forces the drain instead of a deadlock, identically in two runs', async (seed) => {
    const o = { cpus: 2, steps: 12, burnUs: 300 };
    const a = await run('rcu-full', seed, o);
    expect(a.results.map((r) => r.status)).toEqual(['ok', 'ok']);
    expect(a.out.abort).toBe('none');
    expect(a.results.reduce((s, r) => s + r.callbacks, 0)).toBe(12);
    expect(a.out.timeouts).toBeGreaterThan(0);
    const b = await run('rcu-full', seed, { ...o, burnUs: 0 });
    expect(b.out.traceHash).toBe(a.out.traceHash);
    expect(b.out.schedule).toEqual(a.out.schedule);
    expect(b.out.timeouts).toBe(a.out.timeouts);
  });
});

describe('timeouts under control (the model)', () => {
  let pool: ControlledPool;
  beforeAll(() => {
    pool = new ControlledPool(4);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('walker-irq, 4 CPUs on 2 cores, IPI deadlock threshold 1 ms: no spurious IpiDeadlock, identical trace hashes', async () => {
    const cfg = controlledConfig({ scenario: 'follow-page', mode: 'walker-irq', sched: 'random', seed: 11, ops: 400, cpus: 4 });
    const prepare = (arena: Arena): void => setIpiDeadlockThreshold(arena, 1);
    const a = await runControlled(cfg, { pool, prepare });
    const b = await runControlled(cfg, { pool, prepare });
    expect(a.errors).toEqual([]);
    expect(a.status).toBe('ok');
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.schedule).toEqual(a.schedule);
  });

  it('walker-rcu with a 4-entry call_rcu ring: no deadlock, identical trace hashes', async () => {
    const cfg = controlledConfig({ scenario: 'follow-page', mode: 'walker-rcu', sched: 'random', seed: 12, ops: 400, cpus: 4, arena: { rcuCallbacks: 4 } });
    const a = await runControlled(cfg, { pool });
    const b = await runControlled(cfg, { pool });
    expect(a.errors).toEqual([]);
    expect(a.status).toBe('ok');
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.schedule).toEqual(a.schedule);
  });
});
