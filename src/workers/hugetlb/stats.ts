/**
 * Per-CPU model counters in the `counters` region (COUNTER_WORDS per CPU, written only by their
 * CPU, summed by the main thread): operations by kind, failed operations, outcomes by walk site,
 * and destroyer-side anomalies.
 */
import { type Arena, COUNTER_WORDS } from '../../shared-mem/layout.js';
import { OUTCOMES } from './outcomes.js';
import { SITES } from './modes.js';
import { POINT_NAMES } from './points.js';

/** Outcome counters per site: OUTCOME_STRIDE words, so up to 16 sites × 16 outcomes. */
const OUTCOME_STRIDE = 16;
if (SITES.length > 16 || OUTCOMES.length > OUTCOME_STRIDE) throw new Error('stats: more sites or outcomes than the counters block holds');

export const C = {
  OPS: 0, // + op id (< 32)
  FAILS: 32, // + op id: -ENOMEM, -EAGAIN, SIGSEGV on an unmapped VMA
  OUTCOME: 64, // + site * OUTCOME_STRIDE + outcome (64..319)
  /** Destroyer found a page already gone from under it (only possible without the unshare locks). */
  ZAP_STALE: 320,
  UNSHARES: 321,
  TABLE_FREES: 322,
  SHARES: 323,
  PMD_ALLOCS: 324,
  VIOLATIONS: 325,
  /** follow-page met a migration entry and waited for it (no walker lock held). */
  MIGRATION_WAITS: 326,
  /** ... and returned without waiting, because a walker lock was held (RFC patch 3). */
  MIGRATION_NOWAIT: 327,
  /** VMA splits done (__split_vma of a hugetlb VMA inside its PUD range). */
  SPLITS: 328,
  /** Faults handled under the per-VMA lock (lock_vma_under_rcu succeeded). */
  VMA_LOCKED_FAULTS: 329,
  /** ... and faults that fell back to mmap_lock because vma_start_read failed (a writer). */
  VMA_LOCK_FALLBACKS: 330,
  /** VMAs merged back into one (vma_merge). */
  MERGES: 331,
  /** tlb_remove_table_sync_one() broadcasts (per unshare, or per gather that made a table exclusive). */
  SYNC_ONE: 332,
  /** TLB flushes of the unshare paths (flush_hugetlb_tlb_range / tlb_flush_mmu_tlbonly). */
  TLB_FLUSHES: 333,
  /** exit_mmap calls (exit, and fork's exit of the slot's old process) and the whole µs spent in them. */
  EXIT_MMAPS: 334,
  EXIT_MMAP_US: 335,
  /** pud_populate over a present entry: 6.2's populate race (huge_pmd_share and pmd_alloc under different locks). */
  POPULATE_OVERWRITES: 336,
  /** µs on the trace clock + 1 of this CPU's first violation (0: none yet), for the first violation per world. */
  FIRST_VIOLATION_US: 337,
  /** fork's dst table was the parent's own: a truncate unshared the child between the PUD read and the count. */
  FORK_SAME_TABLE: 338,
  /** Of EXIT_MMAP_US: whole µs waiting for mmap_lock (write), and waiting for IPI acknowledgements (with their broadcasts). */
  EXIT_MMAP_WAIT_US: 339,
  EXIT_MMAP_IPI_US: 340,
  EXIT_MMAP_IPIS: 341,
  /** fork found its child's slot used since the old process exited (another CPU faulted, split or moved in it): exited again. */
  FORK_INTERIM_EXITS: 342,
  /** + point id (< 24): race-widening delays taken at each named point (Cpu.point). */
  WIDENED: 352,
  /** + op id (< 32): IPIs this CPU sent while running the op (one per other CPU per broadcast). After refhold.ts's 384..447. */
  IPI_SENT: 448,
  /** + op id (< 32): IPIs this CPU acknowledged while running the op (the op they interrupted). */
  IPI_ACKED: 480,
  /** + op id (< 32): whole µs this CPU waited for acknowledgements of the broadcasts it sent while running the op. */
  IPI_WAIT_US: 512,
  /** + op id (< 32): broadcasts this CPU sent while running the op (each waits for every other CPU). */
  IPI_BROADCASTS: 544,
} as const;

if (C.IPI_BROADCASTS + 32 > COUNTER_WORDS) throw new Error('stats: IPI counters do not fit the counters block');

// The widening counters end before refhold.ts's histogram (REFHOLD_BASE = 384).
if (C.WIDENED + POINT_NAMES.length > 384) throw new Error('stats: widening counters overlap the refhold histogram');

/** Widening delays taken at each point of `points`, summed over CPUs, zeros included. */
export function readWidened(arena: Arena, points: readonly string[]): Record<string, number> {
  return Object.fromEntries(points.map((p) => [p, sumCounter(arena, C.WIDENED + POINT_NAMES.indexOf(p as (typeof POINT_NAMES)[number]))]));
}

export function counterAt(arena: Arena, cpu: number, field: number): number {
  return arena.base('counters') + cpu * COUNTER_WORDS + field;
}

/** Sum of one counter over all CPUs. */
export function sumCounter(arena: Arena, field: number): number {
  let n = 0;
  for (let c = 0; c < arena.config.cpus; c++) n += Atomics.load(arena.mem, counterAt(arena, c, field));
  return n;
}

/** IPIs of one op kind: sent and acknowledged, and the broadcasts its CPUs sent and how long they waited. */
export interface IpiOpStats {
  sent: number;
  acked: number;
  broadcasts: number;
  waitUs: number;
}

/** IPIs sent and acknowledged per operation, summed over CPUs (only ops with any). */
export function readIpiByOp(arena: Arena, opNames: readonly string[]): Record<string, IpiOpStats> {
  const out: Record<string, IpiOpStats> = {};
  opNames.forEach((name, op) => {
    const sent = sumCounter(arena, C.IPI_SENT + op);
    const acked = sumCounter(arena, C.IPI_ACKED + op);
    if (sent + acked > 0) out[name] = { sent, acked, broadcasts: sumCounter(arena, C.IPI_BROADCASTS + op), waitUs: sumCounter(arena, C.IPI_WAIT_US + op) };
  });
  return out;
}

export function outcomeField(site: number, outcome: number): number {
  return C.OUTCOME + site * OUTCOME_STRIDE + outcome;
}

/** outcomes[site][outcome] summed over CPUs. */
export function readOutcomes(arena: Arena): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  SITES.forEach((site, s) => {
    const row: Record<string, number> = {};
    let any = 0;
    OUTCOMES.forEach((o, i) => {
      const n = sumCounter(arena, outcomeField(s, i));
      row[o] = n;
      any += n;
    });
    if (any > 0) out[site] = row;
  });
  return out;
}
