/**
 * VMAs smaller than a PUD, the VMA split in each kernel's steps, faults under the per-VMA lock,
 * and the split race (CVE-2025-38084): the interleavings replayed exactly in one thread (a fault
 * injected at the split's named window), then the race found by real workers and the CLI.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arena } from '../src/shared-mem/layout.js';
import { PageHdr, PagePool } from '../src/workers/hugetlb/pool.js';
import { Cpu, parallelWaiter, type Waiter } from '../src/workers/cpu.js';
import { Kernel } from '../src/workers/hugetlb/kernel.js';
import { modeByName } from '../src/workers/hugetlb/modes.js';
import { setupModel, modelShape, vmaId, spareVmaOf } from '../src/workers/hugetlb/setup.js';
import { checkInvariants } from '../src/workers/hugetlb/invariants.js';
import { opFault } from '../src/workers/hugetlb/fault.js';
import { opMunmap } from '../src/workers/hugetlb/unshare.js';
import { opVmaSplit } from '../src/workers/hugetlb/split.js';
import { opFork } from '../src/workers/hugetlb/fork.js';
import { opRmapUnshare } from '../src/workers/hugetlb/rmap-unshare.js';
import { readViolations } from '../src/workers/hugetlb/violations.js';
import { Mm, Structs, Vma, VmaFlag, ptrPage } from '../src/workers/hugetlb/structs.js';
import { arenaConfigFor } from '../src/engine/engine.js';
import { Pt } from '../src/workers/hugetlb/points.js';
import { Op } from '../src/workers/hugetlb/ops-list.js';
import { C, sumCounter } from '../src/workers/hugetlb/stats.js';
import { readLockdepReports, LockdepKind } from '../src/locks/lockdep.js';
import { runStress, type RunConfig } from '../src/engine/engine.js';

const RUN = { scenario: 'unit', mode: 'unit' };
const E = 16;

/** Two CPUs in this thread; `inject` runs on CPU 1 when CPU 0 reaches the split's window. */
function world(mode: string, inject?: (k1: Kernel) => void) {
  const arena = Arena.create(arenaConfigFor({ cpus: 2, arena: { entriesPerPage: E, folios: 64 } }));
  setupModel(arena);
  const shape = modelShape(arena);
  let k1: Kernel | undefined;
  let fired = 0;
  const waiter: Waiter = {
    ...parallelWaiter,
    yieldAt(_cpu: Cpu, point: number): void {
      if (point === Pt['split-window'] && inject && fired === 0) {
        fired++;
        inject(k1!);
      }
    },
  };
  const mk = (id: number, w?: Waiter): Kernel =>
    new Kernel(new Cpu(arena, id, { seed: 1 + id, waiter: w }), { mode: modeByName(mode)!, lockstat: false, stopOnViolation: false, t0: performance.now() });
  const k0 = mk(0, waiter);
  k1 = mk(1);
  const s = new Structs(arena);
  const pool = new PagePool(arena);
  /** The PMD page mm's PUD entry for file f points at, -1 for none. */
  const pmdOf = (mm: number, f = 0): number => {
    const e = s.ld(pool.entry(ptrPage(s.ld(s.mm(mm) + Mm.PUD)), f + 1));
    return e === 0 ? -1 : ptrPage(e);
  };
  return { arena, shape, s, k0, k1, pmdOf, fired: () => fired };
}

const refcount = (k: Kernel, page: number): number => k.pool.get(page, PageHdr.REFCOUNT);

