/**
 * hunt(): many short controlled executions with seeds derived from the hunt's, until the first
 * violation, whose replay file it writes; PCT's k calibrated once per hunt (at its first PCT
 * iteration) so a shard runs exactly its iterations of the unsharded hunt. With `portfolio`,
 * each iteration's strategy comes from src/sched/portfolio.ts.
 */
import { deriveSeed } from '../shared-mem/prng.js';
import { portfolioStrategy, type FoundBy } from '../sched/portfolio.js';
import { ControlledPool, runControlled, validateControlled, type ControlledConfig, type ControlledResult, type ControlledStatus } from './run.js';
import { replayFileOf, writeReplayFile } from './replay-file.js';

export interface HuntConfig extends ControlledConfig {
  iterations: number;
  /** The iterations to run, in order (a shard's share: src/engine/shard.ts); default 0..iterations-1. */
  items?: readonly number[] | undefined;
  /** Where the replay file goes (undefined = do not write). */
  outDir?: string | undefined;
  /**
   * PCT's k. Default (undefined): calibrated once per hunt — the steps of one execution with its
   * own seed (calibratePctSteps) — then the same for every iteration. true: pctSteps as given.
   * Either way iteration i is the same execution whatever ran before it, so a shard runs exactly
   * its iterations of the unsharded hunt. false: k grows to the longest run seen so far (the old
   * default; not shardable, and slower to find races in bench/sched.ts).
   */
  fixedPctSteps?: boolean | undefined;
  /** Stops the hunt (SIGINT): the current execution is aborted and the result says interrupted. */
  signal?: AbortSignal | undefined;
  /** Run the scheduler portfolio (src/sched/portfolio.ts): iteration i's strategy from (seed, i); sched/pctDepth are then per iteration. */
  portfolio?: boolean | undefined;
  onIteration?: ((i: number, r: ControlledResult) => void) | undefined;
}

export interface HuntResult {
  found: boolean;
  /** Stopped by HuntConfig.signal before the iterations were done. */
  interrupted: boolean;
  /** Iterations run (the failing one included). */
  iterations: number;
  /** The failing iteration's run. */
  failure?: ControlledResult | undefined;
  replayPath?: string | undefined;
  elapsedMs: number;
  totalSteps: number;
  /** Runs that ended in something other than ok/violations (deadlock, crash, step-limit). */
  anomalies: Array<{ iteration: number; seed: number; status: ControlledStatus; errors: string[] }>;
  /** The strategy and settings of the failing iteration. */
  foundBy?: FoundBy | undefined;
}

/** A hunt's configuration of one execution (the hunt-only fields dropped). */
function iterationConfig(cfg: HuntConfig, seed: number, pctSteps: number): ControlledConfig {
  const { iterations: _i, items: _t, outDir: _o, onIteration: _n, fixedPctSteps: _f, signal: _s, portfolio: _p, ...run } = cfg;
  return { ...run, seed, pctSteps };
}

/** Mixed into the hunt's seed for the calibration run, so it is none of the iterations. */
const CALIBRATION_SALT = 0x6b43a9b5;

/**
 * PCT's k for a hunt: the steps of one execution of its configuration (seed derived from the
 * hunt's, run past violations to its end), at least the configured estimate. A function of the
 * configuration and seed alone, so every shard computes the same k. Change points then fall
 * anywhere in a typical run: the first guess (3 steps per op, several times short) bunches them
 * at the start, and the longest-run-so-far k used before spreads them past most runs' end; in
 * bench/sched.ts this k found races at their own call site soonest of the three.
 */
export async function calibratePctSteps(cfg: HuntConfig, pool: ControlledPool): Promise<number> {
  const run = { ...iterationConfig(cfg, deriveSeed(cfg.seed ^ CALIBRATION_SALT, 0), cfg.pctSteps), stopOnViolation: false };
  const r = await runControlled(run, { pool, signal: cfg.signal });
  return Math.max(cfg.pctSteps, r.steps);
}

export async function hunt(cfg: HuntConfig, pool?: ControlledPool): Promise<HuntResult> {
  validateControlled(cfg);
  if (cfg.items && cfg.fixedPctSteps === false) throw new RangeError('a sharded hunt (items) needs a fixed PCT k: an adaptive k makes iteration i depend on the iterations before it');
  const own = pool === undefined;
  const p = pool ?? new ControlledPool(cfg.cpus);
  const t0 = performance.now();
  let total = 0;
  const anomalies: HuntResult['anomalies'] = [];
  const items = cfg.items ?? Array.from({ length: cfg.iterations }, (_, i) => i);
  try {
    // PCT's k, calibrated at the first PCT iteration (a portfolio's random iterations need none,
    // and run with the configured estimate, which they ignore): the same k whatever ran before.
    let k = cfg.fixedPctSteps === undefined ? undefined : cfg.pctSteps;
    const interrupted = (n: number): HuntResult => ({ found: false, interrupted: true, iterations: n, elapsedMs: performance.now() - t0, totalSteps: total, anomalies });
    for (let n = 0; n < items.length; n++) {
      if (cfg.signal?.aborted) return interrupted(n);
      // Iteration i's execution depends on (seed, i) alone (and, with fixedPctSteps false, on k).
      const i = items[n]!;
      const seed = deriveSeed(cfg.seed, i);
      const strategy = cfg.portfolio ? portfolioStrategy(cfg.seed, i) : { sched: cfg.sched, pctDepth: cfg.pctDepth };
      if (strategy.sched === 'pct') k ??= await calibratePctSteps(cfg, p);
      const r = await runControlled({ ...iterationConfig(cfg, seed, strategy.sched === 'pct' ? k! : cfg.pctSteps), ...strategy }, { pool: p, signal: cfg.signal });
      if (r.status === 'interrupted') return interrupted(n);
      total += r.steps;
      cfg.onIteration?.(i, r);
      if (cfg.fixedPctSteps === false && r.status === 'ok') k = Math.max(k ?? cfg.pctSteps, r.steps);
      if (r.status === 'violations' && r.violation) {
        const c = r.config;
        const foundBy: FoundBy = { hunt: cfg.portfolio ? 'portfolio' : c.sched, sched: c.sched, ...(c.sched === 'pct' ? { pctDepth: c.pctDepth, pctSteps: c.pctSteps } : {}), iteration: i };
        const path = cfg.outDir !== undefined ? writeReplayFile(cfg.outDir, { ...replayFileOf(r), foundBy }) : undefined;
        return { found: true, interrupted: false, iterations: n + 1, failure: r, replayPath: path, elapsedMs: performance.now() - t0, totalSteps: total, anomalies, foundBy };
      }
      if (r.status !== 'ok') anomalies.push({ iteration: i, seed, status: r.status, errors: r.errors });
      if (r.status === 'deadlock' || r.status === 'crashed' || r.status === 'invariants') {
        return { found: false, interrupted: false, iterations: n + 1, failure: r, elapsedMs: performance.now() - t0, totalSteps: total, anomalies };
      }
    }
    return { found: false, interrupted: cfg.signal?.aborted === true, iterations: items.length, elapsedMs: performance.now() - t0, totalSteps: total, anomalies };
  } finally {
    if (own) await p.close();
  }
}
