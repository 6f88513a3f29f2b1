/**
 * Invariants checked at quiescent points (kernel-model.md §5), main thread, no CPU running;
 * over every world of the arena at once (one pool, one set of pages).
 */
import type { Arena } from '../../shared-mem/layout.js';
import { PagePool, PageHdr, PageLevel, PageState, GEN_MASK } from './pool.js';
import { Folio, Mm, Pte, Structs, VmaFlag, pteFolio, ptrPage, ptrTag } from './structs.js';
import { mmsOfWorld, modelShape, spareVmaOf, vmaId, worldFile, worldOfMm } from './setup.js';

export interface InvariantResult {
  ok: boolean;
  errors: string[];
  pool: { free: number; live: number; pending: number; allocs: number; frees: number; allocFailures: number };
}

export function checkInvariants(arena: Arena): InvariantResult {
  const pool = new PagePool(arena);
  const s = new Structs(arena);
  const shape = modelShape(arena);
  const E = arena.config.entriesPerPage;
  const errors = pool.checkConservation();
  // PUD references per PMD page.
  const refs = new Map<number, number>();
  const roots = new Set<number>();
  const allMms = Array.from({ length: shape.worlds }, (_, w) => mmsOfWorld(shape, w)).flat();
  for (const mm of allMms) {
    const root = ptrPage(s.ld(s.mm(mm) + Mm.PUD));
    // Every mm owns exactly one live PUD page (tables are never freed at that level here).
    if (root < 0 || root >= pool.pages || pool.state(root) !== PageState.live || pool.get(root, PageHdr.LEVEL) !== PageLevel.pud) {
      errors.push(`mm ${mm}: root ${root} is not a live PUD page`);
      continue;
    }
    if (pool.get(root, PageHdr.REFCOUNT) !== 1 || roots.has(root)) errors.push(`mm ${mm}: PUD page ${root} has refcount ${pool.get(root, PageHdr.REFCOUNT)}${roots.has(root) ? ' and another mm' : ''}, not exactly one owner`);
    roots.add(root);
    for (let i = 0; i < E; i++) {
      const e = s.ld(pool.entry(root, i));
      if (e === 0) continue;
      const p = ptrPage(e);
      if (p < 0 || p >= pool.pages) {
        errors.push(`mm ${mm} PUD[${i}] = 0x${(e >>> 0).toString(16)}: not a page pointer`);
        continue;
      }
      if (pool.state(p) !== PageState.live || pool.get(p, PageHdr.LEVEL) !== PageLevel.pmd) {
        errors.push(`mm ${mm} PUD[${i}] points at page ${p}, which is not a live PMD page`);
      } else if ((pool.gen(p) & GEN_MASK) !== ptrTag(e)) {
        errors.push(`mm ${mm} PUD[${i}] points at page ${p} with a stale generation tag`);
      }
      refs.set(p, (refs.get(p) ?? 0) + 1);
    }
  }
  for (let p = 0; p < pool.pages; p++) {
    if (pool.state(p) === PageState.live && pool.get(p, PageHdr.LEVEL) === PageLevel.pud && !roots.has(p)) errors.push(`PUD page ${p} is live but no mm's root: leaked`);
  }
  // A shared PMD table is referenced only from VMAs covering its whole PUD range
  // (want_pmd_share / page_table_shareable; what CVE-2025-38084's split left broken).
  for (const mm of allMms) {
    const root = ptrPage(s.ld(s.mm(mm) + Mm.PUD));
    const w = worldOfMm(shape, mm);
    for (let f = 0; f < shape.files; f++) {
      const map = vmaId(shape, mm, worldFile(shape, w, f));
      for (const v of [map, spareVmaOf(shape, map)]) {
        if ((s.vmaFlags(v) & VmaFlag.MAPPED) === 0 || s.vmaCoversPud(v)) continue;
        const e = s.ld(pool.entry(root, s.vmaPudIndex(v)));
        if (e === 0) continue;
        const p = ptrPage(e);
        const rc = pool.get(p, PageHdr.REFCOUNT);
        if (rc > 1) errors.push(`mm ${mm} VMA ${v} [${s.vmaStart(v)}, ${s.vmaEnd(v)}) of PUD[${s.vmaPudIndex(v)}] does not cover its PUD range, but its PMD page ${p} is shared (refcount ${rc})`);
      }
    }
  }
  const mapcount = new Map<number, number>();
  for (let p = 0; p < pool.pages; p++) {
    if (pool.state(p) !== PageState.live || pool.get(p, PageHdr.LEVEL) !== PageLevel.pmd) continue;
    const rc = pool.get(p, PageHdr.REFCOUNT);
    const n = refs.get(p) ?? 0;
    if (rc !== n) errors.push(`PMD page ${p}: refcount ${rc}, but ${n} PUD entries point at it`);
    for (let i = 0; i < E; i++) {
      const pte = s.ld(pool.entry(p, i));
      if ((pte & (Pte.PRESENT | Pte.MIGRATION)) !== 0) mapcount.set(pteFolio(pte), (mapcount.get(pteFolio(pte)) ?? 0) + 1);
    }
  }
  for (let f = 0; f < shape.worlds * shape.files * E; f++) {
    const mc = s.ld(s.folio(f) + Folio.MAPCOUNT);
    const n = mapcount.get(f) ?? 0;
    if (mc !== n) errors.push(`folio ${f}: mapcount ${mc}, but ${n} entries map it`);
  }
  return { ok: errors.length === 0, errors: errors.slice(0, 50), pool: pool.counts() };
}

/** Test hook: break one invariant (mm 0's PUD page refcount one too many), to prove a failed check is reported. */
export function plantInvariantFailure(arena: Arena): void {
  const root = ptrPage(Atomics.load(arena.mem, new Structs(arena).mm(0) + Mm.PUD));
  Atomics.add(arena.mem, new PagePool(arena).hdr(root) + PageHdr.REFCOUNT, 1);
}