describe('VMAs smaller than a PUD', () => {
  it('a split leaves two sub-PUD VMAs that never share; the merge makes the mapping whole and shareable again', () => {
    const w = world('6.16');
    const v0 = vmaId(w.shape, 0, 0);
    const v1 = vmaId(w.shape, 1, 0);
    const sp = spareVmaOf(w.shape, v0);
    opFault(w.k0, v0, 3);
    opVmaSplit(w.k0, v0, 5);
    expect([w.s.vmaStart(v0), w.s.vmaEnd(v0), w.s.vmaStart(sp), w.s.vmaEnd(sp)]).toEqual([0, 5, 5, E]);
    expect(w.s.vmaFlags(sp) & VmaFlag.IN_IMMAP).toBe(VmaFlag.IN_IMMAP);
    // mm 1 faults: page_table_shareable refuses mm 0's halves (range_in_vma), so it allocates its own.
    opFault(w.k1, v1, 3);
    expect(w.pmdOf(1)).not.toBe(w.pmdOf(0));
    expect(refcount(w.k0, w.pmdOf(0))).toBe(1);
    // A fault in the upper half goes to the new VMA.
    opFault(w.k0, v0, 9);
    expect(sumCounter(w.arena, C.FAILS)).toBe(0);
    // The merge: one whole VMA, the spare gone from i_mmap; mm 1 may share with it again after its munmap.
    opVmaSplit(w.k0, v0, 5);
    expect([w.s.vmaStart(v0), w.s.vmaEnd(v0), w.s.vmaFlags(sp) & VmaFlag.MAPPED]).toEqual([0, E, 0]);
    opMunmap(w.k1, v1);
    opFault(w.k1, v1, 3);
    expect(w.pmdOf(1)).toBe(w.pmdOf(0));
    expect(refcount(w.k0, w.pmdOf(0))).toBe(2);
    expect(sumCounter(w.arena, C.SPLITS)).toBe(1);
    expect(sumCounter(w.arena, C.MERGES)).toBe(1);
    expect(checkInvariants(w.arena).errors).toEqual([]);
  });

  it('the invariant catches a shared table under a VMA that does not cover its PUD (a busted split that skips the unshare)', () => {
    const w = world('6.16');
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k0, v0, 3);
    opFault(w.k1, vmaId(w.shape, 1, 0), 3); // shares mm 0's table
    expect(refcount(w.k0, w.pmdOf(0))).toBe(2);
    // The busted twin of __split_vma: bounds changed, no unshare.
    const sp = spareVmaOf(w.shape, v0);
    Atomics.store(w.arena.mem, w.s.vma(v0) + Vma.END, 7);
    Atomics.store(w.arena.mem, w.s.vma(sp) + Vma.START, 7);
    Atomics.store(w.arena.mem, w.s.vma(sp) + Vma.END, E);
    Atomics.or(w.arena.mem, w.s.vma(sp) + Vma.FLAGS, VmaFlag.MAYSHARE | VmaFlag.MAPPED | VmaFlag.IN_IMMAP);
    const errs = checkInvariants(w.arena).errors;
    expect(errs.join('\n')).toMatch(/does not cover its PUD range, but its PMD page \d+ is shared \(refcount 2\)/);
    expect(errs.length).toBe(2); // both halves
  });
});

describe('the split race, replayed: a fault at the window between the unshare and the split', () => {
  /** mm 0 has a table, mm 1 none; mm 1's fault runs in the split's window (huge_pmd_share walks i_mmap, an rmap walk). */
  function otherMmReshare(mode: string) {
    const w = world(mode, (k1) => opFault(k1, vmaId(w.shape, 1, 0), 2));
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k0, v0, 3);
    w.k0.op = Op['vma-split']!;
    opVmaSplit(w.k0, v0, 5);
    return { w, v0 };
  }

  it('6.2 (may_split unshare, b30c14cd6102): another process shares the table before the split → shared-split at __split_vma', () => {
    const { w } = otherMmReshare('6.2');
    expect(w.fired()).toBe(1);
    const v = readViolations(w.arena, RUN);
    expect(v.map((x) => [x.kind, x.site, x.op])).toEqual([['shared-split', 'vma-split', 'vma-split']]);
    expect(v[0]!.heldLocks.map((h) => `${h.cls}:${h.mode}`)).toEqual(['&mm->mmap_lock:write', '&mapping->i_mmap_rwsem:write']);
    expect(checkInvariants(w.arena).ok).toBe(false);
  });

  it('6.15: a fault of the same process under the per-VMA lock re-shares after the unshare → shared-split', () => {
    const w = world('6.15', (k1) => opFault(k1, vmaId(w.shape, 0, 0), 2));
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k0, v0, 3);
    opFault(w.k1, vmaId(w.shape, 1, 0), 3); // mm 1 shares: may_split will unshare mm 0
    const vmaFaults = sumCounter(w.arena, C.VMA_LOCKED_FAULTS);
    opVmaSplit(w.k0, v0, 5);
    // The injected fault ran while CPU 0 held mm 0's mmap_lock for write: only the per-VMA lock let it in.
    expect(sumCounter(w.arena, C.VMA_LOCKED_FAULTS)).toBe(vmaFaults + 1);
    expect(readViolations(w.arena, RUN).map((x) => x.kind)).toEqual(['shared-split']);
    expect(readViolations(w.arena, RUN)[0]!.heldLocks.map((h) => h.cls)).toContain('vm_lock');
  });

  it('6.16 (hugetlb_split, 081056dc00a2): the same interleaving is harmless — the unshare runs under the split locks; lockdep asserts the hugetlb vma lock (false positive)', () => {
    const { w } = otherMmReshare('6.16');
    expect(w.fired()).toBe(1);
    expect(readViolations(w.arena, RUN)).toEqual([]);
    expect(w.pmdOf(0)).toBe(-1); // hugetlb_split unshared mm 0 from the table mm 1 took
    expect(checkInvariants(w.arena).errors).toEqual([]);
    const ld = readLockdepReports(w.arena, () => '');
    expect(ld.some((r) => r.kind === LockdepKind.assertHeld && r.message.includes('&vma_lock->rw_sema'))).toBe(true);
  });

  it('6.15 takes the hugetlb vma lock in may_split: no lockdep report there', () => {
    const { w } = otherMmReshare('6.15');
    expect(readLockdepReports(w.arena, () => '').filter((r) => r.kind === LockdepKind.assertHeld)).toEqual([]);
  });
});

