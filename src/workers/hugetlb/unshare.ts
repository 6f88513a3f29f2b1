/**
 * The destroyers: huge_pmd_unshare and everything that calls it, and free_pgtables.
 * mm/hugetlb.c: huge_pmd_unshare, __unmap_hugepage_range(_final), hugetlb_change_protection,
 * hugetlb_unshare_all_pmds; fs/hugetlbfs/inode.c: hugetlb_vmdelete_list; mm/mmap.c: free_pgtables.
 */
import { PageHdr, PageState } from './pool.js';
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { KEv } from './kernel.js';
import { Mm, Pte, Vma, VmaFlag, pteFolio, ptrPage, ptrTag } from './structs.js';
import { Folio } from './structs.js';
import { C } from './stats.js';
import { EXIT_HIST_LOCKED, EXIT_HIST_WHOLE, exitBucket } from './exit-latency.js';
import { Pt } from './points.js';
import { hugePtepGet, hugePtepGetAndClear, hugePteNoneScan, pudGetAndClear, pudRead, pudWrite, setHugePteAt } from './pte.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';

/**
 * Take the ptl of the PMD page our PUD entry points to and return the page, or -1 when the entry
 * is empty. Without the unshare locks (mode `none`) the page may already be gone: counted, skipped.
 */
export function lockPmdOf(k: Kernel, vma: number): number {
  const e = pudRead(k, k.pudEntryAt(vma));
  if (e === 0) return -1;
  const page = ptrPage(e);
  k.ptlLock(page);
  if (k.pool.state(page) !== PageState.live || (k.pool.gen(page) & 0x7fff) !== ptrTag(e) || pudRead(k, k.pudEntryAt(vma)) !== e) {
    k.ptlUnlock(page);
    k.count(C.ZAP_STALE);
    return -1;
  }
  return page;
}

/**
 * huge_pmd_unshare(mm, vma, addr, ptep), called with the ptl held: if the PMD page is shared,
 * clear our PUD entry and drop our reference; the page lives on for the other sharers.
 * `fromSplit`: called by hugetlb_split() (081056dc00a2), which holds the VMA write lock and
 * i_mmap write but never the hugetlb vma lock; the kernels with it still assert that lock once
 * the table is shared — a lockdep report (a false positive: nothing can walk), not a violation.
 */
export function hugePmdUnshare(k: Kernel, vma: number, page: number, fromSplit = false): boolean {
  const mm = k.s.vmaMm(vma);
  // 6.2: i_mmap_assert_write_locked + hugetlb_vma_assert_locked, under lockdep (the versions).
  if (k.mode.assertWalk && !fromSplit) {
    const ok =
      k.locks.isHeld(LockClass.i_mmap_rwsem, k.iMmapAt(k.s.vmaFile(vma)), 'write') &&
      k.locks.isHeld(LockClass.hugetlb_vma_lock, k.vmaLockAt(vma), 'write');
    if (!ok) k.violation(Oc['lock-rule'], null, page, k.pool.gen(page), Access.write, mm, k.s.vmaPudIndex(vma), 0, 0);
  }
  if (k.pool.get(page, PageHdr.REFCOUNT) === 1) return false;
  if (fromSplit && k.mode.splitAssertsVmaLock) k.locks.assertHeld(LockClass.hugetlb_vma_lock, k.vmaLockAt(vma), 'write');
  pudWrite(k, k.pudEntryAt(vma), 0);
  k.cpu.emit(KEv.pudClear, mm, page);
  k.tlbDirty(); // a4a118f2eead: force a flush before i_mmap_rwsem is released
  k.cpu.point(Pt['unshare-clear']);
  // 1013af4f585f: wait for pending gup_fast() before the share is dropped.
  if (k.mode.unshareSync === 'ipi') k.tlbRemoveTableSyncOne();
  const left = Atomics.sub(k.mem, k.pool.hdr(page) + PageHdr.REFCOUNT, 1) - 1;
  if (left === 0) k.freeTable(page);
  else if (left === 1) k.tableNowExclusive(page);
  Atomics.sub(k.mem, k.s.mm(mm) + Mm.NR_PMDS, 1);
  k.count(C.UNSHARES);
  return true;
}

/** Clear one huge PMD entry: the folio loses a mapping. */
function zapEntry(k: Kernel, at: number): void {
  const pte = hugePtepGetAndClear(k, at);
  if ((pte & (Pte.PRESENT | Pte.MIGRATION)) !== 0) Atomics.sub(k.mem, k.s.folio(pteFolio(pte)) + Folio.MAPCOUNT, 1);
  k.tlbDirty();
}

