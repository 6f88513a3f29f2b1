/**
 * The page-table page pool: fixed pages of `entriesPerPage` words, each with a one-line header.
 *
 * KASAN-style: a freed page's entries are poisoned and its generation bumped; pointers to a page
 * (PUD entries) carry the generation as a tag, so any later use through a stale pointer is seen.
 * Reuse is LIFO so a freed page is reallocated at once and stale users hit a *reused* page fast;
 * `quarantine` holds freed pages back in a FIFO instead (KASAN's quarantine), for runs that want
 * use-after-free rather than use-after-reuse.
 */
import { type Arena, PAGE_HDR_WORDS } from '../../shared-mem/layout.js';
import type { LockCtx } from '../../locks/ctx.js';
import { spinLock, spinUnlock } from '../../locks/spinlock.js';

export const PageState = { free: 0, live: 1, pendingFree: 2 } as const;
export const PageLevel = { none: 0, pud: 1, pmd: 2 } as const;
export const PAGE_STATE_NAMES = ['free', 'live', 'pending-free'] as const;
export const PAGE_LEVEL_NAMES = ['none', 'pud', 'pmd'] as const;

/** Header fields of a page-table page. */
export const PageHdr = {
  STATE: 0,
  /** mm id of the allocating process (a shared PMD page keeps its first owner). */
  OWNER: 1,
  LEVEL: 2,
  /** Bumped on every free; pointers carry its low 15 bits. */
  GEN: 3,
  /** PMD page: number of PUD entries pointing at it (page_count / pt_share_count). */
  REFCOUNT: 4,
  /** Split page-table lock (ptlock_ptr of the page). Never reset on reuse, as in the kernel's struct page. */
  PTL: 5,
  /** lock_stat bookkeeping next to the lock (last acquiring CPU + 1). */
  PTL_LAST_CPU: 6,
  ALLOC_CPU: 7,
  FREE_CPU: 8,
  /** Allocations of this page so far. */
  ALLOCS: 9,
  /** Free-list link (page id + 1, 0 = end). */
  NEXT: 10,
} as const;

/** Slab-poison pattern written over a freed page (KASAN/SLUB use 0x6b). */
export const POISON = 0x6b6b6b6b;
export const GEN_MASK = 0x7fff;

/** Pool header words in the `pool` region. */
const P = { LOCK: 0, HEAD: 16, FREE: 17, LIVE: 18, PENDING: 19, ALLOCS: 20, FREES: 21, FAILS: 22, QHEAD: 32, QCOUNT: 33 } as const;
const Q_BASE = 64;

export class PagePool {
  readonly mem: Int32Array;
  readonly pages: number;
  readonly entries: number;
  private readonly hdr0: number;
  private readonly ent0: number;
  private readonly p0: number;
  private readonly quarantine: number;
  /** Quarantine FIFO ring, then unused. */
  private readonly q0: number;

  constructor(arena: Arena) {
    this.mem = arena.mem;
    this.pages = arena.config.pages;
    this.entries = arena.config.entriesPerPage;
    this.hdr0 = arena.base('pageHdr');
    this.ent0 = arena.base('pageEnt');
    this.p0 = arena.base('pool');
    this.quarantine = arena.config.quarantine;
    this.q0 = this.p0 + Q_BASE;
  }

  /** Main thread, before any CPU runs: every page free and poisoned, free list in index order. */
  init(): void {
    const m = this.mem;
    for (let p = this.pages - 1; p >= 0; p--) {
      const h = this.hdr(p);
      for (let f = 0; f < PAGE_HDR_WORDS; f++) Atomics.store(m, h + f, 0);
      Atomics.store(m, h + PageHdr.OWNER, -1);
      this.poison(p);
      Atomics.store(m, h + PageHdr.NEXT, Atomics.load(m, this.p0 + P.HEAD));
      Atomics.store(m, this.p0 + P.HEAD, p + 1);
    }
    Atomics.store(m, this.p0 + P.FREE, this.pages);
  }

