/**
 * The fork/exit storm (scenario `fork-exit-storm`, the 2025 regression report on 1013af4f585f):
 * exit_mmap of a child unshares every table it shares with the parent. 6.16 sends one
 * tlb_remove_table_sync_one() broadcast per unshared table, 6.19 (8ce720d5bd91) one per gather,
 * only when a table became exclusive. Counted per exit op, not timed.
 */
import { describe, expect, it } from 'vitest';
import { Arena, CPU_WORDS } from '../src/shared-mem/layout.js';
import { CpuField, CpuState } from '../src/shared-mem/cpu-block.js';
import { Cpu } from '../src/workers/cpu.js';
import { Kernel } from '../src/workers/hugetlb/kernel.js';
import { modeByName } from '../src/workers/hugetlb/modes.js';
import { setupModel, vmaId } from '../src/workers/hugetlb/setup.js';
import { opFault } from '../src/workers/hugetlb/fault.js';
import { opFork } from '../src/workers/hugetlb/fork.js';
import { opExit } from '../src/workers/hugetlb/unshare.js';
import { Op } from '../src/workers/hugetlb/ops-list.js';
import { C, sumCounter } from '../src/workers/hugetlb/stats.js';
import { arenaConfigFor, runStress } from '../src/engine/engine.js';
import { scenarioByName } from '../src/workers/hugetlb/scenarios.js';
import { readIpiStats } from '../src/locks/irq.js';
import { EXIT_HIST_LOCKED, EXIT_HIST_WHOLE, exitBucket, exitQuantileUs, readExitHist } from '../src/workers/hugetlb/exit-latency.js';

const FILES = scenarioByName('fork-exit-storm')!.arena!.files!;

/**
 * One thread drives CPU 0 of a 2-CPU arena; CPU 1 is done, so every broadcast is sent (counted
 * as one IPI) and needs no acknowledgement. The parent (mm 0) faults one page of every file,
 * then forks children 1 and 2: each of the parent's FILES tables is shared by three mms.
 */
function storm(mode: string): { k: Kernel; arena: Arena; exit: (mm: number) => { ipis: number; syncs: number; unshares: number } } {
  const arena = Arena.create(arenaConfigFor({ cpus: 2, scenario: 'fork-exit-storm', arena: { entriesPerPage: 16, folios: FILES * 16 } }));
  const shape = setupModel(arena);
  Atomics.store(arena.mem, arena.base('cpu') + CPU_WORDS + CpuField.STATE, CpuState.done);
  const k = new Kernel(new Cpu(arena, 0, { seed: 1 }), { mode: modeByName(mode)!, lockstat: false, stopOnViolation: false, t0: performance.now() });
  const vmas = (mm: number): number[] => Array.from({ length: shape.files }, (_, f) => vmaId(shape, mm, f));
  k.op = Op.fault!;
  for (const v of vmas(0)) opFault(k, v, 0);
  k.op = Op.fork!;
  for (const child of [1, 2]) opFork(k, 0, child, vmas(0), vmas(child));
  const exit = (mm: number): { ipis: number; syncs: number; unshares: number } => {
    const before = [C.IPI_SENT + Op.exit!, C.SYNC_ONE, C.UNSHARES].map((f) => sumCounter(arena, f));
    k.op = Op.exit!;
    opExit(k, mm, vmas(mm));
    const [ipis, syncs, unshares] = [C.IPI_SENT + Op.exit!, C.SYNC_ONE, C.UNSHARES].map((f, i) => sumCounter(arena, f) - before[i]!);
    return { ipis: ipis!, syncs: syncs!, unshares: unshares! };
  };
  return { k, arena, exit };
}

