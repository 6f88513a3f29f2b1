/** Reading saved reports (run/soak/compare JSON, hunt --json) for `report` and `merge`. */
import { readFileSync } from 'node:fs';
import type { AnyReport } from './html/render.js';
import { isHuntReport } from './hunt-report.js';
import { UsageError } from '../engine/exit.js';

export function readReportFile(flag: string, file: string): AnyReport {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(flag, `cannot read '${file}' (${(e as NodeJS.ErrnoException).code ?? 'error'}) (accepted: a JSON report written by --report, --json or merge)`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new UsageError(flag, `'${file}' is not JSON (accepted: a JSON report written by --report, --json or merge)`);
  }
  if (isHuntReport(doc)) {
    const h = doc as AnyReport & { kind?: string };
    return { ...h, kind: 'hunt' } as AnyReport;
  }
  const d = doc as { steps?: unknown; config?: unknown; violation?: unknown } | null;
  if (d !== null && typeof d === 'object' && Array.isArray(d.steps) && d.config !== undefined && d.violation !== undefined) {
    throw new UsageError(flag, `'${file}' is a replay file, not a report (pmdtorture replay '${file}' re-runs it)`);
  }
  const kind = (doc as { kind?: unknown } | null)?.kind;
  const tool = (doc as { tool?: { name?: unknown } } | null)?.tool;
  if (!(kind === 'run' || kind === 'soak' || kind === 'compare' || kind === 'scale') || tool?.name !== 'pmdtorture') {
    throw new UsageError(flag, `'${file}' is not a pmdtorture report (accepted: a JSON report of run, soak, compare, hunt or merge)`);
  }
  return doc as AnyReport;
}
