/**
 * explain's witness hunt runs hunt's default portfolio: with PCT alone (seed 1, 1,000
 * iterations) it found nothing in gup-fast-free × 6.15 and mixed × 6.2 (among others). With the
 * portfolio it finds a violation at one of the cell's unsafe sites there with explain's defaults,
 * and the shrunk replay file replays to that violation exactly. Controlled runs are deterministic,
 * so the iteration found is a function of the seed, not of the machine's load.
 */
import { describe, expect, it } from 'vitest';
import { explainCell, findWitness } from '../src/controlled/explain.js';
import { replayFile } from '../src/controlled/replay-file.js';
import { modeByName } from '../src/workers/hugetlb/modes.js';
import { scenarioByName } from '../src/workers/hugetlb/scenarios.js';
import { EXPLAIN_DEFAULTS } from '../stress/commands/explain.js';

describe("explain's witness (the hunt's portfolio)", () => {
  for (const [scenario, mode] of [['gup-fast-free', '6.15'], ['mixed', '6.2']] as const) {
    it(`${scenario} × ${mode}: found at an unsafe site of the cell, and the shrunk file replays exactly`, async () => {
      const c = explainCell(scenarioByName(scenario)!, modeByName(mode)!);
      expect(c.expected).toBe('race');
      const w = await findWitness(c, EXPLAIN_DEFAULTS);
      expect(w.found, w.text).toBe(true);
      const v = w.shrunk!.file.violation!;
      expect(c.unsafe).toContain(v.site);
      expect(w.text).toMatch(/of the portfolio\)/);
      const again = await replayFile(w.shrunk!.file);
      expect(again.recurred).toBe(true);
      expect(again.sameHash).toBe(true);
    }, 120_000);
  }
});
