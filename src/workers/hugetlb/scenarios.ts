/**
 * Scenarios: one workload per racy call site, aiming walkers and unsharers at the same shared
 * PMD pages, plus `mixed`. The expected outcome of every scenario × mode is derived from the
 * mode tables (modes.ts: siteSafe); kernel-model.md §4 holds the same table, and a test checks
 * that the two agree.
 */
import type { ArenaConfig } from '../../shared-mem/layout.js';
import { MODES, type ModeTable, type SafetyStep, type Site, siteSafe, siteVerdict } from './modes.js';
import { OPS, Op } from './ops-list.js';

export interface Scenario {
  name: string;
  description: string;
  /** The walk site under test (for `mixed`: all but ptl-under-walker). */
  targets: readonly Site[];
  /** Relative weight of each operation. */
  weights: Readonly<Partial<Record<string, number>>>;
  /**
   * Single-entry ops (faults, walkers, migrations) pick their slot below this (default: every
   * entry of the PMD page), so that a walker and a migration meet on one entry often enough.
   */
  hotSlots?: number;
  /**
   * The model's shape for this scenario (processes, files, pool), over the engine's defaults and
   * under anything a caller sets: a scenario that needs many shared tables says so here.
   */
  arena?: Partial<ArenaConfig>;
  /**
   * A long-lived parent process: every fork copies it, and exit and munmap never pick it (they
   * take another slot instead), so its tables stay populated and shared with the children.
   */
  forkParent?: number;
  /** Runs every other scenario's races at once: each race it finds is also a cell of the scenario named for it. */
  mix?: boolean;
}

/**
 * The 2025 regression report on 1013af4f585f (kernel-history.md): a parent maps a large shared
 * hugetlb file, children fork, touch a few pages and exit, and every exit unshares every shared
 * PMD table of the child. The model's mapping is one PUD-sized VMA per file, so "many PUD ranges"
 * is many files: 8 files × 8 processes, every table shared by up to 8 (128 VMA slots: a mapping
 * and a split spare per process and file; PMD pages for every (process, file) unshared at once,
 * plus the PUD pages and RCU-pending frees; a folio per file page).
 */
const STORM_FILES = 8;
const STORM_MMS = 8;
const STORM_ARENA: Partial<ArenaConfig> = {
  mms: STORM_MMS,
  files: STORM_FILES,
  vmas: 2 * STORM_MMS * STORM_FILES,
  pages: 3 * STORM_MMS * STORM_FILES,
  folios: STORM_FILES * 512,
};

/**
 * Destroyers every walker scenario runs: unsharing (madvise, truncate, mprotect) and table freeing
 * (munmap, exit). The VMA split is not among them: before 6.16 it races with faults itself
 * (CVE-2025-38084), which `split-reshare` and `mixed` show; mprotect's unshare has the same locks
 * as the split's may_split unshare, so the walker scenarios keep that window.
 */
const DESTROY = { 'madvise-dontneed': 3, truncate: 3, munmap: 3, exit: 1, mprotect: 2 } as const;

function walkerScenario(site: Site, description: string, extra: Partial<Record<string, number>> = {}): Scenario {
  return { name: site, description, targets: [site], weights: { ...DESTROY, fault: 6, [site]: 8, ...extra } };
}

