/**
 * Lock library benchmark: acquire/release pairs per second for each primitive with 1 and 2
 * workers, uncontended (a lock per worker, a cache line apart) and contended (one lock), each as
 * a cost ratio to a bare compareExchange+store pair measured in the same run with the same
 * number of workers, plus the tracker's lock_stat overhead. Targets are printed PASS/FAIL.
 */
import { Worker } from 'node:worker_threads';
import { Arena, LINE_WORDS, defaultArenaConfig } from '../src/shared-mem/layout.js';
import { distPath } from '../src/workers/paths.js';
import { type BenchInput, type BenchKind, type BenchOutput, TRACKER_VARIANTS, type TrackerAbInput, type TrackerAbOutput } from './locks-worker.js';

interface Measure {
  /** Total pairs/s over all workers. */
  rate: number;
  /** ns per pair per worker. */
  ns: number;
}

async function measure(kind: BenchKind, workers: number, contended: boolean, maxMs = 250): Promise<Measure> {
  const config = defaultArenaConfig(workers, { pages: 4, entriesPerPage: 4, folios: 4, rcuCallbacks: 4 });
  const arena = Arena.create(config);
  const file = distPath('bench/locks-worker.js');
  const outs = await Promise.all(Array.from({ length: workers }, (_, cpu) => new Promise<BenchOutput>((resolve, reject) => {
    const input: BenchInput = {
      task: 'bench-locks',
      buffer: arena.buffer,
      config,
      cpu,
      kind,
      // Uncontended: each worker its own lock, four lines apart (rwsem words stay in one line).
      at: arena.base('scratch') + (contended ? 0 : cpu * 4 * LINE_WORDS),
      maxPairs: 50_000_000,
      maxMs,
    };
    const w = new Worker(file, { workerData: input });
    w.once('message', resolve);
    w.once('error', reject);
  })));
  const rate = outs.reduce((s, o) => s + o.pairs / (o.ms / 1000), 0);
  const ns = outs.reduce((s, o) => s + (o.ms * 1e6) / o.pairs, 0) / outs.length;
  return { rate, ns };
}

/**
 * Each tracker variant in a fresh worker of its own, as a run has it (one configuration per
 * isolate: monomorphic code; variants sharing one thread would make the tracker's call sites
 * polymorphic and swing the overhead by ±5 points). Variants alternate over AB_ROUNDS rounds so
 * machine drift hits them alike; the best block of each counts. A worker runs 15 blocks of 40k
 * pairs (~7 ms each): with 5 blocks of 20k the overhead read 9-16% from run to run, now 8.5-11%.
 */
const AB_ROUNDS = 8;
async function trackerAb(): Promise<TrackerAbOutput> {
  const config = defaultArenaConfig(TRACKER_VARIANTS.length, { pages: 4, entriesPerPage: 4, folios: 4, rcuCallbacks: 4 });
  const arena = Arena.create(config);
  const best = Object.fromEntries(TRACKER_VARIANTS.map((v) => [v, Infinity])) as TrackerAbOutput;
  for (let round = 0; round < AB_ROUNDS; round++) {
    for (let j = 0; j < TRACKER_VARIANTS.length; j++) {
      const v = TRACKER_VARIANTS[(round + j) % TRACKER_VARIANTS.length]!;
      const input: TrackerAbInput = { task: 'bench-locks-ab', buffer: arena.buffer, config, rounds: 15, pairs: 40_000, variants: [v] };
      const out = await new Promise<TrackerAbOutput>((resolve, reject) => {
        const w = new Worker(distPath('bench/locks-worker.js'), { workerData: input });
        w.once('message', resolve);
        w.once('error', reject);
      });
      best[v] = Math.min(best[v], out[v]);
    }
  }
  return best;
}

/** Best of `reps` (the machine is shared and noisy: the fastest run is the least disturbed). */
async function best(kind: BenchKind, workers: number, contended: boolean, reps = 3): Promise<Measure> {
  let b: Measure | undefined;
  for (let i = 0; i < reps; i++) {
    const m = await measure(kind, workers, contended);
    if (!b || m.ns < b.ns) b = m;
  }
  return b!;
}

const fmtRate = (r: number): string => `${(r / 1e6).toFixed(2)} M/s`;

export interface LockBenchRow {
  primitive: string;
  workers: number;
  contended: boolean;
  rate: number;
  nsPerPair: number;
  ratio: number;
}

