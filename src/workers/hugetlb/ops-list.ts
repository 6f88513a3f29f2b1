/** The operations a CPU runs, each named after and cited to the kernel path it mirrors. */
import type { Site } from './modes.js';

export interface OpInfo {
  name: string;
  kernel: string;
  /** The walk site it exercises, if it is a walker. */
  site?: Site;
  /** Destroys sharing or frees tables. */
  destroyer?: boolean;
}

export const OPS: readonly OpInfo[] = [
  { name: 'fault', kernel: 'hugetlb_fault → huge_pte_alloc → huge_pmd_share', site: 'fault' },
  { name: 'munmap', kernel: 'munmap → unmap_vmas → __unmap_hugepage_range_final; free_pgtables', destroyer: true },
  { name: 'exit', kernel: 'exit_mmap: unmap every VMA, free_pgtables', destroyer: true },
  { name: 'madvise-dontneed', kernel: 'madvise(MADV_DONTNEED) → zap_page_range → __unmap_hugepage_range_final', destroyer: true },
  { name: 'truncate', kernel: 'fallocate(PUNCH_HOLE)/truncate → hugetlb_vmdelete_list (no mmap_lock)', destroyer: true },
  { name: 'mprotect', kernel: 'mprotect → hugetlb_change_protection', destroyer: true },
  { name: 'vma-split', kernel: '__split_vma → hugetlb_vm_op_split (6.2-6.15) / hugetlb_split (6.16+) → hugetlb_unshare_pmds; vma_merge', site: 'vma-split', destroyer: true },
  { name: 'uffd-must-wait', kernel: 'handle_userfault → userfaultfd_huge_must_wait', site: 'uffd-must-wait' },
  { name: 'follow-page', kernel: 'follow_page_mask → hugetlb_follow_page_mask', site: 'follow-page' },
  { name: 'gup-slow', kernel: '__get_user_pages → follow_hugetlb_page (half FOLL_NOWAIT)', site: 'gup-slow' },
  { name: 'vma-maps-page', kernel: 'hugetlb_unmap_file_folio → hugetlb_vma_maps_page', site: 'vma-maps-page' },
  { name: 'walk-range', kernel: 'smaps/pagemap → walk_page_range → walk_hugetlb_range', site: 'walk-range' },
  { name: 'rmap-walk', kernel: 'migrate_pages → try_to_migrate/remove_migration_ptes → page_vma_mapped_walk', site: 'rmap-walk' },
  { name: 'fault-swap-entry', kernel: 'hugetlb_fault: huge_ptep_get → migration_entry_wait_huge', site: 'fault-swap-entry' },
  { name: 'ptl-under-walker', kernel: 'hugetlb_walker_lock(); hugetlb_walk(); huge_pte_lock() (forbidden by the RFC)', site: 'ptl-under-walker' },
  { name: 'gup-fast', kernel: 'get_user_pages_fast → gup_fast_pud_range → gup_fast_pmd_range (IRQs off, no locks)', site: 'gup-fast' },
  { name: 'fork', kernel: 'fork → dup_mmap → copy_hugetlb_page_range (huge_pte_alloc → huge_pmd_share); the slot\'s old process exits first', site: 'fork-copy', destroyer: true },
  { name: 'rmap-unshare', kernel: 'migrate_pages → unmap_and_move_huge_page → try_to_migrate_one: hugetlb_vma_trylock_write, huge_pmd_unshare (i_mmap write)', site: 'rmap-walk', destroyer: true },
  { name: 'mremap', kernel: 'mremap → move_vma → move_page_tables → move_hugetlb_page_tables (huge_pmd_unshare, huge_pte_alloc(new_vma), move_huge_pte)', destroyer: true },
];

export const OP_NAMES = OPS.map((o) => o.name);
export const Op = Object.fromEntries(OPS.map((o, i) => [o.name, i])) as Record<string, number>;

/**
 * A lock_stat call site: the op a CPU runs (CpuField.CUR_OP = op id + 1; 0 = between ops) and
 * the first kernel function of its path, e.g. `fault [hugetlb_fault]`.
 */
export function opSiteName(slot: number): string {
  const o = OPS[slot - 1];
  if (o === undefined) return slot === 0 ? '(between ops)' : `op ${slot - 1}`;
  return `${o.name} [${o.kernel.split(/ → |; |: /)[0]}]`;
}

export function opId(name: string): number {
  const i = OP_NAMES.indexOf(name);
  if (i < 0) throw new RangeError(`unknown operation '${name}'`);
  return i;
}