describe('faults under the per-VMA lock', () => {
  const cfg = (mode: string, over: Partial<RunConfig> = {}): RunConfig => ({
    scenario: 'split-reshare', mode, cpus: 2, seed: 0x5eed, ops: 20_000, durationMs: 60_000, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000, ...over,
  });

  it('6.15+ handle faults under vm_lock (lock_vma_under_rcu), falling back to mmap_lock while a writer holds the VMA; 6.5 under mmap_lock', async () => {
    const v616 = await runStress(cfg('6.16'));
    expect(v616.errors).toEqual([]);
    expect(v616.violationCount).toBe(0);
    expect(v616.model.vmaLockedFaults).toBeGreaterThan(0);
    expect(v616.model.vmaLockFallbacks).toBeGreaterThan(0);
    expect(v616.model.splits).toBeGreaterThan(0);
    expect(v616.model.merges).toBeGreaterThan(0);
    const v65 = await runStress(cfg('6.5', { ops: 5_000 }));
    expect(v65.model.vmaLockedFaults).toBe(0);
    expect(v65.model.vmaLockFallbacks).toBe(0);
  });
});

describe('pmdtorture run --scenario split-reshare', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const cli = (args: string[]) => spawnSync(process.execPath, [join(root, 'dist', 'stress', 'cli.js'), ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 120_000 });

  it('--mode 6.15 --widen exits 1 with a shared-split splat at __split_vma; --mode 6.16 --widen exits 0', () => {
    const bad = cli(['run', '--scenario', 'split-reshare', '--mode', '6.15', '--widen', '--cpus', '2', '--seed', '7', '--duration', '60s']);
    expect(bad.status, bad.stderr).toBe(1);
    expect(bad.stdout).toContain('BUG: pmdtorture: shared-split in vma-split');
    expect(bad.stdout).toMatch(/vm_lock \(write\)/);
    const good = cli(['run', '--scenario', 'split-reshare', '--mode', '6.16', '--widen', '--cpus', '2', '--seed', '7', '--ops', '20000']);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('invariants: ok');
  });
});

describe('fork, and migration that unshares', () => {
  it('fork: the child of a whole mapping shares the parent table (nothing copied); of a split one, gets its own table with the entries copied', () => {
    const w = world('6.16');
    const p = vmaId(w.shape, 0, 0);
    const child = 2;
    const vmas = (mm: number): number[] => Array.from({ length: w.shape.files }, (_, f) => vmaId(w.shape, mm, f));
    for (const slot of [1, 2, 9]) opFault(w.k0, p, slot);
    opFork(w.k0, 0, child, vmas(0), vmas(child));
    expect(w.pmdOf(child)).toBe(w.pmdOf(0));
    expect(refcount(w.k0, w.pmdOf(0))).toBe(2);
    expect(checkInvariants(w.arena).errors).toEqual([]);
    // Split the parent: hugetlb_split unshares it, the table stays with the child, the parent
    // faults its pages back into a table of its own; then fork again into the same slot.
    opVmaSplit(w.k0, p, 5);
    expect(w.pmdOf(0)).toBe(-1);
    for (const slot of [1, 2, 9]) opFault(w.k0, p, slot);
    opFork(w.k0, 0, child, vmas(0), vmas(child));
    const c = vmaId(w.shape, child, 0);
    expect([w.s.vmaEnd(c), w.s.vmaStart(spareVmaOf(w.shape, c))]).toEqual([5, 5]);
    expect(w.pmdOf(child)).not.toBe(w.pmdOf(0));
    const e = (mm: number, slot: number): number => Atomics.load(w.arena.mem, w.k0.pool.entry(w.pmdOf(mm), slot));
    expect([1, 2, 9].map((i) => e(child, i))).toEqual([1, 2, 9].map((i) => e(0, i)));
    expect(e(child, 9)).not.toBe(0);
    expect(checkInvariants(w.arena).errors).toEqual([]); // mapcounts include the copies
  });

  it('migration through rmap unshares a shared table under i_mmap write + the vma lock trylock, and migrates the rest', () => {
    const w = world('6.19');
    const v0 = vmaId(w.shape, 0, 0);
    opFault(w.k0, v0, 2);
    opFault(w.k1, vmaId(w.shape, 1, 0), 2);
    const table = w.pmdOf(0);
    expect(w.pmdOf(1)).toBe(table);
    const before = Atomics.load(w.arena.mem, w.k0.pool.entry(table, 2));
    opRmapUnshare(w.k0, 0, 2);
    expect(w.pmdOf(0)).toBe(-1); // mm 0 (visited first) dropped the shared table
    expect(w.pmdOf(1)).toBe(table);
    expect(Atomics.load(w.arena.mem, w.k0.pool.entry(table, 2))).toBe(before); // migrated and restored
    expect(sumCounter(w.arena, C.UNSHARES)).toBe(1);
    expect(readViolations(w.arena, RUN)).toEqual([]);
    expect(checkInvariants(w.arena).errors).toEqual([]);
  });
});