describe('fork-exit-storm: sync IPIs per exit', () => {
  it(`the scenario's shape has ${FILES} files, so a child shares ${FILES} tables`, () => {
    expect(FILES).toBeGreaterThanOrEqual(8);
    const { arena } = storm('6.16');
    expect(sumCounter(arena, C.SHARES)).toBe(2 * FILES);
  });

  it('6.15: exit unshares every table and sends no IPI', () => {
    const { exit } = storm('6.15');
    expect(exit(1)).toEqual({ ipis: 0, syncs: 0, unshares: FILES });
    expect(exit(2)).toEqual({ ipis: 0, syncs: 0, unshares: FILES });
  });

  it('6.16 (1013af4f585f): one sync broadcast per unshared table, whether or not it became exclusive', () => {
    const { exit, arena } = storm('6.16');
    expect(exit(1)).toEqual({ ipis: FILES, syncs: FILES, unshares: FILES }); // 3 sharers -> 2
    expect(exit(2)).toEqual({ ipis: FILES, syncs: FILES, unshares: FILES }); // 2 -> 1: the parent's own
    // Each was a broadcast the sender timed (one other CPU: one IPI each).
    expect(readIpiStats(arena).broadcasts).toBe(2 * FILES);
  });

  it('6.19 (8ce720d5bd91): one sync per gather, only when a table became exclusive', () => {
    const { exit } = storm('6.19');
    expect(exit(1)).toEqual({ ipis: 0, syncs: 0, unshares: FILES }); // every table still shared
    // Each mapping is its own gather (i_mmap_rwsem taken per VMA): one sync per VMA whose table
    // became the parent's own.
    expect(exit(2)).toEqual({ ipis: FILES, syncs: FILES, unshares: FILES });
  });

  it('exit_mmap is split: the broadcasts inside it are counted, each exit_mmap lands once in both histograms', () => {
    const { arena, exit } = storm('6.19');
    exit(1);
    exit(2);
    // Two forks (each exits the child slot first) and two exits: 4 exit_mmaps, FILES broadcasts in the second exit.
    expect(sumCounter(arena, C.EXIT_MMAPS)).toBe(4);
    expect(sumCounter(arena, C.EXIT_MMAP_IPIS)).toBe(FILES);
    for (const f of [EXIT_HIST_WHOLE, EXIT_HIST_LOCKED]) expect(readExitHist(arena, f).reduce((a, b) => a + b, 0)).toBe(4);
    expect(sumCounter(arena, C.EXIT_MMAP_WAIT_US) + sumCounter(arena, C.EXIT_MMAP_IPI_US)).toBeLessThanOrEqual(sumCounter(arena, C.EXIT_MMAP_US) + 4);
  });
});

describe('exit-latency histogram', () => {
  it('buckets are 1/8 of an octave; the p50 is interpolated inside its bucket', () => {
    expect(exitBucket(0.5)).toBe(0);
    expect(exitBucket(1)).toBe(0);
    expect(exitBucket(16)).toBe(4 * 8);
    expect(exitBucket(31.9)).toBe(4 * 8 + 7); // [30, 32): the last eighth of octave 4
    expect(exitBucket(18)).toBe(4 * 8 + 1); // 18 = 16 * 1.125: the second bucket of octave 4
    expect(exitBucket(1e9)).toBe(16 * 8 - 1);
    const h = new Array<number>(128).fill(0);
    h[exitBucket(100)] = 10; // [96, 104) µs
    expect(exitQuantileUs(h, 0.5)).toBeCloseTo(100, 5);
    h[exitBucket(200)] = 30; // [192, 208)
    expect(exitQuantileUs(h, 0.5)).toBeGreaterThanOrEqual(192);
    expect(exitQuantileUs(h, 0.5)).toBeLessThan(208);
    expect(exitQuantileUs(new Array<number>(128).fill(0), 0.5)).toBe(0);
  });
});

describe('fork-exit-storm on 2 CPUs', () => {
  for (const mode of ['6.16', '6.19']) {
    it(`${mode}: 3000 ops, 0 violations, invariants hold; IPIs counted per op are broadcasts × other CPUs`, async () => {
      const r = await runStress({ scenario: 'fork-exit-storm', mode, cpus: 2, seed: 7, ops: 3000, durationMs: 60_000, lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000 });
      expect(r.errors).toEqual([]);
      expect(r.ops).toBe(3000);
      expect(r.violationCount).toBe(0);
      expect(r.invariants.errors).toEqual([]);
      expect(r.config.arena.files).toBe(FILES);
      expect(r.perOp['exit'] ?? 0).toBeGreaterThan(0);
      expect(r.model.exitMmaps).toBeGreaterThanOrEqual(r.perOp['exit']!);
      expect(r.exitMmapHist!.whole.reduce((a, b) => a + b, 0)).toBe(r.model.exitMmaps);
      expect(r.exitMmapHist!.locked.reduce((a, b) => a + b, 0)).toBe(r.model.exitMmaps);
      expect(r.model.exitMmapWaitUs + r.model.exitMmapIpiUs).toBeLessThanOrEqual(r.model.exitMmapUs + r.model.exitMmaps);
      if (mode === '6.19') expect(r.model.exitMmapIpis).toBeGreaterThan(0);
      expect(r.model.unshares).toBeGreaterThan(0);
      let broadcasts = 0;
      for (const [op, n] of Object.entries(r.ipiByOp)) {
        expect(n.sent, op).toBe(n.broadcasts); // 2 CPUs: one IPI per broadcast
        broadcasts += n.broadcasts;
      }
      expect(broadcasts).toBe(r.ipi.broadcasts);
      expect(r.ipi.acks).toBeLessThanOrEqual(r.ipi.sent);
      if (mode === '6.16') expect(r.ipiByOp['exit']?.broadcasts ?? 0).toBeGreaterThan(0);
    });
  }
});
