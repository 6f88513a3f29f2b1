/**
 * What the commands that run one workload several times share (compare: several modes; scale:
 * several modes × CPU counts): the status of the whole, where the races the truth table expects
 * in a mode are the point rather than a failure; the document's head; and its delivery (end
 * event, JSON report file and stdout, HTML/JUnit, human text).
 */
import type { RunStatus } from './engine.js';
import { exitCodeFor, SCHEMA_VERSION, toolInfo, worstStatus, type CompareReport, type RunReport } from './report-json.js';
import type { Session } from './session.js';
import type { StressArgs } from './args.js';
import { writeOutputs, type OutputFiles } from './outputs.js';
import type { AnyReport } from './html/render.js';

/** The fields every multi-run document starts with (compare's, scale's). */
export type MultiRunHead = Pick<CompareReport, 'schemaVersion' | 'tool' | 'command' | 'seed' | 'seedRandom' | 'status' | 'exitCode' | 'timing'>;

/** Worst status of the runs; a violation counts only in a mode the truth table calls safe. */
export function multiRunStatus(runs: readonly RunReport[], interrupted: boolean): RunStatus {
  const statuses: RunStatus[] = runs.map((r) => (r.status === 'violations' ? (r.expected === 'safe' ? 'violations' : 'ok') : r.status));
  if (interrupted) statuses.push('interrupted');
  return worstStatus(statuses);
}

export function multiRunHead(runs: readonly RunReport[], s: Session, args: StressArgs, command: string, startedAt: Date, t0: number): MultiRunHead {
  const status = multiRunStatus(runs, s.interrupted);
  return {
    schemaVersion: SCHEMA_VERSION,
    tool: toolInfo(),
    command,
    seed: args.base.seed,
    seedRandom: args.seedRandom,
    status,
    exitCode: exitCodeFor(status),
    timing: { startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), elapsedMs: Math.round(performance.now() - t0) },
  };
}

/** End event, report file, --json, --html/--junit, then the text (a summary on stderr with --quiet). */
export function deliverMultiRun(s: Session, outputs: OutputFiles, doc: MultiRunHead & AnyReport, runs: readonly RunReport[], text: (quiet: boolean) => string): void {
  s.events.write({ type: 'end', t: new Date().toISOString(), status: doc.status, exitCode: doc.exitCode, ops: runs.reduce((x, r) => x + r.ops.total, 0), violations: runs.reduce((x, r) => x + r.violations.count, 0), elapsedMs: doc.timing.elapsedMs });
  s.writeReport(doc);
  s.printJson(doc);
  writeOutputs(outputs, [doc]);
  const quiet = s.args.quiet;
  if (quiet) s.note(text(true));
  else s.say(text(false));
}
