/**
 * Scheduler flags shared by `run` (once its handler routes controlled runs), `hunt` and
 * `replay`: --sched parallel|random|pct and --pct-depth. Import `schedOptions` into a command's
 * builder and `resolveSched` into its handler; a run with --sched random|pct goes through
 * src/controlled/ runControlled() instead of runStress().
 */
import type { Argv } from 'yargs';
import { STRATEGY_NAMES, type StrategyName } from '../../src/sched/registry.js';
import { parseChoice, parseInteger } from '../args.js';
import { CONTROLLED_DEFAULTS } from '../../src/controlled/run.js';
import { UsageError } from '../../src/engine/exit.js';

/** parallel (the engine) or a controlled run's strategy (src/sched/registry.ts). */
export const SCHED_NAMES = ['parallel', ...STRATEGY_NAMES] as const;
export type SchedFlag = 'parallel' | StrategyName;

export function schedOptions<T>(y: Argv<T>, defaultSched: SchedFlag = 'parallel'): Argv<T> {
  return y
    .option('sched', {
      type: 'string',
      requiresArg: true,
      default: defaultSched,
      describe: `scheduling: ${defaultSched === 'parallel' ? 'parallel (real races) | ' : ''}${STRATEGY_NAMES.join(' | ')} (one CPU at a time, a seeded scheduler picks at every yield point; replayable)`,
    })
    .option('pct-depth', { type: 'string', requiresArg: true, default: String(CONTROLLED_DEFAULTS.pctDepth), describe: 'PCT bug depth d: d-1 priority change points per run' })
    .option('yields', { type: 'string', requiresArg: true, default: CONTROLLED_DEFAULTS.yields, describe: 'controlled yield points: events (every lock, RCU, IPI and model event + named points) | points (named points only)' });
}

export interface SchedArgs {
  sched: SchedFlag;
  pctDepth: number;
  yields: 'events' | 'points';
}

export function resolveSched(a: Record<string, unknown>): SchedArgs {
  const sched = parseChoice('--sched', a['sched'] ?? 'parallel', SCHED_NAMES) as SchedFlag;
  const pctDepth = parseInteger('--pct-depth', a['pct-depth'] ?? CONTROLLED_DEFAULTS.pctDepth, 1, 64, 'a depth');
  const yields = parseChoice('--yields', a['yields'] ?? CONTROLLED_DEFAULTS.yields, ['events', 'points']) as 'events' | 'points';
  if (a['pct-depth'] !== undefined && a['pct-depth'] !== String(CONTROLLED_DEFAULTS.pctDepth) && sched !== 'pct') {
    throw new UsageError('--pct-depth', `only applies to --sched pct (got --sched ${sched})`);
  }
  if (a['yields'] !== undefined && a['yields'] !== CONTROLLED_DEFAULTS.yields && sched === 'parallel') {
    throw new UsageError('--yields', 'only applies to --sched random|pct (a parallel run has no yield points)');
  }
  return { sched, pctDepth, yields };
}
