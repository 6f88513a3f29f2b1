/**
 * Independent worlds (`--worlds N`): the arena holds N copies of the model's processes, files and
 * VMAs (workers/hugetlb/setup.ts), CPU c works only in world c mod N, and the report says what
 * each world did. A world keeps the one-world run's shape — its processes, files, VMA slots,
 * pages, folios and fault mutexes — so its race density is today's, while total throughput can
 * grow with CPUs: the worlds share no page table, i_mmap, vma lock, mmap_lock or fault mutex, and
 * an IPI broadcast goes to the sender's world's CPUs only (Irq.setPeers). They still share what
 * one kernel shares: the page pool (its lock and LIFO reuse) and RCU grace periods.
 */
import type { Arena, ArenaConfig } from '../shared-mem/layout.js';
import { C, counterAt } from '../workers/hugetlb/stats.js';
import { cpusOfWorld } from '../workers/hugetlb/setup.js';

/** How CPUs are assigned to worlds, as the reports say it. */
export const WORLD_ASSIGNMENT = 'cpu mod worlds';

/** One world's share of a run. */
export interface WorldStat {
  world: number;
  /** Its CPUs (c with c mod worlds = world). */
  cpus: number[];
  ops: number;
  violations: number;
  /** ms from the start barrier to its first violation; null with none (or a run that never started). */
  firstViolationMs: number | null;
}

/** The arena of `worlds` worlds: every per-world size of the one-world config, times worlds. */
export function worldsArena(one: ArenaConfig, worlds: number): ArenaConfig {
  if (worlds === 1) return one;
  return {
    ...one,
    worlds,
    mms: one.mms * worlds,
    vmas: one.vmas * worlds,
    files: one.files * worlds,
    pages: one.pages * worlds,
    folios: one.folios * worlds,
    faultMutexes: one.faultMutexes * worlds,
  };
}

/** Per world: its CPUs, their ops and violations, and its first violation (firstOpTraceMs: the start barrier on the trace clock). */
export function readWorldStats(arena: Arena, perCpu: readonly number[], firstOpTraceMs: number | null): WorldStat[] {
  const worlds = arena.config.worlds ?? 1;
  const at = (c: number, field: number): number => Atomics.load(arena.mem, counterAt(arena, c, field));
  return Array.from({ length: worlds }, (_, w) => {
    const cpus = cpusOfWorld(arena.config.cpus, worlds, w);
    const firsts = cpus.map((c) => at(c, C.FIRST_VIOLATION_US)).filter((u) => u > 0);
    const firstUs = firsts.length > 0 ? Math.min(...firsts) - 1 : null;
    return {
      world: w,
      cpus,
      ops: cpus.reduce((n, c) => n + (perCpu[c] ?? 0), 0),
      violations: cpus.reduce((n, c) => n + at(c, C.VIOLATIONS), 0),
      firstViolationMs: firstUs === null || firstOpTraceMs === null ? null : Math.round(Math.max(0, firstUs / 1000 - firstOpTraceMs) * 100) / 100,
    };
  });
}

/**
 * Fold another run's worlds into `acc` (soak rounds, run --seeds, merged shards): ops and
 * violations add up; a world's first violation is the shortest time from a run's start to the
 * world's first violation in it, over the runs folded in.
 */
export function addWorldStats(acc: WorldStat[], r: readonly WorldStat[]): void {
  r.forEach((w, i) => {
    const a = acc[i];
    if (a === undefined) {
      acc[i] = { ...w, cpus: [...w.cpus] };
      return;
    }
    a.ops += w.ops;
    a.violations += w.violations;
    if (w.firstViolationMs !== null) a.firstViolationMs = a.firstViolationMs === null ? w.firstViolationMs : Math.min(a.firstViolationMs, w.firstViolationMs);
  });
}
