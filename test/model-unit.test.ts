/**
 * The model's detectors, each shown to fire: pool conservation, KASAN-style generation tags,
 * the end-of-run invariants, and hugetlb_walk()'s lock assertion — in one thread, so every
 * step is exact.
 */
import { describe, expect, it } from 'vitest';
import { Arena } from '../src/shared-mem/layout.js';
import { PagePool, PageLevel, PageState, POISON, PageHdr } from '../src/workers/hugetlb/pool.js';
import { Cpu } from '../src/workers/cpu.js';
import { Kernel } from '../src/workers/hugetlb/kernel.js';
import { type ModeTable, modeByName } from '../src/workers/hugetlb/modes.js';
import { Oc } from '../src/workers/hugetlb/outcomes.js';
import { setupModel } from '../src/workers/hugetlb/setup.js';
import { checkInvariants } from '../src/workers/hugetlb/invariants.js';
import { opFault } from '../src/workers/hugetlb/fault.js';
import { freePgtables, opMadviseDontneed, opMunmap } from '../src/workers/hugetlb/unshare.js';
import { Access, readViolations } from '../src/workers/hugetlb/violations.js';
import { Mm, Structs } from '../src/workers/hugetlb/structs.js';
import { arenaConfigFor, widenTable } from '../src/engine/engine.js';
import { pointId } from '../src/workers/hugetlb/points.js';
import { C, sumCounter } from '../src/workers/hugetlb/stats.js';

/** Labels for the records these unit tests read (no run around them). */
const RUN = { scenario: 'unit', mode: 'unit' };

function world(over: Partial<Parameters<typeof arenaConfigFor>[0]['arena']> = {}, mode = 'final'): { arena: Arena; k: Kernel; cpu: Cpu } {
  const arena = Arena.create(arenaConfigFor({ cpus: 1, arena: { entriesPerPage: 16, folios: 64, ...over } }));
  setupModel(arena);
  const cpu = new Cpu(arena, 0, { seed: 1 });
  const k = new Kernel(cpu, { mode: modeByName(mode)!, lockstat: false, stopOnViolation: false, t0: performance.now() });
  return { arena, k, cpu };
}

describe('page pool', () => {
  it('allocates, frees with poison and a new generation, reuses LIFO, and conserves pages', () => {
    const { arena, cpu } = world();
    const pool = new PagePool(arena);
    expect(pool.checkConservation()).toEqual([]);
    const a = pool.alloc(cpu, PageLevel.pmd, 0);
    const gen = pool.gen(a);
    expect(pool.state(a)).toBe(PageState.live);
    expect(Atomics.load(arena.mem, pool.entry(a, 3))).toBe(0);
    pool.free(cpu, a);
    expect(pool.state(a)).toBe(PageState.free);
    expect(pool.gen(a)).toBe(gen + 1);
    expect(Atomics.load(arena.mem, pool.entry(a, 3))).toBe(POISON);
    expect(pool.alloc(cpu, PageLevel.pmd, 1)).toBe(a); // LIFO: the freed page comes straight back
    expect(pool.checkConservation()).toEqual([]);
  });

  it('quarantine holds freed pages back in FIFO order', () => {
    const { arena, cpu } = world({ quarantine: 2 });
    const pool = new PagePool(arena);
    const [a, b, c] = [0, 1, 2].map(() => pool.alloc(cpu, PageLevel.pmd, 0));
    pool.free(cpu, a!);
    pool.free(cpu, b!);
    expect(pool.alloc(cpu, PageLevel.pmd, 0)).not.toBe(a); // a still in quarantine
    pool.free(cpu, c!); // pushes a out of quarantine
    expect(pool.alloc(cpu, PageLevel.pmd, 0)).toBe(a);
    expect(pool.checkConservation()).toEqual([]);
  });

  it('conservation catches a busted free that forgets the poison, and lost pages', () => {
    const { arena, cpu } = world();
    const pool = new PagePool(arena);
    const a = pool.alloc(cpu, PageLevel.pmd, 0);
    pool.free(cpu, a);
    Atomics.store(arena.mem, pool.entry(a, 5), 1234); // a write after free, or a free that skipped the poison
    expect(pool.checkConservation().join('\n')).toMatch(/not poisoned/);
    Atomics.store(arena.mem, pool.entry(a, 5), POISON);
    Atomics.store(arena.mem, pool.hdr(a) + PageHdr.STATE, PageState.live); // a page the counters lost
    expect(pool.checkConservation().join('\n')).toMatch(/disagree|free list/);
  });
});

