/**
 * Independent worlds (issue 14 item 7), ratios measured in this run:
 *  - throughput: 2 worlds on 2 CPUs against 1 world on 1 CPU, scenario mixed, mode final (the
 *    defaults), the same ops per CPU; rounds rotate the order and the median ratio is taken
 *    (target ≥ 1.6×); beside it 1 world on 2 CPUs (today's sharing) and a pair of 1-CPU runs at
 *    once in separate arenas — the most two threads that share nothing get from this host;
 *    and, from each worker's /proc/thread-self/schedstat over its op loop, ops per second on a
 *    core (the model's own cost: shared words bouncing between cores would show here) apart
 *    from the cores the host gave the run (its other jobs take the rest);
 *  - race density: the time to each world's first violation with 2 worlds of 2 CPUs against
 *    today's 1 world of 2 CPUs, mode none, widened, median over seeds (target within 2×). (Two
 *    runs at once in this process are no control here: the start barrier is timed by the main
 *    thread's event loop, which the other run delays, so their times come out too short.)
 */
import { availableParallelism, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { deriveSeed } from '../src/shared-mem/prng.js';

const OPS_PER_CPU = 600_000;
const ROUNDS = 5;
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

/** A run's throughput, and from its workers' schedstat: ops per second on a core, and cores held (on-CPU ms / run ms). */
interface Rate {
  opsPerSec: number;
  perCoreSec: number;
  cores: number;
}

async function opsPerSecond(cpus: number, worlds: number, seed: number): Promise<Rate> {
  const r = await runStress({ ...RUN, cpus, worlds, seed, ops: OPS_PER_CPU * cpus });
  if (r.status !== 'ok') console.log(`  (${cpus} CPUs, ${worlds} worlds: status ${r.status} ${r.errors.join('; ')})`);
  const onCpuMs = r.cpuSched.reduce((a, x) => a + (x?.onCpuMs ?? NaN), 0);
  return { opsPerSec: r.ops / (r.runMs / 1000), perCoreSec: r.ops / (onCpuMs / 1000), cores: onCpuMs / r.runMs };
}

/** Two 1-CPU runs at once, each in its own arena and pool: what the host gives two threads that share nothing. */
async function pairOpsPerSecond(seed: number): Promise<Rate> {
  const [a, b] = await Promise.all([opsPerSecond(1, 1, seed), opsPerSecond(1, 1, deriveSeed(seed, 1))]);
  const ops = a!.perCoreSec * a!.cores + b!.perCoreSec * b!.cores;
  return { opsPerSec: a!.opsPerSec + b!.opsPerSec, perCoreSec: ops / (a!.cores + b!.cores), cores: a!.cores + b!.cores };
}

const CONFIGS = ['1w/1c', '1w/2c', '2w/2c', 'pair'] as const;
type Config = (typeof CONFIGS)[number];
const measure: Record<Config, (seed: number) => Promise<Rate>> = {
  '1w/1c': (seed) => opsPerSecond(1, 1, seed),
  '1w/2c': (seed) => opsPerSecond(2, 1, seed),
  '2w/2c': (seed) => opsPerSecond(2, 2, seed),
  pair: pairOpsPerSecond,
};

async function throughput(): Promise<void> {
  console.log(`\n## Throughput: scenario mixed, mode final, ${OPS_PER_CPU.toLocaleString('en-US')} ops per CPU, ${ROUNDS} rounds, the order rotated`);
  console.log('(pair: two 1-CPU runs at once in separate arenas, sharing nothing: the most two threads get from this host;');
  console.log(' per core: ops per second on a core, from the workers\' schedstat; cores: what the host gave the workers)');
  console.log('round   1 world/1 CPU   1 world/2 CPUs   2 worlds/2 CPUs   pair of 1-CPU runs   2w/2c vs 1w/1c   1w/2c vs 1w/1c   pair vs 1w/1c   per core 2w/2c, pair vs 1w/1c   cores 1w/1c, 2w/2c, pair   load');
  const ratios: Record<Config, number[]> = { '1w/1c': [], '1w/2c': [], '2w/2c': [], pair: [] };
  const perCore: Record<Config, number[]> = { '1w/1c': [], '1w/2c': [], '2w/2c': [], pair: [] };
  const cores: Record<Config, number[]> = { '1w/1c': [], '1w/2c': [], '2w/2c': [], pair: [] };
  for (let i = 0; i < ROUNDS; i++) {
    const seed = deriveSeed(11, i);
    const got = {} as Record<Config, Rate>;
    for (let k = 0; k < CONFIGS.length; k++) {
      const c = CONFIGS[(k + i) % CONFIGS.length]!;
      got[c] = await measure[c](seed);
    }
    for (const c of CONFIGS) {
      ratios[c].push(got[c].opsPerSec / got['1w/1c'].opsPerSec);
      perCore[c].push(got[c].perCoreSec / got['1w/1c'].perCoreSec);
      cores[c].push(got[c].cores);
    }
    const x = (c: Config): string => `${(got[c].opsPerSec / got['1w/1c'].opsPerSec).toFixed(2)}×`;
    const pc = (c: Config): string => (got[c].perCoreSec / got['1w/1c'].perCoreSec).toFixed(2);
    console.log(
      `${String(i + 1).padStart(5)}   ${fmt(got['1w/1c'].opsPerSec).padStart(13)}   ${fmt(got['1w/2c'].opsPerSec).padStart(14)}   ${fmt(got['2w/2c'].opsPerSec).padStart(15)}   ${fmt(got.pair.opsPerSec).padStart(18)}   ${x('2w/2c').padStart(14)}   ${x('1w/2c').padStart(14)}   ${x('pair').padStart(13)}` +
        `   ${`${pc('2w/2c')}, ${pc('pair')}`.padStart(29)}   ${`${got['1w/1c'].cores.toFixed(2)}, ${got['2w/2c'].cores.toFixed(2)}, ${got.pair.cores.toFixed(2)}`.padStart(24)}   ${loadavg()[0]!.toFixed(1)}`,
    );
  }
  const r = median(ratios['2w/2c']);
  const range = (xs: number[]): string => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}`;
  console.log(`2 worlds on 2 CPUs vs 1 world on 1 CPU: median ${r.toFixed(2)}× (range ${range(ratios['2w/2c'])}): target >= 1.6×: ${verdict(r >= 1.6)}`);
  console.log(`  the host's share, a pair of 1-CPU runs sharing nothing: median ${median(ratios.pair).toFixed(2)}× (range ${range(ratios.pair)}); 2 worlds reach ${(r / median(ratios.pair)).toFixed(2)} of it`);
  console.log(`  1 world on 2 CPUs (every CPU on the same tables): median ${median(ratios['1w/2c']).toFixed(2)}× (range ${range(ratios['1w/2c'])})`);
  const pcw = median(perCore['2w/2c']);
  console.log(`  per second on a core, vs 1 world on 1 CPU: 2 worlds ${pcw.toFixed(2)} (range ${range(perCore['2w/2c'])}), the pair ${median(perCore.pair).toFixed(2)} (range ${range(perCore.pair)}), 1 world on 2 CPUs ${median(perCore['1w/2c']).toFixed(2)}`);
  console.log(`  cores the host gave the workers: 1 world/1 CPU ${median(cores['1w/1c']).toFixed(2)}, 2 worlds/2 CPUs ${median(cores['2w/2c']).toFixed(2)} (range ${range(cores['2w/2c'])}), the pair ${median(cores.pair).toFixed(2)}`);
  console.log(`  2 worlds on 2 whole cores at their rate per core: ${(2 * pcw).toFixed(2)}× one world on 1 CPU: target >= 1.6×: ${verdict(2 * pcw >= 1.6)} (what the model scales to; the wall-clock figure above is that times the cores the host left)`);
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
  console.log(`1 world of 2 CPUs (today):        median ${fmt(t)} ms  (${today.map(fmt).join(', ')})`);
  console.log(`2 worlds of 2 CPUs (4 CPUs):      median ${fmt(s)} ms per world  (${split.map(fmt).join(', ')})`);
  const cores = availableParallelism();
  console.log(`per world vs today: ${(s / t).toFixed(2)}×: target within 2×: ${verdict(s <= 2 * t)}${4 > cores ? ` (4 CPUs on ${cores} cores: oversubscribed)` : ''}`);
}

export async function benchWorlds(): Promise<void> {
  console.log(`# independent worlds (--worlds) — ${availableParallelism()} cores, load ${loadavg()[0]!.toFixed(1)}`);
  await throughput();
  await raceDensity();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchWorlds();
