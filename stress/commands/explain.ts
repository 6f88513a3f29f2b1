/**
 * `pmdtorture explain --scenario S --mode M`: why the cell is race or safe, derived step by step
 * from the mode's table (the same siteVerdict the truth table uses), and for a race the shortest
 * interleaving a hunt (PCT first, then hunt's default portfolio) and a shrink find. Exit 0 once explained (a
 * race cell is an answer, not a failure); 2 on bad usage or a refused design file.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseInteger } from '../args.js';
import { modeTableOf } from '../../src/engine/design-file.js';
import { modeOption, resolveMode } from '../options/mode.js';
import { type HuntCounts, huntCountOptions, resolveHuntCounts, resolveScenario, scenarioOption } from '../options/hunt.js';
import { scenarioByName } from '../../src/workers/hugetlb/scenarios.js';
import { cellText, explainCell, findWitness } from '../../src/controlled/explain.js';
import { OutputDir } from '../../src/report/out-file.js';
import { EXIT } from '../../src/engine/exit.js';
import { replayFileName, replayFileText } from '../../src/controlled/replay-file.js';

type Raw = Record<string, unknown>;

/** The witness search's defaults (bench/explain.ts measures these). */
export const EXPLAIN_DEFAULTS = { scenario: 'mixed', mode: 'final', seed: 1, iterations: 1000, ops: 200, shrinkRuns: 40 } as const;

/** The witness hunt's counts (--help and check order: seed, iterations, ops). */
const EXPLAIN_COUNTS: HuntCounts = {
  seed: { default: EXPLAIN_DEFAULTS.seed, describe: 'base seed of the hunt' },
  iterations: { default: EXPLAIN_DEFAULTS.iterations, describe: 'most hunt iterations', min: 1, max: 1_000_000 },
  ops: { default: EXPLAIN_DEFAULTS.ops, describe: 'operations per hunt iteration', min: 2, max: 100_000 },
};

export const explainCommand: CommandModule<object, Raw> = {
  command: 'explain',
  describe: 'why a scenario × mode cell is race or safe, step by step from the mode table; for a race, the shortest interleaving found',
  builder: (y: Argv<object>) => {
    const hunt = scenarioOption(modeOption(y, EXPLAIN_DEFAULTS.mode), EXPLAIN_DEFAULTS.scenario)
      .option('hunt', { type: 'boolean', default: true, describe: 'for a race, hunt (PCT for 200 iterations, then the portfolio; 2 CPUs) and shrink an interleaving (--no-hunt: the derivation only)' });
    return huntCountOptions(hunt, EXPLAIN_COUNTS)
      .option('shrink-runs', { type: 'string', requiresArg: true, default: String(EXPLAIN_DEFAULTS.shrinkRuns), describe: 'most replays the shrink may try' })
      .option('out', { type: 'string', requiresArg: true, describe: 'also write the shrunk replay file into this directory' })
      .option('json', { type: 'boolean', default: false, describe: 'print the explanation as JSON' })
      .example('$0 explain --scenario follow-page --mode vma-lock', 'why 6.1 left follow_page open, and an interleaving that shows it')
      .example('$0 explain --scenario mixed --mode examples/designs/gup-fast-rfc-walker.json', 'a design file\'s cell') as unknown as Argv<Raw>;
  },
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await explainMain(argv);
  },
};

export async function explainMain(a: Raw): Promise<number> {
  const scenario = resolveScenario(a, EXPLAIN_DEFAULTS.scenario);
  const mode = modeTableOf(resolveMode(a, EXPLAIN_DEFAULTS.mode));
  const { seed, iterations, ops } = resolveHuntCounts(a, EXPLAIN_COUNTS);
  const shrinkRuns = parseInteger('--shrink-runs', a['shrink-runs'] ?? EXPLAIN_DEFAULTS.shrinkRuns, 1, 100_000, 'a run count');
  const out = a['out'] !== undefined ? String(a['out']) : undefined;
  const outDir = out !== undefined ? OutputDir.open('--out', out) : undefined;
  const sc = scenarioByName(scenario)!;
  const c = explainCell(sc, mode);
  const json = a['json'] === true;
  if (!json) process.stdout.write(cellText(sc, mode, c) + '\n');
  const w = c.expected === 'race' && a['hunt'] !== false ? await findWitness(c, { seed, iterations, ops, shrinkRuns }) : undefined;
  const replayPath = w?.shrunk && outDir !== undefined ? outDir.write(replayFileName(w.shrunk.file), replayFileText(w.shrunk.file)) : undefined;
  if (json) {
    process.stdout.write(JSON.stringify({
      command: 'explain', ...c,
      witness: w ? { found: w.found, iterations: w.iterations, violation: w.shrunk?.file.violation ?? null, preemptions: w.shrunk?.result.preemptions ?? null, replayFile: replayPath ?? null, interleaving: w.text } : null,
    }, null, 1) + '\n');
  } else if (w) {
    process.stdout.write(w.text + '\n' + (replayPath ? `replay file: ${replayPath}\n` : ''));
  }
  return EXIT.ok;
}
