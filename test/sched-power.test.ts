/**
 * Power of controlled hunting (issue 6) and shrinking. The bound is stated here and in the
 * README of `hunt`: with `--sched pct --pct-depth 3 --ops 200 --seed 1`, every race scenario of
 * mode `none` is found at its own call site within 1,000 iterations (test/sched.test.ts),
 * and no safe cell of the truth table finds anything: `final` in 300 iterations (no false
 * positive in 300 × 200 ops of adversarial schedules per scenario), the safe cells of
 * `vma-lock`, `walker-rcu` and `walker-irq` in SAFE_BOUND iterations each (100 × 200 ops per
 * cell, 24 cells: 0.4-1.2 s a cell on 2 shared cores, ~17 s in all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlledPool, controlledConfig } from '../src/controlled/run.js';
import { SCENARIOS, expected, truthTable } from '../src/workers/hugetlb/scenarios.js';
import { MODES } from '../src/workers/hugetlb/modes.js';
import { POINT_NAMES } from '../src/workers/hugetlb/points.js';
import { replayFile, replayFileOf } from '../src/controlled/replay-file.js';
import { hunt } from '../src/controlled/hunt.js';
import { shrinkReplay } from '../src/controlled/shrink.js';
import { formatInterleaving } from '../src/controlled/interleaving.js';

const RACES = truthTable().filter((r) => r.expected['none'] === 'race').map((r) => r.scenario);
const HUNT_BOUND = 300;
const SAFE_BOUND = 100;
/**
 * Every safe cell of the partially protected modes (6.1 and the RFC's two), as [scenario, mode].
 * The kernel versions share `final`'s walker guards (final is the newest's alias): the hunt above
 * and the truth table cover them.
 */
const PARTIAL = new Set(['vma-lock', 'walker-rcu', 'walker-irq']);
const SAFE_CELLS = MODES.filter((m) => PARTIAL.has(m.name)).flatMap((m) =>
  SCENARIOS.filter((sc) => expected(sc, m) === 'safe').map((sc): [string, string] => [sc.name, m.name]),
);

describe('power', () => {
  let pool: ControlledPool;
  beforeAll(() => {
    pool = new ControlledPool(2);
  });
  afterAll(async () => {
    await pool.close();
  });

  it.each(RACES.filter((s) => truthTable().find((r) => r.scenario === s)!.expected['final'] === 'safe'))(
    `%s: hunt --sched pct in mode final finds nothing in ${HUNT_BOUND} iterations`,
    async (scenario) => {
      const h = await hunt({ ...controlledConfig({ scenario, mode: 'final', sched: 'pct', seed: 1, ops: 200 }), iterations: HUNT_BOUND }, pool);
      expect(h.found).toBe(false);
      expect(h.anomalies).toEqual([]);
      expect(h.iterations).toBe(HUNT_BOUND);
    },
  );

  it.each(SAFE_CELLS)(`%s in mode %s (safe cell): hunt --sched pct finds nothing in ${SAFE_BOUND} iterations`, async (scenario, mode) => {
    const h = await hunt({ ...controlledConfig({ scenario, mode, sched: 'pct', seed: 1, ops: 200 }), iterations: SAFE_BOUND }, pool);
    expect(h.found).toBe(false);
    expect(h.anomalies).toEqual([]);
    expect(h.iterations).toBe(SAFE_BOUND);
  });
});

describe('shrinking', () => {
  it('a hunted failure shrinks to fewer ops and preemptions, still fails the same way, and prints a readable interleaving', async () => {
    const h = await hunt({ ...controlledConfig({ scenario: 'follow-page', mode: 'none', sched: 'random', seed: 4, ops: 200 }), iterations: 200 });
    expect(h.found).toBe(true);
    const f = replayFileOf(h.failure!);
    const s = await shrinkReplay(f, { maxRuns: 100, maxMs: 60_000 });
    const sf = s.file;
    const opsBefore = h.failure!.config.ops;
    const opsAfter = (sf.config.opsPerCpu ?? []).reduce((a, b) => a + b, 0);
    expect(opsAfter).toBeLessThan(opsBefore);
    expect(s.result.preemptions).toBeLessThan(h.failure!.preemptions);
    expect(sf.violation.kind).toBe(f.violation.kind);
    expect(sf.violation.site).toBe(f.violation.site);
    // The shrunk file replays exactly.
    const again = await replayFile(sf);
    expect(again.recurred).toBe(true);
    const text = formatInterleaving(s.result.interleaving ?? [], sf.violation.step);
    expect(text).toContain('VIOLATION');
    expect(POINT_NAMES.some((p) => text.includes(p))).toBe(true);
    expect(text).toMatch(/→ cpu \d/);
  });
});
