/**
 * `pmdtorture merge REPORT.json... [--json] [--report FILE] [--html FILE] [--junit FILE]`: one
 * report from the reports of many shards. Exit 1 if any shard found a violation (compare: in a
 * mode the truth table calls safe), 2 when the reports cannot be merged (different versions or
 * configurations, overlapping shards, unreadable files), else the merged status's code.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { openFileFlag, outputOptions, resolveOutputs, writeOutputs } from '../options/output.js';
import { readReportFile } from '../../src/report/report-files.js';
import { MergeError, mergeReports } from '../../src/report/merge.js';
import { formatRunReport, formatSummary, plural } from '../../src/report/report-text.js';
import { paintFor } from '../../src/report/color.js';
import type { RunReport } from '../../src/report/report-json.js';
import { UsageError } from '../../src/engine/exit.js';

type Raw = Record<string, unknown>;

export const mergeCommand: CommandModule<object, Raw> = {
  command: 'merge <reports..>',
  describe: 'merge the JSON reports of shards (--shard I/N) into one: counts summed, histograms merged exactly, violations kept with their shard',
  builder: (y: Argv<object>) =>
    outputOptions(y.positional('reports', { type: 'string', array: true, describe: 'JSON report files of the shards' }))
      .option('json', { type: 'boolean', default: false, describe: 'print the merged JSON report on stdout' })
      .option('report', { type: 'string', requiresArg: true, describe: 'write the merged JSON report to FILE' })
      .option('quiet', { type: 'boolean', default: false, describe: 'only a one-line summary, on stderr' })
      .example('$0 merge shard-*.json --report merged.json --html merged.html --junit merged.xml', 'one result from a CI matrix') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = mergeMain(argv);
  },
};

export function mergeMain(a: Raw): number {
  const files = (Array.isArray(a['reports']) ? a['reports'] : [a['reports']]).filter((x) => x !== undefined).map(String);
  if (files.length === 0) throw new UsageError('', 'merge needs at least one JSON report file');
  const out = resolveOutputs(a);
  const reportFile = openFileFlag(a, 'report');
  const docs = files.map((f) => readReportFile('', f));
  let merged;
  try {
    merged = mergeReports(docs.map((doc, i) => ({ file: files[i]!, doc })));
  } catch (e) {
    if (e instanceof MergeError) throw new UsageError('', `cannot merge: ${e.message}`);
    throw e;
  }
  const text = JSON.stringify(merged, null, 2) + '\n';
  reportFile?.write(text);
  if (a['json'] === true) process.stdout.write(text);
  writeOutputs(out, [merged], [`merged from ${files.length} reports`]);
  const human = a['json'] === true ? process.stderr : process.stdout;
  if (merged.kind === 'run' || merged.kind === 'soak') {
    const r = merged as RunReport;
    if (a['quiet'] === true) process.stderr.write(formatSummary(r, paintFor(process.stderr)) + '\n');
    else human.write(formatRunReport(r, paintFor(human)) + '\n');
  } else {
    const found = merged.kind === 'hunt' ? (merged.found ? `found ${merged.violation?.kind ?? 'a violation'} (replay file ${merged.replayFile ?? '-'})` : `nothing found in ${plural(merged.iterationsRun, 'iteration')}`) : `status ${merged.status}`;
    process.stderr.write(`pmdtorture merge: ${files.length} ${merged.kind} reports: ${found}\n`);
  }
  return merged.exitCode;
}
