/**
 * mremap of a hugetlb VMA: mremap → move_vma → copy_vma, move_page_tables →
 * move_hugetlb_page_tables (mm/hugetlb.c, since 550a7d60bd5e, 5.16), then do_munmap of the old
 * range. move_hugetlb_page_tables holds the old VMA's hugetlb vma lock (write) and i_mmap_rwsem
 * (write) — 6.1 order, kept through 6.19 — across the whole move: a shared source table is
 * unshared (huge_pmd_unshare; the range refaults through sharing later), a private one has each
 * entry moved by move_huge_pte (dst ptl, src ptl nested) into a table huge_pte_alloc(new_vma)
 * returns; the TLB is flushed (6.19: the mmu_gather, 8ce720d5bd91) before i_mmap is released.
 *
 * The model moves the upper VMA of a split mapping (the spare slot, [at, E) of its PUD range) to
 * the same offsets of another PUD range of the same mm, with the same file offset. One slot stands
 * for both the old VMA and copy_vma's new one: its address (PUD index) changes inside the move's
 * i_mmap write section. The whole mapping is never moved: its new VMA would cover a PUD range, and
 * there huge_pte_alloc(new_vma) → huge_pmd_share takes i_mmap_rwsem for read while the move holds
 * it for write — a self-deadlock by the kernel's source since 6.1 (docs/model-notes.md);
 * moveHugetlbPageTables refuses that move with SelfDeadlock instead of hanging the CPU.
 */
import { PageHdr } from './pool.js';
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { Vma, VmaFlag } from './structs.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { hugePtepGetAndClear, hugePteNoneScan, pudRead, setHugePteAt } from './pte.js';
import { hugePmdUnshare, lockPmdOf } from './unshare.js';
import { hugePteAlloc, wantPmdShare } from './fault.js';

/**
 * huge_pte_alloc(new_vma) inside move_hugetlb_page_tables would reach huge_pmd_share's
 * i_mmap_lock_read on the i_mmap_rwsem this CPU holds for write (rw_semaphores do not nest):
 * the kernel's task would block forever; the model stops the operation here instead.
 */
export class SelfDeadlock extends Error {
  override name = 'SelfDeadlock';
}

/**
 * move_huge_pte(vma, old_addr, new_addr, src_pte, dst_pte): dst ptl, src ptl nested (the
 * exclusive mmap_lock orders them), huge_ptep_get_and_clear at the old address, set_huge_pte_at
 * at the new one. The folio keeps its mapping (mapcount unchanged).
 */
function moveHugePte(k: Kernel, spage: number, dpage: number, slot: number): void {
  k.ptlLock(dpage);
  const nested = spage !== dpage;
  if (nested) k.locks.spinLockNested(LockClass.ptl, k.pool.ptl(spage), 1);
  const pte = hugePtepGetAndClear(k, k.pool.entry(spage, slot));
  setHugePteAt(k, k.pool.entry(dpage, slot), pte);
  k.tlbDirty(); // tlb_remove_huge_tlb_entry (6.19) / flush_hugetlb_tlb_range of the old range
  if (nested) k.locks.spinUnlock(LockClass.ptl, k.pool.ptl(spage));
  k.ptlUnlock(dpage);
}

/**
 * move_hugetlb_page_tables(vma, new_vma, old_addr, new_addr, len) for the VMA's range, the new
 * VMA being the same slot at PUD index `newPud`. Caller holds mmap write and the VMA write lock.
 * False when nothing could be moved (no PMD page for the new range: -ENOMEM, mremap undoes).
 */
export function moveHugetlbPageTables(k: Kernel, vma: number, newPud: number): boolean {
  const s = k.s;
  const file = s.vmaFile(vma);
  const at = s.vma(vma);
  const oldPud = s.vmaPudIndex(vma);
  k.unshareLock(vma, file); // hugetlb_vma_lock_write(vma); i_mmap_lock_write(mapping)
  try {
    const spage = lockPmdOf(k, vma); // hugetlb_walk(vma, old_addr)
    if (spage >= 0) {
      const shared = hugePmdUnshare(k, vma, spage);
      k.ptlUnlock(spage);
      if (shared) {
        Atomics.store(k.mem, at + Vma.PUD_INDEX, newPud); // nothing to move: the new range refaults
        return true;
      }
    }
    Atomics.store(k.mem, at + Vma.PUD_INDEX, newPud); // copy_vma: the new VMA, linked in i_mmap
    if (spage < 0) return true;
    const from = s.vmaStart(vma);
    const to = s.vmaEnd(vma);
    let dpage = -1;
    for (let i = from; i < to; i++) {
      if (hugePteNoneScan(k, k.pool.entry(spage, i))) continue;
      if (dpage < 0) {
        if (
          wantPmdShare(k, vma) && pudRead(k, k.pudEntryAt(vma)) === 0 &&
          k.mode.unshare.iMmapWrite && k.mode.guards['pmd-share'].iMmap !== 'none'
        ) {
          Atomics.store(k.mem, at + Vma.PUD_INDEX, oldPud);
          throw new SelfDeadlock(`move_hugetlb_page_tables: huge_pte_alloc(new_vma) → huge_pmd_share takes i_mmap_rwsem (read) of file ${file}, held for write by this move`);
        }
        if (!hugePteAlloc(k, vma)) {
          Atomics.store(k.mem, at + Vma.PUD_INDEX, oldPud); // nothing moved: mremap undoes the new VMA
          return false;
        }
        const e = pudRead(k, k.pudEntryAt(vma));
        dpage = (e & 0xffff) - 1;
        if (dpage < 0 || k.pool.get(dpage, PageHdr.REFCOUNT) < 1) return true; // only without the locks (none)
      }
      moveHugePte(k, spage, dpage, i);
    }
    return true;
  } finally {
    k.unshareUnlock(vma, file); // the flush comes before i_mmap_unlock_write
  }
}

/**
 * The PUD range the model moves a mapping's upper half to: past every file's home range (PUD
 * index f + 1, setup.ts), one per file, so two mappings of one mm never collide. -1 when the PUD
 * page has no room (entriesPerPage ≤ 2 × files + 1).
 */
export function awayPudIndex(k: Kernel, file: number): number {
  const files = k.arena.config.files;
  const i = files + 1 + file;
  return i < k.E ? i : -1;
}

/**
 * mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of a split mapping's upper VMA to the other PUD range:
 * mmap_lock write (do_mremap), vma_start_write, move_hugetlb_page_tables; the old range's do_munmap
 * then has nothing left to unmap and no table to free (the lower VMA keeps the PUD range's table).
 * On a mapping that is not split, or whose upper VMA was already moved, it does nothing (counted
 * as failed): the model has no third VMA slot to move to.
 */
export function opMremap(k: Kernel, vma: number): void {
  const s = k.s;
  const mm = s.vmaMm(vma);
  const spare = k.spareOf(vma);
  k.mmapWrite(mm);
  try {
    const away = awayPudIndex(k, s.vmaFile(vma));
    const movable = (s.vmaFlags(vma) & VmaFlag.MAPPED) !== 0 && (s.vmaFlags(spare) & VmaFlag.MAPPED) !== 0 && s.vmaPudIndex(spare) === s.vmaPudIndex(vma);
    if (!movable || away < 0) {
      k.count(C.FAILS + Op.mremap!);
      return;
    }
    k.vmaStartWrite(spare);
    try {
      if (!moveHugetlbPageTables(k, spare, away)) k.count(C.FAILS + Op.mremap!);
    } finally {
      k.vmaEndWrite(spare);
    }
  } finally {
    k.mmapWriteUnlock(mm);
  }
}
