/**
 * Self-test task for timeouts under a controlled scheduler (tests only). The lock library has
 * two timeouts — the IPI deadlock detector in waitAck and call_rcu's wait on a full ring while
 * holding locks — and under control both must read the scheduler's virtual clock, never the
 * wall clock: a descheduled or slow CPU is normal there, and the same seed must give the same
 * run. Each CPU burns `burnUs` of wall time per step to stand for a slow, oversubscribed host.
 *
 * - 'ipi-slow': CPU 2 holds a mutex for `steps` steps; CPU 1 waits for it with interrupts off;
 *   CPU 0 sends a TLB-shootdown IPI and so waits for CPU 1's acknowledgement. CPU 2 kicks CPU 0
 *   at every step (a spurious wake-up, within block()'s contract, as IPI kicks and RCU's forced
 *   quiescent states deliver them), so the detector re-checks its clock. Nothing is deadlocked:
 *   CPU 2 releases, CPU 1 acknowledges, the shootdown completes.
 * - 'ipi-deadlock': the same, but CPU 2 never releases (it waits on a word nobody changes): a
 *   real deadlock, which the detector's timeout must report deterministically.
 * - 'rcu-full': CPU 0 holds a mutex and queues more call_rcu callbacks than the ring holds;
 *   CPU 1 waits for that mutex, so nobody else can drain the ring: CPU 0 must force the drain
 *   (after RING_FULL_WAIT_MS of the CPU's clock) rather than be reported as deadlocked.
 */
import { Arena, type ArenaConfig } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { RunAborted } from '../locks/ctx.js';
import { LockClass } from '../locks/classes.js';
import { LockTracker } from '../locks/tracker.js';
import { Irq, IpiDeadlock } from '../locks/irq.js';
import { Rcu } from '../locks/rcu.js';
import { Cpu } from '../workers/cpu.js';
import { ControlledWaiter, type DeadlockReport } from './controlled-waiter.js';
import type { SchedSpec } from './scheduler.js';

export type TimeoutSelftestKind = 'ipi-slow' | 'ipi-deadlock' | 'rcu-full';

export interface TimeoutSelftestTask {
  buffer: SharedArrayBuffer;
  arena: ArenaConfig;
  cpu: number;
  kind: TimeoutSelftestKind;
  /** Steps CPU 2 holds its mutex ('ipi-slow'), callbacks CPU 0 queues ('rcu-full'). */
  steps: number;
  /** Wall time burnt per step (µs): a slow host. */
  burnUs: number;
  sched: { buffer: SharedArrayBuffer; spec: SchedSpec; replayCap: number };
}

export interface TimeoutSelftestResult {
  cpu: number;
  status: 'ok' | 'aborted' | 'ipi-deadlock' | 'error';
  error?: string | undefined;
  /** call_rcu callbacks this CPU ran. */
  callbacks: number;
  deadlock?: DeadlockReport | undefined;
}

function burn(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end) {
    // a slow host
  }
}

export default function timeoutSelftest(t: TimeoutSelftestTask): TimeoutSelftestResult {
  const arena = Arena.attach(t.buffer, t.arena);
  const w = new ControlledWaiter(t.sched.buffer, arena, t.cpu, t.sched.spec, t.sched.replayCap);
  if (!w.waitTurn()) return { cpu: t.cpu, status: 'aborted', callbacks: 0 };
  const cpu = new Cpu(arena, t.cpu, { seed: 1, waiter: w });
  cpu.setState(CpuState.running);
  const locks = new LockTracker(cpu, { lockstat: false });
  const irq = new Irq(cpu);
  const rcu = new Rcu(cpu);
  let callbacks = 0;
  rcu.onCallback(1, () => {
    callbacks++;
  });
  const m = arena.mem;
  const lockA = arena.base('scratch');
  const flag = lockA + 16;
  const never = lockA + 32;
  const step = (): void => {
    burn(t.burnUs);
    cpu.point(0);
  };
  let status: TimeoutSelftestResult['status'] = 'ok';
  let error: string | undefined;
  try {
    if (t.kind === 'rcu-full') {
      if (t.cpu === 0) {
        locks.mutexLock(LockClass.mmap_lock, lockA);
        Atomics.store(m, flag, 1);
        cpu.wake(flag, 8);
        for (let i = 0; i < t.steps; i++) {
          rcu.callRcu(1, i);
          step();
        }
        locks.mutexUnlock(LockClass.mmap_lock, lockA);
      } else {
        while (Atomics.load(m, flag) === 0) cpu.block(flag, 0);
        locks.mutexLock(LockClass.mmap_lock, lockA);
        locks.mutexUnlock(LockClass.mmap_lock, lockA);
      }
      rcu.rcuBarrier();
    } else if (t.cpu === 2) {
      locks.mutexLock(LockClass.mmap_lock, lockA);
      Atomics.store(m, flag, 1);
      cpu.wake(flag, 8);
      if (t.kind === 'ipi-deadlock') {
        for (;;) cpu.block(never, 0);
      }
      const cpu0 = arena.base('cpu');
      for (let i = 0; i < t.steps; i++) {
        step();
        const on = Atomics.load(m, cpu0 + CpuField.WAIT_ON);
        if (on >= 0) cpu.wake(on, 8);
      }
      locks.mutexUnlock(LockClass.mmap_lock, lockA);
    } else if (t.cpu === 1) {
      while (Atomics.load(m, flag) === 0) cpu.block(flag, 0);
      irq.localIrqDisable();
      Atomics.store(m, flag, 2);
      cpu.wake(flag, 8);
      locks.mutexLock(LockClass.mmap_lock, lockA);
      step();
      locks.mutexUnlock(LockClass.mmap_lock, lockA);
      irq.localIrqEnable();
    } else if (t.cpu === 0) {
      while (Atomics.load(m, flag) !== 2) cpu.block(flag, Atomics.load(m, flag));
      irq.tlbShootdown();
    }
  } catch (e) {
    if (e instanceof RunAborted) status = 'aborted';
    else if (e instanceof IpiDeadlock) {
      status = 'ipi-deadlock';
      error = e.message;
    } else {
      status = 'error';
      error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
    locks.releaseAll();
  }
  cpu.setState(status === 'ok' || status === 'aborted' ? CpuState.done : CpuState.crashed);
  w.finish(status === 'ok' ? 'ok' : status === 'aborted' ? 'aborted' : 'crashed');
  return { cpu: t.cpu, status, error, callbacks, deadlock: w.deadlock };
}