describe('KASAN-style dereference checks', () => {
  it('classifies ok, stale-read, use-after-free and use-after-reuse from the pointer tag', () => {
    const { arena, k } = world({}, 'none');
    opFault(k, 0, 1); // mm 0 file 0: own PMD page
    expect(k.hugetlbWalk('uffd-must-wait', 0)).toBe(true);
    expect(k.check('uffd-must-wait', Access.read, 1, 0)).toBe(Oc.ok);
    const page = k.wPage;
    // Unlink it from the PUD (as an unshare would): the page lives on, the read is stale.
    const s = new Structs(arena);
    const pudAt = k.pudEntryAt(0);
    const saved = Atomics.exchange(arena.mem, pudAt, 0);
    expect(k.check('uffd-must-wait', Access.read, 1, 0)).toBe(Oc['stale-read']);
    expect(k.check('follow-page', Access.lock, 1, 0)).toBe(Oc['stale-lock']);
    Atomics.store(arena.mem, pudAt, saved);
    // Free it: use-after-free. Reallocate it: use-after-reuse.
    freePgtables(k, 0);
    expect(k.pool.state(page)).toBe(PageState.free);
    expect(k.check('uffd-must-wait', Access.read, 1, POISON)).toBe(Oc['use-after-free']);
    const again = k.allocPmd(1);
    expect(again).toBe(page);
    expect(k.check('uffd-must-wait', Access.read, 1, 0)).toBe(Oc['use-after-reuse']);
    expect(s.ld(s.mm(0) + Mm.NR_PMDS)).toBe(0);
    // `none` forbids all of these: each was recorded as a violation with the page and generations.
    const v = readViolations(arena, RUN);
    expect(v.map((x) => x.kind)).toEqual(['stale-read', 'stale-lock', 'use-after-free', 'use-after-reuse']);
    expect(v[3]!.pointerGen).not.toBe(v[3]!.pageGen);
  });

  it('walker modes accept a stale read but not a stale lock', () => {
    const { arena, k } = world({}, 'walker-rcu');
    opFault(k, 0, 1);
    k.hugetlbWalk('uffd-must-wait', 0);
    Atomics.store(arena.mem, k.pudEntryAt(0), 0);
    expect(k.check('uffd-must-wait', Access.read, 1, 0)).toBe(Oc['stale-read']);
    expect(readViolations(arena, RUN)).toEqual([]);
    expect(k.check('ptl-under-walker', Access.lock, 1, 0)).toBe(Oc['stale-lock']);
    expect(readViolations(arena, RUN).map((x) => x.kind)).toEqual(['stale-lock']);
  });
});

describe('hugetlb_walk() lock assertion (final)', () => {
  it('a walker without the vma lock or i_mmap_rwsem is a lock-rule violation; with it, none', () => {
    const fin = modeByName('final')!;
    // A busted final: one site's guard forgotten, the assertion kept.
    const busted: ModeTable = { ...fin, name: 'final-busted', guards: { ...fin.guards, 'walk-range': { walker: false, vma: 'none', iMmap: 'none' } } };
    const { arena, cpu } = world();
    const good = new Kernel(cpu, { mode: fin, lockstat: false, stopOnViolation: false, t0: 0 });
    good.guardEnter('walk-range', 0, 0);
    good.hugetlbWalk('walk-range', 0);
    good.guardExit('walk-range', 0, 0);
    expect(readViolations(arena, RUN)).toEqual([]);
    const bad = new Kernel(cpu, { mode: busted, lockstat: false, stopOnViolation: false, t0: 0 });
    bad.guardEnter('walk-range', 0, 0);
    bad.hugetlbWalk('walk-range', 0);
    bad.guardExit('walk-range', 0, 0);
    const v = readViolations(arena, RUN);
    expect(v.map((x) => [x.kind, x.site])).toEqual([['lock-rule', 'walk-range']]);
  });
});

