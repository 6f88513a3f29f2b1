/**
 * Issue 14 item 8: hunt's default is a portfolio of schedulers. The strategy of iteration i is
 * a function of (seed, i); what found a race is reported (result, JSON, replay file) and the
 * replay file replays exactly — whichever strategy found it; a shard running one iteration runs
 * the very execution the unsharded hunt ran there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PCT_DEPTHS, portfolioStrategy } from '../src/sched/portfolio.js';
import { ControlledPool, controlledConfig, openTargets } from '../src/controlled/run.js';
import { hunt } from '../src/controlled/hunt.js';
import { replayFile, replayFileOf } from '../src/controlled/replay-file.js';
import { runCli } from './run-cli.js';

let dir = '';
let pool: ControlledPool;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pmdtorture-portfolio-'));
  pool = new ControlledPool(2);
});
afterAll(async () => {
  await pool.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the strategy of an iteration', () => {
  it('3 iterations in 4 random, the 4th pct with every depth of PCT_DEPTHS drawn; the same for the same (seed, i)', () => {
    const s = Array.from({ length: 200 }, (_, i) => portfolioStrategy(7, i));
    expect(s.filter((x, i) => (i % 4 !== 3) !== (x.sched === 'random'))).toEqual([]);
    expect(new Set(s.filter((x) => x.sched === 'pct').map((x) => x.pctDepth))).toEqual(new Set(PCT_DEPTHS));
    expect(Array.from({ length: 200 }, (_, i) => portfolioStrategy(7, i))).toEqual(s);
    // Another seed draws other depths.
    expect(Array.from({ length: 200 }, (_, i) => portfolioStrategy(8, i))).not.toEqual(s);
  });
});

describe('a portfolio hunt', () => {
  const base = { ...controlledConfig({ scenario: 'follow-page', mode: 'none', sched: 'pct', seed: 3, ops: 200, stopAtSites: openTargets('follow-page', 'none') }), portfolio: true };

  it('finds the race, says which strategy did, and its replay file (with foundBy) replays it exactly; one shard of that iteration finds the same', async () => {
    const h = await hunt({ ...base, iterations: 200, outDir: dir }, pool);
    expect(h.found).toBe(true);
    const i = h.iterations - 1;
    const want = portfolioStrategy(3, i);
    expect(h.foundBy).toMatchObject({ hunt: 'portfolio', sched: want.sched, iteration: i });
    expect(h.failure!.config.sched).toBe(want.sched);
    if (want.sched === 'pct') expect(h.failure!.config.pctDepth).toBe(want.pctDepth);
    const file = JSON.parse(readFileSync(h.replayPath!, 'utf8')) as ReturnType<typeof replayFileOf>;
    expect(file.foundBy).toEqual(h.foundBy);
    const again = await replayFile(file, { pool });
    expect([again.recurred, again.sameStep, again.sameHash]).toEqual([true, true, true]);
    const one = await hunt({ ...base, iterations: 200, items: [i] }, pool);
    expect(one.found).toBe(true);
    expect(one.failure!.violation).toEqual(h.failure!.violation);
    expect(one.foundBy).toEqual(h.foundBy);
  });

  it('a race found by a pct iteration (the pct iterations only, as a shard may run them) names its depth and k, and replays exactly', async () => {
    // rmap-walk: PCT's quickest race in bench/sched (a median of 5 iterations); 300 PCT iterations.
    const pctOnly = Array.from({ length: 300 }, (_, k) => 4 * k + 3);
    const rmap = { ...base, scenario: 'rmap-walk', stopAtSites: openTargets('rmap-walk', 'none') };
    const h = await hunt({ ...rmap, iterations: 1200, items: pctOnly }, pool);
    expect(h.found).toBe(true);
    expect(h.foundBy!.sched).toBe('pct');
    expect(PCT_DEPTHS).toContain(h.foundBy!.pctDepth);
    expect(h.foundBy!.pctDepth).toBe(portfolioStrategy(3, h.foundBy!.iteration).pctDepth);
    expect(h.foundBy!.pctSteps).toBe(h.failure!.config.pctSteps);
    const again = await replayFile({ ...replayFileOf(h.failure!), foundBy: h.foundBy }, { pool });
    expect([again.recurred, again.sameStep, again.sameHash]).toEqual([true, true, true]);
  });
});

describe('the CLI', () => {
  it('hunt defaults to the portfolio: JSON sched portfolio with foundBy, text names the strategy; --pct-depth with it is refused in one line', async () => {
    const r = await runCli(dir, ['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '60', '--seed', '1', '--json', '--out', '.']);
    expect(r.code, r.stderr).toBe(1);
    const doc = JSON.parse(r.stdout) as { sched: string; foundBy: { sched: string; iteration: number }; rerun: string; replayFile: string };
    expect(doc.sched).toBe('portfolio');
    expect(doc.rerun).toContain('--sched portfolio');
    expect(doc.rerun).not.toContain('--pct-depth');
    expect(r.stderr).toMatch(new RegExp(`found by ${doc.foundBy.sched}.* of the portfolio`));
    const file = JSON.parse(readFileSync(doc.replayFile, 'utf8')) as { foundBy: unknown; config: { sched: string } };
    expect(file.foundBy).toEqual(doc.foundBy);
    expect(file.config.sched).toBe(doc.foundBy.sched);
    const rp = await runCli(dir, ['replay', doc.replayFile]);
    expect(rp.code, rp.stderr).toBe(1);
    expect(rp.stderr).toContain('RECURRED');
    // A replay file whose foundBy contradicts its config is refused.
    writeFileSync(join(dir, 'bad.replay.json'), JSON.stringify({ ...file, foundBy: { hunt: 'portfolio', sched: file.config.sched === 'pct' ? 'random' : 'pct', iteration: 0 } }));
    const bad = await runCli(dir, ['replay', 'bad.replay.json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/foundBy must name/);
    const depth = await runCli(dir, ['hunt', '--pct-depth', '4', '--iterations', '1']);
    expect(depth.code).toBe(2);
    expect(depth.stderr.trim().split('\n')).toHaveLength(1);
    expect(depth.stderr).toMatch(/--pct-depth: only applies to --sched pct \(the portfolio draws PCT depths 2, 3, 5\)/);
  }, 120_000);
});