/**
 * __unmap_hugepage_range(vma, [from, to) ∩ the VMA): under the ptl, unshare if shared (the whole
 * PMD page goes, whatever the range), else clear the entries. Caller holds the unshare locks.
 */
export function unmapHugepageRange(k: Kernel, vma: number, from0: number, to0: number): void {
  const from = Math.max(from0, k.s.vmaStart(vma));
  const to = Math.min(to0, k.s.vmaEnd(vma));
  if (from >= to) return;
  const page = lockPmdOf(k, vma);
  if (page < 0) return;
  if (hugePmdUnshare(k, vma, page)) {
    k.ptlUnlock(page);
    return;
  }
  const e0 = k.pool.entry(page, 0);
  for (let i = from; i < to; i++) {
    if (!hugePteNoneScan(k, e0 + i)) {
      zapEntry(k, e0 + i);
      k.cpu.point(Pt.zap);
    }
  }
  k.ptlUnlock(page);
}

/**
 * free_pgtables → hugetlb_free_pgd_range for a VMA already unlinked from i_mmap: clear the PUD
 * entry and put the PMD page. A sharer may have installed entries after our zap (it shared the
 * page while our VMA was still in i_mmap, then unshared it); whoever drops the last reference
 * clears them under the ptl (as free_pmd_range's pmd_none_or_clear_bad would), then frees the
 * page per the mode — outside the ptl, since an IPI shootdown must not wait under a spinlock.
 */
export function freePgtables(k: Kernel, vma: number): void {
  const at = k.pudEntryAt(vma);
  const e = pudGetAndClear(k, at);
  if (e === 0) return;
  const page = ptrPage(e);
  const mm = k.s.vmaMm(vma);
  k.cpu.emit(KEv.pudClear, mm, page);
  Atomics.sub(k.mem, k.s.mm(mm) + Mm.NR_PMDS, 1);
  k.cpu.point(Pt['free-table']);
  if (k.pool.state(page) !== PageState.live || (k.pool.gen(page) & 0x7fff) !== ptrTag(e)) {
    k.count(C.ZAP_STALE);
    return;
  }
  k.ptlLock(page);
  const left = Atomics.sub(k.mem, k.pool.hdr(page) + PageHdr.REFCOUNT, 1) - 1;
  const last = left === 0;
  // A sharer that shared after our zap keeps the page alone (131a79b474e9 closes this in the
  // kernel: the final unmap makes the VMA unshareable first; modelled by unmapFreesVmaLock).
  if (left === 1) k.tableNowExclusive(page);
  if (last) {
    const e0 = k.pool.entry(page, 0);
    for (let i = 0; i < k.E; i++) if (!hugePteNoneScan(k, e0 + i)) zapEntry(k, e0 + i);
  }
  k.ptlUnlock(page);
  if (left === 1) {
    // As the unshare paths do: the role changes under i_mmap_rwsem (write), so no huge_pmd_share
    // can re-share the page between our look at its count and the change, after the same flush
    // and sync. (A stand-in: with 131a79b474e9, unmapFreesVmaLock, the kernel never drops a share
    // here — the final unmap made the VMA unshareable — so nothing of the version is left out.)
    const file = k.s.vmaFile(vma);
    if (k.mode.unshare.iMmapWrite) k.locks.downWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
    if (k.mode.unshareSync === 'ipi') k.tlbRemoveTableSyncOne();
    k.beforeIMmapRelease();
    if (k.mode.unshare.iMmapWrite) k.locks.upWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
  }
  k.tlbFinish();
  if (last) k.freeTable(page);
}

/** i_mmap insert/remove (vma_interval_tree_insert/remove) under i_mmap_rwsem write, per the mode. */
function setInImmap(k: Kernel, vma: number, file: number, on: boolean): void {
  iMmapLockWrite(k, file);
  const at = k.s.vma(vma) + Vma.FLAGS;
  if (on) Atomics.or(k.mem, at, VmaFlag.IN_IMMAP | VmaFlag.MAPPED);
  else Atomics.and(k.mem, at, ~(VmaFlag.IN_IMMAP | VmaFlag.MAPPED));
  iMmapUnlockWrite(k, file);
}

/**
 * __unmap_hugepage_range_final: the unshare locks around the unmap of the whole VMA; from
 * 131a79b474e9 (6.1) __hugetlb_vma_unlock_write_free drops and frees the hugetlb vma lock
 * *before* i_mmap_unlock_write, so that no huge_pmd_share (which needs i_mmap) can find this
 * VMA shareable while its page tables wait for free_pgtables (per the mode: unmapFreesVmaLock).
 */
