/**
 * hugetlb_fault → huge_pte_alloc → huge_pmd_share (mm/hugetlb.c), and the swap/migration entry
 * check at the top of hugetlb_fault (patch 2 of the series moves it under the vma lock).
 */
import { PageHdr } from './pool.js';
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { KEv } from './kernel.js';
import { Folio, Mm, Pte, Vma, VmaFlag, mkPte, ptrPage, ptrTag } from './structs.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { Pt } from './points.js';
import { hugePtepGet, pudPopulate, pudRead, setHugePteAt } from './pte.js';
import { RoleKind } from './roles.js';

/** Folio id of (file, index): the hugetlbfs page cache holds one folio per index for the run. */
export function folioOf(k: Kernel, file: number, idx: number): number {
  return file * k.E + idx;
}

/**
 * want_pmd_share → vma_shareable (mm/hugetlb.c): VM_MAYSHARE, the hugetlb vma lock present
 * (vm_private_data, 6.1+), and range_in_vma(vma, addr & PUD_MASK, + PUD_SIZE) — a VMA smaller
 * than its PUD range never shares.
 */
export function wantPmdShare(k: Kernel, vma: number): boolean {
  const s = k.s;
  return (s.vmaFlags(vma) & VmaFlag.MAYSHARE) !== 0 && s.vmaHasLock(vma) && s.vmaCoversPud(vma);
}

/**
 * page_table_shareable(svma, vma, addr, idx): the other VMA is in i_mmap at the same offset,
 * covers its whole PUD range (range_in_vma(svma, sbase, s_end)) and has its vma lock.
 */
function pageTableShareable(k: Kernel, sv: number, pgoff: number): boolean {
  const s = k.s;
  const need = VmaFlag.IN_IMMAP | VmaFlag.MAYSHARE;
  return (s.vmaFlags(sv) & need) === need && s.ld(s.vma(sv) + Vma.PGOFF) === pgoff && s.vmaCoversPud(sv) && s.vmaHasLock(sv);
}

/**
 * huge_pmd_share: find another VMA of the file at the same offset in i_mmap, walk ITS mm's
 * table (hugetlb_walk(svma)), take a reference on the PMD page found and point our PUD entry at
 * it under the ptl. The walk of another mm is the racy part: only i_mmap_rwsem protects it.
 */
function hugePmdShare(k: Kernel, vma: number, pudAt: number): void {
  const s = k.s;
  const file = s.vmaFile(vma);
  const mm = s.vmaMm(vma);
  if (!k.guardEnter('pmd-share', vma, file)) return;
  try {
    const pgoff = s.ld(s.vma(vma) + Vma.PGOFF);
    const n = s.fileVmaCount(file);
    let spage = -1;
    for (let i = 0; i < n && spage < 0; i++) {
      const sv = s.fileVma(file, i);
      if (sv === vma || s.vmaMm(sv) === mm || !pageTableShareable(k, sv, pgoff)) continue;
      if (!k.hugetlbWalk('pmd-share', sv)) continue;
      k.cpu.point(Pt['share-get-page']);
      // get_page(virt_to_page(spte)): a write to the page — forbidden on a freed or reused one.
      const oc = k.check('pmd-share', Access.getPage, 0, 0);
      if (oc !== Oc.ok) return;
      Atomics.add(k.mem, k.pool.hdr(k.wPage) + PageHdr.REFCOUNT, 1);
      spage = k.wPage;
    }
    if (spage < 0) return;
    const tag = k.wTag;
    // The populate lock per version: 6.2 takes the shared page's ptl only, while pmd_alloc's
    // populate of the same PUD entry runs under mm->page_table_lock, so two faults of one mm
    // (different fault mutexes) can both see pud_none and one PMD page reference leaks (the
    // invariant checker finds it: docs/model-notes.md); 349d1670008d (6.5) takes
    // mm->page_table_lock instead. 'both' is the model's old shape (no kernel).
    const ptlAt = s.mm(mm) + Mm.PAGE_TABLE_LOCK;
    const lock = k.mode.populateLock;
    if (lock !== 'page_table_lock') k.ptlLock(spage);
    if (lock !== 'ptl') k.locks.spinLock(LockClass.page_table_lock, ptlAt);
    const populated = pudRead(k, pudAt) === 0;
    // Between seeing pud_none and populating: the window pmd_alloc's populate under another lock races.
    k.cpu.point(Pt['share-populate']);
    if (populated) {
      // The role first: a lockless walker that finds the new PUD entry must see the page shared.
      k.setRole(spage, RoleKind.shared, file);
      populatePud(k, vma, pudAt, (tag << 16) | (spage + 1));
      Atomics.add(k.mem, s.mm(mm) + Mm.NR_PMDS, 1);
      k.count(C.SHARES);
      k.cpu.emit(KEv.share, mm, spage);
    }
    if (lock !== 'ptl') k.locks.spinUnlock(LockClass.page_table_lock, ptlAt);
    if (lock !== 'page_table_lock') k.ptlUnlock(spage);
    if (!populated) k.putTable(spage);
  } finally {
    k.guardExit('pmd-share', vma, file);
  }
}

