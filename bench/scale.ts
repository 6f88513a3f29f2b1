/**
 * Many CPUs (issue 11 item 14): what `run --cpus 64` costs against `--cpus 2` in the same bench
 * run, and where it goes.
 * - the CLI as a user runs it (`run --scenario mixed --mode final --duration 5s`): first operation
 *   after (timing.firstOpMs), peak RSS (the kernel's VmHWM, read from /proc while it runs), CPU
 *   time; ratios 64 / 2 and the cost of each CPU beyond the second;
 * - the parts: the arena (the SharedArrayBuffer: per-CPU regions included), one bare Node worker
 *   (a V8 isolate with Node's bootstrap), and one worker that has imported the CPU model (what a
 *   piscina CPU worker holds before its first operation), measured on 8 workers started one by one.
 * Linux only for the RSS figures (/proc). Run: `npm run bench -- scale`, or `node dist/bench/scale.js`.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { distPath } from '../src/workers/paths.js';
import { planLayout, WORD_BYTES } from '../src/shared-mem/layout.js';
import { arenaConfigFor } from '../src/engine/engine.js';

const MiB = 2 ** 20;
const mib = (b: number): string => `${(b / MiB).toFixed(1)} MiB`;

interface Measured {
  cpus: number;
  firstOpMs: number;
  peakBytes: number;
  cpuMs: number;
  ops: number;
}

/** /proc/<pid>/status field in bytes, /proc/<pid>/stat utime+stime in ms; null once the process is gone. */
export function procSample(pid: number): { hwm: number; cpuMs: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) * 1024;
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    return { hwm, cpuMs: ticks * 10 }; // USER_HZ is 100 on Linux
  } catch {
    return null;
  }
}

function runCli(cpus: number): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const args = ['run', '--scenario', 'mixed', '--mode', 'final', '--cpus', String(cpus), '--duration', '5s', '--seed', '1', '--json', '--quiet'];
    const child = spawn(process.execPath, [distPath('stress/cli.js'), ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let last = { hwm: 0, cpuMs: 0 };
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // VmHWM only grows, so the last sample before exit is the peak (bar the last 50 ms).
    const iv = setInterval(() => {
      const s = procSample(child.pid!);
      // An exiting process (a zombie) has no VmHWM: keep the last live sample.
      if (s && Number.isFinite(s.hwm)) last = s;
    }, 50);
    child.on('close', (code) => {
      clearInterval(iv);
      try {
        const j = JSON.parse(out) as { timing: { firstOpMs: number }; ops: { total: number } };
        resolve({ cpus, firstOpMs: j.timing.firstOpMs, peakBytes: last.hwm, cpuMs: last.cpuMs, ops: j.ops.total });
      } catch (e) {
        reject(new Error(`run --cpus ${cpus} exited ${code}: ${String(e)}`));
      }
    });
  });
}

/** Start `n` workers one after another, each running `body` then staying alive: CPU ms and RSS each. */
async function perWorker(n: number, body: string): Promise<{ cpuMs: number; bytes: number }> {
  await new Promise((r) => setTimeout(r, 200));
  const rss0 = process.memoryUsage().rss;
  const c0 = process.cpuUsage();
  const ws: Worker[] = [];
  for (let i = 0; i < n; i++) {
    await new Promise<void>((resolve, reject) => {
      const w = new Worker(`${body}.then(() => require('node:worker_threads').parentPort.postMessage(1)); setInterval(() => {}, 1e9);`, { eval: true, execArgv: ['--no-experimental-require-module'] });
      ws.push(w);
      w.once('message', () => resolve());
      w.once('error', reject);
    });
  }
  const c = process.cpuUsage(c0);
  await new Promise((r) => setTimeout(r, 300));
  const bytes = (process.memoryUsage().rss - rss0) / n;
  await Promise.all(ws.map((w) => w.terminate()));
  return { cpuMs: (c.user + c.system) / 1000 / n, bytes };
}

export async function benchScale(): Promise<void> {
  console.log(`# pmdtorture scale bench: --cpus 64 against --cpus 2 (load average ${loadavg()[0]!.toFixed(2)})`);
  if (process.platform !== 'linux') {
    console.log('skipped: peak RSS is read from /proc (Linux only)');
    return;
  }
  console.log('\n## The parts');
  for (const cpus of [2, 64]) {
    const words = planLayout(arenaConfigFor({ cpus, arena: undefined })).totalWords;
    console.log(`arena (SharedArrayBuffer) at --cpus ${String(cpus).padStart(2)}: ${mib(words * WORD_BYTES)}`);
  }
  const bare = await perWorker(8, 'Promise.resolve()');
  const model = await perWorker(8, `import(${JSON.stringify(pathToFileURL(distPath('src/workers/tasks/stress.js')).href)})`);
  console.log(`one bare Node worker (V8 isolate + Node bootstrap): ${bare.cpuMs.toFixed(0)} ms CPU, ${mib(bare.bytes)} RSS`);
  console.log(`one worker with the CPU model imported (a CPU before its first op): ${model.cpuMs.toFixed(0)} ms CPU, ${mib(model.bytes)} RSS`);

  console.log('\n## run --scenario mixed --mode final --duration 5s: --cpus 2, 64, 2 (the two --cpus 2 runs averaged)');
  const a = await runCli(2);
  const b = await runCli(64);
  const c = await runCli(2);
  const two: Measured = { cpus: 2, firstOpMs: (a.firstOpMs + c.firstOpMs) / 2, peakBytes: (a.peakBytes + c.peakBytes) / 2, cpuMs: (a.cpuMs + c.cpuMs) / 2, ops: (a.ops + c.ops) / 2 };
  for (const m of [two, b]) console.log(`--cpus ${String(m.cpus).padStart(2)}: first op after ${m.firstOpMs.toFixed(0)} ms, peak RSS ${mib(m.peakBytes)}, CPU ${(m.cpuMs / 1000).toFixed(1)} s, ${m.ops.toFixed(0)} ops`);
  const extra = b.cpus - two.cpus;
  console.log(`ratio 64/2: first op ${(b.firstOpMs / two.firstOpMs).toFixed(1)}x, peak RSS ${(b.peakBytes / two.peakBytes).toFixed(1)}x`);
  const perCpu = (b.peakBytes - two.peakBytes) / extra;
  // Target: a CPU costs its isolate with the model loaded (~10.4 MiB here) and little more.
  console.log(`each CPU beyond the second: ${((b.firstOpMs - two.firstOpMs) / extra).toFixed(0)} ms more to the first op, ${mib(perCpu)} more peak RSS — target <= 12 MiB ${perCpu <= 12 * MiB ? 'PASS' : 'FAIL'}`);
  console.log(`  (the floor is one worker with the model: ${model.cpuMs.toFixed(0)} ms CPU on ${availableParallelism()} shared cores, ${mib(model.bytes)}; the rest is each worker's heap growing as it runs)`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchScale();
