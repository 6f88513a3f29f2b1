/**
 * CLI benchmarks (issue 5), measured on the built binary as a user runs it:
 * - start-up: command start → first operation (the report's timing.firstOpMs: ms from the
 *   process's time origin to the release of the CPUs' start barrier), median of 5; target < 500 ms;
 * - end-to-end ops/s of `run --scenario mixed` per mode at 1 and 2 CPUs with reporting on
 *   (lock_stat, --events, JSON report), against the engine run in-process without lock_stat
 *   (the model bench's configuration), best of 5 interleaved rounds each; target: within 10%;
 * - soak RSS after 1 minute, and (PMDTORTURE_BENCH_LONG=1) after 5 minutes; target: within 5%.
 *
 * Run: `npm run bench` (bench/index), or `node dist/bench/cli.js` alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distPath } from '../src/workers/paths.js';
import { MODE_NAMES } from '../src/workers/hugetlb/modes.js';
import { runStress } from '../src/engine/engine.js';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};
const k = (x: number): string => `${(x / 1000).toFixed(1)} k`;
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

interface CliOut {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

function cli(args: string[]): Promise<CliOut> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [distPath('stress/cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - t0 }));
  });
}

interface Rep {
  timing: { firstOpMs: number | null; elapsedMs: number };
  ops: { total: number; perSecond: number };
  soak: { rss: { firstBytes: number; lastBytes: number; maxBytes: number } } | null;
}

async function startup(): Promise<void> {
  console.log('\n## Start-up: command start → first operation (run --scenario mixed --mode final --cpus 2 --ops 2000), 5 runs');
  const bare: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await new Promise((r) => spawn(process.execPath, ['-e', '0']).on('close', r));
    bare.push(performance.now() - t);
  }
  const first: number[] = [];
  const wall: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await cli(['run', '--scenario', 'mixed', '--mode', 'final', '--cpus', '2', '--ops', '2000', '--seed', String(i + 1), '--json', '--quiet']);
    const j = JSON.parse(r.stdout) as Rep;
    if (j.timing.firstOpMs !== null) first.push(j.timing.firstOpMs);
    wall.push(r.wallMs);
  }
  const m = median(first);
  console.log(`first op after ${m.toFixed(0)} ms (runs: ${first.map((x) => x.toFixed(0)).join(', ')}) — target < 500 ms ${verdict(m < 500)}`);
  console.log(`whole command ${median(wall).toFixed(0)} ms wall; bare \`node -e 0\` ${median(bare).toFixed(0)} ms`);
}

export async function throughput(): Promise<void> {
  const OPS = 200_000;
  const ROUNDS = 5;
  console.log(`\n## End-to-end ops/s: run --scenario mixed --ops ${OPS / 1000}k, seed 9: the CLI with reporting on (lock_stat, --events, JSON report),`);
  console.log('## the CLI with --no-lockstat, and the engine in-process without lock_stat (the model bench configuration).');
  console.log(`## ${ROUNDS} rounds, each running the three back to back (order rotated). On this shared 2-core VM single ~1 s runs`);
  console.log('## swing by ±20% and a disturbance only ever slows a run, so each configuration counts its best round (as bench/locks');
  console.log('## counts its best block); ratio = best CLI / best engine; per-round ratios in brackets.');
  console.log('mode         cpus    CLI ops/s   --no-lockstat   engine ops/s   ratio (per round)                target >= 0.90');
  const dir = mkdtempSync(join(tmpdir(), 'pmdtorture-bench-'));
  for (const mode of MODE_NAMES) {
    for (const cpus of [1, 2]) {
      const withStat: number[] = [];
      const noStat: number[] = [];
      const engine: number[] = [];
      const ratios: number[] = [];
      let note = '';
      const args = ['run', '--scenario', 'mixed', '--mode', mode, '--cpus', String(cpus), '--ops', String(OPS), '--seed', '9', '--no-stop-on-violation', '--json', '--quiet'];
      const runs: Array<() => Promise<number>> = [
        async () => (JSON.parse((await cli([...args, '--events', join(dir, `${mode}-${cpus}.ndjson`)])).stdout) as Rep).ops.perSecond,
        async () => (JSON.parse((await cli([...args, '--no-lockstat'])).stdout) as Rep).ops.perSecond,
        async () => {
          const e = await runStress({ scenario: 'mixed', mode, cpus, seed: 9, ops: OPS, durationMs: 0, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000 });
          if (e.status !== 'ok' && e.status !== 'violations') note = ` (engine run ${e.status}: ${e.errors[0] ?? ''})`;
          return e.ops / (e.runMs / 1000);
        },
      ];
      for (let round = 0; round < ROUNDS; round++) {
        const got = [0, 0, 0];
        for (let j = 0; j < 3; j++) {
          const which = (round + j) % 3;
          got[which] = await runs[which]!();
        }
        withStat.push(got[0]!);
        noStat.push(got[1]!);
        engine.push(got[2]!);
        ratios.push(got[0]! / got[2]!);
      }
      const best = (xs: number[]): number => Math.max(...xs);
      const ratio = best(withStat) / best(engine);
      const list = ratios.map((r) => r.toFixed(2)).join(' ');
      console.log(`${mode.padEnd(12)} ${String(cpus).padStart(4)} ${k(best(withStat)).padStart(12)} ${k(best(noStat)).padStart(15)} ${k(best(engine)).padStart(14)}   ${ratio.toFixed(2)} (${list})`.padEnd(105) + `${verdict(ratio >= 0.9)}${note}`);
    }
  }
}

export async function soakRss(): Promise<void> {
  const long = process.env['PMDTORTURE_BENCH_LONG'] === '1';
  console.log(`\n## Soak RSS (soak --scenario mixed --mode final --cpus 2, status every 10 s)`);
  const dur = long ? '5m' : '1m';
  const dir = mkdtempSync(join(tmpdir(), 'pmdtorture-bench-'));
  const events = join(dir, 'soak.ndjson');
  const r = await cli(['soak', '--scenario', 'mixed', '--mode', 'final', '--cpus', '2', '--duration', dur, '--stat-interval', '10s', '--seed', '3', '--json', '--quiet', '--events', events]);
  const j = JSON.parse(r.stdout) as Rep;
  const lines = readFileSync(events, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; rssBytes?: number; rssAnonBytes?: number; t: string });
  const stats = lines.filter((x) => x.type === 'stat');
  const t0 = Date.parse(lines[0]?.t ?? '');
  const at = (ms: number): (typeof stats)[number] | undefined => {
    let best: { d: number; s: (typeof stats)[number] } | undefined;
    for (const s of stats) {
      const d = Math.abs(Date.parse(s.t) - t0 - ms);
      if (!best || d < best.d) best = { d, s };
    }
    return best?.s;
  };
  const mib = (b: number | undefined): string => (b === undefined ? '-' : `${(b / 2 ** 20).toFixed(1)} MiB`);
  // RssAnon is the private part (heaps, malloc): where a leak would show; the rest is mostly
  // the node binary's code, paged in once as new paths first run.
  const both = (s: (typeof stats)[number] | undefined): string => `${mib(s?.rssBytes)} (anon ${mib(s?.rssAnonBytes)})`;
  const one = at(60_000);
  console.log(`RSS after 1 min: ${both(one)} (${stats.length} status lines, ${(j.ops.total / 1e6).toFixed(1)} M ops, ${j.ops.perSecond.toFixed(0)} ops/s)`);
  if (long) {
    const five = stats.at(-1);
    const growth = (k: 'rssBytes' | 'rssAnonBytes'): number => (one?.[k] && five?.[k] ? (five[k] - one[k]) / one[k] : NaN);
    const g = growth('rssBytes');
    console.log(`RSS after 5 min: ${both(five)}; growth ${(g * 100).toFixed(1)}% (anon ${(growth('rssAnonBytes') * 100).toFixed(1)}%) — target <= 5% ${verdict(Math.abs(g) <= 0.05)}`);
    console.log(`RSS over the soak, MiB: ${stats.map((s) => ((s.rssBytes ?? 0) / 2 ** 20).toFixed(0)).join(' ')}`);
  } else {
    console.log('RSS after 5 min: skipped — set PMDTORTURE_BENCH_LONG=1 to run a 5-minute soak and check RSS(5 min) within 5% of RSS(1 min)');
  }
}

export async function benchCli(): Promise<void> {
  console.log(`# pmdtorture CLI bench (load average ${loadavg()[0]!.toFixed(2)})`);
  await startup();
  await throughput();
  await soakRss();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchCli();