/**
 * pud_populate of a fault's PUD entry (huge_pmd_share or __pmd_alloc), each having seen it empty
 * under its own lock. An entry present by now was populated under the other lock (6.2's populate
 * race): the table it held loses its link and its reference, and a fault that walked it writes
 * to a table its mm no longer links. Reported at the fault, where the kernel's BUG would be.
 */
function populatePud(k: Kernel, vma: number, pudAt: number, value: number): void {
  const prev = pudPopulate(k, pudAt, value);
  if (prev === 0) return;
  k.count(C.POPULATE_OVERWRITES);
  const page = ptrPage(prev);
  k.siteOutcome('fault', Oc['pud-overwrite'], page, Access.write, k.s.vmaMm(vma), k.s.vmaPudIndex(vma), 0, ptrTag(prev));
}

/** huge_pte_alloc: share if we can, else allocate our own PMD page (pud_populate under page_table_lock). */
export function hugePteAlloc(k: Kernel, vma: number): boolean {
  const s = k.s;
  const pudAt = k.pudEntryAt(vma);
  if (pudRead(k, pudAt) !== 0) return true;
  if (wantPmdShare(k, vma)) hugePmdShare(k, vma, pudAt);
  if (pudRead(k, pudAt) !== 0) return true;
  const mm = s.vmaMm(vma);
  const page = k.allocPmd(mm);
  if (page < 0) return false;
  const ptlAt = s.mm(mm) + Mm.PAGE_TABLE_LOCK;
  k.locks.spinLock(LockClass.page_table_lock, ptlAt);
  const raced = pudRead(k, pudAt) !== 0;
  // Between pud_present and pud_populate (__pmd_alloc): in 6.2 huge_pmd_share populates under
  // another lock, and a fault that has just shared and walked the table loses it here.
  k.cpu.point(Pt['pmd-alloc']);
  if (!raced) {
    populatePud(k, vma, pudAt, k.pool.pointer(page));
    Atomics.add(k.mem, s.mm(mm) + Mm.NR_PMDS, 1);
  }
  k.locks.spinUnlock(LockClass.page_table_lock, ptlAt);
  if (raced) k.releaseTable(page); // pmd_free: never visible to anyone
  return true;
}

/**
 * The body of hugetlb_fault with mmap_lock already held (also called from follow_hugetlb_page):
 * fault mutex, vma lock (per the mode), huge_pte_alloc, then hugetlb_no_page's install under the ptl.
 */
export function hugetlbFaultLocked(k: Kernel, vma: number, slot: number): void {
  const s = k.s;
  const file = s.vmaFile(vma);
  const fm = s.faultMutex(file, slot);
  k.locks.mutexLock(LockClass.hugetlb_fault_mutex, fm);
  try {
    if (!k.guardEnter('fault', vma, file)) return;
    try {
      if (!hugePteAlloc(k, vma)) {
        k.count(C.FAILS + Op.fault!);
        return;
      }
      if (!k.hugetlbWalk('fault', vma)) return; // unshared under us (only possible unguarded)
      k.cpu.point(Pt['fault-install']);
      const page = k.wPage;
      k.ptlLock(page);
      try {
        const at = k.pool.entry(page, slot);
        const cur = hugePtepGet(k, at);
        if (k.check('fault', Access.write, slot, cur) !== Oc.ok) return;
        if (cur === 0) {
          const folio = folioOf(k, file, slot);
          Atomics.store(k.mem, s.folio(folio) + Folio.CACHED, 1);
          Atomics.add(k.mem, s.folio(folio) + Folio.MAPCOUNT, 1);
          setHugePteAt(k, at, mkPte(folio, Pte.PRESENT | Pte.WRITE));
        }
      } finally {
        k.ptlUnlock(page);
      }
    } finally {
      k.guardExit('fault', vma, file);
    }
  } finally {
    k.locks.mutexUnlock(LockClass.hugetlb_fault_mutex, fm);
  }
}

