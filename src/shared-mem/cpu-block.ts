/**
 * Fields of a per-CPU block (CPU_WORDS words in the `cpu` region). Written by the owning CPU,
 * read by anyone (the watchdog, violation reports): the first line holds what changes on every
 * operation, the rest the lockdep held-lock stack.
 */
export const CpuField = {
  /** Operations completed. */
  OPS: 0,
  /** CpuState. */
  STATE: 1,
  /** Operation in progress (op id + 1, 0 = none). */
  CUR_OP: 2,
  /** Word index this CPU blocks on, -1 when not blocked. */
  WAIT_ON: 3,
  /** Value it waits to change. */
  WAIT_VAL: 4,
  /** Bumped at every named point and every wait round: the watchdog's progress signal. */
  HEARTBEAT: 5,
  /** Lock class being acquired while blocked (-1 = none). */
  WAIT_CLASS: 6,
  /** Named point last passed. */
  LAST_POINT: 7,
  /** Held-lock stack depth (lockdep-lite). */
  HELD_DEPTH: 16,
  /** Held-lock entries: HELD_WORDS words each (lock word index, class | mode << 8). */
  HELD: 17,
} as const;

export const HELD_WORDS = 2;
export const MAX_HELD = 23;

export const CpuState = { idle: 0, running: 1, blocked: 2, done: 3, crashed: 4 } as const;
/** CpuState values by number, for reports. */
export const CPU_STATE_NAMES: readonly string[] = ['idle', 'running', 'blocked', 'done', 'crashed'];
