/**
 * Splitting a hugetlb VMA inside its PUD range, and merging the halves back: __split_vma and
 * vma_merge (mm/vma.c; mm/mmap.c before 6.8) with the hugetlb hooks of each kernel:
 * - b30c14cd6102 (6.2 .. 6.15): vm_ops->may_split = hugetlb_vm_op_split unshares the PUD range
 *   (hugetlb_unshare_pmds, taking the vma lock write and i_mmap write itself) BEFORE __split_vma
 *   takes the VMA write lock and i_mmap write — a fault under the per-VMA lock in this process,
 *   or huge_pmd_share from another process's fault, can share the table again in between;
 * - 081056dc00a2 (6.16+, CVE-2025-38084): hugetlb_split() from __split_vma itself, after
 *   vma_start_write and vma_prepare (i_mmap write), where the bounds change before i_mmap is released.
 * The split is what a flag change on the upper part does (e.g. mlock or madvise on [addr, end)):
 * the VMA keeps [start, addr), a new VMA (the spare slot) gets [addr, end) and its own hugetlb vma
 * lock (hugetlb_vm_op_open). The next split op on a split mapping merges the halves back.
 */
import { PageHdr } from './pool.js';
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { Vma, VmaFlag, ptrPage } from './structs.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Pt } from './points.js';
import { PtePt, pudRead } from './pte.js';
import { hugetlbUnsharePmds, iMmapLockWrite, iMmapUnlockWrite } from './unshare.js';

/**
 * After the split: a PMD table still shared by other processes now lies under VMAs that do not
 * cover its PUD range — the state CVE-2025-38084 leaves (checked under the split's locks).
 */
function checkSplitTable(k: Kernel, vma: number, at: number): void {
  const e = pudRead(k, k.pudEntryAt(vma));
  if (e === 0) return;
  const page = ptrPage(e);
  const refs = k.pool.get(page, PageHdr.REFCOUNT);
  k.siteOutcome('vma-split', refs > 1 ? Oc['shared-split'] : Oc.ok, page, Access.walk, k.s.vmaMm(vma), k.s.vmaPudIndex(vma), at, refs);
}

/**
 * The new VMA of a split, [at, E) of the PUD range: its own hugetlb vma lock (hugetlb_vm_op_open),
 * linked in i_mmap (caller holds i_mmap write).
 */
export function mapUpperHalf(k: Kernel, spare: number, at: number): void {
  const sp = k.s.vma(spare);
  Atomics.store(k.mem, sp + Vma.START, at);
  Atomics.store(k.mem, sp + Vma.END, k.E);
  Atomics.store(k.mem, sp + Vma.VMA_LOCK_REF, 1);
  Atomics.or(k.mem, sp + Vma.FLAGS, VmaFlag.MAYSHARE | VmaFlag.MAPPED | VmaFlag.IN_IMMAP);
}

/** vma->vm_end = end: a yield point under a controlled scheduler, like every page-table entry store. */
function setVmaEnd(k: Kernel, vma: number, end: number): void {
  k.cpu.yieldAt(PtePt.vmaWrite);
  Atomics.store(k.mem, k.s.vma(vma) + Vma.END, end);
}

/** __split_vma(vma, addr = slot `at`, new_below = 0) of a whole mapping; caller holds mmap write. */
function splitVma(k: Kernel, vma: number, spare: number, at: number): void {
  const s = k.s;
  const file = s.vmaFile(vma);
  if (k.mode.split === 'may-split') hugetlbUnsharePmds(k, vma, true);
  k.cpu.point(Pt['split-window']);
  k.vmaStartWrite(vma);
  k.vmaStartWrite(spare);
  iMmapLockWrite(k, file); // vma_prepare
  if (k.mode.split === 'hugetlb-split') {
    // hugetlb_split: vma_assert_write_locked(vma); i_mmap_assert_write_locked(mapping).
    if (k.mode.faultLock === 'per-vma') k.locks.assertHeld(LockClass.vm_lock, k.vmLockAt(vma), 'write');
    if (k.mode.unshare.iMmapWrite) k.locks.assertHeld(LockClass.i_mmap_rwsem, k.iMmapAt(file), 'write');
    hugetlbUnsharePmds(k, vma, false);
  }
  setVmaEnd(k, vma, at);
  mapUpperHalf(k, spare, at);
  k.count(C.SPLITS);
  checkSplitTable(k, vma, at);
  iMmapUnlockWrite(k, file); // vma_complete
  k.vmaEndWrite(spare);
  k.vmaEndWrite(vma);
}

/**
 * vma_merge of the two halves (the flag change undone): both write-locked, i_mmap write for the
 * interval tree, the mapping grows back over the upper half, which is removed with its hugetlb
 * vma lock (hugetlb_vm_op_close). No table changes: the whole VMA may share again from now on.
 */
function mergeVma(k: Kernel, vma: number, spare: number): void {
  const s = k.s;
  const file = s.vmaFile(vma);
  k.vmaStartWrite(vma);
  k.vmaStartWrite(spare);
  iMmapLockWrite(k, file);
  const sp = s.vma(spare);
  Atomics.and(k.mem, sp + Vma.FLAGS, ~(VmaFlag.MAPPED | VmaFlag.IN_IMMAP));
  setVmaEnd(k, vma, s.vmaEnd(spare));
  Atomics.store(k.mem, sp + Vma.START, 0);
  Atomics.store(k.mem, sp + Vma.END, 0);
  Atomics.store(k.mem, sp + Vma.VMA_LOCK_REF, 0);
  k.count(C.MERGES);
  iMmapUnlockWrite(k, file);
  k.vmaEndWrite(spare);
  k.vmaEndWrite(vma);
}

/** Split a whole mapping at huge page `at` (1 .. E-1), or merge a split one back: mmap_lock write. */
export function opVmaSplit(k: Kernel, vma: number, at: number): void {
  const s = k.s;
  const mm = s.vmaMm(vma);
  const spare = k.spareOf(vma);
  k.mmapWrite(mm);
  try {
    if ((s.vmaFlags(vma) & VmaFlag.MAPPED) === 0) return;
    if ((s.vmaFlags(spare) & VmaFlag.MAPPED) === 0) splitVma(k, vma, spare, at);
    // vma_merge needs the halves adjacent: not once mremap moved the upper one away (mremap.ts).
    else if (s.vmaPudIndex(spare) === s.vmaPudIndex(vma)) mergeVma(k, vma, spare);
  } finally {
    k.mmapWriteUnlock(mm);
  }
}
