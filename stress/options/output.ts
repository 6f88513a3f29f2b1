/**
 * `--html FILE` and `--junit FILE` for every command that produces a report (run, soak, compare,
 * hunt, merge, report): the option declarations, the early writability check, and the writing.
 */
import type { Argv } from 'yargs';
import type { Session } from '../session.js';
import { OutputFile } from '../../src/report/out-file.js';
import type { RunReport } from '../../src/report/report-json.js';
import { formatRunReport, formatSummary } from '../../src/report/report-text.js';
import { renderHtml, type AnyReport } from '../../src/report/html/render.js';
import { renderJunit } from '../../src/report/junit.js';
import { reportsTitle } from '../../src/report/report-title.js';
import { UsageError } from '../../src/engine/exit.js';

export interface OutputFiles {
  html?: OutputFile | undefined;
  junit?: OutputFile | undefined;
}

export function outputOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('html', { type: 'string', requiresArg: true, describe: 'write a self-contained HTML report with plots to FILE' })
    .option('junit', { type: 'string', requiresArg: true, describe: 'write JUnit XML to FILE: one testcase per scenario × mode' });
}

/** A file flag's value opened for writing (before anything runs: see out-file.ts), or undefined when not given. */
export function openFileFlag(a: Record<string, unknown>, name: string): OutputFile | undefined {
  const v = a[name];
  if (v === undefined) return undefined;
  if (v === true || String(v).trim() === '') throw new UsageError(`--${name}`, 'needs a file name (accepted: a writable file path)');
  return OutputFile.open(`--${name}`, String(v));
}

/** Validate --html/--junit and open the files (before anything runs). */
export function resolveOutputs(a: Record<string, unknown>): OutputFiles {
  return { html: openFileFlag(a, 'html'), junit: openFileFlag(a, 'junit') };
}

/** Write --html/--junit; a failure is recorded (exit 3 at the end), the command goes on. Returns the paths written. */
export function writeOutputs(o: OutputFiles, docs: readonly AnyReport[], sources: readonly string[] = []): string[] {
  const written: string[] = [];
  if (o.html?.write(renderHtml(docs.map((doc, i) => ({ doc, source: sources[i] ?? '' })), { title: reportsTitle(docs) }))) written.push(o.html.path);
  if (o.junit?.write(renderJunit(docs))) written.push(o.junit.path);
  return written;
}

/**
 * The end of a run or soak: the `end` event, the JSON report (file and stdout), HTML/JUnit, and
 * the human report (a one-line summary with --quiet). Returns the exit code.
 */
export function deliverRunReport(s: Session, o: OutputFiles, report: RunReport, code: number, quiet: boolean): number {
  s.events.write({ type: 'end', t: new Date().toISOString(), status: report.status, exitCode: code, ops: report.ops.total, violations: report.violations.count, elapsedMs: Math.round(report.timing.elapsedMs) });
  s.writeReport(report);
  s.printJson(report);
  writeOutputs(o, [report]);
  if (quiet) s.note(formatSummary(report, s.errPaint));
  else s.say(formatRunReport(report, s.humanPaint));
  return code;
}
