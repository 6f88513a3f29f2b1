/**
 * "Which CPU waits on what": the one reader of a CPU's block for the reports that ask it — the
 * engine's stall report, the controlled scheduler's deadlock report and every torture's hung-CPU
 * list. Each adds what only it knows (the scheduler's own blocked state, RCU and IRQ state, a
 * torture's names for its words) on top of this.
 */
import { type Arena, CPU_WORDS } from '../shared-mem/layout.js';
import { CPU_STATE_NAMES, CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { lockClassName } from './classes.js';
import { type HeldLock, readHeldLocks } from './lockdep.js';

export interface CpuSnapshot {
  cpu: number;
  /** CpuState, and its name. */
  state: number;
  stateName: string;
  /** Operation in progress: op id + 1, 0 between operations (the caller names it). */
  curOp: number;
  /** Named point last passed (the caller names it). */
  lastPoint: number;
  /** Word it sleeps on (-1 = none), the value it sleeps on, and the word's value now. */
  waitOn: number;
  waitVal: number;
  wordNow: number;
  /** Lock class it is acquiring (CpuField.WAIT_CLASS; -1 = none), and its name or '-'. */
  waitClassId: number;
  waitClass: string;
  /** Its lockdep-lite held-lock stack. */
  held: HeldLock[];
  /** Blocked although its word no longer holds the value it sleeps on: a lost wake-up. */
  lostWakeup: boolean;
}

export function cpuSnapshot(arena: Arena, cpu: number): CpuSnapshot {
  const mem = arena.mem;
  const b = arena.base('cpu') + cpu * CPU_WORDS;
  const g = (f: number): number => Atomics.load(mem, b + f);
  const state = g(CpuField.STATE);
  const waitOn = g(CpuField.WAIT_ON);
  const waitVal = g(CpuField.WAIT_VAL);
  const wordNow = waitOn >= 0 ? Atomics.load(mem, waitOn) : 0;
  const waitClassId = g(CpuField.WAIT_CLASS);
  return {
    cpu,
    state,
    stateName: CPU_STATE_NAMES[state] ?? '?',
    curOp: g(CpuField.CUR_OP),
    lastPoint: g(CpuField.LAST_POINT),
    waitOn,
    waitVal,
    wordNow,
    waitClassId,
    waitClass: waitClassId >= 0 ? lockClassName(waitClassId) : '-',
    held: readHeldLocks(arena, cpu),
    lostWakeup: state === CpuState.blocked && waitOn >= 0 && wordNow !== waitVal,
  };
}

/** Every CPU of the arena. */
export function cpuSnapshots(arena: Arena): CpuSnapshot[] {
  return Array.from({ length: arena.config.cpus }, (_, c) => cpuSnapshot(arena, c));
}
