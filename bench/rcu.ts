/**
 * The RFC's core cost argument, measured: the read side of the walker lock (rcu_read_lock/unlock,
 * local_irq_disable/enable) against the read side of an rwsem (down_read/up_read), 1 and 2 worker
 * threads reading at once, as ratios to a bare Atomics load+store pair measured in the same run.
 * Plus grace-period latency (synchronize_rcu) with 2 busy CPUs.
 *
 * Each row runs fresh workers: warm up (JIT), meet at a start barrier, loop for a fixed time.
 * The file is its own worker (workerData.task === 'bench-rcu').
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { Arena, type ArenaConfig, LINE_WORDS, defaultArenaConfig } from '../src/shared-mem/layout.js';
import { CpuState } from '../src/shared-mem/cpu-block.js';
import { Cpu } from '../src/workers/cpu.js';
import { distPath } from '../src/workers/paths.js';
import { Rcu } from '../src/locks/rcu.js';
import { Irq } from '../src/locks/irq.js';
import { downRead, upRead } from '../src/locks/rwsem.js';

type Kind = 'base' | 'rcu' | 'irq' | 'rwsem' | 'gp';

interface BenchIn {
  task: 'bench-rcu';
  buffer: SharedArrayBuffer;
  config: ArenaConfig;
  cpu: number;
  kind: Kind;
  nworkers: number;
  warmMs: number;
  runMs: number;
}

interface BenchOut {
  iters: number;
  ms: number;
  /** Timed chunks: absolute start/end (ms), pairs, and whether the thread stayed on its core. */
  chunkT0: number[];
  chunkT1: number[];
  chunkPairs: number[];
  chunkClean: boolean[];
  /** gp kind, CPU 0: every synchronizeRcu() latency in µs. */
  gpUs?: number[];
}

/** Target length of a timed chunk (µs). */
const CHUNK_US = 300;

/** Times this thread has been scheduled in (-1 if the kernel does not say). */
function schedIns(): number {
  try {
    const f = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ');
    return f.length >= 3 ? Number(f[2]) : -1;
  } catch {
    return -1;
  }
}
const S_ARRIVED = 0;
const S_GO = 1;
/** Per-worker private words, a cache line apart. */
const S_PRIV = LINE_WORDS;
/** One rwsem shared by all readers (that sharing is what the RFC avoids). */
const S_RWSEM = 20 * LINE_WORDS;

