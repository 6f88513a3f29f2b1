/**
 * Cost of the issue-7 outputs: --html and --junit on a 10-minute soak report (budget: < 2 s and
 * < 50 MiB), and `merge` of 64 shard reports. The 10-minute report is built from a real short soak
 * and a real run with violations: its timeline is fed 10 minutes of 200 ms samples (the bounded
 * ring halves it to < 512 points, as in a real soak), 10 rounds, 16 recorded violations with
 * traces. Rendering is measured in a fresh process (time, peak RSS over the process's RSS once the
 * report is parsed), and so is the whole `pmdtorture report` / `merge` command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distPath } from '../src/workers/paths.js';
import { Timeline } from '../src/engine/timeline.js';
import type { RunReport } from '../src/report/report-json.js';

const cli = distPath('stress/cli.js');

function pmd(dir: string, args: string[]): void {
  spawnSync(process.execPath, [cli, ...args], { cwd: dir, stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
}

/** A report shaped like a 10-minute soak's. */
export function tenMinuteSoak(dir: string): RunReport {
  pmd(dir, ['soak', '--duration', '3s', '--round', '1s', '--seed', '7', '--cpus', '2', '--quiet', '--report', 'soak.json']);
  pmd(dir, ['run', '--scenario', 'mixed', '--mode', 'none', '--widen', '--ops', '40000', '--no-stop-on-violation', '--seed', '3', '--cpus', '2', '--quiet', '--report', 'viol.json']);
  const soak = JSON.parse(readFileSync(join(dir, 'soak.json'), 'utf8')) as RunReport;
  const viol = JSON.parse(readFileSync(join(dir, 'viol.json'), 'utf8')) as RunReport;
  const tl = new Timeline();
  const ops = [0, 0];
  for (let round = 0; round < 10; round++) {
    tl.beginRun(2, round);
    for (let ms = 200; ms <= 60_000; ms += 200) {
      ops[0]! += 1000 + (ms % 7000 === 0 ? 500 : 0);
      ops[1]! += 950;
      tl.sample({ elapsedMs: ms, opsPerCpu: [...ops], violations: Math.floor(ms / 20_000), rcuBacklog: (ms / 200) % 37 }, true);
    }
    ops[0] = ops[1] = 0;
  }
  const rec = viol.violations.recorded;
  return {
    ...soak,
    timeline: tl.toJSON(),
    violations: { ...viol.violations, recorded: Array.from({ length: 16 }, (_, i) => rec[i % Math.max(1, rec.length)]!).filter(Boolean) },
    soak: soak.soak ? { ...soak.soak, rounds: 10, lastRounds: Array.from({ length: 10 }, (_, i) => ({ ...soak.soak!.lastRounds[0]!, round: i })) } : null,
  };
}

const MEASURE = `
const [file, out, n] = process.argv.slice(1);
const { renderHtml } = await import(${JSON.stringify(distPath('src/report/html/render.js'))});
const { renderJunit } = await import(${JSON.stringify(distPath('src/report/junit.js'))});
const fs = await import('node:fs');
const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
renderHtml([{ doc, source: '' }]); renderJunit([doc]); // warm-up: uPlot's file read, JIT
globalThis.gc?.();
const base = process.memoryUsage().rss;
let peak = base;
const tick = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 1);
const t = [];
for (let i = 0; i < Number(n); i++) {
  const t0 = performance.now();
  const h = renderHtml([{ doc, source: '' }]);
  const t1 = performance.now();
  const j = renderJunit([doc]);
  const t2 = performance.now();
  fs.writeFileSync(out + '.html', h); fs.writeFileSync(out + '.xml', j);
  t.push([t1 - t0, t2 - t1, h.length, j.length]);
  peak = Math.max(peak, process.memoryUsage().rss);
}
clearInterval(tick);
// VmHWM: this process's peak RSS. (getrusage's maxRSS is not: Linux carries the parent's peak
// over fork+exec, so after the model bench it read ~180 MiB here.)
const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
const max = hwm ? Number(hwm[1]) * 1024 : 0;
console.log(JSON.stringify({ t, base, peak: Math.max(peak, max), maxRss: max }));
`;

