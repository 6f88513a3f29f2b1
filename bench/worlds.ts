/**
 * Independent worlds (issue 14 item 7), ratios measured in this run:
 *  - throughput: 2 worlds on 2 CPUs against 1 world on 1 CPU, scenario mixed, mode final (the
 *    defaults), the same ops per CPU; rounds alternate the order and the median ratio is taken
 *    (target ≥ 1.6×); 1 world on 2 CPUs is printed beside it (today's sharing, below 1×);
 *  - race density: the time to each world's first violation with 2 worlds of 2 CPUs against
 *    today's 1 world of 2 CPUs, mode none, widened, median over seeds (target within 2×).
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { deriveSeed } from '../src/shared-mem/prng.js';

const OPS_PER_CPU = 60_000;
const ROUNDS = 3;
const SEEDS = 7;
/** Each first-violation run lasts this long (the widened first violation takes ~10–40 ms). */
const HUNT_MS = 2000;

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (x: number): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: x < 100 ? 1 : 0 }) : 'none');
const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');

const RUN: RunConfig = { scenario: 'mixed', mode: 'final', cpus: 1, seed: 11, ops: 0, durationMs: 0, lockstat: true, stopOnViolation: false, stallTimeoutMs: 30_000 };

async function opsPerSecond(cpus: number, worlds: number, seed: number): Promise<number> {
  const r = await runStress({ ...RUN, cpus, worlds, seed, ops: OPS_PER_CPU * cpus });
  if (r.status !== 'ok') console.log(`  (${cpus} CPUs, ${worlds} worlds: status ${r.status} ${r.errors.join('; ')})`);
  return r.ops / (r.runMs / 1000);
}

async function throughput(): Promise<void> {
  console.log(`\n## Throughput: scenario mixed, mode final, ${OPS_PER_CPU.toLocaleString('en-US')} ops per CPU, ${ROUNDS} rounds in alternating order`);
  console.log('round   1 world/1 CPU   1 world/2 CPUs   2 worlds/2 CPUs   2w/2c vs 1w/1c   1w/2c vs 1w/1c');
  const ratios: number[] = [];
  const shared: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const seed = deriveSeed(11, i);
    const order: Array<[number, number]> = i % 2 === 0 ? [[1, 1], [2, 2], [2, 1]] : [[2, 1], [2, 2], [1, 1]];
    const got = new Map<string, number>();
    for (const [cpus, worlds] of order) got.set(`${cpus}/${worlds}`, await opsPerSecond(cpus, worlds, seed));
    const one = got.get('1/1')!;
    const two = got.get('2/2')!;
    const same = got.get('2/1')!;
    ratios.push(two / one);
    shared.push(same / one);
    console.log(`${String(i + 1).padStart(5)}   ${fmt(one).padStart(13)}   ${fmt(same).padStart(14)}   ${fmt(two).padStart(15)}   ${(two / one).toFixed(2).padStart(13)}×   ${(same / one).toFixed(2).padStart(13)}×`);
  }
  const r = median(ratios);
  console.log(`2 worlds on 2 CPUs vs 1 world on 1 CPU, median ${r.toFixed(2)}× (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}): target >= 1.6×: ${verdict(r >= 1.6)}`);
  console.log(`1 world on 2 CPUs vs 1 CPU (every CPU on the same tables), median ${median(shared).toFixed(2)}×`);
}

/** Each world's time to its first violation (ms from the start barrier; Infinity: none in HUNT_MS). */
async function firstViolations(cpus: number, worlds: number, seed: number): Promise<number[]> {
  const r = await runStress({ ...RUN, mode: 'none', cpus, worlds, seed, durationMs: HUNT_MS, lockstat: false, widen: { prob: 0.05, us: 200 } });
  return r.worlds.map((w) => w.firstViolationMs ?? Infinity);
}

async function raceDensity(): Promise<void> {
  console.log(`\n## First violation per world: scenario mixed, mode none, widened (p 0.05, 200 µs), ${SEEDS} seeds, ${HUNT_MS} ms runs`);
  const today: number[] = [];
  const split: number[] = [];
  for (let i = 0; i < SEEDS; i++) {
    const seed = deriveSeed(42, i);
    today.push(...(await firstViolations(2, 1, seed)));
    split.push(...(await firstViolations(4, 2, seed)));
  }
  const t = median(today);
  const s = median(split);
  console.log(`1 world of 2 CPUs (today):     median ${fmt(t)} ms  (${today.map(fmt).join(', ')})`);
  console.log(`2 worlds of 2 CPUs (4 CPUs):   median ${fmt(s)} ms per world  (${split.map(fmt).join(', ')})`);
  const cores = availableParallelism();
  console.log(`per world vs today: ${(s / t).toFixed(2)}×: target within 2×: ${verdict(s <= 2 * t)}${4 > cores ? ` (4 CPUs on ${cores} cores: oversubscribed, each world gets about half the time of today's pair)` : ''}`);
}

export async function benchWorlds(): Promise<void> {
  console.log(`# independent worlds (--worlds) — ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}`);
  await throughput();
  await raceDensity();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchWorlds();
