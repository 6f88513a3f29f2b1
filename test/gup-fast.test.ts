/**
 * GUP-fast vs huge_pmd_unshare (CVE-2025-38085, fixed by 1013af4f585f): a lockless gup_fast of
 * mm B read B's PUD entry, B unshared the PMD table, which became the other sharer's own table,
 * and gup_fast grabbed a folio through it. Found under 6.2 at its own site with widening on 2
 * CPUs; gone under 6.16 (tlb_remove_table_sync_one per unshare) and 6.19 (per gather).
 */
import { describe, expect, it } from 'vitest';
import { invariantErrors } from './helpers/invariants.js';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { formatSplat } from '../src/report/report-text.js';
import { modeByName, siteSafe, locklessSafe } from '../src/workers/hugetlb/modes.js';

const WIDEN = { prob: 0.05, us: 300 };
const FIXED_OPS = 100_000;

function cfg(mode: string, over: Partial<RunConfig>): RunConfig {
  return {
    scenario: 'gup-fast', mode, cpus: 2, seed: 0x5eed, ops: 0, durationMs: 60_000,
    lockstat: false, stopOnViolation: true, stallTimeoutMs: 30_000, ...over,
  };
}

describe('gup-fast vs huge_pmd_unshare', () => {
  it('the tables say: unsafe without a sync at unshare, safe with one (and with a deferred free)', () => {
    for (const m of ['none', 'vma-lock', 'walker-rcu', 'walker-irq', '6.2', '6.5', '6.15']) expect(siteSafe(modeByName(m)!, 'gup-fast'), m).toBe(false);
    for (const m of ['6.16', '6.19', 'final', '6.2-x86']) expect(siteSafe(modeByName(m)!, 'gup-fast'), m).toBe(true);
    // A sync without a deferred free would still let GUP-fast walk a freed table.
    expect(locklessSafe({ ...modeByName('6.16')!, tableFree: 'immediate' })).toBe(false);
  });

  it('6.2: gup_fast grabs through a table that now belongs to another mm (widened, 2 CPUs)', async () => {
    const r = await runStress(cfg('6.2', { widen: WIDEN, stopAtSites: ['gup-fast'] }));
    expect(r.errors).toEqual([]);
    const v = r.violations.find((x) => x.site === 'gup-fast');
    expect(v, 'a violation at gup-fast').toBeDefined();
    expect(v!.kind).toBe('foreign-table');
    expect(v!.heldLocks).toEqual([]); // no lock of any kind
    // The page's history names another mm as its owner after it was shared.
    const roles = v!.roleHistory ?? [];
    expect(roles.some((x) => x.role.startsWith('shared'))).toBe(true);
    expect(roles.some((x) => x.role.startsWith('private to mm ') && x.role !== `private to mm ${v!.mm}`)).toBe(true);
    const splat = formatSplat(v!);
    expect(splat).toMatch(/foreign-table in gup-fast/);
    expect(splat).toMatch(/another process's page table/);
    expect(splat).toMatch(/gup_fast_pud_range \(IRQs off, no locks\)/);
  });

  for (const mode of ['6.16', '6.19', '6.2-x86']) {
    const faultsRace = modeByName(mode)!.populateLock === 'ptl';
    it(`${mode}: zero violations${faultsRace ? ' but at the fault (the populate race)' : ''} over ${FIXED_OPS} widened operations, the sync really ran, invariants hold`, async () => {
      const r = await runStress(cfg(mode, { ops: FIXED_OPS, widen: WIDEN, stopOnViolation: false }));
      expect(r.errors).toEqual([]);
      expect(r.ops).toBe(FIXED_OPS);
      // GUP-fast never grabs a bad folio; 6.2-x86's faults may race among themselves (the populate
      // race: fault-populate's cell), and then only at the fault, and only in a run that counted one.
      const bad = Object.entries(r.outcomes['gup-fast'] ?? {}).filter(([k, n]) => k !== 'ok' && n > 0);
      expect(bad).toEqual([]);
      if (faultsRace) {
        for (const v of r.violations) expect(v.site).toBe('fault');
        if (r.violationCount > 0) expect(r.model.populateOverwrites).toBeGreaterThan(0);
      } else expect(r.violationCount).toBe(0);
      expect(invariantErrors(modeByName(mode)!, r.invariants.errors)).toEqual([]);
      expect(r.model.unshares).toBeGreaterThan(0);
      if (mode !== '6.2-x86') expect(r.model.syncOne).toBeGreaterThan(0);
      else expect(r.ipi.sent).toBeGreaterThan(0); // the flush IPIs did the waiting
      // GUP-fast really grabbed through shared tables.
      expect(r.outcomes['gup-fast']?.['ok'] ?? 0).toBeGreaterThan(1000);
    });
  }
});

describe('TLB flush and mmu_gather', () => {
  const run = (mode: string): ReturnType<typeof runStress> => runStress(cfg(mode, { ops: 30_000, stopOnViolation: false, seed: 11 }));

  it('every unshare path flushes before i_mmap_rwsem is released; on x86 the flush is an IPI, on arm64 a TLBI that interrupts nobody', async () => {
    const arm = await run('6.2');
    expect(arm.model.tlbFlushes).toBeGreaterThan(0);
    expect(arm.ipi.sent).toBe(0);
    const x86 = await run('6.2-x86');
    expect(x86.model.tlbFlushes).toBeGreaterThan(0);
    // one IPI to the other CPU per flush, counted against the op that flushed
    expect(x86.ipi.sent).toBe(x86.model.tlbFlushes);
    const byOp = Object.values(x86.ipiByOp);
    expect(byOp.reduce((n, x) => n + x.sent, 0)).toBe(x86.ipi.sent);
    expect(byOp.reduce((n, x) => n + x.acked, 0)).toBeGreaterThan(0);
    expect(x86.ipiByOp['gup-fast']?.sent ?? 0).toBe(0); // GUP-fast sends none, it is interrupted
  });

  it('6.16 syncs once per unshare; 6.19 batches: one sync per gather, only when a table became exclusive', async () => {
    const v16 = await run('6.16');
    expect(v16.model.unshares).toBeGreaterThan(100);
    expect(v16.model.syncOne).toBeGreaterThanOrEqual(v16.model.unshares); // + free_pgtables stand-in (model-notes)
    expect(v16.ipi.sent).toBe(v16.model.syncOne); // arm64: the flushes send none
    const v19 = await run('6.19');
    expect(v19.model.syncOne).toBeGreaterThan(0);
    expect(v19.model.syncOne).toBeLessThan(v19.model.unshares);
    expect(v19.ipi.sent).toBe(v19.model.syncOne);
  });
});