export const SCENARIOS: readonly Scenario[] = [
  { name: 'fault-unshare', description: 'fault (huge_pte_alloc, install under the ptl) vs unmap of a sharer', targets: ['fault'], weights: { ...DESTROY, fault: 12 } },
  // 6.2's populate race (349d1670008d, model-notes): fault B must find no table to share, so both
  // processes' PUD entries must be empty at once: two processes, one file. madvise's unshare is the
  // fault's partner where nothing guards the walk (none).
  {
    name: 'fault-populate',
    description: "two faults of one mm populate its PUD entry at once: huge_pmd_share (the shared page's ptl) vs pmd_alloc (page_table_lock)",
    targets: ['fault'],
    weights: { fault: 12, munmap: 3, exit: 1, 'madvise-dontneed': 2 },
    hotSlots: 8,
    arena: { mms: 2, files: 1 },
  },
  walkerScenario('uffd-must-wait', 'userfaultfd_huge_must_wait vs truncate/hole punch + last sharer exit'),
  // fork shares the parent's table from the child (huge_pmd_share under copy_hugetlb_page_range).
  { name: 'pmd-share-walk', description: "huge_pmd_share's walk of another mm (i_mmap read) vs that mm's unmap/exit", targets: ['pmd-share'], weights: { ...DESTROY, munmap: 6, exit: 3, fault: 12, fork: 1 } },
  // rmap-walk migrates folios, so follow-page also meets migration entries (patch 3's path).
  { ...walkerScenario('follow-page', 'hugetlb_follow_page_mask vs unshare + free', { 'rmap-walk': 2 }), hotSlots: 4 },
  walkerScenario('gup-slow', 'follow_hugetlb_page (incl. FOLL_NOWAIT) vs unshare + free'),
  walkerScenario('vma-maps-page', 'hugetlb_vma_maps_page (caller holds i_mmap write) vs unshare + free'),
  walkerScenario('walk-range', 'walk_hugetlb_range (smaps/pagemap) vs unshare + free'),
  // Migration that unshares (try_to_migrate_one under i_mmap write) walks the same way.
  walkerScenario('rmap-walk', 'page_vma_mapped_walk over other mms (i_mmap read) vs unshare + free', { 'rmap-unshare': 1 }),
  walkerScenario('fault-swap-entry', "hugetlb_fault's migration-entry check (patch 2) vs unshare + free", { 'rmap-walk': 2 }),
  walkerScenario('ptl-under-walker', 'a walker taking the ptl under the walker lock alone vs unshare + free'),
  // Unshares are what make a table another mm's own: weigh them up, and keep tables shared (faults).
  {
    ...walkerScenario('gup-fast', 'gup_fast (IRQs off, no locks) vs huge_pmd_unshare: the table becomes the other sharer\'s own', {
      // mprotect's unshare stands in for the split's (the split races by itself: split-reshare).
      'madvise-dontneed': 4, mprotect: 6, fault: 10,
    }),
    hotSlots: 4,
  },
  // GUP-fast holds no mmap_lock: the one walker under which the last reference to a table drops
  // (munmap/exit of its own mm). Frequent here, so a free without its grace period or IPI shows.
  {
    name: 'gup-fast-free',
    description: 'gup_fast vs free_pgtables: the last reference to a table drops while GUP-fast walks it',
    targets: ['gup-fast'],
    weights: { munmap: 6, exit: 3, fault: 10, 'gup-fast': 10 },
    hotSlots: 4,
  },
  {
    name: 'split-reshare',
    description: "VMA split vs faults re-sharing the table between may_split's unshare and the split (CVE-2025-38084)",
    targets: ['vma-split'],
    weights: { 'vma-split': 6, fault: 12, munmap: 3, exit: 1, 'madvise-dontneed': 2 },
  },
  // fork shares every table of the parent (copy_hugetlb_page_range), faults touch a few pages, exit
  // (exit_mmap) unshares every table the child shares: the sync IPI per unshare (6.16) or per
  // gather (6.19). munmap of one mapping is the same unmap path for a single PUD range.
  {
    name: 'fork-exit-storm',
    description: 'children fork over a large shared hugetlb mapping, touch a few pages and exit: every exit unshares every shared PMD table (the 1013af4f585f IPI regression)',
    // Its faults race under 6.2's populate lock (fault-unshare's cell); the storm is about fork and exit.
    targets: ['fork-copy', 'pmd-share'],
    weights: { fork: 4, fault: 8, exit: 4, munmap: 1, 'madvise-dontneed': 1 },
    hotSlots: 8,
    arena: STORM_ARENA,
    forkParent: 0,
  },
  {
    name: 'mixed',
    description: 'every walker and every destroyer at once',
    mix: true,
    targets: ['fault', 'pmd-share', 'uffd-must-wait', 'follow-page', 'gup-slow', 'vma-maps-page', 'walk-range', 'rmap-walk', 'fault-swap-entry', 'gup-fast', 'vma-split', 'fork-copy'],
    weights: { ...DESTROY, 'vma-split': 1, fork: 1, 'rmap-unshare': 1, mremap: 1, fault: 6, 'uffd-must-wait': 2, 'follow-page': 2, 'gup-slow': 2, 'vma-maps-page': 2, 'walk-range': 2, 'rmap-walk': 2, 'fault-swap-entry': 2, 'gup-fast': 2 },
    // Faults and GUP-fast meet on present entries (GUP-fast only grabs what is mapped).
    hotSlots: 8,
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** Walk sites a scenario's operations exercise (a fault also walks in huge_pmd_share). */
export function sitesOf(sc: Scenario): Site[] {
  const sites = new Set<Site>();
  for (const name of Object.keys(sc.weights)) {
    const site = OPS[Op[name]!]?.site;
    if (site) sites.add(site);
    if (name === 'fault' || name === 'gup-slow' || name === 'fault-swap-entry') {
      sites.add('fault');
      sites.add('pmd-share');
    }
    if (name === 'fork') sites.add('pmd-share');
  }
  return [...sites];
}

export type Expected = 'race' | 'safe';

/**
 * race when a site the scenario is named for (its targets) is unsafe in the mode. Other sites it
 * exercises may race too (a walker scenario's faults under 6.2's populate lock): those cells are
 * their own scenarios' (fault-unshare).
 */
export function expected(sc: Scenario, mode: ModeTable): Expected {
  return openTargetsOf(sc, mode).length === 0 ? 'safe' : 'race';
}

/** The sites a scenario is named for that `mode` leaves open: where a run or hunt aimed at it stops. */
export function openTargetsOf(sc: Scenario, mode: ModeTable): Site[] {
  return sc.targets.filter((site) => !siteSafe(mode, site));
}

/**
 * Windows a race decided by one rule lives in, for a cell whose open sites are all decided by it:
 * 6.2's populate race needs a fault that shares, walks and waits to install while another fault
 * of the same mm sits between pud_present and pud_populate — rare with every point widened equally.
 */
const RULE_WINDOWS: Partial<Record<SafetyStep['rule'], readonly string[]>> = {
  'populate-lock': ['pmd-alloc:0.5:1000', 'fault-install:0.5:1000'],
};

/** The widening that aims at the race of `sites` under `mode`: `base`, with the rule's windows held open where one rule decides them all. */
export function raceWidening<W extends { prob: number; us: number; points?: readonly string[] | undefined }>(mode: ModeTable, sites: readonly Site[], base: W): W {
  const rules = new Set(sites.map((s) => siteVerdict(mode, s).steps.at(-1)?.rule));
  const only = rules.size === 1 ? [...rules][0] : undefined;
  const points = only === undefined ? undefined : RULE_WINDOWS[only];
  return points ? { ...base, points } : base;
}

export function truthTable(): Array<{ scenario: string; description: string; expected: Record<string, Expected> }> {
  return SCENARIOS.map((sc) => ({
    scenario: sc.name,
    description: sc.description,
    expected: Object.fromEntries(MODES.map((m) => [m.name, expected(sc, m)])),
  }));
}
