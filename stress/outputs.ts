/**
 * `--html FILE` and `--junit FILE` for every command that produces a report (run, soak, compare,
 * hunt, merge, report): the option declarations, the early writability check, and the writing.
 */
import type { Argv } from 'yargs';
import { UsageError } from './args.js';
import type { Session } from './session.js';
import { checkWritable, writeOutputFile } from './out-file.js';
import type { RunReport } from './report-json.js';
import { formatRunReport, formatSummary } from './report-text.js';
import { renderHtml, type AnyReport } from './html/render.js';
import { renderJunit } from './junit.js';
import { reportsTitle } from './report-title.js';

export interface OutputFiles {
  html?: string | undefined;
  junit?: string | undefined;
}

export function outputOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('html', { type: 'string', requiresArg: true, describe: 'write a self-contained HTML report with plots to FILE' })
    .option('junit', { type: 'string', requiresArg: true, describe: 'write JUnit XML to FILE: one testcase per scenario × mode' });
}

/** Validate --html/--junit and check the files can be written (before anything runs). */
export function resolveOutputs(a: Record<string, unknown>): OutputFiles {
  const one = (flag: 'html' | 'junit'): string | undefined => {
    const v = a[flag];
    if (v === undefined) return undefined;
    if (v === true || String(v).trim() === '') throw new UsageError(`--${flag}`, 'needs a file name (accepted: a writable file path)');
    const s = String(v);
    checkWritable(`--${flag}`, s);
    return s;
  };
  return { html: one('html'), junit: one('junit') };
}

export function writeOutputs(o: OutputFiles, docs: readonly AnyReport[], sources: readonly string[] = []): void {
  if (o.html !== undefined) writeOutputFile(o.html, renderHtml(docs.map((doc, i) => ({ doc, source: sources[i] ?? '' })), { title: reportsTitle(docs) }));
  if (o.junit !== undefined) writeOutputFile(o.junit, renderJunit(docs));
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
