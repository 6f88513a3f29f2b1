/** `pmdtorture report REPORT.json... --html FILE [--junit FILE]`: draw saved JSON reports. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { outputOptions, resolveOutputs, writeOutputs } from '../options/output.js';
import { readReportFile } from '../../src/report/report-files.js';
import { UsageError } from '../../src/engine/exit.js';
import { EXIT } from '../../src/engine/exit.js';

type Raw = Record<string, unknown>;

export const reportCommand: CommandModule<object, Raw> = {
  command: 'report <reports..>',
  describe: 'draw saved JSON reports (run, soak, compare, hunt, merge) as one self-contained HTML file and/or JUnit XML',
  builder: (y: Argv<object>) =>
    outputOptions(y.positional('reports', { type: 'string', array: true, describe: 'JSON report files' }))
      .example('$0 report compare.json --html compare.html', 'the modes side by side, in a browser')
      .example('$0 report soak-*.json --html soaks.html --junit soaks.xml', 'several reports in one page') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = reportMain(argv);
  },
};

export function reportMain(a: Raw): number {
  const files = (Array.isArray(a['reports']) ? a['reports'] : [a['reports']]).filter((x) => x !== undefined).map(String);
  const out = resolveOutputs(a);
  if (out.html === undefined && out.junit === undefined) throw new UsageError('--html', 'report needs --html FILE or --junit FILE (accepted: a writable file path)');
  if (files.length === 0) throw new UsageError('', 'report needs at least one JSON report file');
  const docs = files.map((f) => readReportFile('', f));
  const written = writeOutputs(out, docs, files);
  process.stderr.write(`pmdtorture report: ${docs.length} report(s)${written.map((p) => ` → ${p}`).join('')}\n`);
  return EXIT.ok;
}
