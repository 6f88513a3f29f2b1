/**
 * The live progress line (elapsed / ETA, ops/s, violations). Only on a TTY and never with
 * --quiet: a pipe or CI log gets no animation at all.
 */
import type { LiveStat } from '../src/engine/engine.js';
import { int } from '../src/report/report-text.js';
import type { Paint } from '../src/report/color.js';

export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(s: string): boolean;
}

export class Progress {
  private shown = false;
  private lastOps = 0;
  private lastMs = 0;
  /** Prefix shown before the figures (e.g. the mode in compare). */
  label = '';

  constructor(
    private readonly out: ProgressTarget,
    readonly enabled: boolean,
    private readonly paint: Paint,
    /** Total ops of an op-bounded run, else 0. */
    private totalOps: number,
    /** Length of a time-bounded run, else 0 (or MAX_SAFE_INTEGER: until interrupted). */
    private durationMs: number,
  ) {}

  static for(out: ProgressTarget, quiet: boolean, paint: Paint, totalOps: number, durationMs: number): Progress {
    return new Progress(out, out.isTTY === true && !quiet, paint, totalOps, durationMs);
  }

  /** Start a new run (compare: one per mode). */
  reset(label: string, totalOps = this.totalOps, durationMs = this.durationMs): void {
    this.label = label;
    this.totalOps = totalOps;
    this.durationMs = durationMs;
    this.lastOps = 0;
    this.lastMs = 0;
  }

  update(s: LiveStat): void {
    if (!this.enabled) return;
    const dt = s.elapsedMs - this.lastMs;
    const rate = dt > 0 ? ((s.ops - this.lastOps) * 1000) / dt : 0;
    this.lastOps = s.ops;
    this.lastMs = s.elapsedMs;
    const avg = s.elapsedMs > 0 ? (s.ops * 1000) / s.elapsedMs : 0;
    let eta = '';
    if (this.totalOps > 0 && avg > 0) eta = ` ETA ${secs(((this.totalOps - s.ops) * 1000) / avg)}`;
    else if (this.durationMs > 0 && this.durationMs < Number.MAX_SAFE_INTEGER) eta = ` ETA ${secs(this.durationMs - s.elapsedMs)}`;
    const total = this.totalOps > 0 ? `/${int(this.totalOps)}` : '';
    const v = s.violations > 0 ? this.paint.red(`violations ${int(s.violations)}`) : `violations 0`;
    let line = `${this.label ? `${this.label}: ` : ''}${secs(s.elapsedMs)}${eta}  ops ${int(s.ops)}${total}  ${int(rate)} ops/s  ${v}`;
    const cols = this.out.columns ?? 80;
    if (line.length > cols - 1 && !this.paint.enabled) line = line.slice(0, cols - 1);
    this.out.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Erase the line before other output. */
  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }
}

function secs(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