describe('huge_pmd_unshare() lock assertion (final)', () => {
  it('an unshare without i_mmap_rwsem and the vma lock held for write is a lock-rule violation; with them, none', () => {
    const { arena, k, cpu } = world({}, 'final');
    for (let v = 0; v < 4; v++) opFault(k, v, 0); // mm 0 allocates, the others share
    opMadviseDontneed(k, 1, 0, 16); // unshares under final's locks
    expect(sumCounter(arena, C.UNSHARES)).toBeGreaterThan(0);
    expect(readViolations(arena, RUN)).toEqual([]);
    const fin = modeByName('final')!;
    const busted: ModeTable = { ...fin, name: 'final-busted', unshare: { vmaLockWrite: false, iMmapWrite: true } };
    const bad = new Kernel(cpu, { mode: busted, lockstat: false, stopOnViolation: false, t0: 0 });
    opMadviseDontneed(bad, 2, 0, 16);
    expect(readViolations(arena, RUN).map((x) => [x.kind, x.site])).toEqual([['lock-rule', 'destroyer']]);
  });
});

describe('end-of-run invariants', () => {
  it('hold after sharing, unsharing and freeing, and catch a leaked reference and a lost mapcount', () => {
    const { arena, k } = world({}, 'final');
    for (let v = 0; v < 8; v++) opFault(k, v, v % 16); // mm 0 allocates, the others share
    expect(checkInvariants(arena).errors).toEqual([]);
    opMadviseDontneed(k, 2, 0, 16); // unshare mm 1's file 0
    opMunmap(k, 4);
    expect(checkInvariants(arena).errors).toEqual([]);
    // Busted twins of the refcount and mapcount bookkeeping.
    const page = (Atomics.load(arena.mem, k.pudEntryAt(0)) & 0xffff) - 1;
    Atomics.add(arena.mem, k.pool.hdr(page) + PageHdr.REFCOUNT, 1);
    expect(checkInvariants(arena).errors.join('\n')).toMatch(/refcount .* PUD entries point at it/);
    Atomics.sub(arena.mem, k.pool.hdr(page) + PageHdr.REFCOUNT, 1);
    Atomics.store(arena.mem, k.pool.entry(page, 0), 0); // an entry cleared without the folio's mapcount
    expect(checkInvariants(arena).errors.join('\n')).toMatch(/mapcount/);
  });

  it('catch a leaked PUD page and an mm whose root is not its own', () => {
    const { arena, k, cpu } = world({}, 'final');
    expect(checkInvariants(arena).errors).toEqual([]);
    const leaked = k.pool.alloc(cpu, PageLevel.pud, 0);
    expect(checkInvariants(arena).errors.join('\n')).toMatch(new RegExp(`PUD page ${leaked} is live but no mm's root`));
    const s = new Structs(arena);
    Atomics.store(arena.mem, s.mm(1) + Mm.PUD, Atomics.load(arena.mem, s.mm(0) + Mm.PUD)); // mm 1 points at mm 0's root
    expect(checkInvariants(arena).errors.join('\n')).toMatch(/and another mm, not exactly one owner/);
  });
});

describe('race widening table', () => {
  it('each --widen-point has its own probability and length; the rest stay off', () => {
    const t = widenTable({ prob: 0.05, us: 200, points: ['walk-ptl:0.5:2000', 'zap', 'free-table::900'] })!;
    const at = (n: string): [number, number] => [t.prob[pointId(n)]!, t.us[pointId(n)]!];
    expect(at('walk-ptl')).toEqual([0.5, 2000]);
    expect(at('zap')).toEqual([0.05, 200]);
    expect(at('free-table')).toEqual([0.05, 900]);
    expect(t.prob[pointId('walk-pud')]).toBe(0);
    // No list: every point at the run's probability and length.
    expect(new Set(widenTable({ prob: 0.1, us: 50 })!.prob)).toEqual(new Set([0.1]));
  });
});
