/**
 * `pmdtorture hunt`: many short controlled executions with derived seeds (shuttle's check_pct
 * workflow); stops at the first violation, writes its replay file into --out and prints the path.
 * Exit 1 when a violation (or a failed end-of-run invariant check) was found, 0 when none in N
 * iterations, 4 on a deadlock, 3 on a crash.
 */
import { invariantsText, plural } from '../../src/report/report-text.js';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { modeArgOf } from '../../src/engine/design-file.js';
import { parseChoice, parseInteger } from '../args.js';
import { controlledConfig, openTargets } from '../../src/controlled/run.js';
import { resolveSched, schedOptions } from '../options/sched.js';
import { SCHEMA_VERSION, designJsonOf, toolInfo } from '../../src/report/report-json.js';
import { openFileFlag, outputOptions, resolveOutputs, writeOutputs } from '../options/output.js';
import { shardItems } from '../../src/engine/shard.js';
import { OutputDir } from '../../src/report/out-file.js';
import { claimInterrupts } from '../interrupt.js';
import type { HuntReport } from '../../src/report/hunt-report.js';
import { MAX_CPUS, shellWord } from '../args.js';
import { modeOption, resolveMode } from '../options/mode.js';
import { type HuntCounts, huntCountOptions, resolveHuntCounts, resolveScenario, scenarioOption } from '../options/hunt.js';
import { UsageError } from '../../src/engine/exit.js';
import { EXIT } from '../../src/engine/exit.js';
import { replayFile, replayFileName, replayFileOf, replayFileText } from '../../src/controlled/replay-file.js';
import { hunt, type HuntResult } from '../../src/controlled/hunt.js';
import { formatInterleaving } from '../../src/controlled/interleaving.js';
import { parseShard, shardOptions } from '../options/shard.js';
import { CONTROLLED_DEFAULTS } from '../../src/controlled/run.js';
import { PCT_DEPTHS, foundByText } from '../../src/sched/portfolio.js';
import { STRATEGY_NAMES } from '../../src/sched/registry.js';

/** The portfolio in a few words (help and header). */
const PORTFOLIO_TEXT = `random 3 iterations in 4, pct the 4th with depth ${PCT_DEPTHS.join('/')} drawn per iteration`;

type Raw = Record<string, unknown>;

export const HUNT_DEFAULTS = { scenario: 'mixed', mode: 'none', cpus: 2, ops: 200, iterations: 1000, sched: 'portfolio', out: '.' } as const;

/** The hunt's counts (--help and check order: ops, iterations, seed); no seed given: a random one. */
const HUNT_COUNTS: HuntCounts = {
  ops: { default: HUNT_DEFAULTS.ops, describe: 'operations per iteration, split evenly over the CPUs', min: 1, max: 10_000_000 },
  iterations: { default: HUNT_DEFAULTS.iterations, describe: 'executions to try', min: 1, max: 100_000_000 },
  seed: { describe: 'base uint32 seed; iteration i uses deriveSeed(seed, i) (default: random; always printed)' },
};

export const huntCommand: CommandModule<object, Raw> = {
  command: 'hunt',
  describe: 'hunt a race with a controlled scheduler (many short runs, derived seeds), write a replay file for the first failure',
  builder: (y: Argv<object>) => {
    const sched = outputOptions(shardOptions(schedOptions(modeOption(y, HUNT_DEFAULTS.mode), 'pct'), 'iteration'))
      .option('sched', { type: 'string', requiresArg: true, default: HUNT_DEFAULTS.sched, describe: `scheduling: portfolio (${PORTFOLIO_TEXT}) | ${STRATEGY_NAMES.join(' | ')} (one CPU at a time, a seeded scheduler picks at every yield point; replayable)` });
    const cpus = scenarioOption(sched, HUNT_DEFAULTS.scenario)
      .option('cpus', { type: 'string', requiresArg: true, default: String(HUNT_DEFAULTS.cpus), describe: 'CPUs (worker threads) per execution' });
    return huntCountOptions(cpus, HUNT_COUNTS)
      .option('out', { type: 'string', requiresArg: true, default: HUNT_DEFAULTS.out, describe: 'directory for the replay file' })
      .option('stop-at-target', { type: 'boolean', default: false, describe: "stop only at a violation at the scenario's own call sites (in none the walkers' scenarios also race in the fault)" })
      .option('json', { type: 'boolean', default: false, describe: 'print the JSON report on stdout (human text goes to stderr)' })
      .option('report', { type: 'string', requiresArg: true, describe: 'write the JSON report (what --json prints) to FILE' })
      .option('quiet', { type: 'boolean', default: false, describe: 'only the summary, on stderr' })
      .example('$0 hunt --scenario follow-page --mode none --iterations 500 --seed 1', 'find the follow_page race and write a replay file')
      .example('$0 replay ./pmdtorture-follow-page-none-*.replay.json --shrink', 'then replay it, shrink it and read the interleaving') as unknown as Argv<Raw>;
  },
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await huntMain(argv);
  },
};

