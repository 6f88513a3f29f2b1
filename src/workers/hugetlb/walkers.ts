/**
 * The page-table walkers of the RFC (patches 5-11), each a hugetlb_walk() followed by a
 * dereference of the page it returned, under the guard its mode gives it.
 */
import type { Kernel } from './kernel.js';
import { Folio, Pte, VmaFlag, mkPte, pteFolio } from './structs.js';
import type { Site } from './modes.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { Pt } from './points.js';
import { hugetlbFaultLocked, folioOf, vmaCovering } from './fault.js';
import { hugePtepGet, setHugePteAt } from './pte.js';

/**
 * Shared skeleton of a walker in its own mm: mmap_lock read, guard, hugetlb_walk, then `deref`.
 * Returns false when the VMA was unmapped or a non-sleeping trylock failed.
 */
function ownMmWalk(k: Kernel, site: Site, vma: number, deref: () => void, mayNotSleep = false): boolean {
  const s = k.s;
  const mm = s.vmaMm(vma);
  const file = s.vmaFile(vma);
  k.mmapRead(mm);
  try {
    if ((s.vmaFlags(vma) & VmaFlag.MAPPED) === 0) return false;
    if (!k.guardEnter(site, vma, file, mayNotSleep)) return false;
    try {
      if (k.hugetlbWalk(site, vma)) {
        k.cpu.point(Pt['walk-deref']);
        deref();
      }
    } finally {
      k.guardExit(site, vma, file);
    }
    return true;
  } finally {
    k.mmapReadUnlock(mm);
  }
}

/** A lockless huge_ptep_get(ptep) of the walked page. */
function readEntry(k: Kernel, site: Site, slot: number): number {
  const v = hugePtepGet(k, k.pool.entry(k.wPage, slot));
  const oc = k.check(site, Access.read, slot, v);
  return oc === Oc.ok || oc === Oc['stale-read'] ? v : -1;
}

/**
 * huge_pte_lock on the walked page, check, `body(entryAt)` under the lock, unlock.
 * Returns what body returned, or undefined when the check failed.
 */
function underPtl<T>(k: Kernel, site: Site, slot: number, access: number, body: (at: number) => T): T | undefined {
  const page = k.wPage;
  k.ptlLock(page);
  try {
    k.cpu.point(Pt['walk-ptl']);
    const at = k.pool.entry(page, slot);
    if (k.check(site, access, slot, hugePtepGet(k, at)) !== Oc.ok) return undefined;
    return body(at);
  } finally {
    k.ptlUnlock(page);
  }
}

/** userfaultfd_huge_must_wait: must the faulting thread wait? (entry none, or uffd-wp marked). */
export function opUffdMustWait(k: Kernel, vma: number, slot: number): void {
  ownMmWalk(k, 'uffd-must-wait', vma, () => {
    readEntry(k, 'uffd-must-wait', slot);
  });
}

/** try_grab_folio / folio_put around a GUP reference. */
function grabFolio(k: Kernel, pte: number): void {
  const f = k.s.folio(pteFolio(pte)) + Folio.REF;
  Atomics.add(k.mem, f, 1);
  Atomics.sub(k.mem, f, 1);
}

/**
 * hugetlb_follow_page_mask: walk, huge_pte_lock, read, grab the folio. On a migration entry,
 * before patch 3 it waits for the migration (sleeping); with a walker lock held it must not
 * sleep, so patch 3 returns without waiting.
 */
export function opFollowPage(k: Kernel, vma: number, slot: number): void {
  ownMmWalk(k, 'follow-page', vma, () => {
    underPtl(k, 'follow-page', slot, Access.write, (at) => {
      const pte = hugePtepGet(k, at);
      if ((pte & Pte.PRESENT) !== 0) grabFolio(k, pte);
      else if ((pte & Pte.MIGRATION) !== 0) {
        if (k.mode.walkerLock === 'none') {
          k.count(C.MIGRATION_WAITS);
          k.cpu.point(Pt['walk-ptl']); // __migration_entry_wait_huge would sleep here
        } else k.count(C.MIGRATION_NOWAIT); // patch 3: no sleeping under the walker lock
      }
    });
  });
}

/**
 * follow_hugetlb_page (GUP slow path): walk, lock, grab; a missing entry is faulted in. Half of
 * the calls are FOLL_NOWAIT: they may not sleep, so a contended vma lock means -EAGAIN.
 */
