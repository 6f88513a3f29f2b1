/**
 * Per-version mechanisms that are not a walker race:
 * - huge_pmd_share's populate lock: 6.2 populates under the shared page's ptl while pmd_alloc
 *   populates under mm->page_table_lock, and one PMD page reference leaks (the invariant checker
 *   finds it; the populate over a present entry is reported as `pud-overwrite`) or a fault
 *   installs into the table pmd_alloc just replaced (a stale write; the truth table's
 *   fault-unshare and fault-populate × 6.2); 349d1670008d (6.5) takes mm->page_table_lock: neither.
 * - tlb_remove_table's deferral under a lockless walker (issue 11 item 20): in `gup-fast-free`
 *   the last reference to a table drops while GUP-fast walks it; each mode's free (RCU grace
 *   period, IPI) keeps that safe, and the busted flavour `<mode>+free-now` (no grace period, no
 *   IPI) is caught as use-after-free/reuse in every run.
 */
import { describe, expect, it } from 'vitest';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { MODE_CHOICES, modeByName } from '../src/workers/hugetlb/modes.js';
import { formatSplat } from '../src/report/report-text.js';

function cfg(scenario: string, mode: string, over: Partial<RunConfig>): RunConfig {
  return { scenario, mode, cpus: 2, seed: 0x5eed, ops: 0, durationMs: 0, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000, ...over };
}

const LEAK = /^PMD page \d+: refcount \d+, but \d+ PUD entries point at it$/;
/** The populate race's window held open on both sides (pud_none seen, populate pending). */
const POPULATE = { prob: 0.02, us: 100, points: ['share-populate:0.5:300', 'pmd-alloc:0.5:300'] };

describe('huge_pmd_share populate lock per version', () => {
  it('6.2 (the shared page\'s ptl): a PMD page reference leaks; 6.5 (mm->page_table_lock): none', async () => {
    const v62 = await runStress(cfg('fault-unshare', '6.2', { ops: 50_000, widen: POPULATE }));
    expect(v62.errors).toEqual([]);
    expect(v62.invariants.errors.length).toBeGreaterThan(0);
    expect(v62.model.populateOverwrites).toBeGreaterThan(0);
    for (const e of v62.invariants.errors) expect(e).toMatch(LEAK);
    // Every populate over a present entry is reported where it happens, at the fault; and in the
    // other order the fault that shared and walked the table installs into it after pmd_alloc
    // replaced it — a write to a table its mm no longer links. Only ever at the fault.
    expect(v62.outcomes['fault']?.['pud-overwrite']).toBe(v62.model.populateOverwrites);
    for (const v of v62.violations) expect([v.site, ['stale-write', 'pud-overwrite'].includes(v.kind)]).toEqual(['fault', true]);
    const over = v62.violations.find((v) => v.kind === 'pud-overwrite')!;
    expect(formatSplat(over)).toMatch(new RegExp(`populated mm ${over.mm} PUD\\[${over.pudIndex}\\] over a present entry → PMD page ${over.page} `));
    console.log(`6.2: ${v62.invariants.errors.length} leaked references, ${v62.violationCount} violations at the fault in 50,000 ops`);
    const v65 = await runStress(cfg('fault-unshare', '6.5', { ops: 50_000, widen: POPULATE }));
    expect(v65.invariants.errors).toEqual([]);
    expect(v65.violationCount).toBe(0);
    expect(v65.model.populateOverwrites).toBe(0);
    expect(v65.model.shares).toBeGreaterThan(0);
  });
});

describe('table free under a lockless walker (gup-fast-free)', () => {
  // GUP-fast held open between reading the PUD entry and the PMD entry.
  const WIDEN = { prob: 0.02, us: 100, points: ['walk-deref:0.5:300'] };
  const OPS = 20_000;
  const uaf = (r: Awaited<ReturnType<typeof runStress>>): number => (r.outcomes['gup-fast']?.['use-after-free'] ?? 0) + (r.outcomes['gup-fast']?.['use-after-reuse'] ?? 0);

  it('busted flavours exist only for tests: the CLI does not accept them', () => {
    expect(modeByName('6.19+free-now')!.tableFree).toBe('immediate');
    expect(MODE_CHOICES).not.toContain('6.19+free-now');
  });

  for (const mode of ['6.19', '6.16', 'walker-rcu', 'walker-irq']) {
    it(`${mode}: tables freed under GUP-fast ${OPS} ops, none used after free; ${mode}+free-now: caught`, async () => {
      const ok = await runStress(cfg('gup-fast-free', mode, { ops: OPS, widen: WIDEN }));
      expect(ok.errors).toEqual([]);
      expect(ok.model.tableFrees).toBeGreaterThan(100);
      expect(uaf(ok)).toBe(0);
      expect(ok.invariants.errors).toEqual([]);
      const bad = await runStress(cfg('gup-fast-free', `${mode}+free-now`, { ops: OPS, widen: WIDEN }));
      expect(bad.errors).toEqual([]);
      console.log(`${mode}: GUP-fast after a free without its deferral: ${uaf(bad)} in ${OPS} ops`);
      expect(uaf(bad)).toBeGreaterThan(0);
    });
  }
});
