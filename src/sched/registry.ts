/**
 * Every seeded scheduling strategy, by name: how the main thread seeds its state words and how a
 * worker builds it over them. The CLI's --sched choices, replay-file validation and the
 * scheduler buffer all read this table, so a new strategy is one file (its Scheduler) and one
 * line here. (Replay is not a strategy one picks: it follows a recorded schedule.)
 */
import type { Scheduler } from './scheduler.js';
import { RandomScheduler } from './random.js';
import { PctScheduler } from './pct.js';

/** What a strategy is seeded from; each takes what it needs. */
export interface StrategyParams {
  seed: number;
  /** CPUs of the run, PCT's depth d and its estimate k of a run's steps. */
  cpus?: number | undefined;
  depth?: number | undefined;
  estSteps?: number | undefined;
}

export interface Strategy {
  /** One line for --help. */
  describe: string;
  /** Main thread, once per run: seed the state words. */
  init(state: Int32Array, p: StrategyParams): void;
  /** Each worker, over the same words. */
  create(state: Int32Array): Scheduler;
}

function need(p: StrategyParams, key: 'cpus' | 'depth' | 'estSteps', who: string): number {
  const v = p[key];
  if (v === undefined) throw new RangeError(`${who} scheduler needs ${key}`);
  return v;
}

export const STRATEGIES = {
  random: { describe: 'a uniformly random runnable CPU at every step', init: (s, p) => RandomScheduler.init(s, p.seed), create: (s) => new RandomScheduler(s) },
  pct: { describe: 'PCT: random priorities with d-1 change points', init: (s, p) => PctScheduler.init(s, p.seed, need(p, 'cpus', 'pct'), need(p, 'depth', 'pct'), need(p, 'estSteps', 'pct')), create: (s) => new PctScheduler(s) },
} as const satisfies Record<string, Strategy>;

export type StrategyName = keyof typeof STRATEGIES;
export const STRATEGY_NAMES = Object.keys(STRATEGIES) as StrategyName[];

export function isStrategy(x: unknown): x is StrategyName {
  return typeof x === 'string' && Object.hasOwn(STRATEGIES, x);
}
