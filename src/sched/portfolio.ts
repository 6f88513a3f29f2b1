/**
 * A portfolio of controlled schedulers for hunts (as Coyote's portfolio does): no single strategy
 * is best for every bug, so iterations alternate between them. Even iterations run the random
 * scheduler (in bench/sched it found every race of `none` soonest); odd ones run PCT with a depth
 * drawn from PCT_DEPTHS, so bugs needing d-1 well-placed preemptions get their chance too. The
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
  if (i % 2 === 0) return { sched: 'random', pctDepth: 1 };
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
