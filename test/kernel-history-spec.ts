/**
 * The truth table as the kernel's history tells it, written independently of the mode tables:
 * for each scenario, the expected outcome under each mode, and for every cell a kernel version
 * made safe, the commit (or series) that did it. The model derives its own table from the mode
 * tables (scenarios.ts: expected); test/model-truth-table.test.ts checks that the two agree.
 *
 * Columns: none (the RFC's problem statement), vma-lock (6.1), walker-rcu / walker-irq (RFC v2,
 * never merged), then the kernels. "race" = a forbidden outcome must be found at the scenario's
 * own call site; "safe" = none in the sweep.
 */
export const SPEC_MODES = ['none', 'vma-lock', 'walker-rcu', 'walker-irq', '6.2', '6.2-x86', '6.5', '6.15', '6.16', '6.19'] as const;
export type SpecMode = (typeof SPEC_MODES)[number];
type Cell = 'race' | 'safe';

export interface SpecRow {
  cells: Readonly<Record<SpecMode, Cell>>;
  /** Why each cell of a kernel version is safe: the commit that fixed it (12-hex hash + title). */
  fixedBy: Readonly<Partial<Record<SpecMode, string>>>;
}

const VMA_LOCK = '40549ba8f8e0 hugetlb: use new vma_lock for pmd sharing synchronization (6.1)';
const I_MMAP = '40549ba8f8e0 hugetlb: use new vma_lock for pmd sharing synchronization (6.1: i_mmap_rwsem write in every unshare)';
const FIX_1013 = '1013af4f585f mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race (CVE-2025-38085)';
const FIX_8CE7 = '8ce720d5bd91 mm/hugetlb: fix excessive IPI broadcasts when unsharing PMD tables using mmu_gather (keeps the sync, batched)';
const FIX_0810 = '081056dc00a2 mm/hugetlb: unshare page tables during VMA split, not before (CVE-2025-38084)';
const X86_FLUSH = 'a4a118f2eead hugetlbfs: flush TLBs correctly after huge_pmd_unshare (5.16: the flush before the i_mmap release; an IPI on x86 with native flushes)';

const VERSIONS = ['6.2', '6.2-x86', '6.5', '6.15', '6.16', '6.19'] as const;

/** A row whose kernel cells are all made safe by one commit (present in every version column). */
function walkerRow(modes: Record<'none' | 'vma-lock' | 'walker-rcu' | 'walker-irq', Cell>, fix: string): SpecRow {
  return {
    cells: { ...modes, '6.2': 'safe', '6.2-x86': 'safe', '6.5': 'safe', '6.15': 'safe', '6.16': 'safe', '6.19': 'safe' },
    fixedBy: Object.fromEntries(VERSIONS.map((v) => [v, fix])),
  };
}

/** GUP-fast rows: safe only where the end of sharing waits for IRQ-off CPUs. */
function gupFastRow(): SpecRow {
  return {
    cells: {
      none: 'race', 'vma-lock': 'race', 'walker-rcu': 'race', 'walker-irq': 'race',
      '6.2': 'race', '6.2-x86': 'safe', '6.5': 'race', '6.15': 'race', '6.16': 'safe', '6.19': 'safe',
    },
    fixedBy: { '6.2-x86': X86_FLUSH, '6.16': FIX_1013, '6.19': `${FIX_1013}; ${FIX_8CE7}` },
  };
}

const FIX_349D = '349d1670008d mm/hugetlb: fix pgtable lock on pmd sharing (6.5: huge_pmd_share populates under mm->page_table_lock)';

/** Fault rows: the vma lock's fix, and from 6.5 one populate lock for huge_pmd_share and pmd_alloc. */
function populateFixed(fix: string): SpecRow['fixedBy'] {
  return Object.fromEntries(VERSIONS.filter((v) => v !== '6.2' && v !== '6.2-x86').map((v) => [v, `${FIX_349D}; ${fix}`]));
}

const R = 'race';
const S = 'safe';

export const SPEC: Readonly<Record<string, SpecRow>> = {
  // 6.2 populates the PUD entry in huge_pmd_share under the shared page's ptl, pmd_alloc under
  // mm->page_table_lock: a fault of the same mm replaces the table a fault just shared and walked.
  'fault-unshare': { cells: { ...walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, VMA_LOCK).cells, '6.2': R, '6.2-x86': R }, fixedBy: populateFixed(VMA_LOCK) },
  // The same race aimed at: two processes and one file, so both PUD entries are often empty at once.
  'fault-populate': { cells: { ...walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, VMA_LOCK).cells, '6.2': R, '6.2-x86': R }, fixedBy: populateFixed(VMA_LOCK) },
  'uffd-must-wait': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': S, 'walker-irq': S }, 'b8da2e466000 mm/hugetlb: make userfaultfd_huge_must_wait() safe to pmd unshare (6.2)'),
  'pmd-share-walk': walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, I_MMAP),
  'follow-page': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': S, 'walker-irq': S }, '7d049f3a03ea mm/hugetlb: make hugetlb_follow_page_mask() safe to pmd unshare (6.2)'),
  'gup-slow': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': S, 'walker-irq': S }, 'eefc7fa53608 mm/hugetlb: make follow_hugetlb_page() safe to pmd unshare (6.2)'),
  'vma-maps-page': walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, I_MMAP),
  'walk-range': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': S, 'walker-irq': S }, 'dd361e5033cf mm/hugetlb: make walk_hugetlb_range() safe to pmd unshare (6.2)'),
  'rmap-walk': walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, I_MMAP),
  'fault-swap-entry': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': S, 'walker-irq': S }, 'fcd48540d188 mm/hugetlb: move swap entry handling into vma lock when faulted (6.2)'),
  // The RFC's own warning; 6.2 dropped the walker lock and asserts the vma lock or i_mmap_rwsem.
  'ptl-under-walker': walkerRow({ none: R, 'vma-lock': R, 'walker-rcu': R, 'walker-irq': R }, '9c67a20704e7 mm/hugetlb: introduce hugetlb_walk() (6.2)'),
  'gup-fast': gupFastRow(),
  'gup-fast-free': gupFastRow(),
  // CVE-2025-38084: may_split's unshare before the split (b30c14cd6102, 6.2) lets a fault re-share
  // the table before the split; whatever the architecture. Fixed by 081056dc00a2 (6.16).
  'split-reshare': {
    cells: { none: R, 'vma-lock': R, 'walker-rcu': R, 'walker-irq': R, '6.2': R, '6.2-x86': R, '6.5': R, '6.15': R, '6.16': S, '6.19': S },
    fixedBy: { '6.16': FIX_0810, '6.19': FIX_0810 },
  },
  // The 1013af4f585f regression's workload: fork's walk of the parent (hugetlb_vma_lock_read(src),
  // 40549ba8f8e0) and faults sharing the parent's tables; its cost differs by version, not its safety.
  'fork-exit-storm': walkerRow({ none: R, 'vma-lock': S, 'walker-rcu': S, 'walker-irq': S }, VMA_LOCK),
  // Every walker and destroyer: the GUP-fast and split races both, so safe only from 6.16.
  mixed: {
    cells: { none: R, 'vma-lock': R, 'walker-rcu': R, 'walker-irq': R, '6.2': R, '6.2-x86': R, '6.5': R, '6.15': R, '6.16': S, '6.19': S },
    fixedBy: { '6.16': `${FIX_1013}; ${FIX_0810}`, '6.19': `${FIX_1013}; ${FIX_0810}; ${FIX_8CE7}` },
  },
};
