/**
 * Controlled scheduling (issue 6): the schedulers, determinism of trace hashes (also with the
 * other core busy), exact replay of a violation for every race scenario, deadlock reports, and
 * replay-file validation. Workers load dist/ (built by `pretest`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { ControlledPool, controlledConfig, openTargets, runControlled, sameKind } from '../src/controlled/run.js';
import { truthTable } from '../src/workers/hugetlb/scenarios.js';
import { RandomScheduler } from '../src/sched/random.js';
import { PctScheduler } from '../src/sched/pct.js';
import { ReplayFileError, ReplayScheduler, loadReplay, validateReplay } from '../src/sched/replay.js';
import { goodReplayDoc } from './replay-fixture.js';
import { SCHED_STATE_WORDS } from '../src/sched/scheduler.js';
import { createSchedBuffer } from '../src/sched/controlled-waiter.js';
import { Arena } from '../src/shared-mem/layout.js';
import { arenaConfigFor } from '../src/engine/engine.js';
import { distPath } from '../src/workers/paths.js';
import type { DeadlockSelftestResult } from '../src/sched/selftest-deadlock.js';
import { REPLAY_KNOWN, configOfReplay, loadAndReplay, replayFile, replayFileOf } from '../src/controlled/replay-file.js';
import { hunt } from '../src/controlled/hunt.js';
import { shrinkReplay } from '../src/controlled/shrink.js';

const RACES = truthTable().filter((r) => r.expected['none'] === 'race').map((r) => r.scenario);
/** Iterations within which `hunt --sched pct --ops 200 --seed 1` must find every race of `none`. */
/** The bound: PCT finds each race of `none` within 1,000 iterations (seed 1, the CLI's calibrated k). */
const HUNT_BOUND = 1000;
const tmp = mkdtempSync(join(tmpdir(), 'pmdtorture-sched-'));

describe('schedulers', () => {
  it('random picks only runnable CPUs and is a pure function of its state words', () => {
    const w1 = new Int32Array(SCHED_STATE_WORDS);
    const w2 = new Int32Array(SCHED_STATE_WORDS);
    RandomScheduler.init(w1, 42);
    RandomScheduler.init(w2, 42);
    const a = new RandomScheduler(w1);
    const b = new RandomScheduler(w2);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) {
      const x = a.next([1, 3, 4], 1, i);
      expect([1, 3, 4]).toContain(x);
      expect(b.next([1, 3, 4], 1, i)).toBe(x);
      seen.add(x);
    }
    expect(seen.size).toBe(3);
  });

  it('pct: distinct priorities >= d, d-1 change points in [1, k], highest runnable runs, change point demotes the running CPU', () => {
    const w = new Int32Array(SCHED_STATE_WORDS);
    PctScheduler.init(w, 7, 4, 3, 100);
    const p = new PctScheduler(w);
    const pr = p.priorities();
    expect(new Set(pr).size).toBe(4);
    expect(Math.min(...pr)).toBeGreaterThanOrEqual(3);
    const cps = p.changePoints();
    expect(cps).toHaveLength(2);
    for (const c of cps) expect(c >= 1 && c <= 100).toBe(true);
    const top = pr.indexOf(Math.max(...pr));
    expect(p.next([0, 1, 2, 3], top, 0)).toBe(top);
    // At the first change point the running top CPU drops below everyone.
    const next = p.next([0, 1, 2, 3], top, cps[0]!);
    expect(next).not.toBe(top);
    expect(p.priorities()[top]).toBe(2);
  });

  it('replay follows the record, then keeps the running CPU (non-preemptive default)', () => {
    const w = new Int32Array(SCHED_STATE_WORDS);
    const pairs = new Int32Array(8);
    ReplayScheduler.init(w, pairs, [[1, 2], [0, 1]]);
    const r = new ReplayScheduler(w, pairs, 2);
    expect(r.next([0, 1], 0, 0)).toBe(1);
    expect(r.next([0, 1], 1, 1)).toBe(1);
    expect(r.next([0, 1], 1, 2)).toBe(0);
    expect(r.next([0, 1], 0, 3)).toBe(0);
    expect(r.next([1], 0, 4)).toBe(1);
  });
});

