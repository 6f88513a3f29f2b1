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
}

export const SITE_INFO: Readonly<Record<Site, SiteInfo>> = {
  fault: { kernel: 'hugetlb_fault → huge_pte_alloc (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'pmd-share': { kernel: 'huge_pmd_share → hugetlb_walk(svma) (mm/hugetlb.c)', takesPtl: false, writes: true, otherMm: true },
  'uffd-must-wait': { kernel: 'userfaultfd_huge_must_wait (fs/userfaultfd.c)', takesPtl: false, writes: false, otherMm: false },
  'follow-page': { kernel: 'hugetlb_follow_page_mask (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'gup-slow': { kernel: 'follow_hugetlb_page (mm/hugetlb.c)', takesPtl: true, writes: true, otherMm: false },
  'vma-maps-page': { kernel: 'hugetlb_vma_maps_page (fs/hugetlbfs/inode.c)', takesPtl: false, writes: false, otherMm: false },
  'walk-range': { kernel: 'walk_hugetlb_range (mm/pagewalk.c)', takesPtl: false, writes: false, otherMm: false },
  'rmap-walk': { kernel: 'page_vma_mapped_walk (mm/page_vma_mapped.c)', takesPtl: true, writes: true, otherMm: true },
  'fault-swap-entry': { kernel: 'hugetlb_fault: is_hugetlb_entry_migration → migration_entry_wait_huge', takesPtl: true, writes: false, otherMm: false },
  'ptl-under-walker': { kernel: 'hypothetical walker: huge_pte_lock under hugetlb_walker_lock() alone', takesPtl: true, writes: true, otherMm: false },
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
  description: string;
  /** What hugetlb_walker_lock() is in this mode. */
  walkerLock: 'none' | 'rcu' | 'irq';
  /** How a page-table page whose last reference dropped is released. */
  tableFree: 'immediate' | 'rcu' | 'ipi';
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
};

const allBare = Object.fromEntries(SITES.map((s) => [s, BARE])) as Record<Site, Guard>;

export const MODES: readonly ModeTable[] = [
  {
    name: 'none',
    description: 'mmap_lock only: no vma lock, no i_mmap_rwsem around walks or unshares (the RFC problem statement)',
    walkerLock: 'none',
    tableFree: 'immediate',
    unshare: { vmaLockWrite: false, iMmapWrite: false },
    assertWalk: false,
    acceptStaleRead: false,
    guards: allBare,
  },
  {
    name: 'vma-lock',
    description: '6.1: hugetlb vma lock in fault and every unshare path, i_mmap_rwsem where 6.1 takes it; RFC call sites bare',
    walkerLock: 'none',
    tableFree: 'immediate',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: false,
    guards: VMA_LOCK_GUARDS,
  },
  {
    name: 'walker-rcu',
    description: 'RFC v2 with MMU_GATHER_RCU_TABLE_FREE: walker lock = rcu_read_lock, tables freed after a grace period',
    walkerLock: 'rcu',
    tableFree: 'rcu',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: true,
    guards: WALKER_GUARDS,
  },
  {
    name: 'walker-irq',
    description: 'RFC v2 without RCU table free: walker lock = local_irq_disable, tables freed after an acknowledged TLB-shootdown IPI',
    walkerLock: 'irq',
    tableFree: 'ipi',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: false,
    acceptStaleRead: true,
    guards: WALKER_GUARDS,
  },
  {
    name: 'final',
    description: '6.2 as merged: hugetlb_walk() requires the vma lock or i_mmap_rwsem (lockdep-asserted); no walker lock',
    walkerLock: 'none',
    tableFree: 'immediate',
    unshare: { vmaLockWrite: true, iMmapWrite: true },
    assertWalk: true,
    acceptStaleRead: false,
    guards: FINAL_GUARDS,
  },
];

export const MODE_NAMES = MODES.map((m) => m.name);

export function modeByName(name: string): ModeTable | undefined {
  return MODES.find((m) => m.name === name);
}

/**
 * Is a site safe against unshare + free in this mode? Derived from the table alone:
 * - the vma lock (read) excludes every unshare when unshares take it for write;
 * - i_mmap_rwsem (read or write) excludes them when unshares take it for write;
 * - the walker lock alone keeps the page from being freed (never from being unshared): safe for
 *   lockless reads (stale values accepted), not for taking its ptl or writing to it.
 */
export function siteSafe(mode: ModeTable, site: Site): boolean {
  const gd = mode.guards[site];
  const info = SITE_INFO[site];
  if (gd.vma !== 'none' && mode.unshare.vmaLockWrite) return true;
  if (gd.iMmap !== 'none' && mode.unshare.iMmapWrite) return true;
  const deferred =
    (mode.walkerLock === 'rcu' && mode.tableFree === 'rcu') || (mode.walkerLock === 'irq' && mode.tableFree === 'ipi');
  return gd.walker && deferred && !info.takesPtl && !info.writes && mode.acceptStaleRead;
}
