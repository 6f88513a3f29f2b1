/**
 * The RCU-like flavours as one ops table each, as the kernel's rcutorture drives every flavour
 * through `struct rcu_torture_ops` (readlock, readunlock, sync, call, cb_barrier, get_gp_seq):
 * `rcu` (rcu_read_lock, synchronize_rcu, call_rcu) and `irq` (local_irq_disable as the read side,
 * an acknowledged TLB-shootdown IPI as the grace period — the RFC's walker lock without RCU table
 * free; like the kernel's RCU-sched flavour, whose read side is disabling preemption). The same
 * object serves the model's walker lock and the RCU/IPI torture, so a new flavour is one table.
 */
import type { Rcu } from './rcu.js';
import { RcuG } from './rcu.js';
import type { Irq } from './irq.js';
import { IpiG } from './irq.js';

export type RcuFlavourName = 'rcu' | 'irq';

export interface RcuFlavourOps {
  readonly name: RcuFlavourName;
  /** rcu_read_lock() / local_irq_disable(). */
  readLock(): void;
  readUnlock(): void;
  /** A section nested in one already held (rcu_read_lock() again / local_irq_save()); pass the token to readUnlockNested. */
  readLockNested(): number;
  readUnlockNested(token: number): void;
  /** synchronize_rcu() / a TLB shootdown: returns once every section that began before has ended. */
  sync(): void;
  /** The flavour has an asynchronous grace period (call_rcu). */
  readonly hasCall: boolean;
  /** call_rcu(kind, arg); only when hasCall. */
  call(kind: number, arg: number): void;
  /** Handler for `call`'s kind (a no-op without call). */
  onCallback(kind: number, fn: (arg: number) => void): void;
  /** rcu_barrier(): every call queued before has run (a no-op without call). */
  barrier(): void;
  /** Arena word counting completed grace periods (shootdowns): rcutorture's get_gp_seq, for Reader Batch. */
  readonly gpCountAt: number;
}

class RcuOps implements RcuFlavourOps {
  readonly name = 'rcu';
  readonly hasCall = true;
  readonly gpCountAt: number;
  constructor(private readonly rcu: Rcu) {
    this.gpCountAt = rcu.ctx.arena.base('rcu') + RcuG.GPS;
  }
  readLock(): void {
    this.rcu.rcuReadLock();
  }
  readUnlock(): void {
    this.rcu.rcuReadUnlock();
  }
  readLockNested(): number {
    this.rcu.rcuReadLock();
    return 0;
  }
  readUnlockNested(): void {
    this.rcu.rcuReadUnlock();
  }
  sync(): void {
    this.rcu.synchronizeRcu();
  }
  call(kind: number, arg: number): void {
    this.rcu.callRcu(kind, arg);
  }
  onCallback(kind: number, fn: (arg: number) => void): void {
    this.rcu.onCallback(kind, fn);
  }
  barrier(): void {
    this.rcu.rcuBarrier();
  }
}

class IrqOps implements RcuFlavourOps {
  readonly name = 'irq';
  readonly hasCall = false;
  readonly gpCountAt: number;
  constructor(private readonly irq: Irq) {
    this.gpCountAt = irq.ctx.arena.base('ipi') + IpiG.SHOOTDOWNS;
  }
  readLock(): void {
    this.irq.localIrqDisable();
  }
  readUnlock(): void {
    this.irq.localIrqEnable();
  }
  readLockNested(): number {
    return this.irq.localIrqSave();
  }
  readUnlockNested(flags: number): void {
    this.irq.localIrqRestore(flags);
  }
  sync(): void {
    this.irq.tlbShootdown();
  }
  call(): void {
    throw new Error('the irq flavour has no call_rcu: retire with sync()');
  }
  onCallback(): void {}
  barrier(): void {}
}

export function rcuOps(rcu: Rcu): RcuFlavourOps {
  return new RcuOps(rcu);
}

export function irqOps(irq: Irq): RcuFlavourOps {
  return new IrqOps(irq);
}

/** The flavour a walker-lock name selects (null: no walker lock). */
export function rcuFlavour(name: RcuFlavourName | 'none', rcu: Rcu, irq: Irq): RcuFlavourOps | null {
  return name === 'rcu' ? rcuOps(rcu) : name === 'irq' ? irqOps(irq) : null;
}