function workerMain(d: BenchIn): void {
  const arena = Arena.attach(d.buffer, d.config);
  const m = arena.mem;
  const cpu = new Cpu(arena, d.cpu, { seed: 1 });
  cpu.setState(CpuState.running);
  const sc = arena.base('scratch');
  const priv = sc + S_PRIV + d.cpu * LINE_WORDS;
  const rw = sc + S_RWSEM;
  const rcu = new Rcu(cpu);
  const irq = new Irq(cpu);
  let body: () => void;
  switch (d.kind) {
    case 'base':
      body = () => {
        Atomics.store(m, priv, Atomics.load(m, priv + 1));
      };
      break;
    case 'rcu':
      body = () => {
        rcu.rcuReadLock();
        rcu.rcuReadUnlock();
      };
      break;
    case 'irq':
      body = () => {
        irq.localIrqDisable();
        irq.localIrqEnable();
      };
      break;
    case 'rwsem':
      body = () => {
        downRead(cpu, rw);
        upRead(cpu, rw);
      };
      break;
    case 'gp': {
      // CPU 0: short read-side sections and a synchronizeRcu() every 64 of them; the others:
      // back-to-back readers with a little work inside, polling now and then.
      let n = 0;
      body =
        d.cpu === 0
          ? () => {
              rcu.rcuReadLock();
              Atomics.load(m, priv);
              rcu.rcuReadUnlock();
              if ((++n & 63) === 0) rcu.synchronizeRcu();
            }
          : () => {
              rcu.rcuReadLock();
              for (let i = 0; i < 16; i++) Atomics.load(m, priv + 1);
              rcu.rcuReadUnlock();
              if ((++n & 255) === 0) cpu.poll();
            };
      break;
    }
  }
  // Timed chunks of ~CHUNK_US each. A chunk is "clean" when this thread was not switched out
  // during it: the kernel's count of times the thread was scheduled in (/proc/thread-self/
  // schedstat, 3rd field) did not move. On a shared machine the main thread then keeps, for
  // 2 workers, only clean chunks covered by clean chunks of the other worker: time during which
  // both really ran at once — the only time an rwsem's cache line bounces.
  const chunkT0: number[] = [];
  const chunkT1: number[] = [];
  const chunkPairs: number[] = [];
  const chunkClean: boolean[] = [];
  let chunk = 1024;
  const until = (ms: number, record: boolean): number => {
    const end = performance.now() + ms;
    let it = 0;
    for (;;) {
      const s0 = schedIns();
      const t = performance.now();
      if (t >= end) break;
      for (let i = 0; i < chunk; i++) body();
      const t1 = performance.now();
      const s1 = schedIns();
      it += chunk;
      if (record) {
        chunkT0.push(performance.timeOrigin + t);
        chunkT1.push(performance.timeOrigin + t1);
        chunkPairs.push(chunk);
        chunkClean.push(s0 === s1 && s0 >= 0);
      } else {
        // Size chunks to ~CHUNK_US so that reading schedstat stays a small overhead.
        const per = ((t1 - t) * 1e3) / chunk;
        chunk = Math.max(256, Math.min(1 << 22, Math.round(CHUNK_US / Math.max(per, 1e-3))));
      }
    }
    return it;
  };
  until(d.warmMs, false);
  // Start barrier, so that all workers of a row overlap.
  Atomics.add(m, sc + S_ARRIVED, 1);
  while (Atomics.load(m, sc + S_ARRIVED) < d.nworkers) cpu.block(sc + S_ARRIVED, Atomics.load(m, sc + S_ARRIVED));
  Atomics.notify(m, sc + S_ARRIVED);
  const gpUs: number[] = [];
  if (d.kind === 'gp' && d.cpu === 0) {
    // Time each grace period exactly (the arena histogram has factor-of-2 buckets).
    let n = 0;
    body = () => {
      rcu.rcuReadLock();
      Atomics.load(m, priv);
      rcu.rcuReadUnlock();
      if ((++n & 63) === 0) {
        const t = performance.now();
        rcu.synchronizeRcu();
        gpUs.push((performance.now() - t) * 1000);
      }
    };
  }
  const t0 = performance.now();
  const iters = until(d.runMs, true);
  const ms = performance.now() - t0;
  Atomics.store(m, sc + S_GO, 1);
  cpu.setState(CpuState.done);
  const out: BenchOut = { iters, ms, chunkT0, chunkT1, chunkPairs, chunkClean, ...(d.kind === 'gp' && d.cpu === 0 ? { gpUs } : {}) };
  parentPort!.postMessage(out);
}

if (!isMainThread && (workerData as { task?: string } | null)?.task === 'bench-rcu') {
  workerMain(workerData as BenchIn);
}

// ---------------------------------------------------------------- main thread

interface Row {
  kind: Kind;
  workers: number;
  /** Mean ns per pair, per worker (each worker runs on its own core). */
  ns: number;
  /** Total pairs per second over all workers (at the per-worker cost). */
  mps: number;
  gpUs: number[];
  /** Enough clean time (2 workers: both on a core at once) was measured: >= 20 ms per worker. */
  concurrent: boolean;
  /** Share of the timed run that counted (clean; 2 workers: and concurrent). */
  concShare: number;
}

