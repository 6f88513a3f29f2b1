/**
 * One lock API over lock classes and words, satisfied both by the LockTracker (lockdep-lite,
 * lock_stat, trace) and by a bare primitive table (prims.ts, or the busted twins) on one CPU, so
 * a caller such as locktorture writes each lock's ops once and runs them tracked or bare.
 */
import type { LockClassId } from './classes.js';
import type { LockCtx } from './ctx.js';
import type { LockPrims } from './prims.js';

type Acquire = (cls: LockClassId, at: number) => boolean;
type Release = (cls: LockClassId, at: number) => void;

export interface LockApi {
  spinLock: Acquire;
  spinTrylock: Acquire;
  spinUnlock: Release;
  mutexLock: Acquire;
  mutexTrylock: Acquire;
  mutexUnlock: Release;
  downRead: Acquire;
  downReadTrylock: Acquire;
  upRead: Release;
  downWrite: Acquire;
  downWriteTrylock: Acquire;
  upWrite: Release;
}

/** The bare primitives of `prims` on one CPU: the class is only a name here (nothing is tracked). */
export class BareLocks implements LockApi {
  constructor(
    private readonly ctx: LockCtx,
    private readonly p: LockPrims,
  ) {}
  spinLock(_cls: LockClassId, at: number): boolean {
    return this.p.spinLock(this.ctx, at);
  }
  spinTrylock(_cls: LockClassId, at: number): boolean {
    return this.p.spinTrylock(this.ctx, at);
  }
  spinUnlock(_cls: LockClassId, at: number): void {
    this.p.spinUnlock(this.ctx, at);
  }
  mutexLock(_cls: LockClassId, at: number): boolean {
    return this.p.mutexLock(this.ctx, at);
  }
  mutexTrylock(_cls: LockClassId, at: number): boolean {
    return this.p.mutexTrylock(this.ctx, at);
  }
  mutexUnlock(_cls: LockClassId, at: number): void {
    this.p.mutexUnlock(this.ctx, at);
  }
  downRead(_cls: LockClassId, at: number): boolean {
    return this.p.downRead(this.ctx, at);
  }
  downReadTrylock(_cls: LockClassId, at: number): boolean {
    return this.p.downReadTrylock(this.ctx, at);
  }
  upRead(_cls: LockClassId, at: number): void {
    this.p.upRead(this.ctx, at);
  }
  downWrite(_cls: LockClassId, at: number): boolean {
    return this.p.downWrite(this.ctx, at);
  }
  downWriteTrylock(_cls: LockClassId, at: number): boolean {
    return this.p.downWriteTrylock(this.ctx, at);
  }
  upWrite(_cls: LockClassId, at: number): void {
    this.p.upWrite(this.ctx, at);
  }
}
