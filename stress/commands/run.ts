/** `pmdtorture run`: one stress run, then the report. Exit 0/1/3/4/130 from its status. */
import { cpusText } from '../../src/report/report-text.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { Session } from '../session.js';
import { buildRunReport } from '../../src/report/report-json.js';
import { resolveSched, schedOptions } from '../options/sched.js';
import { runControlledMain } from './run-controlled.js';
import { deliverRunReport, outputOptions, resolveOutputs } from '../options/output.js';
import { shardItems } from '../../src/engine/shard.js';
import { resolveSeeds, runSeeds, seedsText } from './run-seeds.js';
import { UsageError } from '../../src/engine/exit.js';
import { parseShard, shardOptions } from '../options/shard.js';
import { rerunCommand, resolveStress, stressOptions, type StressDefaults } from '../options/stress.js';

export const RUN_DEFAULTS: StressDefaults = { mode: 'final', stopOnViolation: true, durationMs: 10_000, statIntervalMs: 1000 };

type Raw = Record<string, unknown>;

export const runCommand: CommandModule<object, Raw> = {
  // The default command: `pmdtorture` alone (and `npm start`) is a run with the defaults.
  command: ['run', '$0'],
  describe: 'one stress run of a scenario under a protection mode, then the report (the default command)',
  builder: (y: Argv<object>) =>
    schedOptions(outputOptions(shardOptions(stressOptions(y, RUN_DEFAULTS), 'seed of --seeds')))
      .option('seeds', { type: 'string', requiresArg: true, describe: 'run each seed of a list in turn (1,2,10-20) and report them as one; with --shard, only this shard\'s seeds' })
      .example('$0 run --scenario follow-page --mode vma-lock --widen --ops 50000', 'find the follow_page race 6.1 left open')
      .example('$0 run --mode final --duration 1m --seed 42 --json > report.json', 'a reproducible run with a JSON report') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await runMain(argv);
  },
};

/** Flags a controlled run (--sched random|pct) cannot honour, with why: refused, never ignored. */
const NOT_UNDER_SCHED: Record<string, string> = {
  report: 'a controlled run builds no run report (no lock_stat, outcome counts, RCU/IPI stats or time series): --json prints its result, a violation writes a replay file',
  html: 'a controlled run builds no run report to draw; use hunt --html FILE',
  junit: 'a controlled run builds no run report; use hunt --junit FILE',
  events: 'a controlled run has no live stats or event stream; use --json',
  seeds: 'a controlled run runs one seed (--seed S); for many derived seeds use hunt',
  shard: 'a controlled run is one execution; hunt --shard I/N splits many of them',
  plant: 'planted faults apply to parallel runs only',
  worlds: 'a controlled run lets one CPU run at a time, so independent worlds gain nothing; it runs the one world',
};

/** Flags with defaults a controlled run cannot honour: refused when given on the command line. */
const NOT_UNDER_SCHED_EXPLICIT: Record<string, string> = {
  'stall-timeout': 'a controlled run has no stall watchdog: the scheduler reports a deadlock when no CPU can run',
  'stat-interval': 'a controlled run has no periodic stats',
  lockstat: 'a controlled run keeps no lock_stat (it builds no run report)',
};
const givenOnCommandLine = (flag: string): boolean => process.argv.some((x) => x === `--${flag}` || x.startsWith(`--${flag}=`) || x === `--no-${flag}`);

export async function runMain(a: Raw): Promise<number> {
  const sa = resolveSched(a);
  // Checked before anything else so that a refused flag leaves no file behind.
  if (sa.sched !== 'parallel') {
    for (const [flag, why] of Object.entries(NOT_UNDER_SCHED)) {
      if (a[flag] !== undefined) throw new UsageError(`--${flag}`, `not with --sched ${sa.sched}: ${why}`);
    }
    for (const [flag, why] of Object.entries(NOT_UNDER_SCHED_EXPLICIT)) {
      if (givenOnCommandLine(flag)) throw new UsageError(`--${flag}`, `not with --sched ${sa.sched}: ${why}`);
    }
  }
  const seeds = resolveSeeds(a);
  const args = resolveStress(a, RUN_DEFAULTS);
  if (sa.sched !== 'parallel') return runControlledMain(args, sa);
  // Only a seed list is split into shards: a single run ignores JOB_COMPLETION_INDEX (nothing to split).
  const shard = seeds !== undefined || a['shard'] !== undefined ? parseShard(a['shard']) : undefined;
  if (shard && shard.source === 'flag' && !seeds) throw new UsageError('--shard', 'run shards a seed list: give --seeds too (accepted: --seeds 1-64 --shard 1/4)');
  if (shard && seeds && shardItems(shard, seeds.length).length === 0) throw new UsageError('--shard', `shard ${shard.index}/${shard.count} has no seeds: the list has only ${seeds.length}`);
  const outputs = resolveOutputs(a);
  const cfg = args.base;
  const mode = cfg.mode;
  const command = rerunCommand('run', cfg, { stopOnViolationDefault: RUN_DEFAULTS.stopOnViolation });
  const s = new Session(args);
  try {
    if (cfg.cpus > args.cores) s.note(`pmdtorture: ${cfg.cpus} CPUs on ${args.cores} cores: oversubscribed (CPUs share cores; races still happen, throughput is lower)`);
    if (seeds) {
      // The seeds this shard runs, never the random --seed default that a seed list does not use.
      const mine = shardItems(shard, seeds.length).map((i) => seeds[i]!);
      if (!args.quiet) s.note(`pmdtorture run: scenario ${cfg.scenario}, mode ${cfg.mode}, ${cpusText(cfg)}, ${seedsText(mine, seeds.length, shard)}`);
      s.events.write({ type: 'start', t: new Date().toISOString(), command, seed: mine[0]!, seeds: mine, mode, scenario: cfg.scenario, cpus: cfg.cpus });
      const { report, code } = await runSeeds(s, args, seeds, shard);
      return deliverRunReport(s, outputs, report, code, args.quiet);
    }
    if (!args.quiet) s.note(`pmdtorture run: scenario ${cfg.scenario}, mode ${cfg.mode}, ${cpusText(cfg)}, seed ${cfg.seed}`);
    s.events.write({ type: 'start', t: new Date().toISOString(), command, seed: cfg.seed, mode, scenario: cfg.scenario, cpus: cfg.cpus });
    const startedAt = new Date();
    const result = await s.run(cfg);
    const report = buildRunReport(result, {
      kind: 'run',
      command,
      seedRandom: args.seedRandom,
      statIntervalMs: args.statIntervalMs,
      startedAt,
      finishedAt: new Date(),
      firstOpMs: result.firstOpAtMs,
    });
    return deliverRunReport(s, outputs, report, report.exitCode, args.quiet);
  } finally {
    s.close();
  }
}