export async function benchLocks(): Promise<void> {
  const base1 = await best('bare', 1, false);
  const base2 = await best('bare', 2, false);
  const rows: LockBenchRow[] = [];
  const prims: Array<[BenchKind, string]> = [['spin', 'spinlock'], ['mutex', 'mutex'], ['rwsem-read', 'rwsem read'], ['rwsem-write', 'rwsem write']];
  for (const [kind, name] of prims) {
    for (const [workers, contended] of [[1, false], [2, false], [2, true]] as const) {
      const m = await best(kind, workers, contended);
      const base = workers === 1 ? base1 : base2;
      rows.push({ primitive: name, workers, contended, rate: m.rate, nsPerPair: m.ns, ratio: m.ns / base.ns });
    }
  }
  const ab = await trackerAb();
  const off: Measure = { rate: 0, ns: ab.off };
  const on: Measure = { rate: 0, ns: ab.on };
  const exact: Measure = { rate: 0, ns: ab.exact };
  const bareAb: Measure = { rate: 0, ns: ab.bare };
  const offNt: Measure = { rate: 0, ns: ab.offNoTrace };
  const onNt: Measure = { rate: 0, ns: ab.onNoTrace };

  const out: string[] = [];
  out.push('pmdtorture lock benchmark (ratios: ns per pair per worker / bare compareExchange+store pair, same workers, same run)');
  out.push(`bare CAS+store pair: 1 worker ${fmtRate(base1.rate)} (${base1.ns.toFixed(1)} ns), 2 workers ${fmtRate(base2.rate)} total (${base2.ns.toFixed(1)} ns/pair/worker)`);
  out.push('');
  out.push(`${'primitive'.padEnd(14)}${'workers'.padStart(8)}${'mode'.padStart(13)}${'pairs/s'.padStart(14)}${'ns/pair'.padStart(10)}${'× bare'.padStart(9)}`);
  for (const r of rows) {
    out.push(`${r.primitive.padEnd(14)}${String(r.workers).padStart(8)}${(r.contended ? 'contended' : 'uncontended').padStart(13)}${fmtRate(r.rate).padStart(14)}${r.nsPerPair.toFixed(1).padStart(10)}${r.ratio.toFixed(2).padStart(9)}`);
  }
  out.push('');
  const pct = (m: Measure, base: Measure = off): number => (m.ns / base.ns - 1) * 100;
  out.push(`LockTracker spinlock pair, 1 worker, uncontended (lockdep + held-lock stack [+ trace events]), each variant in its own worker, alternated over ${AB_ROUNDS} rounds, best block:`);
  out.push(`  bare CAS+store pair (same protocol)              ${bareAb.ns.toFixed(1).padStart(7)} ns/pair`);
  const x = (m: Measure): string => `${(m.ns / bareAb.ns).toFixed(2)}× bare`;
  out.push(`  trace on,  lock_stat off                          ${off.ns.toFixed(1).padStart(7)} ns/pair  ${x(off)}`);
  out.push(`  trace on,  lock_stat on (default: 1 in 64 holds)  ${on.ns.toFixed(1).padStart(7)} ns/pair  ${x(on)}  overhead ${pct(on).toFixed(1)}% (+${(on.ns - off.ns).toFixed(1)} ns)`);
  out.push(`  trace on,  lock_stat on (every hold timed)        ${exact.ns.toFixed(1).padStart(7)} ns/pair  ${x(exact)}  overhead ${pct(exact).toFixed(1)}%`);
  out.push(`  trace off, lock_stat off                          ${offNt.ns.toFixed(1).padStart(7)} ns/pair  ${x(offNt)}`);
  out.push(`  trace off, lock_stat on (default)                 ${onNt.ns.toFixed(1).padStart(7)} ns/pair  ${x(onNt)}  overhead ${pct(onNt, offNt).toFixed(1)}%`);
  out.push('');
  const find = (p: string): LockBenchRow => rows.find((r) => r.primitive === p && r.workers === 1 && !r.contended)!;
  const target = (what: string, v: number, max: number, unit: string): string =>
    `  ${v <= max ? 'PASS' : 'FAIL'}  ${what}: ${v.toFixed(2)}${unit} (target <= ${max}${unit})`;
  out.push('Targets:');
  out.push(target('uncontended spinlock pair', find('spinlock').ratio, 3, '×'));
  out.push(target('uncontended mutex pair', find('mutex').ratio, 3, '×'));
  out.push(target('uncontended rwsem read pair', find('rwsem read').ratio, 4, '×'));
  out.push(target('tracked spinlock pair, trace on, lock_stat off, vs the bare pair (issue 14)', off.ns / bareAb.ns, 4, '×'));
  out.push(target('lock_stat overhead (default sampling, trace on)', pct(on), 15, '%'));
  out.push(`  info  lock_stat overhead with every hold timed: ${pct(exact).toFixed(1)}% (two ~50 ns clock reads per pair)`);
  console.log(out.join('\n'));
}

// Run directly: node dist/bench/locks.js
if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await benchLocks();
}
