/** Piscina worker entry of a stress run: one task = one CPU for the whole run. */
import { runCpu, type CpuTask, type CpuResult } from '../hugetlb/run-cpu.js';
import { fullGc } from '../gc.js';

export default function stressTask(task: CpuTask): CpuResult {
  // A worker reused across runs (soak rounds) holds the previous runs' arenas and model objects
  // until its next full GC, which an isolate promoting so little rarely runs: collect them here,
  // at the quiescent point before this run's start barrier.
  if (task.collect === true) fullGc()();
  return runCpu(task);
}
