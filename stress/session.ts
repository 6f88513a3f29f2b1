/**
 * What every stress command shares at run time: where human text and JSON go, SIGINT/SIGTERM
 * handling (first signal: finish and report; second: leave at once with 130), the report and
 * events files (opened before anything runs), the progress line, and one engine run
 * with its live stats fanned out to progress, events and status lines.
 */
import { runStress, type LiveStat, type RunConfig, type RunResult } from '../src/engine/engine.js';
import { EventLog } from '../src/report/events.js';
import { Progress } from './progress.js';
import { paintFor, type Paint } from '../src/report/color.js';
import { claimInterrupts } from './interrupt.js';
import { OutputFile } from '../src/report/out-file.js';
import { type StressArgs } from './options/stress.js';

export class Session {
  /** Where the human report goes: stdout, or stderr when stdout carries JSON. */
  readonly human: NodeJS.WriteStream;
  readonly humanPaint: Paint;
  readonly errPaint: Paint;
  readonly events: EventLog;
  readonly progress: Progress;
  readonly abort = new AbortController();
  private readonly reportOut: OutputFile | undefined;
  private readonly releaseSignals: () => void;

  constructor(readonly args: StressArgs) {
    this.reportOut = args.reportFile !== undefined ? OutputFile.open('--report', args.reportFile) : undefined;
    this.human = args.json ? process.stderr : process.stdout;
    this.humanPaint = paintFor(this.human);
    this.errPaint = paintFor(process.stderr);
    this.events = new EventLog(args.eventsFile);
    const b = args.base;
    this.progress = Progress.for(process.stderr, args.quiet, this.errPaint, b.ops, b.durationMs);
    // A signal received before this point (even while the program was loading) stops the run
    // at once, and the report is still written (interrupt.ts).
    this.releaseSignals = claimInterrupts((sig) => {
      this.progress.clear();
      process.stderr.write(`pmdtorture: ${sig}: stopping, finishing the report (send again to quit at once)\n`);
      this.abort.abort();
    });
  }

  get interrupted(): boolean {
    return this.abort.signal.aborted;
  }

  /** Human output (full report, status lines): suppressed by --quiet. */
  say(text: string): void {
    if (this.args.quiet) return;
    this.progress.clear();
    this.human.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Always printed, on stderr (the --quiet summary, notes, warnings). */
  note(text: string): void {
    this.progress.clear();
    process.stderr.write(text.endsWith('\n') ? text : text + '\n');
  }

  /**
   * One engine run. `onStat` sees every live stat (status lines); progress and events are fed
   * here. Violations go to the event stream as the engine records them, the rest at the end.
   */
  async run(cfg: Omit<RunConfig, 'signal' | 'onStat' | 'statIntervalMs'>, opts: { onStat?: (s: LiveStat, opsPerSecond: number) => void; round?: number } = {}): Promise<RunResult> {
    const statMs = this.args.statIntervalMs;
    // The engine calls back at the progress rate; events and status lines at --stat-interval.
    const tick = this.progress.enabled ? Math.min(250, statMs) : statMs;
    let lastStatMs = 0;
    let lastStatOps = 0;
    let delivered = 0;
    const result = await runStress({
      ...cfg,
      signal: this.abort.signal,
      statIntervalMs: tick,
      onStat: (s) => {
        this.progress.update(s);
        if (s.newViolations.length) {
          this.events.violations(cfg.mode, s.newViolations, opts.round);
          delivered += s.newViolations.length;
        }
        if (s.elapsedMs - lastStatMs >= statMs - tick / 2) {
          const rate = ((s.ops - lastStatOps) * 1000) / Math.max(1, s.elapsedMs - lastStatMs);
          lastStatMs = s.elapsedMs;
          lastStatOps = s.ops;
          this.events.stat(cfg.mode, s, rate, opts.round);
          opts.onStat?.(s, rate);
        }
      },
    });
    this.progress.clear();
    if (result.violations.length > delivered) this.events.violations(cfg.mode, result.violations.slice(delivered), opts.round);
    return result;
  }

  writeReport(doc: unknown): void {
    this.reportOut?.write(JSON.stringify(doc, null, 2) + '\n');
  }

  /** Machine output: the JSON report on stdout with --json. */
  printJson(doc: unknown): void {
    if (this.args.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  }

  close(): void {
    this.releaseSignals();
    this.progress.clear();
    this.events.close();
  }
}
