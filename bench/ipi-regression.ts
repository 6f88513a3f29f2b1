/**
 * The 2025 IPI regression on the fork/exit storm (issue 14): exit_mmap time per exit and IPIs per
 * exit, 2 CPUs, under 6.15 (before 1013af4f585f), 6.16 (a sync IPI per unshared table) and 6.19
 * (8ce720d5bd91: one per gather, only when a table became exclusive). Printed as ratios to 6.15
 * measured in the same run, next to the report's 196-core figures (real 2.5 s -> 11.3 s: 4.5x).
 * The modes run interleaved, the median of ROUNDS taken, so load on the shared machine hits each alike.
 */
import { runStress, type RunResult } from '../src/engine/engine.js';

const MODES = ['6.15', '6.16', '6.19'] as const;
const ROUNDS = 3;
const OPS = 4000;
/** The report's real-time ratio (11.3 s / 2.5 s) and sys-time ratio (23.9 s / 2.5 s). */
const REPORT_REAL = 11.3 / 2.5;
const REPORT_SYS = 23.9 / 2.5;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

interface Figures {
  exitUs: number;
  ipisPerExit: number;
  waitUsPerExit: number;
  opsPerSec: number;
}

function figures(r: RunResult): Figures {
  const exits = r.perOp['exit'] ?? 0;
  const ipi = r.ipiByOp['exit'];
  return {
    exitUs: r.model.exitMmaps === 0 ? 0 : r.model.exitMmapUs / r.model.exitMmaps,
    ipisPerExit: exits === 0 ? 0 : (ipi?.sent ?? 0) / exits,
    waitUsPerExit: exits === 0 ? 0 : (ipi?.waitUs ?? 0) / exits,
    opsPerSec: r.runMs > 0 ? r.ops / (r.runMs / 1000) : 0,
  };
}

export async function benchIpiRegression(): Promise<void> {
  process.stdout.write(`== ipi-regression: fork-exit-storm, 2 CPUs, ${OPS} ops per run, median of ${ROUNDS} interleaved rounds ==\n`);
  const runs: Record<string, Figures[]> = Object.fromEntries(MODES.map((m) => [m, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const r = await runStress({ scenario: 'fork-exit-storm', mode, cpus: 2, seed: 1 + round, ops: OPS, durationMs: 120_000, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000 });
      if (r.errors.length > 0 || r.violationCount > 0) throw new Error(`ipi-regression: ${mode} round ${round}: ${r.errors[0] ?? `${r.violationCount} violations`}`);
      runs[mode]!.push(figures(r));
    }
  }
  const med = (m: string, f: keyof Figures): number => median(runs[m]!.map((x) => x[f]));
  const base = med('6.15', 'exitUs');
  for (const m of MODES) {
    process.stdout.write(
      `  ${m.padEnd(5)} exit_mmap ${fmt(med(m, 'exitUs'))} µs (${fmt(med(m, 'exitUs') / base)}x 6.15), IPIs per exit ${fmt(med(m, 'ipisPerExit'))}, ` +
        `senders' wait per exit ${fmt(med(m, 'waitUsPerExit'))} µs, ${fmt(med(m, 'opsPerSec'))} ops/s\n`,
    );
  }
  const r16 = med('6.16', 'exitUs') / base;
  const r19 = med('6.19', 'exitUs') / base;
  process.stdout.write(`  exit time 6.16/6.15: ${fmt(r16)}x  (report, 196 cores: real ${fmt(REPORT_REAL)}x, sys ${fmt(REPORT_SYS)}x; anchor: real)\n`);
  process.stdout.write(`  exit time 6.19/6.15: ${fmt(r19)}x  (target: within 1.2x) ${r19 <= 1.2 ? 'PASS' : 'FAIL'}\n`);
}
