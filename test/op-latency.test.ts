/**
 * Issue 14 item 4: latency per op kind. The recorder writes real arena words (1 op in 4 timed),
 * the quantile rule, and exact merging: CPUs (the engine's sum), soak rounds (mergeRound) and
 * shards (pmdtorture merge) all give the histogram of the sum, and percentiles recomputed from it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arena, defaultArenaConfig } from '../src/shared-mem/layout.js';
import { HIST_BUCKETS } from '../src/locks/log2hist.js';
import { OP_LATENCY_EVERY, OpLatencyClock, latencyBucket, readOpLatency } from '../src/workers/hugetlb/op-latency.js';
import { addOpLatency, latencyQuantileUs, opLatencyJson, opLatencyRow } from '../src/report/op-latency.js';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { mergeRound } from '../stress/commands/soak.js';
import { runCli } from './run-cli.js';

const sum = (h: readonly number[]): number => h.reduce((a, b) => a + b, 0);

describe('recording', () => {
  it('1 op in OP_LATENCY_EVERY per CPU lands in its op kind\'s histogram in the arena; other CPUs and kinds untouched', () => {
    const arena = Arena.create(defaultArenaConfig(3));
    const clock = new OpLatencyClock(arena, 1);
    for (let i = 0; i < 40; i++) {
      clock.start();
      clock.stop(i % 8 < 4 ? 2 : 5); // the timed ones (i = 3, 7, 11, ...) alternate between the two kinds
    }
    const h = readOpLatency(arena, ['a', 'b', 'c', 'd', 'e', 'f']);
    expect(Object.keys(h).sort()).toEqual(['c', 'f']);
    expect(sum(h['c']!) + sum(h['f']!)).toBe(40 / OP_LATENCY_EVERY);
    expect(h['c']!.length).toBe(HIST_BUCKETS);
    const every = new OpLatencyClock(arena, 0, 1);
    for (let i = 0; i < 7; i++) {
      every.start();
      every.stop(0);
    }
    expect(sum(readOpLatency(arena, ['a'])['a']!)).toBe(7);
    expect(() => new OpLatencyClock(arena, 0, 3)).toThrow(/power of two/);
  });

  it('buckets: log2 ns, bucket 0 below 2 ns, the last one above', () => {
    expect([latencyBucket(0), latencyBucket(1.9), latencyBucket(2), latencyBucket(1023), latencyBucket(1024), latencyBucket(1e12)]).toEqual([0, 0, 1, 9, 10, HIST_BUCKETS - 1]);
  });
});

describe('quantiles and merging', () => {
  it('the quantile is interpolated inside its bucket, from the counts alone', () => {
    const h = new Array<number>(32).fill(0);
    h[10] = 100; // 100 samples in [1024, 2048) ns
    expect(latencyQuantileUs(h, 0.5)).toBeCloseTo(1.536, 3);
    expect(latencyQuantileUs(h, 0.99)).toBeCloseTo(2.038, 3);
    h[20] = 1; // one slow op: p99 stays in bucket 10, the max rank is in bucket 20
    expect(latencyQuantileUs(h, 0.99)).toBeLessThanOrEqual(2.048);
    expect(latencyQuantileUs(h, 1)).toBeGreaterThan(1000);
    expect(latencyQuantileUs(new Array(32).fill(0), 0.5)).toBe(0);
  });

  it('addOpLatency is the row of the summed histograms, for kinds on either side', () => {
    const a = new Array<number>(32).fill(0);
    const b = new Array<number>(32).fill(0);
    a[8] = 30;
    a[12] = 3;
    b[9] = 50;
    const m = addOpLatency(opLatencyJson({ fault: a, exit: a }), opLatencyJson({ fault: b }))!;
    const both = a.map((x, i) => x + b[i]!);
    expect(m['fault']).toEqual(opLatencyRow(both));
    expect(m['exit']).toEqual(opLatencyRow(a));
    expect(m['fault']!.count).toBe(83);
  });
});

describe('real runs', () => {
  const cfg = (seed: number, extra: Partial<RunConfig> = {}): RunConfig => ({ scenario: 'mixed', mode: 'final', cpus: 2, seed, ops: 4000, durationMs: 0, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000, ...extra });

  it('a run times 1 op in 4 of every kind it ran; off, it times none; soak rounds add exactly', async () => {
    const r1 = await runStress(cfg(1));
    const timed = sum(Object.values(r1.opLatency!).map(sum));
    // Each CPU times its 4th, 8th, ... op: 2000 ops a CPU -> 500 each.
    expect(timed).toBe(2 * Math.floor(2000 / OP_LATENCY_EVERY));
    expect(Object.keys(r1.opLatency!).sort()).toEqual(Object.keys(r1.perOp).sort());
    for (const [op, h] of Object.entries(r1.opLatency!)) expect(sum(h), op).toBeLessThanOrEqual(r1.perOp[op]!);
    const off = await runStress(cfg(1, { opLatencyEvery: 0 }));
    expect(off.opLatency).toBeUndefined();
    const r2 = await runStress(cfg(2));
    const want = Object.fromEntries(Object.keys({ ...r1.opLatency, ...r2.opLatency }).map((op) => [op, Array.from({ length: 32 }, (_, i) => (r1.opLatency![op]?.[i] ?? 0) + (r2.opLatency![op]?.[i] ?? 0))]));
    const acc = mergeRound(mergeRound(undefined, r1, 0), r2, 1);
    expect(acc.opLatency).toEqual(want);
  }, 120_000);
});

describe('reports', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pmdtorture-oplat-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shards merge exactly (histogram of the sum, percentiles from it); run and compare print the p50/p99 columns', async () => {
    const base = ['run', '--mode', 'final', '--ops', '3000', '--seeds', '1-2', '--cpus', '2', '--quiet'];
    for (const i of [1, 2]) expect((await runCli(dir, [...base, '--shard', `${i}/2`, '--report', `s${i}.json`])).code).toBe(0);
    const m = await runCli(dir, ['merge', 's1.json', 's2.json', '--report', 'm.json']);
    expect(m.code, m.stderr).toBe(0);
    const [a, b, mm] = ['s1.json', 's2.json', 'm.json'].map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { opLatency: Record<string, { hist: number[]; p50Us: number; p99Us: number; count: number }> });
    for (const op of Object.keys(mm!.opLatency)) {
      const h = mm!.opLatency[op]!.hist;
      expect(h, op).toEqual(h.map((_, i) => (a!.opLatency[op]?.hist[i] ?? 0) + (b!.opLatency[op]?.hist[i] ?? 0)));
      expect(mm!.opLatency[op]!.p50Us).toBe(latencyQuantileUs(h, 0.5));
      expect(mm!.opLatency[op]!.p99Us).toBe(latencyQuantileUs(h, 0.99));
    }
    expect(m.stdout).toMatch(/op +count +ops\/s +failed +p50 µs +p99 µs/);
    const c = await runCli(dir, ['compare', '--modes', 'vma-lock,final', '--ops', '3000', '--seed', '1', '--cpus', '2', '--report', 'c.json']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toContain('latency per op kind, p50 / p99 µs:');
    const doc = JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')) as { table: { latency: Record<string, Record<string, { p50Us: number }>> }; runs: Array<{ opLatency: Record<string, { p50Us: number }> }> };
    expect(doc.table.latency['fault']!['final']!.p50Us).toBe(doc.runs[1]!.opLatency['fault']!.p50Us);
  }, 180_000);
});
