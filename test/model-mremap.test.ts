/**
 * mremap of a hugetlb VMA (move_hugetlb_page_tables): the move of a split mapping's upper VMA to
 * another PUD range in one thread, the unshare of a shared source table, the self-deadlock the
 * kernel's source has for a whole-PUD destination (huge_pmd_share's i_mmap read under the move's
 * i_mmap write), and `mixed` (which runs mremap) under every mode over real workers.
 */
import { describe, expect, it } from 'vitest';
import { Arena } from '../src/shared-mem/layout.js';
import { PageHdr, PagePool } from '../src/workers/hugetlb/pool.js';
import { Cpu } from '../src/workers/cpu.js';
import { Kernel } from '../src/workers/hugetlb/kernel.js';
import { MODES, modeByName } from '../src/workers/hugetlb/modes.js';
import { setupModel, modelShape, vmaId, spareVmaOf } from '../src/workers/hugetlb/setup.js';
import { checkInvariants } from '../src/workers/hugetlb/invariants.js';
import { opFault } from '../src/workers/hugetlb/fault.js';
import { opMunmap } from '../src/workers/hugetlb/unshare.js';
import { opVmaSplit } from '../src/workers/hugetlb/split.js';
import { SelfDeadlock, awayPudIndex, moveHugetlbPageTables, opMremap } from '../src/workers/hugetlb/mremap.js';
import { Mm, Structs, ptrPage } from '../src/workers/hugetlb/structs.js';
import { readViolations } from '../src/workers/hugetlb/violations.js';
import { readLockdepReports } from '../src/locks/lockdep.js';
import { arenaConfigFor, runStress } from '../src/engine/engine.js';
import { invariantErrors } from './helpers/invariants.js';

const RUN = { scenario: 'unit', mode: 'unit' };
const E = 16;

function world(mode: string) {
  const arena = Arena.create(arenaConfigFor({ cpus: 1, arena: { entriesPerPage: E, folios: 64 } }));
  setupModel(arena);
  const shape = modelShape(arena);
  const k = new Kernel(new Cpu(arena, 0, { seed: 1 }), { mode: modeByName(mode)!, lockstat: false, stopOnViolation: false, t0: performance.now() });
  const s = new Structs(arena);
  const pool = new PagePool(arena);
  /** The PMD page at PUD index `pud` of mm, -1 for none. */
  const pmdAt = (mm: number, pud: number): number => {
    const e = s.ld(pool.entry(ptrPage(s.ld(s.mm(mm) + Mm.PUD)), pud));
    return e === 0 ? -1 : ptrPage(e);
  };
  const entry = (page: number, slot: number): number => Atomics.load(arena.mem, pool.entry(page, slot));
  return { arena, shape, k, s, pool, pmdAt, entry };
}

