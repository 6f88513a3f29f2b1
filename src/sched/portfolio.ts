/**
 * A portfolio of controlled schedulers for hunts (as Coyote's portfolio does): no single strategy
 * is best for every bug, so iterations take turns. Three iterations in four run the random
 * scheduler (in bench/sched it found every race of `none` in the fewest iterations: a median of
 * 1-20, against PCT's 5-199); the fourth runs PCT with a depth drawn from PCT_DEPTHS, so a bug
 * that needs a CPU to run a long stretch unpreempted, with d-1 well-placed switches — what
 * random, switching at every step, rarely does — still gets its chance. Half and half cost the
 * races here 2-3x random's iterations (bench/sched), one in four about 4/3. The
 * strategy of iteration i is a function of (hunt seed, i) alone: a sharded hunt runs exactly the
 * unsharded one's iterations, and the failing iteration's replay file records the strategy that
 * ran it (config.sched, config.pctDepth), so it replays exactly like any other.
 */
import { deriveSeed } from '../shared-mem/prng.js';

export interface PortfolioStrategy {
  sched: 'random' | 'pct';
  /** PCT's depth d (1 for random, which ignores it). */
  pctDepth: number;
}

/** PCT depths the portfolio draws from (d-1 priority change points each). */
export const PCT_DEPTHS = [2, 3, 5] as const;

/** Mixed into the seed that picks a PCT depth, so the pick is independent of the iteration's own seed. */
const DEPTH_SALT = 0x51ed2705;

export function portfolioStrategy(seed: number, i: number): PortfolioStrategy {
  if (i % 4 !== 3) return { sched: 'random', pctDepth: 1 };
  return { sched: 'pct', pctDepth: PCT_DEPTHS[deriveSeed(seed ^ DEPTH_SALT, i) % PCT_DEPTHS.length]! };
}

/** What found a race: the strategy and its settings, as reports and replay files name it. */
export interface FoundBy {
  /** The hunt's --sched: portfolio, random or pct. */
  hunt: string;
  /** The strategy that ran the failing iteration. */
  sched: 'random' | 'pct';
  /** PCT's depth and step estimate k (absent for random). */
  pctDepth?: number | undefined;
  pctSteps?: number | undefined;
  /** The failing iteration (0-based, in the unsharded numbering). */
  iteration: number;
}

/** "pct (depth 3, k 1234) of the portfolio" (the iteration is said next to it where it is printed). */
export function foundByText(f: FoundBy): string {
  return `${f.sched}${f.sched === 'pct' ? ` (depth ${f.pctDepth}, k ${f.pctSteps})` : ''}${f.hunt === 'portfolio' ? ' of the portfolio' : ''}`;
}
