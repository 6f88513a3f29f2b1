/**
 * `pmdtorture run --seeds LIST [--shard I/N]`: one engine run per seed, one after another, folded
 * into one report (counts summed, histograms merged, as soak folds its rounds). With --shard, the
 * seeds at positions i with i mod N = I-1 only, so N shards together run exactly the list; with
 * --ops, each seed's op streams (and per-op counts) depend on the seed alone, so the merged shards
 * equal the unsharded run.
 */
import type { Session } from '../session.js';
import type { RunResult } from '../../src/engine/engine.js';
import { buildRunReport, findingStatus, type RunReport } from '../../src/report/report-json.js';
import { mergeRound } from './soak.js';
import { Timeline } from '../../src/engine/timeline.js';
import { shardItems, type Shard } from '../../src/engine/shard.js';
import { int, plural } from '../../src/report/report-text.js';
import { UsageError } from '../../src/engine/exit.js';
import { parseSeedList } from '../options/shard.js';
import { rerunCommand, type StressArgs } from '../options/stress.js';

export function resolveSeeds(a: Record<string, unknown>): number[] | undefined {
  if (a['seeds'] === undefined) return undefined;
  if (a['seed'] !== undefined) throw new UsageError('--seeds', 'give --seed or --seeds, not both');
  return parseSeedList(a['seeds']);
}

export async function runSeeds(s: Session, args: StressArgs, seeds: readonly number[], shard: Shard | undefined): Promise<{ report: RunReport; code: number }> {
  const cfg = { ...args.base, seed: seeds[0]! };
  const mode = cfg.mode;
  const mine = shardItems(shard, seeds.length);
  const seedArg = seeds.join(',');
  const command = rerunCommand('run', cfg, { stopOnViolationDefault: true }).replace(/ --seed \S+/, ` --seeds ${seedArg.length > 2000 ? `${seeds[0]}-${seeds.at(-1)}` : seedArg}`) + (shard ? ` --shard ${shard.index}/${shard.count}` : '');
  const startedAt = new Date();
  const timeline = new Timeline();
  let acc: RunResult | undefined;
  let firstOpMs = 0;
  const ran: number[] = [];
  for (const i of mine) {
    if (s.interrupted) break;
    const seed = seeds[i]!;
    const r = await s.run({ ...cfg, seed, timeline }, { round: i });
    if (acc === undefined) firstOpMs = r.firstOpAtMs;
    r.status = findingStatus(r);
    ran.push(seed);
    if (!args.quiet) s.note(`  seed ${seed}: ${r.status}, ${int(r.ops)} ops, ${plural(r.violationCount, 'violation')}`);
    // Each violation keeps the command that re-runs its own seed.
    const seedRerun = rerunCommand('run', { ...cfg, seed }, { stopOnViolationDefault: true });
    for (const v of r.violations) v.rerun = seedRerun;
    acc = mergeRound(acc, r, i);
    if (r.status === 'crashed' || r.status === 'stalled' || r.status === 'interrupted') break;
    if (r.status === 'violations' && cfg.stopOnViolation) break;
  }
  if (!acc) throw new UsageError('--shard', `shard ${shard?.index}/${shard?.count} has no seeds: the list has only ${seeds.length}`);
  if (s.interrupted) acc.status = 'interrupted';
  // `seed` names the list (its first seed, equal in every shard so merge can match them); `seeds` says which ran.
  acc.config = { ...acc.config, seed: seeds[0]! };
  const report = buildRunReport(acc, { kind: 'run', command, seedRandom: false, statIntervalMs: args.statIntervalMs, startedAt, finishedAt: new Date(), firstOpMs });
  report.seeds = ran;
  if (shard) report.shard = { ...shard, items: mine.slice(0, ran.length) };
  return { report, code: report.exitCode };
}

/** `seeds 1, 3 (shard 1/2 of a list of 4)`: the seeds a run of a seed list runs, for its header. */
export function seedsText(ran: readonly number[], listLength: number, shard: Shard | undefined): string {
  const shown = ran.length > 12 ? `${ran.slice(0, 10).join(', ')}, … (${ran.length} seeds)` : ran.join(', ');
  return `seed${ran.length === 1 ? '' : 's'} ${shown}${shard ? ` (shard ${shard.index}/${shard.count} of a list of ${listLength})` : ran.length < listLength ? ` (of a list of ${listLength})` : ''}`;
}
