/**
 * `pmdtorture run --sched random|pct`: one controlled run instead of a parallel one. A violation
 * writes a replay file (into --out, default the current directory) that `pmdtorture replay`
 * reproduces exactly. Widening is meaningless under control (only one CPU runs) and refused.
 * Exit codes as `run`: 0 ok, 1 violation or failed invariant check, 3 crash, 4 deadlock.
 */
import { invariantsText } from '../../src/report/report-text.js';
import { controlledConfig, runControlled } from '../../src/controlled/run.js';
import type { SchedArgs } from '../options/sched.js';
import { OutputDir } from '../../src/report/out-file.js';
import { exitOnInterrupt } from '../interrupt.js';
import { UsageError } from '../../src/engine/exit.js';
import { EXIT } from '../../src/engine/exit.js';
import { replayFile, replayFileName, replayFileOf, replayFileText } from '../../src/controlled/replay-file.js';
import { formatInterleaving } from '../../src/controlled/interleaving.js';
import { type StressArgs } from '../options/stress.js';

export async function runControlledMain(args: StressArgs, sa: SchedArgs, outDir = '.'): Promise<number> {
  const b = args.base;
  if (sa.sched === 'parallel') throw new UsageError('--sched', 'runControlledMain needs random or pct');
  if (b.ops <= 0) throw new UsageError('--ops', `--sched ${sa.sched} needs a finite --ops (a controlled run is a fixed number of operations)`);
  if (b.widen) throw new UsageError('--widen', `race widening does not apply to --sched ${sa.sched} (one CPU runs at a time; the scheduler decides)`);
  const mode = b.mode;
  const cfg = controlledConfig({ scenario: b.scenario, mode, cpus: b.cpus, seed: b.seed, ops: b.ops, sched: sa.sched, pctDepth: sa.pctDepth, yields: sa.yields, stopOnViolation: b.stopOnViolation });
  // A violation's replay file goes here: checked now, like every output (out-file.ts).
  const out = OutputDir.open('replay file', outDir);
  exitOnInterrupt();
  const say = (s: string): void => {
    if (!args.quiet) (args.json ? process.stderr : process.stdout).write(s + '\n');
  };
  say(`pmdtorture run: scenario ${cfg.scenario}, mode ${mode}, ${cfg.cpus} CPUs, seed ${cfg.seed}, --sched ${sa.sched}${sa.sched === 'pct' ? ` --pct-depth ${sa.pctDepth}` : ''}, ${cfg.ops} ops`);
  const r = await runControlled(cfg);
  let replayPath: string | undefined;
  let code: number;
  let summary: string;
  if (r.status === 'violations' && r.violation) {
    code = EXIT.violations;
    const rf = replayFileOf(r);
    replayPath = out.write(replayFileName(rf), replayFileText(rf));
    summary = `VIOLATION ${r.violation.kind} (${r.violation.site}, op ${r.violation.op}, cpu ${r.violation.cpu}) at step ${r.violation.step}; replay file: ${replayPath ?? 'not written'}`;
    if (!args.quiet) {
      const again = await replayFile(replayFileOf(r), { recordEvents: true });
      const v = r.violation;
      say(formatInterleaving((again.result.interleaving ?? []).filter((e) => e.step >= v.step - 60 && e.step <= v.step + 8), v.step));
    }
  } else if (r.status === 'invariants') {
    code = EXIT.violations;
    summary = `INVARIANTS FAILED: ${invariantsText(r.invariants?.errors ?? [])}`;
  } else if (r.status === 'deadlock') {
    code = EXIT.stall;
    summary = `DEADLOCK\n${r.deadlock?.text ?? ''}`;
  } else if (r.status === 'ok') {
    code = EXIT.ok;
    summary = `ok: ${r.steps} steps, ${r.switches} switches, ${r.preemptions} preemptions`;
  } else {
    code = EXIT.internal;
    summary = `${r.status}: ${r.errors.join('; ')}`;
  }
  if (args.json) {
    process.stdout.write(JSON.stringify({
      kind: 'controlled-run', scenario: cfg.scenario, mode, cpus: cfg.cpus, seed: cfg.seed, ops: cfg.ops, sched: sa.sched, pctDepth: sa.pctDepth,
      status: r.status, steps: r.steps, switches: r.switches, preemptions: r.preemptions, traceHash: r.traceHash, perCpu: r.perCpu,
      violation: r.violation ?? null, violations: r.violations, deadlock: r.deadlock ?? null, replayFile: replayPath ?? null,
      invariants: r.invariants ?? null, errors: r.errors, elapsedMs: Math.round(r.elapsedMs), exitCode: code,
    }, null, 1) + '\n');
  }
  process.stderr.write(`pmdtorture run: ${summary}\n`);
  return code;
}
