/** The busted primitive table (see prims.ts): each twin breaks exactly one checked property. */
import type { LockPrims } from '../prims.js';
import * as spin from './spinlock.js';
import * as mutex from './mutex.js';
import * as rwsem from './rwsem.js';

export const bustedPrims: LockPrims = {
  name: 'busted',
  spinLock: spin.spinLock,
  spinTrylock: spin.spinTrylock,
  spinUnlock: spin.spinUnlock,
  mutexLock: mutex.mutexLock,
  mutexTrylock: mutex.mutexTrylock,
  mutexUnlock: mutex.mutexUnlock,
  downRead: rwsem.downRead,
  downReadTrylock: rwsem.downReadTrylock,
  upRead: rwsem.upRead,
  downWrite: rwsem.downWrite,
  downWriteTrylock: rwsem.downWriteTrylock,
  upWrite: rwsem.upWrite,
};
