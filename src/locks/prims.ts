/**
 * The primitive set as one swappable table: the tracker and the torture harness call
 * primitives through it, so the busted twins (locks/busted/) drop in without other changes.
 */
import type { LockCtx } from './ctx.js';
import { spinLock, spinTrylock, spinUnlock } from './spinlock.js';
import { mutexLock, mutexTrylock, mutexUnlock } from './mutex.js';
import { downRead, downReadTrylock, downWrite, downWriteTrylock, upRead, upWrite } from './rwsem.js';

type Acquire = (ctx: LockCtx, at: number) => boolean;
type Release = (ctx: LockCtx, at: number) => void;

export interface LockPrims {
  readonly name: string;
  readonly spinLock: Acquire;
  readonly spinTrylock: Acquire;
  readonly spinUnlock: Release;
  readonly mutexLock: Acquire;
  readonly mutexTrylock: Acquire;
  readonly mutexUnlock: Release;
  readonly downRead: Acquire;
  readonly downReadTrylock: Acquire;
  readonly upRead: Release;
  readonly downWrite: Acquire;
  readonly downWriteTrylock: Acquire;
  readonly upWrite: Release;
}

export const correctPrims: LockPrims = {
  name: 'correct',
  spinLock,
  spinTrylock,
  spinUnlock,
  mutexLock,
  mutexTrylock,
  mutexUnlock,
  downRead,
  downReadTrylock,
  upRead,
  downWrite,
  downWriteTrylock,
  upWrite,
};