describe('mremap (move_hugetlb_page_tables)', () => {
  for (const mode of ['6.2', '6.19']) {
    it(`${mode}: moves a split mapping's upper VMA to another PUD range, entry by entry, and munmap brings it home`, () => {
      const w = world(mode);
      const v = vmaId(w.shape, 0, 0);
      const spare = spareVmaOf(w.shape, v);
      const away = awayPudIndex(w.k, 0);
      expect(away).toBe(w.shape.files + 1);
      for (const slot of [2, 9, 12]) opFault(w.k, v, slot);
      opVmaSplit(w.k, v, 8); // [0, 8) and [8, 16)
      for (const slot of [9, 12]) opFault(w.k, v, slot); // the split unshared nothing here: entries stay
      const home = w.pmdAt(0, 1);
      const before = [2, 9, 12].map((i) => w.entry(home, i));
      expect(before.every((x) => x !== 0)).toBe(true);
      opMremap(w.k, v);
      expect(w.s.vmaPudIndex(spare)).toBe(away);
      expect(w.s.vmaPudIndex(v)).toBe(1);
      const moved = w.pmdAt(0, away);
      expect(moved).toBeGreaterThanOrEqual(0);
      expect(moved).not.toBe(home);
      expect([9, 12].map((i) => w.entry(moved, i))).toEqual(before.slice(1)); // the same folios, moved
      expect([9, 12].map((i) => w.entry(home, i))).toEqual([0, 0]); // gone from the old address
      expect(w.entry(home, 2)).toBe(before[0]); // the lower VMA keeps its entry and table
      expect(w.pool.get(moved, PageHdr.REFCOUNT)).toBe(1); // a VMA smaller than its PUD never shares
      expect(checkInvariants(w.arena).errors).toEqual([]); // mapcounts unchanged by the move
      // A second mremap has nowhere to go (the model has one other PUD range per file), and the
      // halves are no longer adjacent: the split op does not merge them.
      opMremap(w.k, v);
      opVmaSplit(w.k, v, 8);
      expect(w.s.vmaPudIndex(spare)).toBe(away);
      expect(w.s.vmaEnd(v)).toBe(8);
      opMunmap(w.k, v);
      expect([w.pmdAt(0, 1), w.pmdAt(0, away)]).toEqual([-1, -1]);
      expect(w.s.vmaPudIndex(spare)).toBe(1);
      expect([w.s.vmaStart(v), w.s.vmaEnd(v)]).toEqual([0, E]);
      expect(checkInvariants(w.arena).errors).toEqual([]);
      expect(readViolations(w.arena, RUN)).toEqual([]);
      expect(readLockdepReports(w.arena)).toEqual([]);
      expect(w.k.locks.depth).toBe(0);
    });
  }

  it('a shared source table is unshared, not moved: the other sharer keeps it, nothing is copied', () => {
    const w = world('6.19');
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k, v0, 3);
    opFault(w.k, vmaId(w.shape, 1, 0), 3);
    const table = w.pmdAt(0, 1);
    expect(w.pmdAt(1, 1)).toBe(table);
    const away = awayPudIndex(w.k, 0);
    w.k.mmapWrite(0);
    expect(moveHugetlbPageTables(w.k, v0, away)).toBe(true);
    w.k.mmapWriteUnlock(0);
    expect([w.pmdAt(0, 1), w.pmdAt(0, away), w.pmdAt(1, 1)]).toEqual([-1, -1, table]);
    expect(w.pool.get(table, PageHdr.REFCOUNT)).toBe(1);
    expect(checkInvariants(w.arena).errors).toEqual([]);
    expect(readViolations(w.arena, RUN)).toEqual([]);
  });

  it('a whole-PUD destination with a private source: huge_pte_alloc(new_vma) would take i_mmap read under the move\'s i_mmap write (every kernel from 6.1); without i_mmap locks (none) the move goes through', () => {
    for (const mode of MODES.filter((m) => m.unshare.iMmapWrite)) {
      const w = world(mode.name);
      const v0 = vmaId(w.shape, 0, 0);
      opFault(w.k, v0, 3); // mm 0's own table: nothing to unshare, an entry to move
      const away = awayPudIndex(w.k, 0);
      expect(() => moveHugetlbPageTables(w.k, v0, away), mode.name).toThrow(SelfDeadlock);
      expect(w.s.vmaPudIndex(v0), mode.name).toBe(1); // nothing moved
      expect(w.k.locks.depth, mode.name).toBe(0); // the move's locks were released
      expect(checkInvariants(w.arena).errors, mode.name).toEqual([]);
    }
    const w = world('none');
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k, v0, 3);
    const home = w.pmdAt(0, 1);
    const pte = w.entry(home, 3);
    expect(moveHugetlbPageTables(w.k, v0, awayPudIndex(w.k, 0))).toBe(true);
    expect(w.entry(w.pmdAt(0, awayPudIndex(w.k, 0)), 3)).toBe(pte);
  });
});

describe('mixed runs mremap under every mode', () => {
  const OPS = 15_000;
  for (const mode of MODES) {
    // Where mixed races (truth table), other ops' races go on corrupting state after the first
    // violation: those runs stop at it, as the truth table's race cells do.
    const safe = mode.name === '6.16' || mode.name === '6.19';
    it(`${mode.name}: ${safe ? `${OPS} widened operations, mremaps done, zero violations, invariants hold` : 'widened until the first violation'}; no violation and no lockdep report in mremap`, async () => {
      const r = await runStress({
        scenario: 'mixed', mode: mode.name, cpus: 2, seed: 0x5eed, ops: OPS, durationMs: 60_000, lockstat: false,
        stopOnViolation: !safe, stallTimeoutMs: 30_000, widen: { prob: 0.05, us: 300 },
      });
      expect(r.errors).toEqual([]);
      expect(r.violations.filter((v) => v.op === 'mremap')).toEqual([]);
      expect(r.lockdep.filter((x) => x.opName.startsWith('mremap'))).toEqual([]);
      // The only lockdep reports of a mixed run: 6.16/6.19's own false positive at __split_vma.
      expect(r.lockdep.filter((x) => !x.opName.startsWith('vma-split'))).toEqual([]);
      if (!safe) return;
      expect(r.ops).toBe(OPS);
      expect((r.perOp['mremap'] ?? 0) - (r.failedOps['mremap'] ?? 0)).toBeGreaterThan(0);
      expect(r.violationCount).toBe(0);
      expect(invariantErrors(mode, r.invariants.errors)).toEqual([]);
    });
  }
});
