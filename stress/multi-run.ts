/**
 * The CLI side of the commands that run one workload several times (compare, scale): the
 * document's head from the session and flags, and its delivery (end event, JSON report file and
 * stdout, HTML/JUnit, human text). The head's type and the status rule: src/report/multi-run.ts.
 */
import { exitCodeFor } from '../src/engine/exit.js';
import { SCHEMA_VERSION, toolInfo, type RunReport } from '../src/report/report-json.js';
import { multiRunStatus, type MultiRunHead } from '../src/report/multi-run.js';
import type { AnyReport } from '../src/report/html/render.js';
import type { Session } from './session.js';
import type { StressArgs } from './options/stress.js';
import { writeOutputs, type OutputFiles } from './options/output.js';

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
