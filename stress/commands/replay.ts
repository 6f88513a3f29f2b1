/**
 * `pmdtorture replay FILE`: re-run a recorded controlled schedule; it must hit the identical
 * violation at the identical step. Exit 1 when it recurs, 0 when it does not, 2 for a file that
 * is corrupt, of another version or for an unknown scenario. `--shrink` makes the schedule
 * smaller (fewer operations, preemptions, CPUs) while it still fails, writes the smallest one
 * and prints it as a readable interleaving.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseInteger } from '../args.js';
import { OutputFile } from '../../src/report/out-file.js';
import { exitOnInterrupt } from '../interrupt.js';
import { ReplayFileError, loadReplay, type ReplayFile } from '../../src/sched/replay.js';
import { dirname, basename, join, resolve } from 'node:path';
import { UsageError } from '../../src/engine/exit.js';
import { EXIT } from '../../src/engine/exit.js';
import { REPLAY_KNOWN, replayFile, replayFileText } from '../../src/controlled/replay-file.js';
import { shrinkReplay } from '../../src/controlled/shrink.js';
import { formatInterleaving } from '../../src/controlled/interleaving.js';

type Raw = Record<string, unknown>;

export const replayCommand: CommandModule<object, Raw> = {
  command: 'replay <file>',
  describe: 'replay a controlled schedule from a replay file (exit 1 when the violation recurs); --shrink to minimise it',
  builder: (y: Argv<object>) =>
    y
      .positional('file', { type: 'string', describe: 'replay file written by hunt (or by run --sched random|pct)' })
      .option('shrink', { type: 'boolean', default: false, describe: 'shorten the failing schedule (fewer ops, preemptions, CPUs) and write the smallest one' })
      .option('out', { type: 'string', requiresArg: true, describe: 'where --shrink writes (default: beside FILE, NAME.shrunk.replay.json for NAME.replay.json)' })
      .option('shrink-runs', { type: 'string', requiresArg: true, default: '300', describe: 'most replays --shrink may try' })
      .option('json', { type: 'boolean', default: false, describe: 'print a JSON result on stdout (human text goes to stderr)' })
      .option('quiet', { type: 'boolean', default: false, describe: 'only the summary, on stderr' })
      .example('$0 replay hunt.replay.json --shrink', 'replay, shrink and print the interleaving') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await replayMain(argv);
  },
};

export function loadReplayOrUsage(path: string): ReplayFile {
  try {
    return loadReplay(path, REPLAY_KNOWN);
  } catch (e) {
    if (e instanceof ReplayFileError) throw new UsageError('', e.message);
    throw e;
  }
}

/** Where --shrink writes by default: beside FILE, NAME.shrunk.replay.json for NAME.replay.json (or NAME.json). */
function shrunkPath(file: string): string {
  return join(dirname(file), `${basename(file).replace(/(\.replay)?\.json$/, '')}.shrunk.replay.json`);
}

export async function replayMain(a: Raw): Promise<number> {
  const path = String(a['file'] ?? '');
  if (path.trim() === '') throw new UsageError('FILE', 'needs a replay file');
  const f = loadReplayOrUsage(path);
  const json = a['json'] === true;
  const quiet = a['quiet'] === true;
  const maxRuns = parseInteger('--shrink-runs', a['shrink-runs'] ?? '300', 1, 1_000_000, 'a run count');
  if (a['out'] !== undefined && a['shrink'] !== true) throw new UsageError('--out', 'is where --shrink writes: give --shrink too');
  // Opened before anything runs (out-file.ts): an --out that cannot be written is refused now.
  const shrinkOut = a['shrink'] === true ? OutputFile.open('--out', a['out'] !== undefined ? String(a['out']) : shrunkPath(path)) : undefined;
  exitOnInterrupt();
  const say = (s: string): void => {
    if (!quiet) (json ? process.stderr : process.stdout).write(s + '\n');
  };
  const c = f.config;
  say(`pmdtorture replay: ${path}: scenario ${c.scenario}, mode ${c.mode}, ${c.cpus} CPUs, seed ${f.seed}, ${f.steps.length} schedule runs; expecting ${f.violation.kind} (${f.violation.site}) at step ${f.violation.step}`);
  const r = await replayFile(f, { recordEvents: true });
  const got = r.result.violation;
  let code: number;
  let summary: string;
  if (r.recurred) {
    code = EXIT.violations;
    summary = `RECURRED: ${got!.kind} (${got!.site}, op ${got!.op}, cpu ${got!.cpu}, page ${got!.page}) at step ${got!.step}, trace hash ${r.result.traceHash}${r.sameHash ? ' (identical)' : ' (DIFFERS from the file)'}`;
  } else if (got) {
    code = EXIT.violations;
    summary = `a DIFFERENT violation: ${got.kind} (${got.site}) at step ${got.step}, expected ${f.violation.kind} (${f.violation.site}) at step ${f.violation.step}`;
  } else if (r.result.status === 'deadlock') {
    code = EXIT.stall;
    summary = `deadlock instead of the violation\n${r.result.deadlock?.text ?? ''}`;
  } else if (r.result.status === 'crashed') {
    code = EXIT.internal;
    summary = `crash: ${r.result.errors.join('; ')}`;
  } else {
    code = EXIT.ok;
    summary = `did not recur (status ${r.result.status}, ${r.result.steps} steps)`;
  }
  if (got && !a['shrink']) {
    const evs = r.result.interleaving ?? [];
    say(formatInterleaving(evs.filter((e) => e.step >= got.step - 60 && e.step <= got.step + 8), got.step));
  }
  let shrunk: { path: string | null; file: ReplayFile; runs: number; steps: number; preemptions: number } | undefined;
  if (shrinkOut && got) {
    const s = await shrinkReplay(f, { maxRuns, maxMs: 120_000 });
    const written = shrinkOut.write(replayFileText(s.file)) ? resolve(shrinkOut.path) : undefined;
    shrunk = { path: written ?? null, file: s.file, runs: s.stats.runs, steps: s.result.steps, preemptions: s.result.preemptions };
    const oc = (s.file.config.opsPerCpu ?? []).map((n, i) => n - (s.file.config.skipOps?.[i]?.length ?? 0));
    say(`shrunk in ${s.stats.runs} replays: ${s.file.config.cpus} CPUs, operations run per CPU [${oc.join(', ')}], ${s.result.preemptions} preemptions, ${s.file.steps.length} schedule runs, violation at step ${s.file.violation.step}${s.stats.budgetHit === 'runs' ? ' (--shrink-runs reached)' : s.stats.budgetHit === 'time' ? ' (stopped by the 120 s time cap: this result depends on the machine\'s speed; lower --shrink-runs to make it reproducible)' : ''}`);
    say(formatInterleaving(s.result.interleaving ?? [], s.file.violation.step));
    if (written) say(`written: ${written}`);
  }
  if (json) {
    process.stdout.write(JSON.stringify({
      command: 'replay', file: path, recurred: r.recurred, sameHash: r.sameHash, expected: f.violation, got: got ?? null,
      status: r.result.status, steps: r.result.steps, traceHash: r.result.traceHash, deadlock: r.result.deadlock ?? null,
      shrunk: shrunk ? { file: shrunk.path, cpus: shrunk.file.config.cpus, opsPerCpu: shrunk.file.config.opsPerCpu, preemptions: shrunk.preemptions, steps: shrunk.steps, replays: shrunk.runs, violation: shrunk.file.violation } : null,
      exitCode: code,
    }, null, 1) + '\n');
  }
  process.stderr.write(`pmdtorture replay: ${summary}\n`);
  return code;
}
