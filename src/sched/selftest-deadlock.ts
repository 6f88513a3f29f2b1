/**
 * Self-test task for the controlled waiter's deadlock detection (tests only): two CPUs take two
 * mutexes in opposite orders (AB-BA) with a yield point in between. Under a controlled
 * scheduler some schedules deadlock; the waiter must then report each CPU's held locks and what
 * it waits on instead of hanging.
 */
import { Arena, type ArenaConfig } from '../shared-mem/layout.js';
import { RunAborted } from '../locks/ctx.js';
import { LockClass } from '../locks/classes.js';
import { LockTracker } from '../locks/tracker.js';
import { Cpu } from '../workers/cpu.js';
import { ControlledWaiter, type DeadlockReport } from './controlled-waiter.js';
import type { SchedSpec } from './scheduler.js';

export interface DeadlockSelftestTask {
  buffer: SharedArrayBuffer;
  arena: ArenaConfig;
  cpu: number;
  rounds: number;
  sched: { buffer: SharedArrayBuffer; spec: SchedSpec; replayCap: number };
}

export interface DeadlockSelftestResult {
  cpu: number;
  status: 'ok' | 'aborted';
  rounds: number;
  deadlock?: DeadlockReport | undefined;
}

export default function deadlockSelftest(t: DeadlockSelftestTask): DeadlockSelftestResult {
  const arena = Arena.attach(t.buffer, t.arena);
  const w = new ControlledWaiter(t.sched.buffer, arena, t.cpu, t.sched.spec, t.sched.replayCap);
  if (!w.waitTurn()) return { cpu: t.cpu, status: 'aborted', rounds: 0 };
  const cpu = new Cpu(arena, t.cpu, { seed: 1, waiter: w });
  const locks = new LockTracker(cpu, { lockstat: false });
  const a = arena.base('scratch');
  const b = a + 16;
  const [first, second, c1, c2] = t.cpu === 0 ? [a, b, LockClass.mmap_lock, LockClass.i_mmap_rwsem] : [b, a, LockClass.i_mmap_rwsem, LockClass.mmap_lock];
  let done = 0;
  let status: 'ok' | 'aborted' = 'ok';
  try {
    for (; done < t.rounds; done++) {
      locks.mutexLock(c1, first);
      cpu.point(0);
      locks.mutexLock(c2, second);
      locks.mutexUnlock(c2, second);
      locks.mutexUnlock(c1, first);
      cpu.point(0);
    }
  } catch (e) {
    if (!(e instanceof RunAborted)) throw e;
    status = 'aborted';
  }
  w.finish(status);
  return { cpu: t.cpu, status, rounds: done, deadlock: w.deadlock };
}