/**
 * find_vma for huge page `slot` of a mapping: the mapping itself, or the upper half a split left
 * in its spare slot; -1 when no VMA maps it. Caller holds mmap_lock (or re-checks under the VMA lock).
 */
export function vmaCovering(k: Kernel, vma: number, slot: number): number {
  if (mapsSlot(k, vma, slot)) return vma;
  const spare = k.spareOf(vma);
  return mapsSlot(k, spare, slot) ? spare : -1;
}

function mapsSlot(k: Kernel, v: number, slot: number): boolean {
  const s = k.s;
  return (s.vmaFlags(v) & VmaFlag.MAPPED) !== 0 && slot >= s.vmaStart(v) && slot < s.vmaEnd(v);
}

/**
 * lock_vma_under_rcu + handle_mm_fault(FAULT_FLAG_VMA_LOCK): the fault holds only the VMA's
 * per-VMA lock for read, no mmap_lock (hugetlb since 7c43a553792a, 6.9). vma_start_read fails
 * while a writer holds the VMA (vma_start_write): the fault then retries under mmap_lock.
 * Returns false when it did not handle the fault.
 */
function faultUnderVmaLock(k: Kernel, vma: number, slot: number): boolean {
  const v = vmaCovering(k, vma, slot);
  if (v < 0) return false;
  const at = k.vmLockAt(v);
  if (!k.locks.downReadTrylock(LockClass.vm_lock, at)) {
    k.count(C.VMA_LOCK_FALLBACKS);
    return false;
  }
  try {
    // The VMA may have changed between the lookup and vma_start_read: recheck it (vma->vm_start/end, detached).
    if (vmaCovering(k, vma, slot) !== v) {
      k.count(C.VMA_LOCK_FALLBACKS);
      return false;
    }
    k.count(C.VMA_LOCKED_FAULTS);
    hugetlbFaultLocked(k, v, slot);
    return true;
  } finally {
    k.locks.upRead(LockClass.vm_lock, at);
  }
}

/** A page fault: under the per-VMA lock where the mode's kernel does it, else (or on retry) mmap_lock read. */
export function opFault(k: Kernel, vma: number, slot: number): void {
  if (k.mode.faultLock === 'per-vma' && faultUnderVmaLock(k, vma, slot)) return;
  const mm = k.s.vmaMm(vma);
  k.mmapRead(mm);
  try {
    const v = vmaCovering(k, vma, slot);
    if (v < 0) {
      k.count(C.FAILS + Op.fault!);
      return;
    }
    hugetlbFaultLocked(k, v, slot);
  } finally {
    k.mmapReadUnlock(mm);
  }
}

/**
 * hugetlb_fault's first step: look at the entry for a migration (swap-type) entry and, if so,
 * migration_entry_wait_huge() — which takes the ptl of the page ptep points into. In 6.1 this
 * ran before the vma lock; patch 2 moved it under it.
 */
export function opFaultSwapEntry(k: Kernel, vma: number, slot: number): void {
  const s = k.s;
  const mm = s.vmaMm(vma);
  const file = s.vmaFile(vma);
  k.mmapRead(mm);
  try {
    if ((s.vmaFlags(vma) & VmaFlag.MAPPED) === 0) return;
    if (!k.guardEnter('fault-swap-entry', vma, file)) return;
    let migrating = false;
    try {
      if (!k.hugetlbWalk('fault-swap-entry', vma)) return;
      k.cpu.point(Pt['walk-deref']);
      const at = k.pool.entry(k.wPage, slot);
      const pte = hugePtepGet(k, at);
      const oc = k.check('fault-swap-entry', Access.read, slot, pte);
      if (oc !== Oc.ok && oc !== Oc['stale-read']) return;
      if ((pte & Pte.MIGRATION) !== 0) {
        // migration_entry_wait_huge: spin_lock(huge_pte_lockptr(ptep)) and wait for the entry to change.
        migrating = true;
        const page = k.wPage;
        k.ptlLock(page);
        k.check('fault-swap-entry', Access.lock, slot, hugePtepGet(k, at));
        k.ptlUnlock(page);
      }
    } finally {
      k.guardExit('fault-swap-entry', vma, file);
    }
    const v = migrating ? -1 : vmaCovering(k, vma, slot);
    if (v >= 0) hugetlbFaultLocked(k, v, slot);
  } finally {
    k.mmapReadUnlock(mm);
  }
}

