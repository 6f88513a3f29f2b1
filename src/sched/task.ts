/**
 * One CPU of a controlled run, whatever it runs: the Waiter is built here from plain config (the
 * scheduler spec and its buffer; functions cannot cross structured clone), the CPU waits for its
 * first turn before it touches anything shared — so even construction happens in scheduler
 * order — then the caller's body runs with the Waiter as its blocking hook. The piscina entry
 * that supplies the body is the model's (src/workers/tasks/controlled.ts), so the schedulers
 * import no model.
 */
import { Arena, type ArenaConfig } from '../shared-mem/layout.js';
import type { Waiter } from '../workers/cpu.js';
import { ControlledWaiter, type DeadlockReport, type StepNames } from './controlled-waiter.js';
import type { SchedSpec } from './scheduler.js';

/** The scheduler's part of a controlled task. */
export interface SchedTask {
  buffer: SharedArrayBuffer;
  spec: SchedSpec;
  replayCap: number;
  yields: 'events' | 'points';
  names: StepNames;
}

/** What the scheduler reads of any CPU task. */
export interface SchedCpuTask {
  buffer: SharedArrayBuffer;
  arena: ArenaConfig;
  cpu: number;
  stopOnViolation: boolean;
  stopAtSites?: readonly string[] | undefined;
  sched: SchedTask;
}

export type CpuEnd = 'ok' | 'aborted' | 'crashed';

/**
 * Run `body` as CPU task.cpu under the scheduler. Undefined when the run was aborted before this
 * CPU's first turn; otherwise the body's result, with the deadlock report if this CPU found one.
 */
export function runUnderScheduler<R extends { status: CpuEnd }>(task: SchedCpuTask, body: (waiter: Waiter) => R): (R & { deadlock?: DeadlockReport | undefined }) | undefined {
  const arena = Arena.attach(task.buffer, task.arena);
  const stopAtSites = task.stopOnViolation && task.stopAtSites !== undefined;
  const w = new ControlledWaiter(task.sched.buffer, arena, task.cpu, task.sched.spec, task.sched.replayCap, task.sched.yields === 'events', stopAtSites, task.sched.names);
  if (!w.waitTurn()) return undefined;
  const r = body(w);
  w.finish(r.status);
  return w.deadlock ? { ...r, deadlock: w.deadlock } : r;
}