export async function benchReport(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pmdtorture-bench-report-'));
  try {
    const doc = tenMinuteSoak(dir);
    const file = join(dir, 'soak10m.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', MEASURE, file, join(dir, 'out'), '5'], { encoding: 'utf8' })) as { t: number[][]; base: number; peak: number; maxRss: number };
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const mib = (b: number): string => (b / 1048576).toFixed(1);
    process.stdout.write(`report: 10-minute soak report: ${(readFileSync(file).length / 1024).toFixed(0)} KiB JSON, timeline ${doc.timeline!.t.length} points × ${doc.timeline!.perCpu.length} CPUs, ${doc.lockstat.length} lock rows, ${doc.violations.recorded.length} violations with traces\n`);
    process.stdout.write(`  renderHtml  median ${med(out.t.map((x) => x[0]!)).toFixed(1)} ms → ${(out.t[0]![2]! / 1024).toFixed(0)} KiB HTML\n`);
    process.stdout.write(`  renderJunit median ${med(out.t.map((x) => x[1]!)).toFixed(2)} ms → ${(out.t[0]![3]! / 1024).toFixed(1)} KiB XML\n`);
    const grew = out.peak - out.base;
    process.stdout.write(`  memory: RSS ${mib(out.base)} MiB with the report parsed, peak ${mib(out.peak)} MiB while rendering: +${mib(grew)} MiB — target < 50 MiB ${grew < 50 * 1048576 ? 'PASS' : 'FAIL'}\n`);
    // The whole command, as a user runs it: node start-up, parse, render, write.
    let t0 = performance.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, 'report', file, '--html', join(dir, 'cmd.html'), '--junit', join(dir, 'cmd.xml')], { encoding: 'utf8' });
    const wall = performance.now() - t0;
    const kb = Number(/(\d+)\s*$/.exec(r.stderr ?? '')?.[1] ?? NaN);
    t0 = performance.now();
    spawnSync(process.execPath, [cli, 'list', '--json'], { stdio: 'ignore' });
    const startup = performance.now() - t0;
    process.stdout.write(`  pmdtorture report --html --junit: ${wall.toFixed(0)} ms wall (CLI start-up alone: ${startup.toFixed(0)} ms), max RSS ${Number.isFinite(kb) ? (kb / 1024).toFixed(1) + ' MiB' : 'n/a'} — target < 2 s ${wall < 2000 ? 'PASS' : 'FAIL'}\n`);

    // merge of 64 shard reports
    const files: string[] = [];
    for (let i = 1; i <= 64; i++) {
      const f = join(dir, `shard-${i}.json`);
      writeFileSync(f, JSON.stringify({ ...doc, shard: { index: i, count: 64, source: 'flag', items: [i - 1] } }));
      files.push(f);
    }
    t0 = performance.now();
    const m = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, 'merge', ...files, '--quiet', '--report', join(dir, 'merged.json'), '--html', join(dir, 'merged.html'), '--junit', join(dir, 'merged.xml')], { encoding: 'utf8' });
    const mWall = performance.now() - t0;
    const mkb = Number(/(\d+)\s*$/.exec(m.stderr ?? '')?.[1] ?? NaN);
    const merged = JSON.parse(readFileSync(join(dir, 'merged.json'), 'utf8')) as RunReport;
    const ok = merged.ops.total === doc.ops.total * 64 && merged.merged?.reports === 64;
    process.stdout.write(`  merge 64 shard reports (${(files.reduce((n, f) => n + readFileSync(f).length, 0) / 1048576).toFixed(1)} MiB JSON) + --report --html --junit: ${mWall.toFixed(0)} ms wall, max RSS ${Number.isFinite(mkb) ? (mkb / 1024).toFixed(1) + ' MiB' : 'n/a'}; sums ${ok ? 'check' : 'WRONG'}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
