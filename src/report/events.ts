/**
 * --events FILE: an NDJSON stream, one JSON object a line, written as things happen (so a
 * killed run leaves every line so far): `start`, periodic `stat`, every recorded `violation`,
 * soak `round`s, and `end` with the status. Lines are written synchronously and nothing is
 * kept in memory.
 */
import { OutputStream } from './out-file.js';
import type { LiveStat } from '../engine/engine.js';
import type { ViolationRecord } from '../workers/hugetlb/violations.js';

export type EventLine =
  | { type: 'start'; t: string; command: string; seed: number; seeds?: number[]; mode: string; scenario: string; cpus: number }
  | { type: 'stat'; t: string; mode: string; elapsedMs: number; ops: number; opsPerSecond: number; violations: number; gracePeriods: number; rcuBacklog: number; pool: LiveStat['pool']; rssBytes: number; rssAnonBytes?: number; heapUsedBytes: number; externalBytes: number; arrayBuffersBytes: number; round?: number }
  | { type: 'violation'; t: string; mode: string; seq: number; violation: ViolationRecord; round?: number }
  | { type: 'round'; t: string; round: number; seed: number; status: string; ops: number; violations: number; invariantsOk: boolean; rssBytes: number }
  | { type: 'end'; t: string; status: string; exitCode: number; ops: number; violations: number; elapsedMs: number };

export class EventLog {
  private readonly out: OutputStream | undefined;
  /** Violations written per mode (the engine hands each one over once; this numbers them). */
  private seq = 0;

  constructor(readonly path: string | undefined) {
    if (path !== undefined) this.out = new OutputStream('--events', path);
  }

  /** Open and writing (a failed write closes it: see OutputStream). */
  get enabled(): boolean {
    return this.out?.open === true;
  }

  write(e: EventLine): void {
    this.out?.writeLine(JSON.stringify(e) + '\n');
  }

  stat(mode: string, s: LiveStat, opsPerSecond: number, round?: number): void {
    if (!this.enabled) return;
    this.write({
      type: 'stat',
      t: new Date().toISOString(),
      mode,
      elapsedMs: Math.round(s.elapsedMs),
      ops: s.ops,
      opsPerSecond: Math.round(opsPerSecond),
      violations: s.violations,
      gracePeriods: s.rcu.gracePeriods,
      rcuBacklog: s.rcu.backlog,
      pool: s.pool,
      rssBytes: s.rssBytes,
      ...(s.rssAnonBytes !== null ? { rssAnonBytes: s.rssAnonBytes } : {}),
      heapUsedBytes: s.heapUsedBytes,
      externalBytes: s.externalBytes,
      arrayBuffersBytes: s.arrayBuffersBytes,
      ...(round !== undefined ? { round } : {}),
    });
  }

  violations(mode: string, vs: readonly ViolationRecord[], round?: number): void {
    if (!this.enabled) return;
    for (const v of vs) this.write({ type: 'violation', t: new Date().toISOString(), mode, seq: this.seq++, violation: v, ...(round !== undefined ? { round } : {}) });
  }

  close(): void {
    this.out?.close();
  }
}