  hdr(page: number): number {
    return this.hdr0 + page * PAGE_HDR_WORDS;
  }

  /** Word index of entry `slot` of `page`. */
  entry(page: number, slot: number): number {
    return this.ent0 + page * this.entries + slot;
  }

  get(page: number, field: number): number {
    return Atomics.load(this.mem, this.hdr0 + page * PAGE_HDR_WORDS + field);
  }

  state(page: number): number {
    return this.get(page, PageHdr.STATE);
  }

  gen(page: number): number {
    return this.get(page, PageHdr.GEN);
  }

  ptl(page: number): number {
    return this.hdr(page) + PageHdr.PTL;
  }

  /** A pointer to a page: page id + 1 in the low 16 bits, generation tag above (0 = none). */
  pointer(page: number): number {
    return ((this.gen(page) & GEN_MASK) << 16) | (page + 1);
  }

  /** Allocate a zeroed page; -1 when the pool is exhausted (the caller fails with -ENOMEM). */
  alloc(ctx: LockCtx, level: number, owner: number): number {
    const m = this.mem;
    const lock = this.p0 + P.LOCK;
    spinLock(ctx, lock);
    const head = Atomics.load(m, this.p0 + P.HEAD);
    if (head === 0) {
      Atomics.add(m, this.p0 + P.FAILS, 1);
      spinUnlock(ctx, lock);
      return -1;
    }
    const page = head - 1;
    const h = this.hdr(page);
    Atomics.store(m, this.p0 + P.HEAD, Atomics.load(m, h + PageHdr.NEXT));
    Atomics.sub(m, this.p0 + P.FREE, 1);
    Atomics.add(m, this.p0 + P.LIVE, 1);
    Atomics.add(m, this.p0 + P.ALLOCS, 1);
    spinUnlock(ctx, lock);
    // The page is ours alone now: clear it, then publish it LIVE.
    const e = this.entry(page, 0);
    for (let i = 0; i < this.entries; i++) Atomics.store(m, e + i, 0);
    Atomics.store(m, h + PageHdr.OWNER, owner);
    Atomics.store(m, h + PageHdr.LEVEL, level);
    Atomics.store(m, h + PageHdr.REFCOUNT, 1);
    Atomics.store(m, h + PageHdr.ALLOC_CPU, ctx.cpuId);
    Atomics.store(m, h + PageHdr.NEXT, 0);
    Atomics.add(m, h + PageHdr.ALLOCS, 1);
    Atomics.store(m, h + PageHdr.STATE, PageState.live);
    return page;
  }

  /** LIVE → PENDING_FREE: the free is decided, the memory stays intact until `free` (RCU / IPI deferral). */
  markPendingFree(page: number): void {
    const m = this.mem;
    const h = this.hdr(page);
    Atomics.store(m, h + PageHdr.STATE, PageState.pendingFree);
    Atomics.sub(m, this.p0 + P.LIVE, 1);
    Atomics.add(m, this.p0 + P.PENDING, 1);
  }

