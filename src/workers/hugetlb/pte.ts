/**
 * Page-table entry accesses of the model: every load and store of a PUD entry (the tagged
 * pointer to a PMD page) or of a huge PMD entry (huge pte) that an operation makes goes through
 * these helpers, and each is a yield point: under a controlled scheduler another CPU may run
 * right before the access (in parallel runs Cpu.yieldAt is one branch). Kernel names:
 * READ_ONCE(*pud) / pud_populate / pud_clear / pudp_huge_get_and_clear, huge_ptep_get /
 * set_huge_pte_at / huge_ptep_get_and_clear.
 *
 * Also a yield point: the split's and the merge's store of a VMA bound (vma-write, split.ts),
 * which faults read (find_vma, want_pmd_share).
 *
 * Not here: hugetlb_walk()'s PUD read (kernel.ts: the named point walk-pud precedes it), the
 * KASAN check's own reads (detection, not the model), setup and the invariant checker.
 */
import type { Kernel } from './kernel.js';

/** Yield point ids (100..119; see locks/yield-points.ts for the ranges). */
export const PtePt = {
  pudRead: 100,
  pudWrite: 101,
  pteRead: 102,
  pteWrite: 103,
  /** A VMA's bounds change (vma->vm_end = addr in __split_vma / vma_merge): faults read them. */
  vmaWrite: 104,
} as const;

const NAMES: Readonly<Record<number, string>> = {
  [PtePt.pudRead]: 'pud-read',
  [PtePt.pudWrite]: 'pud-write',
  [PtePt.pteRead]: 'pte-read',
  [PtePt.pteWrite]: 'pte-write',
  [PtePt.vmaWrite]: 'vma-write',
};

/** The readable name of a page-table access yield point, or undefined when `id` is not one. */
export function pteYieldName(id: number): string | undefined {
  return NAMES[id];
}

/** READ_ONCE(*pud): the PUD entry at word `at`. */
export function pudRead(k: Kernel, at: number): number {
  k.cpu.yieldAt(PtePt.pudRead);
  return Atomics.load(k.mem, at);
}

/** pud_populate / pud_clear (v = 0). */
export function pudWrite(k: Kernel, at: number, v: number): void {
  k.cpu.yieldAt(PtePt.pudWrite);
  Atomics.store(k.mem, at, v);
}

/**
 * pud_populate: store the entry and return what it held — non-zero only when the populate lock
 * did not exclude another populate after our pud_none check (6.2's race).
 */
export function pudPopulate(k: Kernel, at: number, v: number): number {
  k.cpu.yieldAt(PtePt.pudWrite);
  return Atomics.exchange(k.mem, at, v);
}

/** pudp_huge_get_and_clear: clear the PUD entry, returning what it held. */
export function pudGetAndClear(k: Kernel, at: number): number {
  k.cpu.yieldAt(PtePt.pudWrite);
  return Atomics.exchange(k.mem, at, 0);
}

/** huge_ptep_get. */
export function hugePtepGet(k: Kernel, at: number): number {
  k.cpu.yieldAt(PtePt.pteRead);
  return Atomics.load(k.mem, at);
}

/** set_huge_pte_at. */
export function setHugePteAt(k: Kernel, at: number, v: number): void {
  k.cpu.yieldAt(PtePt.pteWrite);
  Atomics.store(k.mem, at, v);
}

/** huge_ptep_get_and_clear. */
export function hugePtepGetAndClear(k: Kernel, at: number): number {
  k.cpu.yieldAt(PtePt.pteWrite);
  return Atomics.exchange(k.mem, at, 0);
}

/**
 * huge_pte_none for a scan over a whole PMD page under its ptl (zap, free_pgtables, mprotect):
 * no yield, or a scan of 512 mostly empty entries would be 512 scheduling steps; the entries
 * the scan acts on are read again and written through the yielding helpers above.
 */
export function hugePteNoneScan(k: Kernel, at: number): boolean {
  return Atomics.load(k.mem, at) === 0;
}
