/**
 * BUSTED RCU flavours on purpose, each breaking one property the rcutorture checker must catch.
 * Subclasses of the real Rcu (locks/rcu.ts), so its hot path carries no flag for them.
 */
import type { CpuCtx } from '../ctx.js';
import { Rcu } from '../rcu.js';
import { YieldPt } from '../yield-points.js';

/** synchronize_rcu() starts a grace period and returns without waiting for the readers. */
export class RcuSyncReturnsEarly extends Rcu {
  protected override waitReaders(): void {}
}

/** rcu_read_lock() counts the nesting but never publishes the reader word: grace periods cannot see the reader. */
export class RcuReaderNoPublish extends Rcu {
  override rcuReadLock(): void {
    this.readDepth++;
    if (this.controlled) this.ctx.yieldAt(YieldPt.rcuReadLock);
  }
}

export const RCU_BUSTED = {
  'sync-returns-early': RcuSyncReturnsEarly,
  'reader-no-publish': RcuReaderNoPublish,
} as const satisfies Record<string, new (ctx: CpuCtx) => Rcu>;
export type RcuBusted = keyof typeof RCU_BUSTED;