  /** Free a LIVE or PENDING_FREE page: state, generation, poison, then back to the free list (or quarantine). */
  free(ctx: LockCtx, page: number): void {
    const m = this.mem;
    const h = this.hdr(page);
    const was = Atomics.exchange(m, h + PageHdr.STATE, PageState.free);
    if (was === PageState.free) throw new Error(`page pool: double free of page ${page} by cpu ${ctx.cpuId}`);
    Atomics.add(m, h + PageHdr.GEN, 1);
    Atomics.store(m, h + PageHdr.FREE_CPU, ctx.cpuId);
    Atomics.store(m, h + PageHdr.OWNER, -1);
    Atomics.store(m, h + PageHdr.REFCOUNT, 0);
    this.poison(page);
    const lock = this.p0 + P.LOCK;
    spinLock(ctx, lock);
    Atomics.sub(m, this.p0 + (was === PageState.live ? P.LIVE : P.PENDING), 1);
    Atomics.add(m, this.p0 + P.FREE, 1);
    Atomics.add(m, this.p0 + P.FREES, 1);
    let release = page;
    if (this.quarantine > 0) {
      // FIFO: the page waits `quarantine` frees before it may be reused.
      const qh = Atomics.load(m, this.p0 + P.QHEAD);
      const qc = Atomics.load(m, this.p0 + P.QCOUNT);
      const slot = this.q0 + ((qh + qc) % this.quarantine);
      if (qc < this.quarantine) {
        Atomics.store(m, slot, page);
        Atomics.store(m, this.p0 + P.QCOUNT, qc + 1);
        release = -1;
      } else {
        release = Atomics.load(m, this.q0 + qh);
        Atomics.store(m, this.q0 + qh, page);
        Atomics.store(m, this.p0 + P.QHEAD, (qh + 1) % this.quarantine);
      }
    }
    if (release >= 0) {
      Atomics.store(m, this.hdr(release) + PageHdr.NEXT, Atomics.load(m, this.p0 + P.HEAD));
      Atomics.store(m, this.p0 + P.HEAD, release + 1);
    }
    spinUnlock(ctx, lock);
  }

  private poison(page: number): void {
    const e = this.entry(page, 0);
    for (let i = 0; i < this.entries; i++) Atomics.store(this.mem, e + i, POISON);
  }

  counts(): { free: number; live: number; pending: number; allocs: number; frees: number; allocFailures: number } {
    const g = (f: number): number => Atomics.load(this.mem, this.p0 + f);
    return { free: g(P.FREE), live: g(P.LIVE), pending: g(P.PENDING), allocs: g(P.ALLOCS), frees: g(P.FREES), allocFailures: g(P.FAILS) };
  }

  /**
   * Conservation at a quiescent point: live + pending + free = pool size (by counters and by
   * headers), the free list plus quarantine hold exactly the FREE pages, every free page poisoned.
   */
  checkConservation(): string[] {
    const errs: string[] = [];
    const m = this.mem;
    const byState = [0, 0, 0];
    for (let p = 0; p < this.pages; p++) {
      const s = this.state(p);
      if (s < 0 || s > 2) errs.push(`page ${p}: bad state ${s}`);
      else byState[s]!++;
      if (s === PageState.free) {
        const e = this.entry(p, 0);
        for (let i = 0; i < this.entries; i++) {
          if (Atomics.load(m, e + i) !== POISON) {
            errs.push(`page ${p}: free but entry ${i} not poisoned (0x${(Atomics.load(m, e + i) >>> 0).toString(16)})`);
            break;
          }
        }
      }
    }
    const c = this.counts();
    const [free, live, pending] = byState as [number, number, number];
    if (free + live + pending !== this.pages) errs.push(`pool: free ${free} + live ${live} + pending ${pending} != ${this.pages}`);
    if (c.free !== free || c.live !== live || c.pending !== pending) {
      errs.push(`pool counters free/live/pending ${c.free}/${c.live}/${c.pending} disagree with headers ${free}/${live}/${pending}`);
    }
    const seen = new Set<number>();
    for (let n = Atomics.load(m, this.p0 + P.HEAD); n !== 0; n = this.get(n - 1, PageHdr.NEXT)) {
      const p = n - 1;
      if (seen.has(p)) {
        errs.push(`free list: cycle at page ${p}`);
        break;
      }
      seen.add(p);
      if (this.state(p) !== PageState.free) errs.push(`free list: page ${p} is ${PAGE_STATE_NAMES[this.state(p)] ?? '?'}`);
    }
    const qc = Atomics.load(m, this.p0 + P.QCOUNT);
    const qh = Atomics.load(m, this.p0 + P.QHEAD);
    for (let i = 0; i < qc; i++) seen.add(Atomics.load(m, this.q0 + ((qh + i) % Math.max(1, this.quarantine))));
    if (seen.size !== free) errs.push(`free list + quarantine hold ${seen.size} pages, ${free} are free`);
    return errs;
  }
}
