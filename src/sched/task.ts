/**
 * Piscina entry of a controlled run: one task = one CPU. Functions cannot cross structured
 * clone, so the Waiter is built here from plain config (the scheduler spec and its buffer).
 * The CPU waits for its first turn before it touches anything shared, so even construction
 * happens in scheduler order.
 */
import { Arena } from '../shared-mem/layout.js';
import { runCpu, type CpuResult, type CpuTask } from '../workers/hugetlb/run-cpu.js';
import { ControlledWaiter, type DeadlockReport } from './controlled-waiter.js';
import type { SchedSpec } from './scheduler.js';

export interface ControlledTask extends Omit<CpuTask, 'waiter' | 'widen' | 'plant'> {
  sched: { buffer: SharedArrayBuffer; spec: SchedSpec; replayCap: number; yields: 'events' | 'points' };
}

export interface ControlledCpuResult extends CpuResult {
  deadlock?: DeadlockReport | undefined;
}

export default function controlledTask(task: ControlledTask): ControlledCpuResult {
  const arena = Arena.attach(task.buffer, task.arena);
  const stopAtSites = task.stopOnViolation && task.stopAtSites !== undefined;
  const w = new ControlledWaiter(task.sched.buffer, arena, task.cpu, task.sched.spec, task.sched.replayCap, task.sched.yields === 'events', stopAtSites);
  if (!w.waitTurn()) return { cpu: task.cpu, ops: 0, status: 'aborted' };
  const { sched: _s, ...plain } = task;
  const r = runCpu({ ...plain, widen: undefined, waiter: w });
  w.finish(r.status);
  return w.deadlock ? { ...r, deadlock: w.deadlock } : r;
}
