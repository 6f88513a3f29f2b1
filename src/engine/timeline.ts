/**
 * Time series of a run (or of a whole soak, across its rounds) for the HTML report: ops/s per
 * CPU and in total, cumulative violations, RCU callback backlog, and marks (violations, stalls,
 * crashes, soak rounds). Sampled by the engine's watchdog loop. Memory is bounded whatever the
 * length of the soak: at CAPACITY points the series is halved (adjacent samples merged, the
 * interval doubled), so an 8-hour soak keeps ~CAPACITY points at a coarser step.
 */

export const TIMELINE_CAPACITY = 512;
export const TIMELINE_MAX_MARKS = 256;
/** First sampling interval; doubles each time the series is halved. */
export const TIMELINE_START_MS = 200;

export interface TimelineMark {
  tMs: number;
  kind: 'violation' | 'stall' | 'crash' | 'round' | 'interrupt';
  /** How many (violations since the previous sample), or the round number. */
  n: number;
  label: string;
}

/** The JSON form (report field `timeline`). t in ms since the first operation of the run/soak. */
export interface TimelineJson {
  intervalMs: number;
  t: number[];
  /** ops/s over the interval ending at t[i], per CPU: perCpu[cpu][i]. */
  perCpu: number[][];
  total: number[];
  /** Violations so far (cumulative) at t[i]. */
  violations: number[];
  /** Peak of RCU callbacks queued and not yet invoked over the interval ending at t[i]. */
  rcuBacklog: number[];
  marks: TimelineMark[];
  /** Marks dropped once TIMELINE_MAX_MARKS were kept. */
  marksDropped: number;
}

export interface TimelineSample {
  /** ms since this run's start. */
  elapsedMs: number;
  opsPerCpu: readonly number[];
  violations: number;
  /** RCU callback backlog (its peak since the previous call, or an instant value). */
  rcuBacklog: number;
}

export class Timeline {
  intervalMs = TIMELINE_START_MS;
  private t: number[] = [];
  private perCpu: number[][] = [];
  private total: number[] = [];
  private viol: number[] = [];
  private backlog: number[] = [];
  private marks: TimelineMark[] = [];
  private marksDropped = 0;
  /** Offset of the current run (soak round) on the common time axis. */
  private offsetMs = 0;
  private lastT = 0;
  private lastOps: number[] = [];
  private violBase = 0;
  private lastViol = 0;
  private lastSampleAt = -Infinity;
  /** Largest rcuBacklog passed since the last recorded sample (calls between samples count). */
  private backlogPeak = 0;

  /** Begin a run (a soak round): its times continue where the previous run ended. */
  beginRun(cpus: number, round?: number): void {
    this.offsetMs = this.t.length > 0 ? this.endMs : this.offsetMs;
    this.lastT = this.offsetMs;
    this.lastOps = new Array<number>(cpus).fill(0);
    this.violBase = this.lastViol;
    this.lastSampleAt = -Infinity;
    while (this.perCpu.length < cpus) this.perCpu.push(new Array<number>(this.t.length).fill(0));
    if (round !== undefined) this.markRound(round);
  }

  /**
   * Mark the start of soak round `round` (none for round 0: the chart starts there) where the
   * next run begins on the common axis. The soak calls it before each round: the engine's
   * beginRun does not know the round.
   */
  markRound(round: number): void {
    if (round > 0) this.mark({ tMs: this.endMs, kind: 'round', n: round, label: `round ${round}` });
  }

  get endMs(): number {
    return this.t.length > 0 ? this.t[this.t.length - 1]! : this.offsetMs;
  }

  /** Take a sample if the interval has passed (or `force`, at the end of a run). */
  sample(s: TimelineSample, force = false): void {
    this.backlogPeak = Math.max(this.backlogPeak, s.rcuBacklog);
    if (!force && s.elapsedMs - this.lastSampleAt < this.intervalMs) return;
    this.lastSampleAt = s.elapsedMs;
    const t = this.offsetMs + s.elapsedMs;
    const dt = Math.max(1e-3, t - this.lastT) / 1000;
    let sum = 0;
    for (let c = 0; c < this.perCpu.length; c++) {
      const now = s.opsPerCpu[c] ?? this.lastOps[c] ?? 0;
      const rate = Math.max(0, now - (this.lastOps[c] ?? 0)) / dt;
      this.lastOps[c] = now;
      this.perCpu[c]!.push(Math.round(rate));
      sum += rate;
    }
    const v = this.violBase + s.violations;
    if (v > this.lastViol) this.mark({ tMs: t, kind: 'violation', n: v - this.lastViol, label: `${v - this.lastViol} violation${v - this.lastViol > 1 ? 's' : ''}` });
    this.lastViol = v;
    this.t.push(Math.round(t));
    this.total.push(Math.round(sum));
    this.viol.push(v);
    this.backlog.push(this.backlogPeak);
    this.backlogPeak = 0;
    this.lastT = t;
    if (this.t.length >= TIMELINE_CAPACITY) this.halve();
  }

  mark(m: TimelineMark): void {
    if (this.marks.length < TIMELINE_MAX_MARKS) this.marks.push({ ...m, tMs: Math.round(m.tMs) });
    else this.marksDropped++;
  }

  /** Merge adjacent samples pairwise: rates averaged (time-weighted), backlog its max, t/violations the later. */
  private halve(): void {
    const n = Math.floor(this.t.length / 2) * 2;
    const pair = <T>(a: T[], f: (x: T, y: T, i: number) => T): T[] => {
      const out: T[] = [];
      for (let i = 0; i < n; i += 2) out.push(f(a[i]!, a[i + 1]!, i));
      if (a.length > n) out.push(a[n]!);
      return out;
    };
    const t = this.t;
    const w = (i: number): [number, number] => {
      const d0 = t[i]! - (i > 0 ? t[i - 1]! : t[i]! - this.intervalMs);
      const d1 = t[i + 1]! - t[i]!;
      const d = d0 + d1;
      return d > 0 ? [d0 / d, d1 / d] : [0.5, 0.5];
    };
    const avg = (x: number, y: number, i: number): number => {
      const [a, b] = w(i);
      return Math.round(x * a + y * b);
    };
    this.perCpu = this.perCpu.map((s) => pair(s, avg));
    this.total = pair(this.total, avg);
    this.backlog = pair(this.backlog, (x, y) => Math.max(x, y));
    this.viol = pair(this.viol, (_x, y) => y);
    this.t = pair(this.t, (_x, y) => y);
    this.intervalMs *= 2;
  }

  toJSON(): TimelineJson {
    return {
      intervalMs: this.intervalMs,
      t: [...this.t],
      perCpu: this.perCpu.map((s) => [...s]),
      total: [...this.total],
      violations: [...this.viol],
      rcuBacklog: [...this.backlog],
      marks: this.marks.map((m) => ({ ...m })),
      marksDropped: this.marksDropped,
    };
  }
}
