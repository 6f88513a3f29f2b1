/** Piscina worker entry of a controlled run: one task = one CPU of the model, under the scheduler (src/sched/task.ts). */
import { runCpu, type CpuResult, type CpuTask } from '../hugetlb/run-cpu.js';
import { runUnderScheduler, type SchedTask } from '../../sched/task.js';
import type { DeadlockReport } from '../../sched/controlled-waiter.js';

export interface ControlledTask extends Omit<CpuTask, 'waiter' | 'widen' | 'plant'> {
  sched: SchedTask;
}

export interface ControlledCpuResult extends CpuResult {
  deadlock?: DeadlockReport | undefined;
}

export default function controlledTask(task: ControlledTask): ControlledCpuResult {
  const { sched: _s, ...plain } = task;
  return runUnderScheduler(task, (waiter) => runCpu({ ...plain, widen: undefined, waiter })) ?? { cpu: task.cpu, ops: 0, status: 'aborted' };
}
