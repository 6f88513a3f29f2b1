/**
 * fork of a process with shared hugetlb mappings: dup_mmap (mm/mmap.c; kernel/fork.c before
 * 6.x) → copy_page_range → copy_hugetlb_page_range (mm/hugetlb.c). For a VM_MAYSHARE mapping the
 * child's huge_pte_alloc shares the parent's PMD table through huge_pmd_share whenever the VMA
 * covers its PUD range, and then copies nothing (page_count(dst table) > 1); a VMA smaller than
 * its PUD gets its own table and the entries are copied under both page-table locks.
 *
 * The model's processes are slots: the child replaces the slot's previous process, which exits
 * first (exit_mmap), so a fork/exit workload keeps the number of processes fixed.
 */
import { PageHdr } from './pool.js';
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { Folio, Mm, Pte, Vma, VmaFlag, pteFolio, ptrPage } from './structs.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { Pt } from './points.js';
import { hugePtepGet, hugePteNoneScan, pudRead, setHugePteAt } from './pte.js';
import { hugePteAlloc } from './fault.js';
import { iMmapLockWrite, iMmapUnlockWrite, opExit, unmapVmaAndRemap } from './unshare.js';
import { mapUpperHalf } from './split.js';

/** Copy src's present and migration entries of [from, to) into dst's empty slots, both tables' ptls held. */
function copyEntries(k: Kernel, dpage: number, spage: number, from: number, to: number): void {
  const d0 = k.pool.entry(dpage, 0);
  const s0 = k.pool.entry(spage, 0);
  for (let i = from; i < to; i++) {
    if (hugePteNoneScan(k, s0 + i) || !hugePteNoneScan(k, d0 + i)) continue;
    const pte = hugePtepGet(k, s0 + i);
    if ((pte & (Pte.PRESENT | Pte.MIGRATION)) === 0) continue;
    setHugePteAt(k, d0 + i, pte);
    Atomics.add(k.mem, k.s.folio(pteFolio(pte)) + Folio.MAPCOUNT, 1);
  }
}

/**
 * copy_hugetlb_page_range(dst, src, dst_vma, src_vma) for a shared mapping: the src vma lock for
 * read around hugetlb_walk(src_vma), huge_pte_alloc in the child (huge_pmd_share), and the copy
 * under the dst ptl with the src ptl nested inside it.
 */
function copyHugetlbPageRange(k: Kernel, dst: number, src: number): void {
  const s = k.s;
  const file = s.vmaFile(src);
  if (!k.guardEnter('fork-copy', src, file)) return;
  try {
    if (!k.hugetlbWalk('fork-copy', src)) return; // nothing mapped in the parent
    if (!hugePteAlloc(k, dst)) {
      k.count(C.FAILS + Op.fork!);
      return;
    }
    // Truncate (no mmap_lock; the child's hugetlb vma lock is free) may already have unshared the
    // child again: then there is nothing to copy into, the child faults its pages in later.
    const e = pudRead(k, k.pudEntryAt(dst));
    if (e === 0) return;
    const dpage = ptrPage(e);
    // Shared with the parent (or a sibling): nothing to copy, the entries are already there.
    if (k.pool.get(dpage, PageHdr.REFCOUNT) > 1) return;
    // huge_pte_alloc may have walked another VMA (huge_pmd_share): walk the parent's table again.
    if (!k.hugetlbWalk('fork-copy', src)) return;
    k.cpu.point(Pt['walk-deref']);
    const spage = k.wPage;
    // A truncate (trylock of the child's free vma lock) can unshare the child between our read of
    // its PUD entry and of the count: dpage is then the parent's own table, count 1. Nesting its
    // ptl in itself would hang; the child has no table left to copy into.
    if (spage === dpage) {
      k.count(C.FORK_SAME_TABLE);
      return;
    }
    k.ptlLock(dpage);
    k.locks.spinLockNested(LockClass.ptl, k.pool.ptl(spage), 1);
    try {
      const from = s.vmaStart(dst);
      if (k.check('fork-copy', Access.lock, from, hugePtepGet(k, k.pool.entry(spage, from))) !== Oc.ok) return;
      copyEntries(k, dpage, spage, from, s.vmaEnd(dst));
    } finally {
      k.locks.spinUnlock(LockClass.ptl, k.pool.ptl(spage));
      k.ptlUnlock(dpage);
    }
  } finally {
    k.guardExit('fork-copy', src, file);
  }
}

