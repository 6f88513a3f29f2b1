/**
 * Migration of a shared hugetlb folio through rmap, the walk that may unshare (mm/migrate.c,
 * mm/rmap.c): unmap_and_move_huge_page takes the file's i_mmap_rwsem for write
 * (hugetlb_folio_mapping_lock_write, a trylock), try_to_migrate(TTU_RMAP_LOCKED) visits every
 * VMA: try_to_migrate_one takes the hugetlb vma lock with hugetlb_vma_trylock_write (lock order:
 * the vma lock comes before i_mmap_rwsem) and calls huge_pmd_unshare — if the table was shared,
 * this mm just loses it and no migration entry is written; else the entry becomes a migration
 * entry. remove_migration_ptes(RMP_LOCKED) restores the entries, still under i_mmap write.
 * try_to_unmap_one (memory failure, hwpoison_user_mappings) has the same locking.
 */
import { LockClass } from '../../locks/classes.js';
import type { Kernel } from './kernel.js';
import { Pte, VmaFlag, mkPte, pteFolio } from './structs.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { Pt } from './points.js';
import { folioOf } from './fault.js';
import { hugePmdUnshare } from './unshare.js';
import { hugePtepGet, setHugePteAt } from './pte.js';

/** One rmap pass over the file's VMAs; `unshare` for try_to_migrate, not for remove_migration_ptes. */
function rmapPassLocked(k: Kernel, file: number, slot: number, unshare: boolean, update: (pte: number) => number): void {
  const s = k.s;
  const n = s.fileVmaCount(file);
  const vmaLock = k.mode.unshare.vmaLockWrite;
  for (let i = 0; i < n; i++) {
    const v = s.fileVma(file, i);
    if ((s.vmaFlags(v) & VmaFlag.IN_IMMAP) === 0 || slot < s.vmaStart(v) || slot >= s.vmaEnd(v)) continue;
    // try_to_migrate_one: a failed trylock ends the walk (the migration fails for this folio).
    if (unshare && vmaLock && !k.locks.downWriteTrylock(LockClass.hugetlb_vma_lock, k.vmaLockAt(v))) {
      k.count(C.FAILS + Op['rmap-unshare']!);
      return;
    }
    try {
      if (!k.hugetlbWalk('rmap-walk', v)) continue;
      k.cpu.point(Pt['walk-deref']);
      const page = k.wPage;
      k.ptlLock(page);
      try {
        const at = k.pool.entry(page, slot);
        if (k.check('rmap-walk', Access.write, slot, hugePtepGet(k, at)) !== Oc.ok) continue;
        if (unshare && hugePmdUnshare(k, v, page)) continue;
        const pte = hugePtepGet(k, at);
        const next = update(pte);
        if (next !== pte) setHugePteAt(k, at, next);
      } finally {
        k.ptlUnlock(page);
      }
    } finally {
      if (unshare && vmaLock) k.locks.upWrite(LockClass.hugetlb_vma_lock, k.vmaLockAt(v));
    }
  }
}

/** Migrate the folio at (file, slot): try_to_migrate (may unshare), the copy, remove_migration_ptes. */
export function opRmapUnshare(k: Kernel, file: number, slot: number): void {
  const locked = k.mode.unshare.iMmapWrite;
  if (locked && !k.locks.downWriteTrylock(LockClass.i_mmap_rwsem, k.iMmapAt(file))) {
    k.count(C.FAILS + Op['rmap-unshare']!);
    return;
  }
  try {
    const folio = folioOf(k, file, slot);
    rmapPassLocked(k, file, slot, true, (pte) => ((pte & Pte.PRESENT) !== 0 && pteFolio(pte) === folio ? mkPte(folio, Pte.MIGRATION) : pte));
    k.cpu.point(Pt['op-gap']); // the copy: migration entries stay visible to faults meanwhile
    rmapPassLocked(k, file, slot, false, (pte) => ((pte & Pte.MIGRATION) !== 0 && pteFolio(pte) === folio ? mkPte(folio, Pte.PRESENT | Pte.WRITE) : pte));
  } finally {
    k.beforeIMmapRelease();
    if (locked) k.locks.upWrite(LockClass.i_mmap_rwsem, k.iMmapAt(file));
  }
}
