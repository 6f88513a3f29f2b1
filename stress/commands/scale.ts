/**
 * `pmdtorture scale`: the same workload and seed over a list of CPU counts (`--cpus 1,2,4`) and
 * modes (`--modes a,b`), then per mode and CPU count ops/s, latency per op kind, IPIs per op,
 * the lock classes waited on most, and the ratio to the first mode (src/report/scale-study.ts).
 * One worker pool per CPU count serves every mode at that count.
 *
 * Exit status as for compare: 1 when a mode the truth table calls safe showed a violation; 3 or
 * 4 when a run crashed or stalled; 130 on SIGINT, after printing and writing what was measured.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { MODE_NAMES } from '../args.js';
import { Session } from '../session.js';
import { buildRunReport, type RunReport } from '../../src/report/report-json.js';
import { createStressPool } from '../../src/engine/engine.js';
import { EXIT } from '../../src/engine/exit.js';
import { deliverMultiRun, multiRunHead } from '../multi-run.js';
import { int } from '../../src/report/report-text.js';
import { outputOptions, resolveOutputs } from '../options/output.js';
import { parseWorlds, rerunCommand, resolveStress, stressOptions, type StressDefaults } from '../options/stress.js';
import { cellsOf, defaultScaleModes, parseCpuList, SCALE_MAX_CPUS, type ScaleReport } from '../../src/report/scale-study.js';
import { cellLine, formatScale } from '../../src/report/scale-text.js';

export const SCALE_DEFAULTS: StressDefaults = { stopOnViolation: false, durationMs: 0, statIntervalMs: 1000 };
/** Operations per (mode, CPU count): the same op streams for every mode at one CPU count. */
export const SCALE_DEFAULT_OPS = 20_000;

type Raw = Record<string, unknown>;

export const scaleCommand: CommandModule<object, Raw> = {
  command: 'scale',
  describe: 'a scaling study: the same workload and seed over several CPU counts and modes; ops/s, latency per op kind, IPIs per op, top lock waits',
  builder: (y: Argv<object>) =>
    outputOptions(stressOptions(y, SCALE_DEFAULTS, {
      durationDefault: `--ops ${int(SCALE_DEFAULT_OPS)} per run instead; a duration is per run`,
      ops: `operations per run (one mode at one CPU count), split over its CPUs (default ${int(SCALE_DEFAULT_OPS)} unless --duration)`,
    }))
      // Replaces stressOptions' --modes (default all): a study's default is the kernel versions.
      .option('modes', { type: 'string', requiresArg: true, default: defaultScaleModes().join(','), describe: `modes to study, comma-separated, or all: ${MODE_NAMES.join(', ')}; design files FILE.json too; ratios are to the first` })
      .option('cpus', { type: 'string', requiresArg: true, default: '1,2', describe: `CPU counts to run, comma-separated, distinct, 1..${SCALE_MAX_CPUS}; more than the cores is allowed and marked oversubscribed` })
      .example('$0 scale --cpus 1,2,4 --modes vma-lock,final', 'how 6.1 and 6.19 scale from 1 to 4 CPUs') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await scaleMain(argv);
  },
};

export async function scaleMain(a: Raw): Promise<number> {
  const cpusList = parseCpuList(a['cpus']);
  const raw: Raw = { ...a, cpus: String(cpusList[0]), modes: a['modes'] ?? defaultScaleModes().join(',') };
  if (raw['ops'] === undefined && raw['duration'] === undefined) raw['ops'] = String(SCALE_DEFAULT_OPS);
  // Every CPU count of the study must hold the worlds: checked against the smallest.
  parseWorlds(a['worlds'], Math.min(...cpusList));
  const args = resolveStress(raw, SCALE_DEFAULTS);
  const modes = args.modes;
  const outputs = resolveOutputs(a);
  const command = rerunCommand('scale', { ...args.base, mode: '', cpus: 0 }, { modes, stopOnViolationDefault: SCALE_DEFAULTS.stopOnViolation }).replace(' --cpus 0 ', ` --cpus ${cpusList.join(',')} `);
  const s = new Session(args);
  const startedAt = new Date();
  const t0 = performance.now();
  const runs: RunReport[] = [];
  try {
    const over = cpusList.filter((n) => n > args.cores);
    if (over.length) s.note(`pmdtorture scale: ${over.join(', ')} CPUs on ${args.cores} cores: oversubscribed (marked * in the report)`);
    if (!args.quiet) s.note(`pmdtorture scale: scenario ${args.base.scenario}, modes ${modes.join(', ')}, CPUs ${cpusList.join(', ')}${args.base.worlds ? ` in ${args.base.worlds} worlds` : ''}, seed ${args.base.seed}`);
    s.events.write({ type: 'start', t: startedAt.toISOString(), command, seed: args.base.seed, mode: modes.join(','), scenario: args.base.scenario, cpus: Math.max(...cpusList) });
    for (const cpus of cpusList) {
      if (s.interrupted) break;
      const pool = createStressPool(cpus);
      try {
        for (const mode of modes) {
          if (s.interrupted) break;
          const cfg = { ...args.base, mode, cpus };
          s.progress.reset(`${mode} ${cpus}`);
          const t = new Date();
          const result = await s.run({ ...cfg, pool });
          runs.push(buildRunReport(result, { kind: 'run', command: rerunCommand('run', cfg, { stopOnViolationDefault: true }), seedRandom: args.seedRandom, statIntervalMs: args.statIntervalMs, startedAt: t, finishedAt: new Date() }));
          if (!args.quiet) s.note(cellLine(cellsOf(runs, modes).at(-1)!));
        }
      } finally {
        // The engine destroys a pool whose workers it had to kill: a second destroy has nothing to do.
        await pool.destroy().catch(() => undefined);
      }
    }
    const doc: ScaleReport = {
      ...multiRunHead(runs, s, args, command, startedAt, t0),
      kind: 'scale',
      config: { scenario: args.base.scenario, modes, cpus: cpusList, ...(args.base.worlds !== undefined ? { worlds: args.base.worlds } : {}), cores: args.cores, ops: args.base.ops, durationMs: args.base.ops > 0 ? 0 : args.base.durationMs >= Number.MAX_SAFE_INTEGER ? null : args.base.durationMs },
      cells: cellsOf(runs, modes),
      runs,
    };
    deliverMultiRun(s, outputs, doc, runs, (quiet) => formatScale(doc, quiet ? s.errPaint : s.humanPaint));
    return s.interrupted ? EXIT.interrupted : doc.exitCode;
  } finally {
    s.close();
  }
}