/**
 * The child's copy of one mapping (vm_area_dup + hugetlb_vm_op_open: same bounds, its own vma
 * lock; inserted in i_mmap under i_mmap write), then its page tables. The parent's VMAs are
 * write-locked here; the child's already are (opFork).
 */
function dupMapping(k: Kernel, pv: number, cv: number): void {
  const s = k.s;
  if ((s.vmaFlags(pv) & VmaFlag.MAPPED) === 0) return;
  const pSpare = k.spareOf(pv);
  const cSpare = k.spareOf(cv);
  const split = (s.vmaFlags(pSpare) & VmaFlag.MAPPED) !== 0;
  const locked = split ? [pv, pSpare] : [pv];
  for (const v of locked) k.vmaStartWrite(v);
  if (split) {
    const file = s.vmaFile(pv);
    iMmapLockWrite(k, file);
    const end = s.vmaEnd(pv);
    Atomics.store(k.mem, s.vma(cv) + Vma.END, end);
    // The child's VMAs are at the parent's addresses: the upper half too, if mremap moved it.
    Atomics.store(k.mem, s.vma(cSpare) + Vma.PUD_INDEX, s.vmaPudIndex(pSpare));
    mapUpperHalf(k, cSpare, end);
    iMmapUnlockWrite(k, file);
  }
  copyHugetlbPageRange(k, cv, pv);
  if (split) copyHugetlbPageRange(k, cSpare, pSpare);
  for (const v of locked.reverse()) k.vmaEndWrite(v);
}

/**
 * Whether the slot is no longer as exit left it (every mapping whole, unsplit, no table): between
 * the exit and dup_mmap taking its locks, another CPU ran in the slot — faulted a table in
 * (perhaps a shared one), split or moved a mapping. Caller holds the slot's mmap_lock and
 * vma_start_write on its VMAs.
 */
function slotUsedSinceExit(k: Kernel, mm: number, vmas: readonly number[]): boolean {
  const s = k.s;
  const root = ptrPage(s.ld(s.mm(mm) + Mm.PUD));
  for (let i = 0; i < k.E; i++) if (s.ld(k.pool.entry(root, i)) !== 0) return true;
  for (const v of vmas) {
    if (s.vmaStart(v) !== 0 || s.vmaEnd(v) !== k.E || (s.vmaFlags(k.spareOf(v)) & VmaFlag.MAPPED) !== 0) return true;
  }
  return false;
}

/**
 * fork(): the slot's old process exits, then dup_mmap with both mmap_locks held for write. The
 * kernel's child is invisible until fork returns, so nothing else can lock it; here another CPU
 * may fork the other way at once, so the two mmap_locks are taken in slot order (no ABBA). Nor
 * can the kernel's child have run before dup_mmap, or run during it: here the slot's VMAs are
 * write-locked (vma_start_write) for the whole dup, since a fault under a per-VMA lock takes no
 * mmap_lock, and a slot used since the exit (slotUsedSinceExit) exits again first. Otherwise
 * dup_mmap would resize a mapping whose table another process shares (the split invariant,
 * invariants.ts) and copy into tables that are not the child's.
 */
export function opFork(k: Kernel, parent: number, child: number, parentVmas: readonly number[], childVmas: readonly number[]): void {
  if (parent === child) return;
  opExit(k, child, childVmas);
  const [a, b] = parent < child ? [parent, child] : [child, parent];
  k.mmapWrite(a);
  k.mmapWrite(b);
  const held = childVmas.flatMap((v) => [v, k.spareOf(v)]);
  for (const v of held) k.vmaStartWrite(v);
  try {
    if (slotUsedSinceExit(k, child, childVmas)) {
      k.count(C.FORK_INTERIM_EXITS);
      for (const v of childVmas) unmapVmaAndRemap(k, v, true);
    }
    for (let f = 0; f < parentVmas.length; f++) dupMapping(k, parentVmas[f]!, childVmas[f]!);
  } finally {
    for (const v of held.reverse()) k.vmaEndWrite(v);
    k.mmapWriteUnlock(b);
    k.mmapWriteUnlock(a);
  }
}
