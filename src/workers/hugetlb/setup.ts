/**
 * Initial state of the model, built on the main thread before any CPU starts: the page pool,
 * `mms` processes each with a PUD page, and in each process one PUD-aligned, PUD-sized shared
 * mapping of every hugetlbfs file at the same address and offset — so every file's PMD pages
 * can be shared by all processes, and unshared by any of them.
 *
 * With several worlds (ArenaConfig.worlds) the processes, files and VMA slots are split into
 * equal blocks, one per world, each set up as the single world is: a world's processes map only
 * its own files, so its page tables are shared and unshared only among them. World w holds mms
 * from w·mmStride, files [w·files, (w+1)·files) and VMA slots [w·vmaStride, (w+1)·vmaStride);
 * with one world every id is what it always was.
 */
import { type Arena, worldsOf } from '../../shared-mem/layout.js';
import { PagePool, PageLevel } from './pool.js';
import { Cpu } from '../cpu.js';
import { File, Mm, Structs, Vma, VmaFlag } from './structs.js';

export interface ModelShape {
  /** Processes of one world. */
  mms: number;
  /** Files of one world. */
  files: number;
  worlds: number;
  /** mm slots of one world (its processes first, then unused slots). */
  mmStride: number;
  /** VMA slots of one world: a mapping and a split spare per (process, file) first, then unused slots. */
  vmaStride: number;
}

/** Each (process, file) has two VMA slots: the mapping, and a spare for the upper half of a split. */
export function modelShape(arena: Arena): ModelShape {
  const worlds = worldsOf(arena.config);
  const files = arena.config.files / worlds;
  const vmaStride = arena.config.vmas / worlds;
  const mmStride = arena.config.mms / worlds;
  const mms = Math.min(mmStride, Math.floor(vmaStride / (2 * files)));
  return { mms, files, worlds, mmStride, vmaStride };
}

/** The world a CPU works in: CPU c belongs to world c mod worlds. */
export function worldOfCpu(shape: Pick<ModelShape, 'worlds'>, cpu: number): number {
  return cpu % shape.worlds;
}

/** The CPUs of world `w` among `cpus`. */
export function cpusOfWorld(cpus: number, worlds: number, w: number): number[] {
  return Array.from({ length: cpus }, (_, c) => c).filter((c) => c % worlds === w);
}

/** Process `m` (0-based within the world) of world `w`. */
export function worldMm(shape: ModelShape, w: number, m: number): number {
  return w * (shape.mmStride) + m;
}

/** File `f` (0-based within the world) of world `w`. */
export function worldFile(shape: ModelShape, w: number, f: number): number {
  return w * shape.files + f;
}

/** Mapping slot `v` (0 ≤ v < mms·files, within the world) of world `w`. */
export function worldVma(shape: ModelShape, w: number, v: number): number {
  return w * shape.vmaStride + v;
}

/** The world of process `mm`. */
export function worldOfMm(shape: ModelShape, mm: number): number {
  return Math.floor(mm / shape.mmStride);
}

/** The processes of world `w`. */
export function mmsOfWorld(shape: ModelShape, w: number): number[] {
  return Array.from({ length: shape.mms }, (_, m) => worldMm(shape, w, m));
}

/** VMA id of file `f` in process `mm` (both global ids of one world). */
export function vmaId(shape: ModelShape, mm: number, f: number): number {
  const w = worldOfMm(shape, mm);
  return w * shape.vmaStride + (mm - worldMm(shape, w, 0)) * shape.files + (f - w * shape.files);
}

/** The spare VMA slot of a mapping: the new VMA __split_vma creates (mapped only while split). */
export function spareVmaOf(shape: ModelShape, vma: number): number {
  return vma + shape.mms * shape.files;
}
export function setupModel(arena: Arena): ModelShape {
  const shape = modelShape(arena);
  if (shape.mms < 2) throw new RangeError('model: need at least 2 processes to share PMD pages (vmas must be at least 4 × files: a mapping and a split spare per process and file)');
  if (arena.config.entriesPerPage <= shape.files) throw new RangeError('model: entriesPerPage must exceed files');
  const allFiles = shape.files * shape.worlds;
  if (arena.config.folios < allFiles * arena.config.entriesPerPage) {
    throw new RangeError(`model: folios must be at least files × entriesPerPage = ${allFiles * arena.config.entriesPerPage}`);
  }
  const pool = new PagePool(arena);
  pool.init();
  const s = new Structs(arena);
  const cpu = new Cpu(arena, 0, { seed: 0 });
  for (let w = 0; w < shape.worlds; w++) setupWorld(arena, shape, s, pool, cpu, w);
  return shape;
}

/** One world's processes, their mappings of the world's files, and the files' i_mmap candidates. */
function setupWorld(arena: Arena, shape: ModelShape, s: Structs, pool: PagePool, cpu: Cpu, w: number): void {
  const mms = mmsOfWorld(shape, w);
  const files = Array.from({ length: shape.files }, (_, f) => worldFile(shape, w, f));
  for (const mm of mms) {
    const pud = pool.alloc(cpu, PageLevel.pud, mm);
    if (pud < 0) throw new RangeError('model: page pool too small for the PUD pages');
    s.st(s.mm(mm) + Mm.PUD, pool.pointer(pud));
    s.st(s.mm(mm) + Mm.ALIVE, 1);
    files.forEach((f, i) => {
      const v = vmaId(shape, mm, f);
      const at = s.vma(v);
      s.st(at + Vma.MM, mm);
      s.st(at + Vma.FILE, f);
      // Every world's processes map their files at the same addresses: PUD entry i + 1.
      s.st(at + Vma.PUD_INDEX, i + 1);
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
      s.st(sp + Vma.PUD_INDEX, i + 1);
      s.st(sp + Vma.PGOFF, 0);
    });
  }
  // i_mmap candidates: every mapping, then every spare (membership is VmaFlag.IN_IMMAP).
  for (const f of files) {
    const fa = s.file(f);
    let n = 0;
    for (const mm of mms) s.st(fa + File.VMAS + n++, vmaId(shape, mm, f));
    for (const mm of mms) s.st(fa + File.VMAS + n++, spareVmaOf(shape, vmaId(shape, mm, f)));
    s.st(fa + File.NVMAS, n);
  }
}