export async function huntMain(a: Raw): Promise<number> {
  const scenario = resolveScenario(a, HUNT_DEFAULTS.scenario);
  const mode = resolveMode(a, HUNT_DEFAULTS.mode);
  const cpus = parseInteger('--cpus', a['cpus'] ?? HUNT_DEFAULTS.cpus, 1, MAX_CPUS, 'a CPU count');
  const { ops, iterations, seed } = resolveHuntCounts(a, HUNT_COUNTS);
  const HUNT_SCHEDS = ['portfolio', ...STRATEGY_NAMES];
  if (a['sched'] === 'parallel') throw new UsageError('--sched', `hunt needs a controlled scheduler (accepted: ${HUNT_SCHEDS.join(', ')})`);
  const portfolio = parseChoice('--sched', a['sched'] ?? HUNT_DEFAULTS.sched, HUNT_SCHEDS) === 'portfolio';
  if (portfolio && a['pct-depth'] !== undefined && a['pct-depth'] !== String(CONTROLLED_DEFAULTS.pctDepth)) throw new UsageError('--pct-depth', `only applies to --sched pct (the portfolio draws PCT depths ${PCT_DEPTHS.join(', ')})`);
  // The portfolio's PCT iterations calibrate k as a pct hunt does.
  const sa = resolveSched({ ...a, sched: portfolio ? 'pct' : a['sched'] });
  if (sa.sched === 'parallel') throw new UsageError('--sched', `hunt needs a controlled scheduler (accepted: ${HUNT_SCHEDS.join(', ')})`);
  const schedName = portfolio ? 'portfolio' : sa.sched;
  const json = a['json'] === true;
  const shard = parseShard(a['shard']);
  // Every output is opened before the hunt starts (out-file.ts): one that cannot be is refused now.
  const outDir = OutputDir.open('--out', String(a['out'] ?? '.'));
  const outputs = resolveOutputs(a);
  const reportOut = openFileFlag(a, 'report');
  const startedAt = new Date().toISOString();
  const quiet = a['quiet'] === true;
  const say = (s: string): void => {
    if (!quiet) (json ? process.stderr : process.stdout).write(s + '\n');
  };
  say(`pmdtorture hunt: scenario ${scenario}, mode ${mode}, ${cpus} CPUs, --sched ${schedName}${portfolio ? ` (${PORTFOLIO_TEXT})` : sa.sched === 'pct' ? ` --pct-depth ${sa.pctDepth}` : ''}, ${ops} ops × up to ${iterations} iterations, seed ${seed}`);
  const atTarget = a['stop-at-target'] === true;
  const cfg = controlledConfig({ scenario, mode, cpus, seed, ops, sched: sa.sched, pctDepth: sa.pctDepth, yields: sa.yields, ...(atTarget ? { stopAtSites: openTargets(scenario, mode) } : {}) });
  // One loop for sharded and unsharded hunts: iteration i is the same execution in both (PCT's k
  // is fixed), so N shards together run exactly the unsharded hunt's iterations.
  const items = shard ? shardItems(shard, iterations) : undefined;
  // First SIGINT/SIGTERM: stop after the current execution and report what was done; second: quit.
  const stop = new AbortController();
  const release = claimInterrupts((sig) => {
    process.stderr.write(`pmdtorture: ${sig}: stopping the hunt, finishing the report (send again to quit at once)\n`);
    stop.abort();
  });
  let h: HuntResult;
  try {
    h = await hunt({ ...cfg, iterations, items, signal: stop.signal, portfolio });
  } finally {
    release();
  }
  const f = h.failure;
  if (h.found && f?.violation) {
    const rf = { ...replayFileOf(f), ...(h.foundBy ? { foundBy: h.foundBy } : {}) };
    h.replayPath = outDir.write(replayFileName(rf), replayFileText(rf));
  }
  // The failing iteration in the unsharded numbering (a shard's k-th iteration is items[k-1]).
  const at = items && shard ? `${items[h.iterations - 1]! + 1} (iteration ${h.iterations} of shard ${shard.index}/${shard.count})` : String(h.iterations);
  let code: number = EXIT.ok;
  let summary: string;
  if (h.found && f?.violation) {
    code = EXIT.violations;
    summary = `FOUND ${f.violation.kind} (${f.violation.site}, op ${f.violation.op}, cpu ${f.violation.cpu}) in iteration ${at} (seed ${f.config.seed}) at step ${f.violation.step}${h.foundBy ? `, found by ${foundByText(h.foundBy)}` : ''}; replay file: ${h.replayPath ?? '-'}`;
    if (!quiet) {
      // The tail of the interleaving: the last moves before the violation.
      const again = await replayFile(replayFileOf(f), { recordEvents: true });
      const evs = again.result.interleaving ?? [];
      const from = Math.max(0, f.violation.step - 60);
      say(formatInterleaving(evs.filter((e) => e.step >= from && e.step <= f.violation!.step + 8), f.violation.step));
    }
  } else if (f && f.status === 'deadlock') {
    code = EXIT.stall;
    summary = `DEADLOCK in iteration ${at} (seed ${f.config.seed})\n${f.deadlock?.text ?? ''}`;
  } else if (f && f.status === 'invariants') {
    code = EXIT.violations;
    summary = `INVARIANTS FAILED in iteration ${at} (seed ${f.config.seed}, --sched ${f.config.sched}${f.config.sched === 'pct' ? ` depth ${f.config.pctDepth}, ${f.config.pctSteps} steps` : ''}): ${invariantsText(f.invariants?.errors ?? [])}`;
  } else if (f && f.status === 'crashed') {
    code = EXIT.internal;
    summary = `CRASH in iteration ${at} (seed ${f.config.seed}): ${f.errors.join('; ')}`;
  } else if (h.interrupted) {
    code = EXIT.interrupted;
    summary = `INTERRUPTED after ${h.iterations} iterations: no violation (${h.totalSteps} steps, ${(h.elapsedMs / 1000).toFixed(1)} s)`;
  } else {
    summary = `no violation${atTarget ? '' : ' and no failed invariant check'} in ${plural(h.iterations, 'iteration')} (${plural(h.totalSteps, 'step')}, ${(h.elapsedMs / 1000).toFixed(1)} s)`;
  }
  const rerun = ['pmdtorture', 'hunt', '--scenario', scenario, '--mode', modeArgOf(mode), '--cpus', String(cpus), '--ops', String(ops), '--iterations', String(iterations), '--seed', String(seed), '--sched', schedName, ...(!portfolio && sa.sched === 'pct' ? ['--pct-depth', String(sa.pctDepth)] : []), ...(shard ? ['--shard', `${shard.index}/${shard.count}`] : []), ...(atTarget ? ['--stop-at-target'] : [])].map(shellWord).join(' ');
  const doc = {
      schemaVersion: SCHEMA_VERSION, kind: 'hunt' as const, tool: toolInfo(), rerun, startedAt,
      ...(shard ? { shard: { ...shard, items: (items ?? []).slice(0, Math.min(h.iterations, 10_000)) } } : {}),
      violations: (f?.violations ?? []).slice(0, 4),
      command: 'hunt', scenario, mode, ...designJsonOf(mode), cpus, ops, iterations, seed, sched: schedName, pctDepth: sa.pctDepth, yields: sa.yields, foundBy: h.foundBy ?? null,
      found: h.found, iterationsRun: h.iterations, replayFile: h.replayPath ?? null, violation: f?.violation ?? null,
      failingSeed: f?.config.seed ?? null, status: f?.status ?? (h.interrupted ? 'interrupted' : 'ok'), deadlock: f?.deadlock ?? null, totalSteps: h.totalSteps,
      elapsedMs: Math.round(h.elapsedMs), anomalies: h.anomalies, exitCode: code,
  };
  writeOutputs(outputs, [doc as unknown as HuntReport]);
  const text = JSON.stringify(doc, null, 1) + '\n';
  reportOut?.write(text);
  if (json) process.stdout.write(text);
  process.stderr.write(`pmdtorture hunt: ${summary}\n`);
  if (h.replayPath && !json) process.stdout.write(`${h.replayPath}\n`);
  return code;
}
