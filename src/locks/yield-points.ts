/**
 * Yield point ids of the lock library (CpuCtx.yieldAt): where a controlled scheduler may switch
 * CPUs between two shared accesses that no trace event separates — before every lock attempt
 * (between "decided to lock" and the lock), inside rcu_read_lock/unlock and
 * local_irq_disable/enable. Id ranges: the model's named points < 100, page-table entry accesses
 * 100..119 (workers/hugetlb/pte.ts), these 120..(160), trace events EVENT_POINT_BASE (1000) + id.
 */
import { MAX_LOCK_CLASSES } from '../shared-mem/layout.js';
import { lockClassName } from './classes.js';

export const YieldPt = {
  rcuReadLock: 120,
  rcuReadUnlock: 121,
  irqDisable: 122,
  irqEnable: 123,
  /** + lock class id: about to try to take a lock of that class (lock or trylock). */
  lockAttempt: 128,
} as const;

const NAMES: Readonly<Record<number, string>> = {
  [YieldPt.rcuReadLock]: 'rcu_read_lock',
  [YieldPt.rcuReadUnlock]: 'rcu_read_unlock',
  [YieldPt.irqDisable]: 'local_irq_disable',
  [YieldPt.irqEnable]: 'local_irq_enable',
};

/** The readable name of a lock-library yield point, or undefined when `id` is not one. */
export function lockYieldName(id: number): string | undefined {
  if (id >= YieldPt.lockAttempt && id < YieldPt.lockAttempt + MAX_LOCK_CLASSES) return `pre-lock ${lockClassName(id - YieldPt.lockAttempt)}`;
  return NAMES[id];
}
