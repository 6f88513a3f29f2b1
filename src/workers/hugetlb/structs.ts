/**
 * mm_struct, vm_area_struct, address_space and folio slots in the arena, and the page-table
 * entry encodings. Field offsets are words within a slot; locks sit at line starts so that a
 * lock word and the data it guards do not share a line with another CPU's hot words.
 */
import { type Arena, FILE_WORDS, FOLIO_WORDS, LINE_WORDS, MM_WORDS, VMA_WORDS, worldsOf } from '../../shared-mem/layout.js';

export const Mm = {
  /** mmap_lock (rw_semaphore), alone in line 0: every op of this mm takes it. */
  MMAP_LOCK: 0,
  /** mm->page_table_lock (spinlock), line 1 with the PUD pointer and counts it guards. */
  PAGE_TABLE_LOCK: 16,
  /** Tagged pointer to the PUD page (the root we model). */
  PUD: 17,
  /** 1 while the process exists. */
  ALIVE: 18,
  /** Incarnations of this slot (exit + new process). */
  GEN: 19,
  /** mm_inc_nr_pmds / mm_dec_nr_pmds. */
  NR_PMDS: 20,
} as const;

export const Vma = {
  /** hugetlb_vma_lock->rw_sema. */
  VMA_LOCK: 0,
  /** hugetlb_vma_lock kref. */
  VMA_LOCK_REF: 8,
  MM: 16,
  FILE: 17,
  /** PUD entry whose range holds this VMA (vm_start / PUD_SIZE). */
  PUD_INDEX: 18,
  /** vm_pgoff in PUD-sized units of the file. */
  PGOFF: 19,
  FLAGS: 20,
  /** Times mapped (munmap + mmap of the slot). */
  MAPS: 21,
  /**
   * [vm_start, vm_end) within the PUD range, in huge pages (0..entriesPerPage): a VMA may be
   * smaller than a PUD after a split; only a VMA covering [0, E) may share (range_in_vma).
   */
  START: 22,
  END: 23,
  /** The per-VMA lock (vma_start_read / vma_start_write; vm_lock, later vm_refcnt). */
  VM_LOCK: 24,
} as const;

export const VmaFlag = {
  /** VM_MAYSHARE | VM_SHARED: may share PMD pages (want_pmd_share). */
  MAYSHARE: 1,
  /** Mapped (inserted in its mm). */
  MAPPED: 2,
  /** Linked in the file's i_mmap tree. */
  IN_IMMAP: 4,
} as const;

export const File = {
  /** mapping->i_mmap_rwsem. */
  I_MMAP_RWSEM: 0,
  /** VMA ids that may map this file (the candidates of i_mmap); membership is VmaFlag.IN_IMMAP. */
  NVMAS: 16,
  /** First word of the VMA id list. */
  VMAS: FILE_WORDS,
} as const;

export const Folio = {
  REF: 0,
  MAPCOUNT: 1,
  /** 1 while in the file's page cache. */
  CACHED: 2,
} as const;

/** Huge PMD entry (huge pte) bits; the folio id sits above them. 0 = none. */
export const Pte = {
  PRESENT: 1,
  WRITE: 2,
  /** A swap-type entry: migration in progress (is_hugetlb_entry_migration). */
  MIGRATION: 4,
  /** userfaultfd write-protect marker. */
  UFFD_WP: 8,
  SHIFT: 4,
} as const;

export function pteFolio(pte: number): number {
  return (pte >>> Pte.SHIFT) - 1;
}

export function mkPte(folio: number, flags: number): number {
  return ((folio + 1) << Pte.SHIFT) | flags;
}

/** Decode a tagged page pointer (PUD entry): page id, or -1 for none. */
export function ptrPage(ptr: number): number {
  return (ptr & 0xffff) - 1;
}

export function ptrTag(ptr: number): number {
  return ptr >>> 16;
}

/** Slot addressing over one arena. */
export class Structs {
  readonly mem: Int32Array;
  private readonly mm0: number;
  private readonly vma0: number;
  private readonly file0: number;
  private readonly folio0: number;
  private readonly fm0: number;
  readonly fileStride: number;
  /** Files of one world, and fault mutexes of one world's block of the table (setup.ts). */
  private readonly worldFiles: number;
  private readonly worldFaultMutexes: number;

  constructor(readonly arena: Arena) {
    this.mem = arena.mem;
    this.mm0 = arena.base('mm');
    this.vma0 = arena.base('vma');
    this.file0 = arena.base('file');
    this.folio0 = arena.base('folio');
    this.fm0 = arena.base('faultMutex');
    const worlds = worldsOf(arena.config);
    // A file lists only its own world's VMA slots.
    this.fileStride = FILE_WORDS + Math.ceil(arena.config.vmas / worlds / LINE_WORDS) * LINE_WORDS;
    this.worldFiles = arena.config.files / worlds;
    this.worldFaultMutexes = arena.config.faultMutexes / worlds;
  }

  mm(id: number): number {
    return this.mm0 + id * MM_WORDS;
  }

  vma(id: number): number {
    return this.vma0 + id * VMA_WORDS;
  }

  file(id: number): number {
    return this.file0 + id * this.fileStride;
  }

  folio(id: number): number {
    return this.folio0 + id * FOLIO_WORDS;
  }

  /**
   * hugetlb_fault_mutex_table[hash(mapping, idx)]. With several worlds each has its own block of
   * the table, hashed as the one world's is, so no fault waits on another world's mutex.
   */
  faultMutex(file: number, idx: number): number {
    const n = this.worldFaultMutexes;
    const w = Math.floor(file / this.worldFiles);
    const local = file - w * this.worldFiles;
    const h = (Math.imul(local + 1, 0x9e3779b1) ^ Math.imul(idx + 1, 0x85ebca6b)) >>> 0;
    return this.fm0 + (w * n + (h % n)) * LINE_WORDS;
  }

  ld(at: number): number {
    return Atomics.load(this.mem, at);
  }

  st(at: number, v: number): void {
    Atomics.store(this.mem, at, v);
  }

  vmaMm(v: number): number {
    return this.ld(this.vma(v) + Vma.MM);
  }

  vmaFile(v: number): number {
    return this.ld(this.vma(v) + Vma.FILE);
  }

  vmaPudIndex(v: number): number {
    return this.ld(this.vma(v) + Vma.PUD_INDEX);
  }

  vmaFlags(v: number): number {
    return this.ld(this.vma(v) + Vma.FLAGS);
  }

  vmaStart(v: number): number {
    return this.ld(this.vma(v) + Vma.START);
  }

  vmaEnd(v: number): number {
    return this.ld(this.vma(v) + Vma.END);
  }

  /** range_in_vma(vma, PUD start, PUD end): the VMA covers its whole PUD range. */
  vmaCoversPud(v: number): boolean {
    return this.vmaStart(v) === 0 && this.vmaEnd(v) === this.arena.config.entriesPerPage;
  }

  /** The VMA has its hugetlb vma lock (vm_private_data): a VMA without one cannot share. */
  vmaHasLock(v: number): boolean {
    return this.ld(this.vma(v) + Vma.VMA_LOCK_REF) > 0;
  }

  /** Number of VMA ids registered with a file. */
  fileVmaCount(f: number): number {
    return this.ld(this.file(f) + File.NVMAS);
  }

  fileVma(f: number, i: number): number {
    return this.ld(this.file(f) + File.VMAS + i);
  }
}
