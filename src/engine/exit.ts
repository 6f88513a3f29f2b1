/**
 * How a command ends: one exit code per outcome, and the error for bad input. Every command and
 * every library part a command calls (output files, shards, design files, report files) use
 * these, so a code means the same everywhere (README "Exit codes").
 */
import type { RunStatus } from './engine.js';

export const EXIT = { ok: 0, violations: 1, usage: 2, internal: 3, stall: 4, interrupted: 130 } as const;

export function exitCodeFor(status: RunStatus): number {
  switch (status) {
    case 'ok':
      return EXIT.ok;
    case 'violations':
      return EXIT.violations;
    case 'crashed':
      return EXIT.internal;
    case 'stalled':
      return EXIT.stall;
    case 'interrupted':
      return EXIT.interrupted;
  }
}

/** Bad usage: printed as `pmdtorture <cmd>: <flag>: <message>` on one line, exit 2. */
export class UsageError extends Error {
  constructor(
    readonly flag: string,
    message: string,
  ) {
    super(flag ? `${flag}: ${message}` : message);
    this.name = 'UsageError';
  }
}
