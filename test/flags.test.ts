/**
 * Flags shown to do what they say, not only to parse (issue 11, item 21): each named widening
 * point waits when it alone is widened and no other point does (delays counted per point in the
 * report, and the measured time bounds their total from below); PCT's depth changes the schedule
 * with at most d−1 priority changes; --no-lockstat and --stat-interval change what they claim to.
 * Workers load dist/.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStress } from '../src/engine/engine.js';
import { POINT_NAMES } from '../src/workers/hugetlb/points.js';
import { PctScheduler } from '../src/sched/pct.js';
import { SCHED_STATE_WORDS } from '../src/sched/scheduler.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'stress', 'cli.js');
function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, NO_COLOR: '1' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('--widen-point NAME: that point waits, no other does', () => {
  const US = 100;
  // rcu-free is reached only where tables are freed after a grace period; every other point under walker-irq.
  it.each(POINT_NAMES.map((p) => [p]))('%s', async (point) => {
    const r = await runStress({
      scenario: 'mixed',
      mode: point === 'rcu-free' ? 'walker-rcu' : 'walker-irq',
      cpus: 2,
      seed: 7,
      ops: 1500,
      durationMs: 0,
      widen: { prob: 0.05, us: 200, points: [`${point}:1:${US}`] },
      lockstat: false,
      stopOnViolation: false,
      stallTimeoutMs: 30_000,
    });
    // mixed races in these modes now (GUP-fast, the split): the run must end, violations or not.
    expect(['ok', 'violations']).toContain(r.status);
    const w = r.widened!;
    expect(Object.keys(w).sort()).toEqual([...POINT_NAMES].sort());
    expect(w[point], JSON.stringify(w)).toBeGreaterThan(0);
    for (const other of POINT_NAMES) if (other !== point) expect(w[other], other).toBe(0);
    // Each delay is a real sleep of US µs on one of 2 CPUs: together they bound the measured time
    // from below (a lower bound only, so a slow machine cannot break it; 10% for timer rounding).
    expect(r.runMs * 1000).toBeGreaterThanOrEqual(0.9 * (w[point]! * US) / 2);
  });

  it('without widening the report has no widening counts; with it, the JSON and the text carry them', () => {
    const off = cli(['run', '--ops', '1000', '--cpus', '2', '--seed', '2', '--quiet', '--json']);
    expect(off.code, off.stderr).toBe(0);
    expect(JSON.parse(off.stdout).widened).toBeUndefined();
    // A safe mode: mixed races under walker-irq (GUP-fast), and a violation would exit 1.
    const on = cli(['run', '--ops', '1500', '--cpus', '2', '--seed', '2', '--widen-point', 'walk-ptl:1:1', '--json']);
    expect(on.code, on.stderr).toBe(0);
    const j = JSON.parse(on.stdout) as { widened: Record<string, number> };
    expect(j.widened['walk-ptl']).toBeGreaterThan(0);
    expect(on.stderr).toContain(`widening delays taken: walk-ptl ${j.widened['walk-ptl']!.toLocaleString('en-US')}`);
  });
});

describe('--pct-depth d: d−1 priority changes at most, and a different schedule', () => {
  /** A run of `steps` decisions with every CPU runnable: the CPU chosen at each step, and the priority changes seen. */
  function drive(seed: number, depth: number, cpus = 3, steps = 300): { schedule: number[]; changes: number; applied: number } {
    const w = new Int32Array(SCHED_STATE_WORDS);
    PctScheduler.init(w, seed, cpus, depth, steps);
    const s = new PctScheduler(w);
    const all = Array.from({ length: cpus }, (_, i) => i);
    const schedule: number[] = [];
    let changes = 0;
    let cur = -1;
    for (let step = 0; step < steps; step++) {
      const before = s.priorities();
      cur = s.next(all, cur, step);
      changes += s.priorities().filter((p, i) => p !== before[i]).length;
      schedule.push(cur);
    }
    return { schedule, changes, applied: s.changesApplied() };
  }

  it.each([1, 2, 3, 4, 5])('seed %i: depth 1 never changes a priority (one CPU runs throughout); depth 6 makes 1..5 changes and another schedule', (seed) => {
    const d1 = drive(seed, 1);
    expect(d1.changes).toBe(0);
    expect(d1.applied).toBe(0);
    expect(new Set(d1.schedule).size).toBe(1);
    const d6 = drive(seed, 6);
    expect(d6.changes).toBe(d6.applied);
    expect(d6.changes).toBeGreaterThanOrEqual(1);
    expect(d6.changes).toBeLessThanOrEqual(5);
    expect(d6.schedule).not.toEqual(d1.schedule);
    for (const d of [2, 3, 4]) expect(drive(seed, d).changes).toBeLessThanOrEqual(d - 1);
  });

  it('the CLI flag reaches the scheduler: run --sched pct, same seed, depth 1 vs 6 give different trace hashes; the same depth the same hash', () => {
    const run = (d: number): { traceHash: string; pctDepth: number } => {
      const r = cli(['run', '--sched', 'pct', '--pct-depth', String(d), '--scenario', 'mixed', '--mode', 'final', '--cpus', '2', '--ops', '60', '--seed', '3', '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { traceHash: string; pctDepth: number };
    };
    const a = run(1);
    const b = run(6);
    expect([a.pctDepth, b.pctDepth]).toEqual([1, 6]);
    expect(b.traceHash).not.toBe(a.traceHash);
    expect(run(1).traceHash).toBe(a.traceHash);
  });
});

describe('other flags change what they claim to', () => {
  it('--yields points: fewer scheduling steps than the default events (same seed)', () => {
    const steps = (y: string): number => {
      const r = cli(['run', '--sched', 'random', '--yields', y, '--mode', 'final', '--cpus', '2', '--ops', '40', '--seed', '5', '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { steps: number }).steps;
    };
    const points = steps('points');
    const events = steps('events');
    expect(points).toBeGreaterThan(0);
    expect(points).toBeLessThan(events);
  });

  it('--no-lockstat: no lock_stat rows (and the text says so); the default has them', () => {
    const on = cli(['run', '--ops', '1500', '--cpus', '2', '--seed', '4', '--quiet', '--json']);
    const off = cli(['run', '--ops', '1500', '--cpus', '2', '--seed', '4', '--no-lockstat', '--json']);
    expect([on.code, off.code]).toEqual([0, 0]);
    expect(JSON.parse(on.stdout).lockstat.length).toBeGreaterThan(0);
    const j = JSON.parse(off.stdout) as { lockstat: unknown[]; config: { lockstat: boolean } };
    expect(j.lockstat).toEqual([]);
    expect(j.config.lockstat).toBe(false);
    expect(off.stderr).toContain('lock_stat: off (--no-lockstat)');
  });

  it('soak --stat-interval: status lines at that interval; the 10 s default prints none in a 2 s soak', () => {
    const base = ['soak', '--mode', 'final', '--cpus', '2', '--duration', '2s', '--round', '1s', '--seed', '6', '--json'];
    const quick = cli([...base, '--stat-interval', '250ms']);
    const dflt = cli(base);
    expect([quick.code, dflt.code]).toEqual([0, 0]);
    const lines = (s: string): number => s.split('\n').filter((l) => /^pmdtorture-soak: \d\d:\d\d:\d\d round/.test(l)).length;
    expect(JSON.parse(dflt.stdout).soak.statLines).toBe(0);
    expect(lines(dflt.stderr)).toBe(0);
    const q = JSON.parse(quick.stdout).soak.statLines as number;
    expect(q).toBeGreaterThanOrEqual(2);
    expect(lines(quick.stderr)).toBe(q);
  });
});
