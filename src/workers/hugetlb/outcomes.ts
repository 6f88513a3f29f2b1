/**
 * jcstress-style outcomes of a walker's dereference, and which are forbidden in which mode.
 */
import type { ModeTable } from './modes.js';

export const OUTCOMES = [
  'ok', // a live entry of a PMD page still linked from this mm
  'stale-read', // read through ptep after our PUD entry was cleared; page still live (or pending free)
  'use-after-free', // the page is free (poisoned, generation bumped)
  'use-after-reuse', // the page was freed and reallocated
  'stale-lock', // took the ptl of a page no longer linked from this mm
  'stale-write', // wrote to a page no longer linked from this mm
  'lock-rule', // hugetlb_walk() without the lock the mode requires
  'foreign-table', // a lockless walker of mm A grabbed through a table that is now another mm's own
  'shared-split', // a VMA split left a shared PMD table under a VMA that no longer covers its PUD (CVE-2025-38084)
  'pud-overwrite', // a fault populated a PUD entry that was already present: the table it held lost its link (6.2's populate race)
] as const;
export type Outcome = (typeof OUTCOMES)[number];
export const Oc = Object.fromEntries(OUTCOMES.map((o, i) => [o, i])) as Record<Outcome, number>;

export function forbidden(mode: ModeTable, outcome: number): boolean {
  if (outcome === Oc.ok) return false;
  if (outcome === Oc['stale-read']) return !mode.acceptStaleRead;
  return true;
}
