/**
 * The title of a page or JUnit file drawn from several reports: every kind it holds, in order of
 * first appearance ("pmdtorture compare, soak and run (3 reports)"), never only the first's.
 */
import type { AnyReport } from './html/render.js';

export function reportsTitle(docs: readonly Pick<AnyReport, 'kind'>[]): string {
  const kinds = [...new Set(docs.map((d) => d.kind))];
  const names = kinds.length === 0 ? 'report' : kinds.length === 1 ? kinds[0]! : `${kinds.slice(0, -1).join(', ')} and ${kinds.at(-1)!}`;
  return `pmdtorture ${names}${docs.length > 1 ? ` (${docs.length} reports)` : ''}`;
}
