/**
 * Protection modes as data. A mode is one table: which lock each walk site takes around
 * hugetlb_walk() and the dereference, what the unshare paths take, how a freed page-table page
 * is released. The operations read the table; there is one implementation of each operation.
 * Add a mode by adding a table to MODES.
 */

/** Every racy call site of the RFC (walkers of patches 5-11, patch 2's fault path, fault itself). */
export const SITES = [
  'fault', // hugetlb_fault → huge_pte_alloc: the walk and the install under the ptl
  'pmd-share', // huge_pmd_share: hugetlb_walk(svma) of ANOTHER mm + get_page
  'uffd-must-wait', // userfaultfd_huge_must_wait: lockless huge_ptep_get
  'follow-page', // hugetlb_follow_page_mask: ptl, read, grab folio
  'gup-slow', // follow_hugetlb_page (FOLL_NOWAIT variant may not sleep)
  'vma-maps-page', // hugetlb_vma_maps_page: lockless compare (caller holds i_mmap write)
  'walk-range', // walk_hugetlb_range (smaps/pagemap): lockless read
  'rmap-walk', // page_vma_mapped_walk over i_mmap (other mms): ptl
  'fault-swap-entry', // hugetlb_fault's migration/swap entry check (patch 2): read, ptl to wait
  'ptl-under-walker', // a walker that takes the ptl under the walker lock alone (RFC's own warning)
  'gup-fast', // gup_fast_pud_range → gup_fast_pmd_range: IRQs off, no lock at all, grabs the folio
  'vma-split', // __split_vma of a hugetlb VMA inside a PUD range: no shared table may stay under the halves
  'fork-copy', // copy_hugetlb_page_range: hugetlb_walk(src_vma) of the parent and the copy under both ptls
] as const;
export type Site = (typeof SITES)[number];

/** How a site dereferences what it walked to. */
export interface SiteInfo {
  kernel: string;
  /** Takes huge_pte_lock on the page ptep points into. */
  takesPtl: boolean;
  /** Writes through ptep or to the page (install, get_page). */
  writes: boolean;
  /** Walks another mm's table (reached through i_mmap), not its own. */
  otherMm: boolean;
  /**
   * Lockless by design in every kernel (GUP-fast): IRQs off and nothing else. Its protection is
   * how tables are freed (tableFree) and how they stop being shared (unshareSync), never a lock.
   */
  lockless?: boolean;
}