function unmapHugepageRangeFinal(k: Kernel, vma: number, file: number): void {
  k.unshareLock(vma, file);
  unmapHugepageRange(k, vma, 0, k.E);
  if (!k.mode.unmapFreesVmaLock) {
    k.unshareUnlock(vma, file);
    return;
  }
  k.beforeIMmapRelease(); // the flush (and the gather's sync) still come before i_mmap_unlock_write
  Atomics.store(k.mem, k.s.vma(vma) + Vma.VMA_LOCK_REF, 0); // vma->vm_private_data = NULL
  if (k.mode.unshare.vmaLockWrite) k.locks.upWrite(LockClass.hugetlb_vma_lock, k.vmaLockAt(vma));
  if (k.mode.unshare.iMmapWrite) k.locks.upWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
}

/**
 * Unmap a mapping — both halves if it is split — and map it again whole, as munmap + mmap of
 * the same range: caller holds mmap write. vma_start_write on each VMA, unmap_vmas (the final
 * unmap), unlink_file_vma, free_pgtables (one PUD entry for both halves), then mmap, which
 * allocates a new hugetlb vma lock (hugetlb_vma_lock_alloc). vmaWriteHeld: the caller already
 * holds vma_start_write on the VMA and its spare (fork's child).
 */
export function unmapVmaAndRemap(k: Kernel, vma: number, vmaWriteHeld = false): void {
  const s = k.s;
  const file = s.vmaFile(vma);
  if ((s.vmaFlags(vma) & VmaFlag.MAPPED) === 0) return;
  const spare = k.spareOf(vma);
  const split = (s.vmaFlags(spare) & VmaFlag.MAPPED) !== 0;
  if (!vmaWriteHeld) {
    k.vmaStartWrite(vma);
    if (split) k.vmaStartWrite(spare);
  }
  unmapHugepageRangeFinal(k, vma, file);
  if (split) unmapHugepageRangeFinal(k, spare, file);
  setInImmap(k, vma, file, false);
  if (split) setInImmap(k, spare, file, false);
  freePgtables(k, vma);
  // An upper half that mremap moved to another PUD range (mremap.ts) has a table of its own there.
  const home = s.vmaPudIndex(vma);
  if (split && s.vmaPudIndex(spare) !== home) {
    freePgtables(k, spare);
    Atomics.store(k.mem, s.vma(spare) + Vma.PUD_INDEX, home);
  }
  k.cpu.point(Pt['op-gap']);
  const at = s.vma(vma);
  Atomics.store(k.mem, at + Vma.START, 0);
  Atomics.store(k.mem, at + Vma.END, k.E);
  Atomics.store(k.mem, at + Vma.VMA_LOCK_REF, 1);
  Atomics.add(k.mem, at + Vma.MAPS, 1);
  setInImmap(k, vma, file, true);
  if (!vmaWriteHeld) {
    if (split) k.vmaEndWrite(spare);
    k.vmaEndWrite(vma);
  }
}

/** munmap + mmap of one VMA. */
export function opMunmap(k: Kernel, vma: number): void {
  const mm = k.s.vmaMm(vma);
  k.mmapWrite(mm);
  try {
    unmapVmaAndRemap(k, vma);
  } finally {
    k.mmapWriteUnlock(mm);
  }
}

/**
 * exit_mmap of a process, then a new process in its slot with the same mappings. Timed (whole µs,
 * mmap_lock wait included): the cost the fork/exit storm measures per kernel version, split into
 * the mmap_lock wait (behind forks of this slot), the wait for IPI acknowledgements, and the rest
 * (the work under the lock), with the whole and the locked part in exit-latency.ts's histograms.
 */
export function opExit(k: Kernel, mm: number, vmas: readonly number[]): void {
  const t0 = performance.now();
  k.mmapWrite(mm);
  const t1 = performance.now();
  const ipis0 = k.broadcasts;
  const ipiUs0 = k.broadcastWaitUs;
  try {
    for (const v of vmas) unmapVmaAndRemap(k, v);
    Atomics.add(k.mem, k.s.mm(mm) + Mm.GEN, 1);
  } finally {
    k.mmapWriteUnlock(mm);
    const t2 = performance.now();
    k.count(C.EXIT_MMAPS);
    k.count(C.EXIT_MMAP_US, Math.round((t2 - t0) * 1000));
    k.count(C.EXIT_MMAP_WAIT_US, Math.round((t1 - t0) * 1000));
    k.count(C.EXIT_MMAP_IPIS, k.broadcasts - ipis0);
    k.count(C.EXIT_MMAP_IPI_US, Math.round(k.broadcastWaitUs - ipiUs0));
    k.count(EXIT_HIST_WHOLE + exitBucket((t2 - t0) * 1000));
    k.count(EXIT_HIST_LOCKED + exitBucket((t2 - t1) * 1000));
  }
}

