/**
 * The scaling study's own cost (issue 14, item 3; target < 60 s): `pmdtorture scale` with three
 * of its default modes over CPU counts 1 and 2 on the default workload, run as a user runs it
 * (the built CLI, process start-up included); wall time and the figures it printed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distPath } from '../src/workers/paths.js';
import { defaultScaleModes } from '../src/report/scale-study.js';
import type { ScaleReport } from '../src/report/scale-study.js';

export async function benchScaleStudy(): Promise<void> {
  const modes = defaultScaleModes().slice(0, 3);
  const dir = mkdtempSync(join(tmpdir(), 'pmdtorture-bench-scale-'));
  const args = ['scale', '--modes', modes.join(','), '--cpus', '1,2', '--seed', '1', '--quiet', '--report', join(dir, 'scale.json')];
  console.log(`# scaling study: pmdtorture ${args.slice(0, -2).join(' ')} (default workload) — load ${loadavg()[0]!.toFixed(1)}`);
  const t0 = performance.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [distPath('stress/cli.js'), ...args], { stdio: 'ignore', env: { ...process.env, NO_COLOR: '1' } });
    child.on('exit', (c) => resolve(c));
  });
  const s = (performance.now() - t0) / 1000;
  try {
    const doc = JSON.parse(readFileSync(join(dir, 'scale.json'), 'utf8')) as ScaleReport;
    for (const c of doc.cells) console.log(`  ${c.mode.padEnd(6)} ${String(c.cpus).padStart(2)} CPUs  ${Math.round(c.opsPerSecond).toLocaleString('en-US').padStart(8)} ops/s  x${(c.ratioToFirst ?? 0).toFixed(2)}  exit p50 ${c.latency['exit']?.p50Us ?? '-'} µs`);
  } catch {
    console.log('  (no report written)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`3 modes x CPUs 1,2: ${s.toFixed(1)} s wall, exit ${code} (target < 60 s: ${s < 60 && code !== null && code <= 1 ? 'met' : 'NOT met'})`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchScaleStudy();
