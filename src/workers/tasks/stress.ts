/** Piscina worker entry of a stress run: one task = one CPU for the whole run. */
import { runCpu, type CpuTask, type CpuResult } from '../hugetlb/run-cpu.js';

export default function stressTask(task: CpuTask): CpuResult {
  return runCpu(task);
}