/** madvise(MADV_DONTNEED) on [from, to) of a VMA: mmap read only, so it runs beside this mm's walkers. */
export function opMadviseDontneed(k: Kernel, vma: number, from: number, to: number): void {
  const mm = k.s.vmaMm(vma);
  k.mmapRead(mm);
  try {
    const file = k.s.vmaFile(vma);
    // zap_page_range_single on each VMA the range meets: the mapping and, if split, its upper half.
    for (const v of [vma, k.spareOf(vma)]) {
      if ((k.s.vmaFlags(v) & VmaFlag.MAPPED) === 0) continue;
      k.unshareLock(v, file);
      unmapHugepageRange(k, v, from, to);
      k.unshareUnlock(v, file);
    }
  } finally {
    k.mmapReadUnlock(mm);
  }
}

/**
 * Hole punch / truncate: hugetlb_vmdelete_list walks i_mmap under i_mmap_rwsem write and unmaps
 * the range from every VMA, taking each vma lock with a *trylock* (lock order) and no mmap_lock.
 */
export function opTruncate(k: Kernel, file: number, from: number, to: number): void {
  const s = k.s;
  const iMmap = k.mode.unshare.iMmapWrite;
  const vmaLock = k.mode.unshare.vmaLockWrite;
  if (iMmap) k.locks.downWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
  try {
    const n = s.fileVmaCount(file);
    for (let i = 0; i < n; i++) {
      const v = s.fileVma(file, i);
      if ((s.vmaFlags(v) & VmaFlag.IN_IMMAP) === 0) continue;
      if (vmaLock && !k.locks.downWriteTrylock(LockClass.hugetlb_vma_lock, k.vmaLockAt(v))) continue;
      unmapHugepageRange(k, v, from, to);
      if (vmaLock) k.locks.upWrite(LockClass.hugetlb_vma_lock, k.vmaLockAt(v));
    }
  } finally {
    k.beforeIMmapRelease();
    if (iMmap) k.locks.upWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
  }
}

/**
 * mprotect of the mapping (mprotect_fixup: mmap write, vma_start_write): hugetlb_change_protection
 * under the unshare locks — unshare if shared, else flip the write bit of the VMA's entries under the ptl.
 */
export function opMprotect(k: Kernel, vma: number): void {
  const mm = k.s.vmaMm(vma);
  k.mmapWrite(mm);
  try {
    if ((k.s.vmaFlags(vma) & VmaFlag.MAPPED) === 0) return;
    const file = k.s.vmaFile(vma);
    k.vmaStartWrite(vma);
    k.unshareLock(vma, file);
    const page = lockPmdOf(k, vma);
    if (page >= 0) {
      if (!hugePmdUnshare(k, vma, page)) {
        const e0 = k.pool.entry(page, 0);
        for (let i = k.s.vmaStart(vma); i < k.s.vmaEnd(vma); i++) {
          if (hugePteNoneScan(k, e0 + i)) continue;
          const pte = hugePtepGet(k, e0 + i);
          if ((pte & Pte.PRESENT) !== 0) {
            setHugePteAt(k, e0 + i, pte ^ Pte.WRITE);
            k.tlbDirty();
          }
        }
      }
      k.ptlUnlock(page);
    }
    k.unshareUnlock(vma, file);
    k.vmaEndWrite(vma);
  } finally {
    k.mmapWriteUnlock(mm);
  }
}

/**
 * hugetlb_unshare_pmds(vma, floor, ceil, take_locks) for the PUD range of the VMA: hugetlb_walk,
 * huge_pte_lock, huge_pmd_unshare. With take_locks (hugetlb_vm_op_split, hugetlb_unshare_all_pmds)
 * it takes the vma lock write and i_mmap write itself; without (hugetlb_split) the caller holds
 * i_mmap write and the VMA write lock.
 */
export function hugetlbUnsharePmds(k: Kernel, vma: number, takeLocks: boolean): void {
  const file = k.s.vmaFile(vma);
  if (takeLocks) k.unshareLock(vma, file);
  const page = lockPmdOf(k, vma);
  if (page >= 0) {
    hugePmdUnshare(k, vma, page, !takeLocks);
    k.ptlUnlock(page);
  }
  if (takeLocks) k.unshareUnlock(vma, file);
}

/** i_mmap_lock_write as vma_prepare/vma_complete take it around a split or merge (per the mode). */
export function iMmapLockWrite(k: Kernel, file: number): void {
  if (k.mode.unshare.iMmapWrite) k.locks.downWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
}
export function iMmapUnlockWrite(k: Kernel, file: number): void {
  k.beforeIMmapRelease(); // hugetlb_split's unshare: flushed before the rmap lock goes
  if (k.mode.unshare.iMmapWrite) k.locks.upWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
}
