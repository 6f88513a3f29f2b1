/**
 * What the documents of commands that run one workload several times share (compare: several
 * modes; scale: several modes × CPU counts): their head, and the status of the whole, where the
 * races the truth table expects in a mode are the point rather than a failure. Building and
 * delivering one is the CLI's (stress/multi-run.ts).
 */
import type { RunStatus } from '../engine/engine.js';
import { worstStatus, type CompareReport, type RunReport } from './report-json.js';

/** The fields every multi-run document starts with (compare's, scale's). */
export type MultiRunHead = Pick<CompareReport, 'schemaVersion' | 'tool' | 'command' | 'seed' | 'seedRandom' | 'status' | 'exitCode' | 'timing'>;

/** Worst status of the runs; a violation counts only in a mode the truth table calls safe. */
export function multiRunStatus(runs: readonly RunReport[], interrupted: boolean): RunStatus {
  const statuses: RunStatus[] = runs.map((r) => (r.status === 'violations' ? (r.expected === 'safe' ? 'violations' : 'ok') : r.status));
  if (interrupted) statuses.push('interrupted');
  return worstStatus(statuses);
}
