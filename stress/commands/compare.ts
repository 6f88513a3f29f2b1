/**
 * `pmdtorture compare`: the same workload and seed under several modes, one after another, then
 * one side-by-side table — ops/s per op kind, violations against the truth table, and per lock
 * class acquisitions, contentions, wait p50/p99 and hold p99. With --ops (the default) every
 * mode runs the very same per-CPU operation streams.
 *
 * Exit status: 1 when a mode the truth table calls safe showed a violation (the races expected
 * in the unprotected modes are the point of the comparison, not a failure); 3, 4 or 130 when a
 * run crashed, stalled or was interrupted.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { MODE_NAMES } from '../args.js';
import { Session } from '../session.js';
import { buildRunReport, compareTable, type CompareReport, type RunReport } from '../../src/report/report-json.js';
import { cpusText, formatCompare, int } from '../../src/report/report-text.js';
import { outputOptions, resolveOutputs } from '../options/output.js';
import { EXIT } from '../../src/engine/exit.js';
import { rerunCommand, resolveStress, stressOptions, type StressDefaults } from '../options/stress.js';
import { deliverMultiRun, multiRunHead } from '../multi-run.js';

export const COMPARE_DEFAULTS: StressDefaults = { stopOnViolation: false, durationMs: 0, statIntervalMs: 1000 };
export const COMPARE_DEFAULT_OPS = 100_000;

type Raw = Record<string, unknown>;

export const compareCommand: CommandModule<object, Raw> = {
  command: 'compare',
  describe: 'the same workload and seed under several modes, then a side-by-side table of throughput, violations and lock contention',
  builder: (y: Argv<object>) =>
    outputOptions(stressOptions(y, COMPARE_DEFAULTS, {
      durationDefault: `--ops ${int(COMPARE_DEFAULT_OPS)} per mode instead; a duration is per mode`,
      ops: `operations per mode, split over the CPUs (default ${int(COMPARE_DEFAULT_OPS)} unless --duration)`,
    }))
      .example('$0 compare --scenario mixed --modes vma-lock,final', 'what does the vma lock cost versus 6.2') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await compareMain(argv);
  },
};

export async function compareMain(a: Raw): Promise<number> {
  const raw = { ...a };
  if (raw['ops'] === undefined && raw['duration'] === undefined) raw['ops'] = String(COMPARE_DEFAULT_OPS);
  const args = resolveStress(raw, COMPARE_DEFAULTS);
  const modes = args.modes;
  const outputs = resolveOutputs(a);
  const allModes = modes.length === MODE_NAMES.length && modes.every((m, i) => m === MODE_NAMES[i]);
  const command = rerunCommand('compare', { ...args.base, mode: '' }, { modes: allModes ? ['all'] : modes, stopOnViolationDefault: COMPARE_DEFAULTS.stopOnViolation });
  const s = new Session(args);
  const startedAt = new Date();
  const t0 = performance.now();
  const runs: RunReport[] = [];
  try {
    if (args.base.cpus > args.cores) s.note(`pmdtorture: ${args.base.cpus} CPUs on ${args.cores} cores: oversubscribed`);
    if (!args.quiet) s.note(`pmdtorture compare: scenario ${args.base.scenario}, modes ${modes.join(', ')}, ${cpusText(args.base)}, seed ${args.base.seed}`);
    s.events.write({ type: 'start', t: startedAt.toISOString(), command, seed: args.base.seed, mode: modes.join(','), scenario: args.base.scenario, cpus: args.base.cpus });
    for (const mode of modes) {
      if (s.interrupted) break;
      const cfg = { ...args.base, mode };
      s.progress.reset(mode);
      const t = new Date();
      const result = await s.run(cfg);
      const report = buildRunReport(result, {
        kind: 'run',
        command: rerunCommand('run', cfg, { stopOnViolationDefault: true }),
        seedRandom: args.seedRandom,
        statIntervalMs: args.statIntervalMs,
        startedAt: t,
        finishedAt: new Date(),
        firstOpMs: undefined,
      });
      runs.push(report);
      if (!args.quiet) s.note(`  ${mode.padEnd(10)} ${result.status.padEnd(11)} ${int(result.ops)} ops, ${int(report.ops.perSecond)} ops/s, ${int(result.violationCount)} violations (truth table: ${report.expected})`);
    }
    const doc: CompareReport = { ...multiRunHead(runs, s, args, command, startedAt, t0), kind: 'compare', table: compareTable(runs), runs };
    deliverMultiRun(s, outputs, doc, runs, (quiet) => formatCompare(doc, quiet ? s.errPaint : s.humanPaint));
    return runs.length === 0 && s.interrupted ? EXIT.interrupted : doc.exitCode;
  } finally {
    s.close();
  }
}
