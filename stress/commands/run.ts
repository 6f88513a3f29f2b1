/** `pmdtorture run`: one stress run, then the report. Exit 0/1/3/4/130 from its status. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { MODE_NAMES, UsageError, parseChoice, rerunCommand, resolveStress, stressOptions, type StressDefaults } from '../args.js';
import { Session } from '../session.js';
import { buildRunReport, exitCodeFor } from '../report-json.js';
import { resolveSched, schedOptions } from '../sched-options.js';
import { runControlledMain } from '../run-controlled.js';
import { deliverRunReport, outputOptions, resolveOutputs } from '../outputs.js';
import { parseShard, shardOptions } from '../shard.js';
import { resolveSeeds, runSeeds } from '../run-seeds.js';

export const RUN_DEFAULTS: StressDefaults = { stopOnViolation: true, durationMs: 10_000, statIntervalMs: 1000 };

type Raw = Record<string, unknown>;

export const runCommand: CommandModule<object, Raw> = {
  // The default command: `pmdtorture` alone (and `npm start`) is a run with the defaults.
  command: ['run', '$0'],
  describe: 'one stress run of a scenario under a protection mode, then the report (the default command)',
  builder: (y: Argv<object>) =>
    schedOptions(outputOptions(shardOptions(stressOptions(y.option('mode', { type: 'string', requiresArg: true, default: 'final', describe: `protection mode: ${MODE_NAMES.join(', ')}` }), RUN_DEFAULTS), 'seed of --seeds')))
      .option('seeds', { type: 'string', requiresArg: true, describe: 'run each seed of a list in turn (1,2,10-20) and report them as one; with --shard, only this shard\'s seeds' })
      .example('$0 run --scenario follow-page --mode vma-lock --widen --ops 50000', 'find the follow_page race 6.1 left open')
      .example('$0 run --mode final --duration 1m --seed 42 --json > report.json', 'a reproducible run with a JSON report') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await runMain(argv);
  },
};

export async function runMain(a: Raw): Promise<number> {
  const mode = parseChoice('--mode', a['mode'], MODE_NAMES);
  const seeds = resolveSeeds(a);
  const args = resolveStress(a, RUN_DEFAULTS);
  const shard = parseShard(a['shard']);
  if (shard && shard.source === 'flag' && !seeds) throw new UsageError('--shard', 'run shards a seed list: give --seeds too (accepted: --seeds 1-64 --shard 1/4)');
  const outputs = resolveOutputs(a);
  const cfg = { ...args.base, mode };
  const sa = resolveSched(a);
  if (sa.sched !== 'parallel') return runControlledMain(args, mode, sa);
  const command = rerunCommand('run', cfg, { stopOnViolationDefault: RUN_DEFAULTS.stopOnViolation });
  const s = new Session(args);
  try {
    if (cfg.cpus > args.cores) s.note(`pmdtorture: ${cfg.cpus} CPUs on ${args.cores} cores: oversubscribed (CPUs share cores; races still happen, throughput is lower)`);
    if (!args.quiet) s.note(`pmdtorture run: scenario ${cfg.scenario}, mode ${cfg.mode}, ${cfg.cpus} CPUs, seed ${cfg.seed}`);
    s.events.write({ type: 'start', t: new Date().toISOString(), command, seed: cfg.seed, mode, scenario: cfg.scenario, cpus: cfg.cpus });
    if (seeds) {
      const { report, code } = await runSeeds(s, args, mode, seeds, shard);
      return deliverRunReport(s, outputs, report, code, args.quiet);
    }
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
    return deliverRunReport(s, outputs, report, exitCodeFor(result.status), args.quiet);
  } finally {
    s.close();
  }
}
