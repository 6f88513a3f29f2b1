/**
 * Lockless GUP-fast (mm/gup.c): gup_fast → gup_fast_pgd_range → … → gup_fast_pud_range →
 * gup_fast_pmd_range → gup_fast_pmd_leaf for a huge PMD. It runs with interrupts disabled
 * (local_irq_save) and takes no lock of any kind — no mmap_lock, no vma lock, no i_mmap_rwsem,
 * no ptl — and does not call hugetlb_walk(). It reads the PUD entry, then the PMD entry
 * (pmdp_get_lockless), grabs the folio (try_grab_folio_fast), and rechecks that the PMD entry is
 * unchanged; it never rechecks the PUD entry. What keeps the table under it is how tables are
 * freed (an RCU grace period or an IPI, both of which wait for IRQ-off CPUs) and, since
 * 1013af4f585f, how they stop being shared (tlb_remove_table_sync_one).
 */
import type { Kernel } from './kernel.js';
import { Folio, Pte, pteFolio } from './structs.js';
import { Oc } from './outcomes.js';
import { Access } from './violations.js';
import { C } from './stats.js';
import { Op } from './ops-list.js';
import { Pt } from './points.js';
import { hugePtepGet } from './pte.js';

/**
 * get_user_pages_fast on one huge page of a VMA. The model's RCU grace period does not look at
 * IRQ-disabled CPUs, while the kernel's does (one RCU flavour since v4.20: synchronize_rcu and
 * call_rcu also wait for preempt- and IRQ-disabled regions); so under RCU table free the walk is
 * also an RCU read-side section — the same guarantee, stated to the model.
 */
export function opGupFast(k: Kernel, vma: number, slot: number): void {
  const flags = gupFastBegin(k);
  let grabbed = false;
  try {
    grabbed = gupFastPmdRange(k, vma, slot);
  } finally {
    gupFastEnd(k, flags);
  }
  // Not grabbed: the caller falls back to the slow path (counted, not modelled here).
  if (!grabbed) k.count(C.FAILS + Op['gup-fast']!);
}

/** GUP-fast's protection: IRQs off (local_irq_save) and, under RCU table free, the read side. */
export function gupFastBegin(k: Kernel): number {
  const flags = k.irq.localIrqSave();
  if (k.tableFreeRcu) k.rcu.rcuReadLock();
  return flags;
}

export function gupFastEnd(k: Kernel, flags: number): void {
  if (k.tableFreeRcu) k.rcu.rcuReadUnlock();
  k.irq.localIrqRestore(flags);
}

/** The PUD step and the PMD leaf; true when a folio reference was taken (and dropped again). */
function gupFastPmdRange(k: Kernel, vma: number, slot: number): boolean {
  if (!k.pudWalk('gup-fast', vma)) return false;
  k.cpu.point(Pt['walk-deref']);
  const at = k.pool.entry(k.wPage, slot);
  const orig = hugePtepGet(k, at); // pmdp_get_lockless
  if ((orig & Pte.PRESENT) === 0) return false;
  // try_grab_folio_fast: the first write through what the walk found — KASAN checks here.
  if (k.checkLockless('gup-fast', Access.getPage, slot, orig) !== Oc.ok) return false;
  const ref = k.s.folio(pteFolio(orig)) + Folio.REF;
  Atomics.add(k.mem, ref, 1);
  // The recheck of the PMD entry (never of the PUD entry): changed → gup_put_folio, fall back.
  const same = hugePtepGet(k, at) === orig;
  Atomics.sub(k.mem, ref, 1); // the caller's put_page: the op holds no reference past itself
  return same;
}