describe('controlled runs', () => {
  let pool: ControlledPool;
  beforeAll(() => {
    pool = new ControlledPool(2);
  });
  afterAll(async () => {
    await pool.close();
  });

  it.each(['random', 'pct'] as const)('same seed under %s: byte-identical trace hash and schedule, also with the other core busy', async (sched) => {
    const cfg = controlledConfig({ scenario: 'mixed', mode: 'final', sched, seed: 0xdecaf, ops: 400 });
    const a = await runControlled(cfg, { pool });
    expect(a.status).toBe('ok');
    expect(a.steps).toBeGreaterThan(400);
    // Second run while another thread burns a core.
    const busy = new Worker('const end = Date.now() + 20000; let x = 0; while (Date.now() < end) x++;', { eval: true });
    try {
      const b = await runControlled(cfg, { pool });
      expect(b.traceHash).toBe(a.traceHash);
      expect(b.schedule).toEqual(a.schedule);
      expect(b.steps).toBe(a.steps);
      expect(b.perCpu).toEqual(a.perCpu);
    } finally {
      await busy.terminate();
    }
    if (sched === 'random') expect(a.switches).toBeGreaterThan(a.steps / 10);
    // A different seed gives a different interleaving.
    const c = await runControlled({ ...cfg, seed: 0xdecaf + 1 }, { pool });
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('fork into a slot another CPU faulted in since its old process exited: the invariants hold (a controlled run once found 6.19 sharing a table under a VMA fork then resized)', async () => {
    // Before the fix (fork.ts: slotUsedSinceExit), this schedule ended with "mm 0 VMA 0 [0, 468)
    // of PUD[1] does not cover its PUD range, but its PMD page 9 is shared (refcount 2)".
    const r = await runControlled(controlledConfig({ scenario: 'mixed', mode: '6.19', sched: 'random', seed: 2293066709, ops: 400, stopOnViolation: false, pctSteps: 4800 }), { pool });
    expect(r.status).toBe('ok');
    expect(r.invariants?.errors).toEqual([]);
    expect(r.violationCount).toBe(0);
  });

  it.each(RACES)(`%s: hunt --sched pct (mode none, 200 ops) finds the race at the scenario's own call site within ${HUNT_BOUND} iterations; the replay hits the identical violation at the identical step`, async (scenario) => {
    // The walkers' scenarios also fault, and in `none` the fault races too: the hunt stops only
    // at a site the scenario is named for (others are counted, not the run's violation).
    const targets = openTargets(scenario, 'none');
    const h = await hunt({ ...controlledConfig({ scenario, mode: 'none', sched: 'pct', seed: 1, ops: 200, stopAtSites: targets }), iterations: HUNT_BOUND, outDir: tmp }, pool);
    console.log(`${scenario}: found at iteration ${h.iterations}`);
    expect(h.anomalies).toEqual([]);
    expect(h.found).toBe(true);
    const fail = h.failure!;
    expect(targets).toContain(fail.violation!.site);
    expect(fail.violation!.step).toBeGreaterThanOrEqual(0);
    // From the written file, through the loader.
    const r = await loadAndReplay(h.replayPath!, { pool });
    expect(r.result.violation).toEqual(fail.violation);
    expect(r.recurred).toBe(true);
    expect(r.result.traceHash).toBe(fail.traceHash);
    expect(r.result.steps).toBe(fail.steps);
    // And from the seed alone (the PCT scheduler again, not the recorded steps).
    const again = await runControlled(fail.config, { pool });
    expect(again.violation).toEqual(fail.violation);
    expect(again.traceHash).toBe(fail.traceHash);
  });

  it('a violation-free run under replay of a recorded schedule reproduces the same hash', async () => {
    const cfg = controlledConfig({ scenario: 'follow-page', mode: 'final', sched: 'random', seed: 99, ops: 200 });
    const a = await runControlled(cfg, { pool });
    const b = await runControlled(cfg, { pool, replay: a.schedule.steps });
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.schedule.steps).toEqual(a.schedule.steps);
  });
});

describe('deadlock under control', () => {
  it('AB-BA: no runnable CPU is reported with each CPU’s held locks and the word it waits on, never a hang', async () => {
    const pool = new Piscina({ filename: distPath('src/sched/selftest-deadlock.js'), minThreads: 2, maxThreads: 2 });
    try {
      let found: DeadlockSelftestResult['deadlock'];
      for (let seed = 1; seed <= 40 && !found; seed++) {
        const arenaCfg = arenaConfigFor({ cpus: 2 });
        const arena = Arena.create(arenaCfg);
        const spec = { kind: 'random' as const, seed };
        const sbuf = createSchedBuffer({ cpus: 2, logCap: 10_000, replayCap: 1, evCap: 0 }, spec, 9_000);
        const rs = (await Promise.all([0, 1].map((cpu) => pool.run({ buffer: arena.buffer, arena: arenaCfg, cpu, rounds: 50, sched: { buffer: sbuf, spec, replayCap: 1 } })))) as DeadlockSelftestResult[];
        found = rs.find((r) => r.deadlock)?.deadlock;
        if (!found) expect(rs.every((r) => r.status === 'ok' && r.rounds === 50)).toBe(true);
      }
      expect(found).toBeDefined();
      const d = found!;
      expect(d.cpus.every((c) => c.status === 'blocked')).toBe(true);
      for (const c of d.cpus) {
        expect(c.heldLocks).toHaveLength(1);
        expect(c.heldBy).toBe(1 - c.cpu);
        expect(c.heldLocks[0]!.at).toBe(d.cpus[1 - c.cpu]!.waitingOn);
      }
      expect(d.text).toMatch(/deadlock at step \d+/);
      expect(d.text).toContain('held by cpu');
    } finally {
      await pool.destroy();
    }
  });
});

describe('replay files', () => {
  const good = goodReplayDoc();
  const cases: Array<[string, unknown, RegExp]> = [
    ['another version', { ...good, version: 99 }, /version 99 is not supported/],
    ['another pmdtorture version', { ...good, toolVersion: '0.0.0-other' }, /written by pmdtorture 0\.0\.0-other, this is pmdtorture /],
    ['no pmdtorture version (a version 1 file)', { ...good, toolVersion: undefined }, /written by an unknown pmdtorture version/],
    ['an unknown stop site', { ...good, config: { ...good.config, stopAtSites: ['nowhere'] } }, /config\.stopAtSites must list call sites/],
    ['a missing scenario', { ...good, config: { ...good.config, scenario: 'no-such' } }, /unknown scenario 'no-such'/],
    ['a bad step', { ...good, steps: [[5, 1]] }, /steps\[0\]/],
    ['no violation', { ...good, violation: undefined }, /missing "violation"/],
    ['not an object', [1, 2], /not a JSON object/],
  ];
  it.each(cases)('refuses %s with one line', (_what, doc, msg) => {
    expect(() => validateReplay(doc, REPLAY_KNOWN)).toThrow(ReplayFileError);
    expect(() => validateReplay(doc, REPLAY_KNOWN)).toThrow(msg);
    try {
      validateReplay(doc, REPLAY_KNOWN);
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
  it('refuses a corrupt file and accepts a good one', () => {
    const bad = join(tmp, 'corrupt.json');
    writeFileSync(bad, '{"version": 2, "config": ');
    expect(() => loadReplay(bad, REPLAY_KNOWN)).toThrow(/corrupt/);
    const ok = join(tmp, 'good.json');
    writeFileSync(ok, JSON.stringify(good));
    expect(loadReplay(ok, REPLAY_KNOWN).seed).toBe(5);
    expect(() => loadReplay(join(tmp, 'missing.json'), REPLAY_KNOWN)).toThrow(/cannot read/);
  });
  it('replayFileOf round-trips through the validator', async () => {
    const r = await runControlled(controlledConfig({ scenario: 'gup-slow', mode: 'none', sched: 'pct', seed: 3, ops: 200 }));
    if (r.violation) {
      const f = replayFileOf(r);
      expect(validateReplay(JSON.parse(JSON.stringify(f)), REPLAY_KNOWN)).toEqual(JSON.parse(JSON.stringify(f)));
      const again = await replayFile(f);
      expect(again.recurred).toBe(true);
    }
  });
});

describe('shrinking to fewer CPUs', () => {
  it('a 3-CPU failing schedule that needs only 2 CPUs shrinks to 2 CPUs and still replays', async () => {
    // A 2-CPU failure, replayed with a third CPU added: the recorded schedule never picks CPU 2,
    // so the same race recurs with 3 CPUs, and pass 2 of the shrinker must drop CPU 2 again.
    // Not every 2-CPU failure recurs with a third CPU present (once the recorded steps run out the
    // scheduler may run CPU 2 when the others block): take the first of a few seeds whose does.
    let f2: ReturnType<typeof replayFileOf> | undefined;
    let r3: Awaited<ReturnType<typeof runControlled>> | undefined;
    for (let seed = 1; seed <= 8 && r3?.status !== 'violations'; seed++) {
      const h = await hunt({ ...controlledConfig({ scenario: 'follow-page', mode: 'none', cpus: 2, sched: 'pct', seed, ops: 200 }), iterations: HUNT_BOUND, fixedPctSteps: true });
      expect(h.found).toBe(true);
      f2 = replayFileOf(h.failure!);
      r3 = await runControlled({ ...configOfReplay(f2), cpus: 3, ops: 300, opsPerCpu: [100, 100, 100] }, { replay: f2.steps });
    }
    expect(r3!.status).toBe('violations');
    expect(sameKind(r3!.violation, f2!.violation)).toBe(true);
    const f3 = replayFileOf(r3!);
    expect(f3.config.cpus).toBe(3);
    const s = await shrinkReplay(f3, { maxRuns: 100, maxMs: 60_000 });
    expect(s.file.config.cpus).toBe(2);
    expect(s.file.config.opsPerCpu).toHaveLength(2);
    expect(s.file.steps.every(([c]) => c < 2)).toBe(true);
    expect(sameKind(s.file.violation, f3.violation)).toBe(true);
    const again = await replayFile(s.file);
    expect(again.recurred).toBe(true);
  });
});
