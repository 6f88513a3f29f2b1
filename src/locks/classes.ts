/**
 * Lock classes: lockdep and lock_stat work per class (all VMA locks are one class), not per
 * instance. Ids index the `lockstat` and `lockdep` regions, so they must stay < MAX_LOCK_CLASSES.
 */
import { MAX_LOCK_CLASSES } from '../shared-mem/layout.js';

export const LockClass = {
  mmap_lock: 0,
  page_table_lock: 1,
  hugetlb_vma_lock: 2,
  i_mmap_rwsem: 3,
  ptl: 4,
  hugetlb_fault_mutex: 5,
  pool_lock: 6,
  rcu_gp: 7,
  torture_spin: 8,
  torture_mutex: 9,
  torture_rwsem: 10,
  torture_a: 11,
  torture_b: 12,
  /** The per-VMA lock (vma_start_read / vma_start_write, lock_vma_under_rcu). */
  vm_lock: 13,
} as const;

export type LockClassId = number;

/** Kernel-style names, index = class id (what /proc/lock_stat and lockdep splats print). */
export const LOCK_CLASS_NAMES: readonly string[] = [
  '&mm->mmap_lock',
  '&mm->page_table_lock',
  '&vma_lock->rw_sema',
  '&mapping->i_mmap_rwsem',
  'ptlock',
  'hugetlb_fault_mutex',
  'pool_lock',
  'rcu_gp',
  'torture_spinlock',
  'torture_mutex',
  'torture_rwsem',
  'torture_lock_a',
  'torture_lock_b',
  'vm_lock',
];

if (LOCK_CLASS_NAMES.length !== Object.keys(LockClass).length || LOCK_CLASS_NAMES.length > MAX_LOCK_CLASSES) {
  throw new Error('locks/classes: LOCK_CLASS_NAMES must name every class and fit MAX_LOCK_CLASSES');
}

export function lockClassName(cls: LockClassId): string {
  return LOCK_CLASS_NAMES[cls] ?? `class${cls}`;
}