export function opGupSlow(k: Kernel, vma: number, slot: number, noWait: boolean): void {
  let needFault = false;
  const ran = ownMmWalk(
    k,
    'gup-slow',
    vma,
    () => {
      const got = underPtl(k, 'gup-slow', slot, Access.write, (at) => {
        const pte = hugePtepGet(k, at);
        if ((pte & Pte.PRESENT) !== 0) grabFolio(k, pte);
        return pte;
      });
      needFault = got === 0 && !noWait;
    },
    noWait,
  );
  if (!ran) k.count(C.FAILS + Op['gup-slow']!);
  if (needFault) {
    const mm = k.s.vmaMm(vma);
    k.mmapRead(mm);
    try {
      const v = vmaCovering(k, vma, slot); // find_vma: the half of a split mapping that holds the slot
      if (v >= 0) hugetlbFaultLocked(k, v, slot);
    } finally {
      k.mmapReadUnlock(mm);
    }
  }
}

/**
 * hugetlb_unmap_file_folio → hugetlb_vma_maps_page: for every VMA of the file (other mms, no
 * mmap_lock), does its entry map the folio? The caller holds i_mmap_rwsem write (per the mode).
 */
export function opVmaMapsPage(k: Kernel, file: number, slot: number): void {
  const s = k.s;
  const folio = folioOf(k, file, slot);
  const n = s.fileVmaCount(file);
  const first = s.fileVma(file, 0);
  if (!k.guardEnter('vma-maps-page', first, file)) return;
  try {
    for (let i = 0; i < n; i++) {
      const v = s.fileVma(file, i);
      if ((s.vmaFlags(v) & VmaFlag.IN_IMMAP) === 0) continue;
      if (!k.hugetlbWalk('vma-maps-page', v)) continue;
      k.cpu.point(Pt['walk-deref']);
      const pte = readEntry(k, 'vma-maps-page', slot);
      if (pte > 0 && pteFolio(pte) === folio) continue; // maps it
    }
  } finally {
    k.guardExit('vma-maps-page', first, file);
  }
}

/** walk_hugetlb_range (smaps/pagemap): a walk and a lockless read per huge page of a range. */
export function opWalkRange(k: Kernel, vma: number, from: number, len: number): void {
  ownMmWalk(k, 'walk-range', vma, () => {
    for (let i = from; i < Math.min(from + len, k.E); i++) {
      if (i > from && !k.hugetlbWalk('walk-range', vma)) return;
      if (readEntry(k, 'walk-range', i) < 0) return;
    }
  });
}

/**
 * Page migration of one folio through rmap: try_to_migrate turns every mapping into a migration
 * entry, remove_migration_ptes restores them. Each visits the other mms' VMAs via i_mmap and
 * page_vma_mapped_walk (walk + huge_pte_lock) with no mmap_lock of those mms.
 */
export function opRmapWalk(k: Kernel, file: number, slot: number): void {
  const folio = folioOf(k, file, slot);
  rmapPass(k, file, slot, (pte) => ((pte & Pte.PRESENT) !== 0 && pteFolio(pte) === folio ? mkPte(folio, Pte.MIGRATION) : pte));
  k.cpu.point(Pt['op-gap']); // the copy: migration entries stay visible to faults meanwhile
  rmapPass(k, file, slot, (pte) => ((pte & Pte.MIGRATION) !== 0 && pteFolio(pte) === folio ? mkPte(folio, Pte.PRESENT | Pte.WRITE) : pte));
}

function rmapPass(k: Kernel, file: number, slot: number, update: (pte: number) => number): void {
  const s = k.s;
  const n = s.fileVmaCount(file);
  const first = s.fileVma(file, 0);
  if (!k.guardEnter('rmap-walk', first, file)) return;
  try {
    for (let i = 0; i < n; i++) {
      const v = s.fileVma(file, i);
      if ((s.vmaFlags(v) & VmaFlag.IN_IMMAP) === 0) continue;
      if (!k.hugetlbWalk('rmap-walk', v)) continue;
      k.cpu.point(Pt['walk-deref']);
      underPtl(k, 'rmap-walk', slot, Access.write, (at) => {
        const pte = hugePtepGet(k, at);
        const next = update(pte);
        if (next !== pte) setHugePteAt(k, at, next);
      });
    }
  } finally {
    k.guardExit('rmap-walk', first, file);
  }
}

/** A walker that takes the ptl under the walker lock alone and modifies the entry (the RFC warns: don't). */
export function opPtlUnderWalker(k: Kernel, vma: number, slot: number): void {
  ownMmWalk(k, 'ptl-under-walker', vma, () => {
    underPtl(k, 'ptl-under-walker', slot, Access.lock, (at) => {
      const pte = hugePtepGet(k, at);
      if ((pte & Pte.PRESENT) !== 0) setHugePteAt(k, at, pte | Pte.WRITE); // huge_ptep_set_access_flags
    });
  });
}
