/**
 * A sharded hunt (`hunt --shard I/N`): iteration i of the unsharded hunt (seed deriveSeed(seed, i))
 * belongs to shard (i mod N) + 1. The unsharded hunt adapts PCT's step estimate k to the longest
 * run seen so far, which would make iteration i depend on the iterations before it; a sharded hunt
 * keeps k fixed at the configured estimate, so every iteration is the same execution whichever
 * shard runs it, and N shards together run exactly iterations 0..iterations-1.
 */
import { deriveSeed } from '../src/shared-mem/prng.js';
import { ControlledPool, runControlled, replayFileOf, validateControlled, writeReplayFile, type ControlledConfig, type HuntConfig, type HuntResult } from './controlled.js';
import { shardItems, type Shard } from './shard.js';

export async function huntShard(cfg: HuntConfig, shard: Shard): Promise<HuntResult & { items: number[] }> {
  validateControlled(cfg);
  const p = new ControlledPool(cfg.cpus);
  const t0 = performance.now();
  let total = 0;
  const anomalies: HuntResult['anomalies'] = [];
  const items: number[] = [];
  const { iterations, outDir, onIteration: _o, fixedPctSteps: _f, ...base } = cfg;
  try {
    for (const i of shardItems(shard, iterations)) {
      const seed = deriveSeed(cfg.seed, i);
      const run: ControlledConfig = { ...base, seed };
      const r = await runControlled(run, { pool: p });
      total += r.steps;
      items.push(i);
      const done = { iterations: items.length, elapsedMs: performance.now() - t0, totalSteps: total, anomalies, items };
      if (r.status === 'violations' && r.violation) {
        const path = outDir !== undefined ? writeReplayFile(outDir, replayFileOf(r)) : undefined;
        return { ...done, found: true, failure: r, replayPath: path };
      }
      if (r.status !== 'ok') anomalies.push({ iteration: i, seed, status: r.status, errors: r.errors });
      if (r.status === 'deadlock' || r.status === 'crashed') return { ...done, found: false, failure: r };
    }
    return { found: false, iterations: items.length, elapsedMs: performance.now() - t0, totalSteps: total, anomalies, items };
  } finally {
    await p.close();
  }
}