async function runRow(kind: Kind, nworkers: number, runMs: number, warmMs: number): Promise<Row> {
  const config = defaultArenaConfig(nworkers, { pages: 4, entriesPerPage: 4, folios: 4 });
  const arena = Arena.create(config);
  const path = distPath('bench/rcu.js');
  const outs = await Promise.all(
    Array.from({ length: nworkers }, (_, cpu) => {
      const data: BenchIn = { task: 'bench-rcu', buffer: arena.buffer, config, cpu, kind, nworkers, warmMs, runMs };
      return new Promise<BenchOut>((resolve, reject) => {
        const w = new Worker(path, { workerData: data });
        w.once('message', (o: BenchOut) => resolve(o));
        w.once('error', reject);
        w.once('exit', (code) => {
          if (code !== 0) reject(new Error(`bench worker ${cpu} exited with ${code}`));
        });
        // A bench worker never blocks for long; bound it anyway.
        setTimeout(() => void w.terminate().then(() => reject(new Error('bench worker timed out'))), runMs + 20_000).unref();
      });
    }),
  );
  // Per worker: clean chunks; with 2 workers, only those at least 90% covered by the other
  // worker's clean chunks. Cost = their wall time / their pairs (no selection by speed).
  const minMs = 20;
  let concMs = Infinity;
  let usedMs = 0;
  const perWorker = outs.map((o, w) => {
    const other = outs[1 - w];
    let ms = 0;
    let pairs = 0;
    let allMs = 0;
    let allPairs = 0;
    for (let i = 0; i < o.chunkT0.length; i++) {
      const a = o.chunkT0[i]!;
      const b = o.chunkT1[i]!;
      allMs += b - a;
      allPairs += o.chunkPairs[i]!;
      if (!o.chunkClean[i]) continue;
      if (nworkers > 1 && other !== undefined && covered(other, a, b) < 0.9) continue;
      ms += b - a;
      pairs += o.chunkPairs[i]!;
    }
    concMs = Math.min(concMs, ms);
    usedMs += ms;
    // Too little clean (concurrent) time: fall back to all chunks, flagged below.
    return ms >= minMs ? (ms * 1e6) / pairs : (allMs * 1e6) / allPairs;
  });
  const ns = perWorker.reduce((a, b) => a + b, 0) / perWorker.length;
  const mps = perWorker.reduce((a, b) => a + 1000 / b, 0);
  const total = outs.reduce((a, o) => a + o.chunkT0.reduce((x, t0, i) => x + o.chunkT1[i]! - t0, 0), 0);
  const conc = concMs >= minMs;
  const concShare = total > 0 ? usedMs / total : 0;
  return { kind, workers: nworkers, ns, mps, gpUs: outs[0]!.gpUs ?? [], concurrent: conc, concShare };
}

/** Share of [a, b] covered by the other worker's clean chunks (they are in time order). */
function covered(o: BenchOut, a: number, b: number): number {
  let c = 0;
  for (let i = 0; i < o.chunkT0.length; i++) {
    if (!o.chunkClean[i]) continue;
    const lo = Math.max(a, o.chunkT0[i]!);
    const hi = Math.min(b, o.chunkT1[i]!);
    if (hi > lo) c += hi - lo;
  }
  return b > a ? c / (b - a) : 0;
}

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]!;
}

export interface RcuBenchResult {
  rows: Row[];
  rcuRatio: number[];
  rwsemOverRcu2: number;
  gpP50Ms: number;
  gpP99Ms: number;
  pass: { rcuPair: boolean; vsRwsem: boolean; gpP99: boolean };
  /** Every row was measured over enough undisturbed (2 workers: concurrent) time. */
  reliable: boolean;
}

export async function benchRcu(runMs = 300, rounds = 3): Promise<void> {
  await benchRcuResult({ runMs, rounds });
}

export interface RcuBenchOptions {
  /** Timed loop per row (ms). */
  runMs?: number;
  /** Interleaved repetitions; the best run of each row counts. */
  rounds?: number;
  /** JIT warm-up per worker before the start barrier (ms). */
  warmMs?: number;
  /** Grace-period latency run (ms). */
  gpMs?: number;
  log?: (line: string) => void;
}

