/**
 * Initial state of the model, built on the main thread before any CPU starts: the page pool,
 * `mms` processes each with a PUD page, and in each process one PUD-aligned, PUD-sized shared
 * mapping of every hugetlbfs file at the same address and offset — so every file's PMD pages
 * can be shared by all processes, and unshared by any of them.
 */
import type { Arena } from '../../shared-mem/layout.js';
import { PagePool, PageLevel } from './pool.js';
import { Cpu } from '../cpu.js';
import { File, Mm, Structs, Vma, VmaFlag } from './structs.js';

export interface ModelShape {
  mms: number;
  files: number;
}

/** Each (process, file) has two VMA slots: the mapping, and a spare for the upper half of a split. */
export function modelShape(arena: Arena): ModelShape {
  const files = arena.config.files;
  const mms = Math.min(arena.config.mms, Math.floor(arena.config.vmas / (2 * files)));
  return { mms, files };
}

/** VMA id of file `f` in process `mm`. */
export function vmaId(shape: ModelShape, mm: number, f: number): number {
  return mm * shape.files + f;
}

/** The spare VMA slot of a mapping: the new VMA __split_vma creates (mapped only while split). */
export function spareVmaOf(shape: ModelShape, vma: number): number {
  return shape.mms * shape.files + vma;
}

export function setupModel(arena: Arena): ModelShape {
  const shape = modelShape(arena);
  if (shape.mms < 2) throw new RangeError('model: need at least 2 processes to share PMD pages (vmas must be at least 4 × files: a mapping and a split spare per process and file)');
  if (arena.config.entriesPerPage <= shape.files) throw new RangeError('model: entriesPerPage must exceed files');
  if (arena.config.folios < shape.files * arena.config.entriesPerPage) {
    throw new RangeError(`model: folios must be at least files × entriesPerPage = ${shape.files * arena.config.entriesPerPage}`);
  }
  const pool = new PagePool(arena);
  pool.init();
  const s = new Structs(arena);
  const cpu = new Cpu(arena, 0, { seed: 0 });
  for (let mm = 0; mm < shape.mms; mm++) {
    const pud = pool.alloc(cpu, PageLevel.pud, mm);
    if (pud < 0) throw new RangeError('model: page pool too small for the PUD pages');
    s.st(s.mm(mm) + Mm.PUD, pool.pointer(pud));
    s.st(s.mm(mm) + Mm.ALIVE, 1);
    for (let f = 0; f < shape.files; f++) {
      const v = vmaId(shape, mm, f);
      const at = s.vma(v);
      s.st(at + Vma.MM, mm);
      s.st(at + Vma.FILE, f);
      s.st(at + Vma.PUD_INDEX, f + 1);
      s.st(at + Vma.PGOFF, 0);
      s.st(at + Vma.VMA_LOCK_REF, 1);
      s.st(at + Vma.FLAGS, VmaFlag.MAYSHARE | VmaFlag.MAPPED | VmaFlag.IN_IMMAP);
      s.st(at + Vma.MAPS, 1);
      s.st(at + Vma.START, 0);
      s.st(at + Vma.END, arena.config.entriesPerPage);
      // The spare: same mm, file, PUD and offset; no range, no vma lock, not mapped until a split.
      const sp = s.vma(spareVmaOf(shape, v));
      s.st(sp + Vma.MM, mm);
      s.st(sp + Vma.FILE, f);
      s.st(sp + Vma.PUD_INDEX, f + 1);
      s.st(sp + Vma.PGOFF, 0);
    }
  }
  // i_mmap candidates: every mapping, then every spare (membership is VmaFlag.IN_IMMAP).
  for (let f = 0; f < shape.files; f++) {
    const fa = s.file(f);
    let n = 0;
    for (let mm = 0; mm < shape.mms; mm++) s.st(fa + File.VMAS + n++, vmaId(shape, mm, f));
    for (let mm = 0; mm < shape.mms; mm++) s.st(fa + File.VMAS + n++, spareVmaOf(shape, vmaId(shape, mm, f)));
    s.st(fa + File.NVMAS, n);
  }
  return shape;
}