export const SITE_INFO: Readonly<Record<Site, SiteInfo>> = {
  fault: { kernel: 'hugetlb_fault → huge_pte_alloc (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'pmd-share': { kernel: 'huge_pmd_share → hugetlb_walk(svma) (mm/hugetlb.c)', takesPtl: false, writes: true, otherMm: true },
  'uffd-must-wait': { kernel: 'userfaultfd_huge_must_wait (fs/userfaultfd.c)', takesPtl: false, writes: false, otherMm: false },
  'follow-page': { kernel: 'hugetlb_follow_page_mask (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'gup-slow': { kernel: 'follow_hugetlb_page (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  // Called for every VMA of the file in i_mmap (hugetlb_unmap_file_folio): other mms' tables.
  'vma-maps-page': { kernel: 'hugetlb_vma_maps_page (fs/hugetlbfs/inode.c)', takesPtl: false, writes: false, otherMm: true },
  'walk-range': { kernel: 'walk_hugetlb_range (mm/pagewalk.c)', takesPtl: false, writes: false, otherMm: false },
  'rmap-walk': { kernel: 'page_vma_mapped_walk (mm/page_vma_mapped.c)', takesPtl: true, writes: true, otherMm: true },
  'fault-swap-entry': { kernel: 'hugetlb_fault: is_hugetlb_entry_migration → migration_entry_wait_huge', takesPtl: true, writes: false, otherMm: false },
  'ptl-under-walker': { kernel: 'hypothetical walker: huge_pte_lock under hugetlb_walker_lock() alone', takesPtl: true, writes: true, otherMm: false },
  'gup-fast': { kernel: 'gup_fast_pud_range → gup_fast_pmd_range → gup_fast_pmd_leaf (mm/gup.c)', takesPtl: false, writes: true, otherMm: false, lockless: true },
  'vma-split': { kernel: '__split_vma → hugetlb_vm_op_split / hugetlb_split → hugetlb_unshare_pmds (mm/vma.c, mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'fork-copy': { kernel: 'dup_mmap → copy_hugetlb_page_range (mm/hugetlb.c)', takesPtl: true, writes: false, otherMm: false },
};

/** Locks a site holds across its walk and dereference. */
export interface Guard {
  /** The mode's walker lock (rcu_read_lock or local_irq_disable). */
  walker: boolean;
  /** hugetlb_vma_lock_read; 'tryread' for paths that may not sleep (FOLL_NOWAIT). */
  vma: 'none' | 'read' | 'tryread';
  /** i_mmap_rwsem of the file. */
  iMmap: 'none' | 'read' | 'write';
}

export interface ModeTable {
  name: string;
  /** Other names accepted for this mode everywhere a mode is named (CLI, replay files, tests). */
  aliases: readonly string[];
  description: string;
  /** The kernel this table models: a release ('v6.2'), 'RFC v2' for the walker-lock proposal. */
  kernel: string;
  /** The commits (short hash + title) or series this table follows, oldest first. */
  commits: readonly string[];
  /**
   * Architecture assumed where TLB flushes matter: on x86 a TLB flush of another CPU is an IPI
   * that the target acknowledges only with interrupts enabled (so it also waits for IRQ-off
   * GUP-fast); on arm64 it is a broadcast TLBI instruction that interrupts nobody.
   */
  arch: 'x86' | 'arm64';
  /**
   * The TLB flush and mmu_gather of the unshare paths are modelled: every path that cleared
   * entries or unshared flushes before it releases i_mmap_rwsem (a4a118f2eead, 5.16, for
   * __unmap_hugepage_range; hugetlb_change_protection and hugetlb_unshare_all_pmds always did).
   * The modes from before the versions keep the model's old shape: no flush.
   */
  mmuGather: boolean;
  /** What hugetlb_walker_lock() is in this mode. */
  walkerLock: 'none' | 'rcu' | 'irq';
  /**
   * How a page-table page whose last reference dropped is released (tlb_remove_table): at once
   * ('immediate', no kernel does this, kept for the 6.1/RFC-problem modes), after an RCU grace
   * period (MMU_GATHER_RCU_TABLE_FREE: tlb_remove_table_rcu), or after an IPI every CPU
   * acknowledged with interrupts enabled ('ipi': no RCU table free, the flush IPI waits).
   */
  tableFree: 'immediate' | 'rcu' | 'ipi';
  /**
   * The lock huge_pmd_share() populates the PUD entry under: the shared page's split ptl
   * ('ptl', 6.2), mm->page_table_lock ('page_table_lock', 349d1670008d, 6.5+), or both ('both':
   * what this model took before it had versions; no kernel does it).
   */
  populateLock: 'both' | 'ptl' | 'page_table_lock';
  /**
   * What huge_pmd_unshare() does so lockless GUP-fast walkers cannot go on through a table that
   * stops being shared: nothing ('none'), tlb_remove_table_sync_one() per unshare ('ipi',
   * 1013af4f585f), or recorded in the mmu_gather and synced once per gather before
   * i_mmap_rwsem is released, with an IPI only when a table became exclusive ('gather', 8ce720d5bd91).
   */
  unshareSync: 'none' | 'ipi' | 'gather';
  /**
   * The lock a hugetlb fault runs under: mmap_lock read ('mmap'), or the per-VMA lock taken by
   * lock_vma_under_rcu() ('per-vma': the series "Handle hugetlb faults under the VMA lock", 6.9).
   */
  faultLock: 'mmap' | 'per-vma';
  /**
   * VMA split across a shared PMD range: no unshare ('none'), hugetlb_unshare_all_pmds from
   * hugetlb_vm_op_split before the split ('may-split', b30c14cd6102), or hugetlb_split() inside
   * __split_vma under the VMA write lock and i_mmap write ('hugetlb-split', 081056dc00a2).
   */
  split: 'none' | 'may-split' | 'hugetlb-split';
  /**
   * huge_pmd_unshare() called from hugetlb_split() asserts the hugetlb vma lock
   * (hugetlb_vma_assert_locked), which that path never holds: a lockdep false positive whenever a
   * split unshares a shared table, from 081056dc00a2 until "mm/hugetlb: avoid false positive
   * lockdep assertion" (Lorenzo Stoakes, May 2026, after 6.19) predicated it on take_locks.
   */
  splitAssertsVmaLock: boolean;
  /**
   * The final unmap (__unmap_hugepage_range_final) frees the hugetlb vma lock before
   * i_mmap_unlock_write, so huge_pmd_share can no longer find the VMA shareable
   * (131a79b474e9, 6.1). The modes before versions leave the VMA shareable (the model's old shape).
   */
  unmapFreesVmaLock: boolean;
  /** The unshare paths' locks (huge_pmd_unshare asserts both in 6.1+). */
  unshare: { vmaLockWrite: boolean; iMmapWrite: boolean };
  /** hugetlb_walk()'s lockdep assertion: vma lock or i_mmap_rwsem held when the VMA is shareable. */
  assertWalk: boolean;
  /** A read through ptep after an unshare is an accepted (interesting) outcome, not a violation. */
  acceptStaleRead: boolean;
  guards: Readonly<Record<Site, Guard>>;
}

const g = (walker: boolean, vma: Guard['vma'], iMmap: Guard['iMmap']): Guard => ({ walker, vma, iMmap });
const BARE = g(false, 'none', 'none');

/** 6.1's vma-lock guards: the vma lock in fault, i_mmap where 6.1 took it, the RFC's sites bare. */
const VMA_LOCK_GUARDS: Record<Site, Guard> = {
  fault: g(false, 'read', 'none'),
  'pmd-share': g(false, 'none', 'read'),
  'uffd-must-wait': BARE,
  'follow-page': BARE,
  'gup-slow': BARE,
  'vma-maps-page': g(false, 'none', 'write'),
  'walk-range': BARE,
  'rmap-walk': g(false, 'none', 'read'),
  'fault-swap-entry': BARE,
  'ptl-under-walker': BARE,
  'gup-fast': BARE, // local_irq_save only: not a hugetlb walker, no walker lock
  'vma-split': BARE, // the split's locks are the mode's `split`, not a walker guard
  'fork-copy': g(false, 'read', 'none'), // 40549ba8f8e0: hugetlb_vma_lock_read(src_vma) for shared mappings
};

/**
 * RFC v2: on top of the vma lock, every walk under hugetlb_walker_lock(). Lockless readers rely
 * on it alone (stale values possible, dereference safe); a site that takes the ptl also holds
 * the vma lock or i_mmap_rwsem (the RFC's 2.1/2.2), except the deliberately wrong
 * `ptl-under-walker`. Patch 2 puts the swap-entry check under the vma lock.
 * The fault itself keeps just the vma lock: the RFC adds the walker lock to walkers, not to
 * huge_pte_alloc (which may sleep).
 */
const WALKER_GUARDS: Record<Site, Guard> = {
  fault: g(false, 'read', 'none'),
  'pmd-share': g(true, 'none', 'read'),
  'uffd-must-wait': g(true, 'none', 'none'),
  'follow-page': g(true, 'read', 'none'),
  'gup-slow': g(true, 'tryread', 'none'),
  'vma-maps-page': g(true, 'none', 'write'),
  'walk-range': g(true, 'none', 'none'),
  'rmap-walk': g(true, 'none', 'read'),
  'fault-swap-entry': g(true, 'read', 'none'),
  'ptl-under-walker': g(true, 'none', 'none'),
  'gup-fast': BARE, // local_irq_save only: not a hugetlb walker, no walker lock
  'vma-split': BARE, // the split's locks are the mode's `split`, not a walker guard
  'fork-copy': g(true, 'read', 'none'),
};

/** 6.2 as merged: every walker holds the vma lock read or i_mmap_rwsem; no walker lock. */
const FINAL_GUARDS: Record<Site, Guard> = {
  fault: g(false, 'read', 'none'),
  'pmd-share': g(false, 'none', 'read'),
  'uffd-must-wait': g(false, 'read', 'none'),
  'follow-page': g(false, 'read', 'none'),
  'gup-slow': g(false, 'tryread', 'none'),
  'vma-maps-page': g(false, 'none', 'write'),
  'walk-range': g(false, 'read', 'none'),
  'rmap-walk': g(false, 'none', 'read'),
  'fault-swap-entry': g(false, 'read', 'none'),
  'ptl-under-walker': g(false, 'read', 'none'),
  'gup-fast': BARE, // local_irq_save only: not a hugetlb walker, no walker lock
  'vma-split': BARE, // the split's locks are the mode's `split`, not a walker guard
  'fork-copy': g(false, 'read', 'none'),
};

const allBare = Object.fromEntries(SITES.map((s) => [s, BARE])) as Record<Site, Guard>;

/** What every mode before the versions shared: the model's behaviour as it was, one place. */
const LEGACY = {
  aliases: [],
  arch: 'x86',
  mmuGather: false,
  populateLock: 'both',
  unshareSync: 'none',
  faultLock: 'mmap',
  split: 'may-split',
  splitAssertsVmaLock: false,
  unmapFreesVmaLock: false,
} as const;

/** 6.2 as merged (the series "mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare" v4). */
const V6_2_COMMITS = [
  '39dde65c9940 [PATCH] shared page table for hugetlb page (2.6.20)',
  '8d9bfb260814 hugetlb: add vma based lock for pmd sharing (6.1)',
  '40549ba8f8e0 hugetlb: use new vma_lock for pmd sharing synchronization (6.1)',
  '131a79b474e9 hugetlb: fix vma lock handling during split vma and range unmapping (6.1)',
  'bb373dce2c7b mm/hugetlb: don\'t wait for migration entry during follow page (6.2)',
  'fcd48540d188 mm/hugetlb: move swap entry handling into vma lock when faulted (6.2)',
  'b8da2e466000 mm/hugetlb: make userfaultfd_huge_must_wait() safe to pmd unshare (6.2)',
  '7d049f3a03ea mm/hugetlb: make hugetlb_follow_page_mask() safe to pmd unshare (6.2)',
  'eefc7fa53608 mm/hugetlb: make follow_hugetlb_page() safe to pmd unshare (6.2)',
  'dd361e5033cf mm/hugetlb: make walk_hugetlb_range() safe to pmd unshare (6.2)',
  '9c67a20704e7 mm/hugetlb: introduce hugetlb_walk() (6.2, last of the 10-patch series)',
  'b30c14cd6102 hugetlb: unshare some PMDs when splitting VMAs (6.2)',
] as const;
const V6_5_COMMITS = [...V6_2_COMMITS, '349d1670008d mm/hugetlb: fix pgtable lock on pmd sharing (6.5)'] as const;
const V6_15_COMMITS = [...V6_5_COMMITS, 'series "Handle hugetlb faults under the VMA lock" (Vishal Moola, 6.9)'] as const;
const V6_16_COMMITS = [
  ...V6_15_COMMITS,
  '1013af4f585f mm/hugetlb: fix huge_pmd_unshare() vs GUP-fast race (CVE-2025-38085)',
  '081056dc00a2 mm/hugetlb: unshare page tables during VMA split, not before (CVE-2025-38084)',
] as const;
const V6_19_COMMITS = [
  ...V6_16_COMMITS,
  '8ce720d5bd91 mm/hugetlb: fix excessive IPI broadcasts when unsharing PMD tables using mmu_gather',
] as const;

/**
 * A merged kernel: every walker under the vma lock or i_mmap_rwsem (hugetlb_walk asserts it),
 * no walker lock, arm64 (which selects MMU_GATHER_RCU_TABLE_FREE, so tlb_remove_table frees after
 * a grace period, and flushes TLBs by broadcast TLBI: a flush interrupts no CPU) unless `arch` says
 * otherwise.
 */
function kernelVersion(
  name: string,
  kernel: string,
  commits: readonly string[],
  description: string,
  v: Pick<ModeTable, 'populateLock' | 'unshareSync' | 'faultLock' | 'split'> & { aliases?: readonly string[]; arch?: ModeTable['arch'] },
): ModeTable {
  return {
    name,
    aliases: v.aliases ?? [],
    description,
    kernel,
    commits,
    arch: v.arch ?? 'arm64',
    mmuGather: true,
    walkerLock: 'none',
    tableFree: 'rcu',
    populateLock: v.populateLock,
    unshareSync: v.unshareSync,
    faultLock: v.faultLock,
    split: v.split,
    splitAssertsVmaLock: v.split === 'hugetlb-split',
    unmapFreesVmaLock: true,
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: true,
    acceptStaleRead: false,
    guards: FINAL_GUARDS,
  };
}

export const MODES: readonly ModeTable[] = [
  {
    ...LEGACY,
    name: 'none',
    description: 'mmap_lock only: no vma lock, no i_mmap_rwsem around walks or unshares (the RFC problem statement)',
    kernel: 'RFC problem statement',
    commits: ['39dde65c9940 [PATCH] shared page table for hugetlb page (2.6.20), with every later lock removed'],
    walkerLock: 'none',
    tableFree: 'immediate',
    unshare: { vmaLockWrite: false, iMmapWrite: false },
    assertWalk: false,
    acceptStaleRead: false,
    guards: allBare,
  },
  {
    ...LEGACY,
    name: 'vma-lock',
    description: '6.1: hugetlb vma lock in fault and every unshare path, i_mmap_rwsem where 6.1 takes it; RFC call sites bare',
    kernel: 'v6.1',
    commits: ['8d9bfb260814 hugetlb: add vma based lock for pmd sharing', '40549ba8f8e0 hugetlb: use new vma_lock for pmd sharing synchronization'],
    walkerLock: 'none',
    tableFree: 'immediate',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: false,
    guards: VMA_LOCK_GUARDS,
  },
  {
    ...LEGACY,
    name: 'walker-rcu',
    description: 'RFC v2 with MMU_GATHER_RCU_TABLE_FREE: walker lock = rcu_read_lock, tables freed after a grace period',
    kernel: 'RFC v2',
    commits: ['RFC v2 "mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare" (Peter Xu, Nov 2022; not merged)'],
    walkerLock: 'rcu',
    tableFree: 'rcu',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: true,
    guards: WALKER_GUARDS,
  },
  {
    ...LEGACY,
    name: 'walker-irq',
    description: 'RFC v2 without RCU table free: walker lock = local_irq_disable, tables freed after an acknowledged TLB-shootdown IPI',
    kernel: 'RFC v2',
    commits: ['RFC v2 "mm/hugetlb: Make huge_pte_offset() thread-safe for pmd unshare" (Peter Xu, Nov 2022; not merged)'],
    walkerLock: 'irq',
    tableFree: 'ipi',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: true,
    guards: WALKER_GUARDS,
  },
  kernelVersion('6.2', 'v6.2', V6_2_COMMITS, '6.2 as merged: hugetlb_walk() requires the vma lock or i_mmap_rwsem (lockdep-asserted); huge_pmd_share populates under the shared page\'s ptl; no sync with GUP-fast at unshare', {
    populateLock: 'ptl', unshareSync: 'none', faultLock: 'mmap', split: 'may-split',
  }),
  kernelVersion('6.2-x86', 'v6.2', V6_2_COMMITS, '6.2 on x86 with native TLB flushes: the flush IPI before i_mmap_rwsem is released (a4a118f2eead) also waits for IRQ-off GUP-fast (a paravirt flush under KVM/Hyper-V sends none: then x86 is like arm64)', {
    populateLock: 'ptl', unshareSync: 'none', faultLock: 'mmap', split: 'may-split', arch: 'x86',
  }),
  kernelVersion('6.5', 'v6.5', V6_5_COMMITS, '6.5: as 6.2, huge_pmd_share populates under mm->page_table_lock (349d1670008d)', {
    populateLock: 'page_table_lock', unshareSync: 'none', faultLock: 'mmap', split: 'may-split',
  }),
  kernelVersion('6.15', 'v6.15', V6_15_COMMITS, '6.15, the last kernel before the 2025 fixes: hugetlb faults under the per-VMA lock (6.9), unshare before the split', {
    populateLock: 'page_table_lock', unshareSync: 'none', faultLock: 'per-vma', split: 'may-split',
  }),
  kernelVersion('6.16', 'v6.16', V6_16_COMMITS, '6.16: tlb_remove_table_sync_one() in every huge_pmd_unshare (1013af4f585f), hugetlb_split() inside __split_vma (081056dc00a2)', {
    populateLock: 'page_table_lock', unshareSync: 'ipi', faultLock: 'per-vma', split: 'hugetlb-split',
  }),
  kernelVersion('6.19', 'v6.19', V6_19_COMMITS, '6.19: unshares recorded in the mmu_gather, one sync per gather before i_mmap_rwsem is released (8ce720d5bd91)', {
    populateLock: 'page_table_lock', unshareSync: 'gather', faultLock: 'per-vma', split: 'hugetlb-split', aliases: ['final'],
  }),
];

/** Canonical mode names, in table order (what `compare --modes all` runs). */
export const MODE_NAMES = MODES.map((m) => m.name);

/** Every name a mode is accepted by: canonical names, then aliases (`final` = the newest kernel). */
export const MODE_CHOICES: readonly string[] = [...MODE_NAMES, ...MODES.flatMap((m) => m.aliases)];

/** Modes loaded from design files at run time (mode-design.ts validates, then registers them here). */
const LOADED: ModeTable[] = [];

/** Make a validated design findable by its name (main thread; workers receive the table itself). */
export function registerMode(m: ModeTable): void {
  const i = LOADED.findIndex((x) => x.name === m.name);
  if (i >= 0) LOADED[i] = m;
  else LOADED.push(m);
}

/**
 * Test-only variants, never listed nor accepted by the CLI: `<mode>+free-now` is the mode with
 * tlb_remove_table made immediate — no grace period, no IPI — the busted table-free flavour the
 * tests use to prove that a free under a lockless walker is caught.
 */
export const BUSTED_FREE = '+free-now';
const busted = new Map<string, ModeTable>();

/** A mode by its name or alias, a registered design, or a test-only `+free-now` variant of one. */
export function modeByName(name: string): ModeTable | undefined {
  const m = MODES.find((x) => x.name === name || x.aliases.includes(name)) ?? LOADED.find((x) => x.name === name);
  if (m !== undefined || !name.endsWith(BUSTED_FREE)) return m;
  const base = modeByName(name.slice(0, -BUSTED_FREE.length));
  if (base === undefined) return undefined;
  let v = busted.get(name);
  if (v === undefined) {
    v = { ...base, name, aliases: [], tableFree: 'immediate', description: `${base.name} with tables freed at once (test-only busted flavour)` };
    busted.set(name, v);
  }
  return v;
}

/** One step of deciding whether a site is safe: the rule looked at and whether it held. */
export interface SafetyStep {
  rule: 'split-locks' | 'populate-lock' | 'lockless' | 'assert-walk' | 'vma-lock' | 'i-mmap' | 'walker-lock' | 'free-deferred' | 'read-only' | 'stale-read';
  ok: boolean;
}

/**
 * Is a site safe against unshare + free in this mode, and why: the rules in the order they
 * decide, each with whether it held (explain prints them). Derived from the table alone:
 * - with hugetlb_walk()'s assertion on, a walk under neither the vma lock nor i_mmap_rwsem is a
 *   lock-rule violation;
 * - the vma lock (read) excludes every unshare of the walker's own VMA when unshares take it for
 *   write; a site reaching other mms' VMAs through i_mmap holds no vma lock of those;
 * - i_mmap_rwsem (read or write) excludes them when unshares take it for write;
 * - the walker lock alone keeps the page from being freed (never from being unshared) when the
 *   free waits for it: safe for lockless reads (stale values accepted), not for taking its ptl or
 *   writing to it.
 */
export function siteVerdict(mode: ModeTable, site: Site): { safe: boolean; steps: SafetyStep[] } {
  const gd = mode.guards[site];
  const info = SITE_INFO[site];
  const steps: SafetyStep[] = [];
  const decide = (rule: SafetyStep['rule'], ok: boolean): boolean => {
    steps.push({ rule, ok });
    return ok;
  };
  // The split is safe only when its unshare runs under the locks that also change the VMA's
  // bounds (081056dc00a2): before, a fault re-shares between the unshare and the split.
  if (site === 'vma-split') return { safe: decide('split-locks', mode.split === 'hugetlb-split'), steps };
  if (info.lockless === true) return { safe: decide('lockless', locklessSafe(mode)), steps };
  // A fault's own table can be replaced under it by a concurrent fault of the same mm when
  // huge_pmd_share and pmd_alloc populate the PUD entry under different locks (6.2; 349d1670008d).
  if (site === 'fault' && !decide('populate-lock', mode.populateLock !== 'ptl')) return { safe: false, steps };
  const ownVmaLock = gd.vma !== 'none' && !info.otherMm;
  if (mode.assertWalk && !decide('assert-walk', ownVmaLock || gd.iMmap !== 'none')) return { safe: false, steps };
  if (decide('vma-lock', ownVmaLock && mode.unshare.vmaLockWrite)) return { safe: true, steps };
  if (decide('i-mmap', gd.iMmap !== 'none' && mode.unshare.iMmapWrite)) return { safe: true, steps };
  if (!decide('walker-lock', gd.walker)) return { safe: false, steps };
  const deferred =
    (mode.walkerLock === 'rcu' && mode.tableFree === 'rcu') || (mode.walkerLock === 'irq' && mode.tableFree === 'ipi');
  if (!decide('free-deferred', deferred)) return { safe: false, steps };
  if (!decide('read-only', !info.takesPtl && !info.writes)) return { safe: false, steps };
  return { safe: decide('stale-read', mode.acceptStaleRead), steps };
}

/** Is a site safe against unshare + free in this mode? (siteVerdict without its reasons.) */
export function siteSafe(mode: ModeTable, site: Site): boolean {
  return siteVerdict(mode, site).safe;
}

/** Drop a name whose mode an earlier name in the list already selects (`6.19,final` runs once). */
export function uniqueModes(names: readonly string[]): string[] {
  const seen = new Set<ModeTable>();
  const out: string[] = [];
  for (const n of names) {
    const m = modeByName(n);
    if (m !== undefined && seen.has(m)) continue;
    if (m !== undefined) seen.add(m);
    out.push(n);
  }
  return out;
}

/** One line naming a mode's kernel and commits (list, reports, replay headers). */
export function modeKernelLine(m: ModeTable): string {
  return `${m.kernel}: ${m.commits.map((c) => c.split(' ')[0]).join(', ')}`;
}

/**
 * GUP-fast (IRQs off, no lock) is safe when both ways a table can leave its mm under it wait for
 * IRQ-disabled CPUs: the free (an RCU grace period, which waits for IRQ-off regions since the
 * RCU flavours were consolidated, or an acknowledged IPI) and the end of sharing (an IPI from
 * huge_pmd_unshare, 1013af4f585f, or from the mmu_gather before i_mmap_rwsem is released,
 * 8ce720d5bd91 — or, on x86 with native flushes, the TLB-flush IPI every unshare path sends before
 * it releases i_mmap_rwsem). A lock taken by the unsharer never helps: GUP-fast takes none.
 */
export function locklessSafe(mode: ModeTable): boolean {
  const flushWaits = mode.mmuGather && mode.arch === 'x86'; // the flush IPI before i_mmap release
  return mode.tableFree !== 'immediate' && (mode.unshareSync !== 'none' || flushWaits);
}