export async function benchRcuResult(o: RcuBenchOptions = {}): Promise<RcuBenchResult> {
  const runMs = o.runMs ?? 300;
  const rounds = o.rounds ?? 3;
  const warmMs = o.warmMs ?? 150;
  const log = o.log ?? ((s: string): void => console.log(s));
  const load0 = loadavg()[0]!;
  log('== rcu: read-side cost of the walker lock vs rwsem (ratios to a bare Atomics load+store pair, same run) ==');
  const rows: Row[] = [];
  const kinds: Kind[] = ['base', 'rcu', 'irq', 'rwsem'];
  // Best of `rounds` interleaved runs per row: the machine is shared, noise only adds time.
  for (let round = 0; round < rounds; round++) {
    for (const n of [1, 2]) {
      for (const k of kinds) {
        const r = await runRow(k, n, runMs, warmMs);
        const i = rows.findIndex((x) => x.kind === k && x.workers === n);
        if (i < 0) rows.push(r);
        else if ((r.concurrent && !rows[i]!.concurrent) || (r.concurrent === rows[i]!.concurrent && r.ns < rows[i]!.ns)) rows[i] = r;
      }
    }
  }
  // Rows never measured undisturbed: a few extra tries (a busy machine has quiet moments).
  for (let extra = 0; extra < 2 * rounds; extra++) {
    const i = rows.findIndex((r) => !r.concurrent);
    if (i < 0) break;
    const r = await runRow(rows[i]!.kind, rows[i]!.workers, runMs, warmMs);
    if (r.concurrent || r.ns < rows[i]!.ns) rows[i] = r;
  }
  const get = (k: Kind, n: number): Row => rows.find((r) => r.kind === k && r.workers === n)!;
  const label: Record<Kind, string> = {
    base: 'Atomics load+store',
    rcu: 'rcu_read_lock/unlock',
    irq: 'local_irq_disable/enable',
    rwsem: 'down_read/up_read',
    gp: 'gp',
  };
  log(`best of ${rounds} runs of ${runMs} ms per row; ns/pair per worker over the time it ran undisturbed (2 workers: both at once)`);
  log(`${'read side'.padEnd(26)} ${'workers'.padStart(7)} ${'ns/pair'.padStart(9)} ${'M pairs/s'.padStart(10)} ${'x load+store'.padStart(13)}`);
  for (const r of rows) {
    const ratio = r.ns / get('base', r.workers).ns;
    const conc = ` ${(r.concShare * 100).toFixed(0)}% of run counted${r.concurrent ? '' : ' (too little: all time used, disturbed)'}`;
    log(`${label[r.kind].padEnd(26)} ${String(r.workers).padStart(7)} ${r.ns.toFixed(2).padStart(9)} ${r.mps.toFixed(1).padStart(10)} ${ratio.toFixed(2).padStart(13)}${conc}`);
  }
  // Chunks without the other worker running measure no contention; say so next to the verdicts.
  const cores = availableParallelism();
  const lowConc = rows.filter((r) => !r.concurrent);
  if (load0 > 0.5 || lowConc.length > 0) {
    log(
      `note: shared machine (load ${load0.toFixed(2)} on ${cores} cores before the run)` +
        (lowConc.length > 0
          ? `; too little undisturbed time for: ${lowConc.map((r) => `${label[r.kind]} x${r.workers}`).join(', ')}`
          : '; only undisturbed (2 workers: concurrent) time counted'),
    );
  }
  const rcuRatio = [1, 2].map((n) => get('rcu', n).ns / get('base', n).ns);
  const rwsemOverRcu2 = get('rwsem', 2).ns / get('rcu', 2).ns;
  const gp = await runRow('gp', 2, o.gpMs ?? 1000, warmMs);
  const gpP50Ms = pct(gp.gpUs, 0.5) / 1000;
  const gpP99Ms = pct(gp.gpUs, 0.99) / 1000;
  log(`grace periods with 2 busy CPUs: n=${gp.gpUs.length} p50=${gpP50Ms.toFixed(3)} ms p99=${gpP99Ms.toFixed(3)} ms max=${(gp.gpUs.reduce((a, b) => Math.max(a, b), 0) / 1000).toFixed(3)} ms`);
  const pass = {
    rcuPair: rcuRatio.every((x) => x <= 2),
    vsRwsem: rwsemOverRcu2 >= 5,
    gpP99: gpP99Ms < 10,
  };
  const pf = (b: boolean): string => (b ? 'PASS' : 'FAIL');
  const shaky = (...rs: Row[]): string => (rs.every((r) => r.concurrent) ? '' : ' [unreliable: machine busy, rows not measured undisturbed]');
  log(
    `${pf(pass.rcuPair)} rcu read pair <= 2x load+store pair (1 worker ${rcuRatio[0]!.toFixed(2)}x, 2 workers ${rcuRatio[1]!.toFixed(2)}x)` +
      shaky(get('base', 1), get('rcu', 1), get('base', 2), get('rcu', 2)),
  );
  log(`${pf(pass.vsRwsem)} rcu read pair >= 5x cheaper than rwsem read pair with 2 readers (${rwsemOverRcu2.toFixed(1)}x)` + shaky(get('rcu', 2), get('rwsem', 2)));
  log(`${pf(pass.gpP99)} grace-period p99 < 10 ms with 2 busy CPUs (${gpP99Ms.toFixed(3)} ms)`);
  return { rows, rcuRatio, rwsemOverRcu2, gpP50Ms, gpP99Ms, pass, reliable: rows.every((r) => r.concurrent) };
}

if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchRcu();
}
