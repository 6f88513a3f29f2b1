/**
 * Worker side of bench/locks.ts: runs one measurement loop over the arena and reports its pairs
 * and elapsed time. Loaded from dist/ like every pmdtorture worker.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Arena, type ArenaConfig } from '../src/shared-mem/layout.js';
import { Ctl, ctlAt } from '../src/shared-mem/ctl.js';
import { Cpu } from '../src/workers/cpu.js';
import { barrierWait } from '../src/locks/barrier.js';
import { spinLock, spinUnlock } from '../src/locks/spinlock.js';
import { mutexLock, mutexUnlock } from '../src/locks/mutex.js';
import { downRead, downWrite, upRead, upWrite } from '../src/locks/rwsem.js';
import { LockTracker } from '../src/locks/tracker.js';
import { LockClass } from '../src/locks/classes.js';

export const BENCH_KINDS = [
  'bare', 'spin', 'mutex', 'rwsem-read', 'rwsem-write',
  'tracked-spin', 'tracked-spin-lockstat', 'tracked-spin-lockstat-exact', 'tracked-spin-notrace', 'tracked-spin-lockstat-notrace',
] as const;
export type BenchKind = (typeof BENCH_KINDS)[number];

export interface BenchInput {
  task: 'bench-locks';
  buffer: SharedArrayBuffer;
  config: ArenaConfig;
  cpu: number;
  kind: BenchKind;
  at: number;
  maxPairs: number;
  maxMs: number;
}

export interface BenchOutput {
  pairs: number;
  ms: number;
}

const STEP = 4096;

function loop(kind: BenchKind, cpu: Cpu, t: LockTracker | undefined, at: number, n: number): void {
  const m = cpu.mem;
  switch (kind) {
    case 'bare':
      for (let i = 0; i < n; i++) {
        Atomics.compareExchange(m, at, 0, 1);
        Atomics.store(m, at, 0);
      }
      return;
    case 'spin':
      for (let i = 0; i < n; i++) {
        spinLock(cpu, at);
        spinUnlock(cpu, at);
      }
      return;
    case 'mutex':
      for (let i = 0; i < n; i++) {
        mutexLock(cpu, at);
        mutexUnlock(cpu, at);
      }
      return;
    case 'rwsem-read':
      for (let i = 0; i < n; i++) {
        downRead(cpu, at);
        upRead(cpu, at);
      }
      return;
    case 'rwsem-write':
      for (let i = 0; i < n; i++) {
        downWrite(cpu, at);
        upWrite(cpu, at);
      }
      return;
    default:
      for (let i = 0; i < n; i++) {
        t!.spinLock(LockClass.torture_spin, at);
        t!.spinUnlock(LockClass.torture_spin, at);
      }
  }
}

export interface TrackerAbInput {
  task: 'bench-locks-ab';
  buffer: SharedArrayBuffer;
  config: ArenaConfig;
  rounds: number;
  pairs: number;
  /** Run only these variants (default: all, alternating in this one thread). */
  variants?: TrackerVariant[];
}

/** ns per tracked spinlock pair for each tracker variant measured. */
export type TrackerAbOutput = Record<TrackerVariant, number>;
/** 'bare': the compareExchange+store pair, measured the same way, the tracked pair's baseline. */
export const TRACKER_VARIANTS = ['bare', 'off', 'on', 'exact', 'offNoTrace', 'onNoTrace'] as const;
export type TrackerVariant = (typeof TRACKER_VARIANTS)[number];

/**
 * ns per tracked spinlock pair of the given variants (bench/locks runs one variant per fresh
 * worker): short blocks of each variant alternate, so load drifting on a shared machine hits
 * every variant alike; the best block of each counts. Each variant runs on its own CPU of the
 * arena (own block, own held stack) and own lock word.
 */
export function trackerAbWorker(input: TrackerAbInput): TrackerAbOutput {
  const arena = Arena.attach(input.buffer, input.config);
  const opts: Record<TrackerVariant, { lockstat: boolean; trace: boolean; holdSampleShift?: number }> = {
    bare: { lockstat: false, trace: false },
    off: { lockstat: false, trace: true },
    on: { lockstat: true, trace: true },
    exact: { lockstat: true, trace: true, holdSampleShift: 0 },
    offNoTrace: { lockstat: false, trace: false },
    onNoTrace: { lockstat: true, trace: false },
  };
  const runs = TRACKER_VARIANTS.filter((v) => input.variants?.includes(v) ?? true).map((v, i) => {
    const cpu = new Cpu(arena, i, { seed: 1 });
    const kind: BenchKind = v === 'bare' ? 'bare' : 'tracked-spin';
    return { v, kind, cpu, t: v === 'bare' ? undefined : new LockTracker(cpu, opts[v]), at: arena.base('scratch') + i * 4 * 16, best: Infinity };
  });
  for (const r of runs) loop(r.kind, r.cpu, r.t, r.at, 50_000); // warm-up
  for (let round = 0; round < input.rounds; round++) {
    for (const r of runs) {
      const t0 = performance.now();
      loop(r.kind, r.cpu, r.t, r.at, input.pairs);
      r.best = Math.min(r.best, ((performance.now() - t0) * 1e6) / input.pairs);
    }
  }
  const out = {} as TrackerAbOutput;
  for (const r of runs) out[r.v] = r.best;
  return out;
}

export function benchWorker(input: BenchInput): BenchOutput {
  const arena = Arena.attach(input.buffer, input.config);
  const cpu = new Cpu(arena, input.cpu, { seed: 1 });
  const t = input.kind.startsWith('tracked')
    ? new LockTracker(cpu, {
      lockstat: input.kind.includes('lockstat'),
      trace: !input.kind.endsWith('-notrace'),
      ...(input.kind.endsWith('-exact') ? { holdSampleShift: 0 } : {}),
    })
    : undefined;
  // Warm up (JIT) before the clock starts.
  loop(input.kind, cpu, t, input.at, 20_000);
  barrierWait(cpu, ctlAt(arena, Ctl.ARRIVED), input.config.cpus);
  const t0 = performance.now();
  let pairs = 0;
  let ms = 0;
  while (pairs < input.maxPairs) {
    loop(input.kind, cpu, t, input.at, STEP);
    pairs += STEP;
    ms = performance.now() - t0;
    if (ms > input.maxMs) break;
  }
  t?.flush();
  return { pairs, ms };
}

const task = (workerData as { task?: string } | null)?.task;
if (!isMainThread && parentPort && task === 'bench-locks') parentPort.postMessage(benchWorker(workerData as BenchInput));
if (!isMainThread && parentPort && task === 'bench-locks-ab') parentPort.postMessage(trackerAbWorker(workerData as TrackerAbInput));
