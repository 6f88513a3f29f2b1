/**
 * The one arena: a single SharedArrayBuffer carved into named regions.
 *
 * Every region is a range of 32-bit words in one Int32Array (so every cell can be used with
 * Atomics.wait/notify), aligned to a 64-byte cache line. The layout is a pure function of the
 * ArenaConfig: the main thread creates the buffer, each worker receives (buffer, config) and
 * rebuilds the identical views with `Arena.attach`.
 */

export const WORD_BYTES = 4;
/** 64-byte cache line in 32-bit words. */
export const LINE_WORDS = 16;

export interface ArenaConfig {
  /** CPU workers (1..64). */
  cpus: number;
  /** Page-table pages in the pool. */
  pages: number;
  /** Entries per page-table page (512 in the kernel; tests may shrink it). */
  entriesPerPage: number;
  /** Pages held back after a free before they may be reused (0 = LIFO reuse at once). */
  quarantine: number;
  /** Processes (mm_struct slots). */
  mms: number;
  /** VMA slots. */
  vmas: number;
  /** hugetlbfs files (address_space slots). */
  files: number;
  /** Huge-page data folios. */
  folios: number;
  /** hugetlb_fault_mutex_table size. */
  faultMutexes: number;
  /** Events kept per CPU in the trace ring (power of two). */
  traceDepth: number;
  /** Violation records kept in full. */
  violationSlots: number;
  /** Deferred-work records (call_rcu) in flight at once. */
  rcuCallbacks: number;
  /**
   * Independent worlds (default 1): mms, vmas, files and faultMutexes are split into this many
   * equal blocks, one per world (workers/hugetlb/setup.ts); everything else stays shared.
   */
  worlds?: number | undefined;
}

/** Worlds of a config (1 when unset). */
export function worldsOf(c: ArenaConfig): number {
  return c.worlds ?? 1;
}

export function defaultArenaConfig(cpus: number, over: Partial<ArenaConfig> = {}): ArenaConfig {
  return {
    cpus,
    pages: 256,
    entriesPerPage: 512,
    quarantine: 0,
    mms: 8,
    vmas: 64,
    files: 4,
    folios: 4096,
    faultMutexes: 64,
    traceDepth: 64,
    violationSlots: 16,
    rcuCallbacks: 1024,
    ...over,
  };
}

/** Words per CPU block: 4 cache lines, written almost only by the owning CPU. */
export const CPU_WORDS = 4 * LINE_WORDS;
/** Words per page-table page header: one cache line. */
export const PAGE_HDR_WORDS = LINE_WORDS;
/** Words per trace event: seq, event, a, b. */
export const TRACE_EVENT_WORDS = 4;
/** Lock classes the arena keeps statistics for (see locks/classes.ts). */
export const MAX_LOCK_CLASSES = 32;
/** lock_stat words per (CPU, class, side); see locks/lockstat.ts. */
export const LOCKSTAT_WORDS = 160;
/** Words per violation record, trace snapshot excluded. */
export const VIOLATION_WORDS = 64;

export const MM_WORDS = 2 * LINE_WORDS;
export const VMA_WORDS = 2 * LINE_WORDS;
export const FILE_WORDS = 2 * LINE_WORDS;
/** One line per folio, as a struct page is 64 bytes: CPUs mapping neighbours do not bounce it. */
export const FOLIO_WORDS = LINE_WORDS;
/** Per-CPU statistics counters (ops, outcomes per site, violations by kind): see workers/hugetlb/stats.ts; words 576.. hold exit-latency.ts's histograms. */
export const COUNTER_WORDS = 832;
/** Per-CPU per-op-kind latency histograms: 32 op kinds × 32 log2 buckets (workers/hugetlb/op-latency.ts). */
export const OP_LATENCY_WORDS = 32 * 32;

/** Region names in layout order. */
export const REGIONS = [
  'ctl', // run control: stop flag, phase, start barrier, global sequence numbers
  'cpu', // per-CPU blocks
  'pool', // page pool header: free-list lock, free list, counts, quarantine ring
  'pageHdr', // page-table page headers
  'pageEnt', // page-table page entries
  'pageRole', // page-table page roles (owner) and their short history: workers/hugetlb/roles.ts
  'mm',
  'vma',
  'file',
  'folio',
  'faultMutex',
  'rcu', // RCU global + per-CPU reader state + callback ring
  'ipi', // IRQ/IPI model: per-CPU lines
  'lockstat', // per CPU × class × side
  'lockdep', // class-order matrix
  'trace', // per-CPU event rings
  'violations',
  'counters', // per-CPU op counters (a line each) + global counters
  'scratch', // tests and torture tasks: free-form words
  'opLatency', // per-CPU latency histogram per op kind
] as const;
export type RegionName = (typeof REGIONS)[number];

export interface Region {
  readonly base: number;
  readonly words: number;
}

export type Layout = Readonly<Record<RegionName, Region>> & { readonly totalWords: number };

const alignLine = (n: number): number => Math.ceil(n / LINE_WORDS) * LINE_WORDS;

/** Words a region needs for a config. One line per region: the owning module documents the inside. */
export function regionWords(name: RegionName, c: ArenaConfig): number {
  switch (name) {
    case 'ctl': return 4 * LINE_WORDS;
    case 'cpu': return c.cpus * CPU_WORDS;
    case 'pool': return 4 * LINE_WORDS + c.pages + Math.max(1, c.quarantine);
    case 'pageHdr': return c.pages * PAGE_HDR_WORDS;
    case 'pageEnt': return c.pages * c.entriesPerPage;
    case 'pageRole': return c.pages * LINE_WORDS;
    case 'mm': return c.mms * MM_WORDS;
    case 'vma': return c.vmas * VMA_WORDS;
    case 'file': return c.files * (FILE_WORDS + alignLine(c.vmas / worldsOf(c)));
    case 'folio': return c.folios * FOLIO_WORDS;
    case 'faultMutex': return c.faultMutexes * LINE_WORDS;
    case 'rcu': return 8 * LINE_WORDS + c.cpus * 2 * LINE_WORDS + c.rcuCallbacks * 4;
    case 'ipi': return 4 * LINE_WORDS + c.cpus * LINE_WORDS;
    case 'lockstat': return c.cpus * MAX_LOCK_CLASSES * 2 * LOCKSTAT_WORDS + 512 * LINE_WORDS;
    case 'lockdep': return MAX_LOCK_CLASSES * MAX_LOCK_CLASSES * 2 + 33 * LINE_WORDS;
    case 'trace': return c.cpus * c.traceDepth * TRACE_EVENT_WORDS + c.cpus * LINE_WORDS;
    case 'violations':
      return LINE_WORDS + c.violationSlots * (VIOLATION_WORDS + c.cpus * 32 * TRACE_EVENT_WORDS);
    case 'counters': return c.cpus * COUNTER_WORDS + 4 * LINE_WORDS;
    case 'scratch': return 64 * LINE_WORDS + c.cpus * LINE_WORDS;
    case 'opLatency': return c.cpus * OP_LATENCY_WORDS;
  }
}

export function validateArenaConfig(c: ArenaConfig): void {
  const int = (k: Exclude<keyof ArenaConfig, 'worlds'>, min: number, max: number): void => {
    const v = c[k];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new RangeError(`arena config: ${k}=${String(v)} must be an integer in [${min}, ${max}]`);
    }
  };
  int('cpus', 1, 64);
  int('pages', 4, 1 << 16);
  int('entriesPerPage', 4, 512);
  int('quarantine', 0, c.pages - 1);
  int('mms', 1, 4096);
  int('vmas', 1, 16384);
  int('files', 1, 1024);
  int('folios', 1, 1 << 20);
  int('faultMutexes', 1, 16384);
  int('violationSlots', 1, 1024);
  int('rcuCallbacks', 4, 1 << 20);
  const w = worldsOf(c);
  if (!Number.isInteger(w) || w < 1 || w > c.cpus) throw new RangeError(`arena config: worlds=${String(w)} must be an integer in [1, cpus=${c.cpus}]`);
  for (const k of ['mms', 'vmas', 'files', 'faultMutexes'] as const) {
    if (c[k] % w !== 0) throw new RangeError(`arena config: ${k}=${c[k]} must be a multiple of worlds=${w} (one equal block per world)`);
  }
  if (!Number.isInteger(c.traceDepth) || c.traceDepth < 32 || (c.traceDepth & (c.traceDepth - 1)) !== 0) {
    throw new RangeError(`arena config: traceDepth=${c.traceDepth} must be a power of two >= 32`);
  }
}

export function planLayout(c: ArenaConfig): Layout {
  validateArenaConfig(c);
  let at = 0;
  const out: Partial<Record<RegionName, Region>> = {};
  for (const name of REGIONS) {
    const words = alignLine(regionWords(name, c));
    out[name] = { base: at, words };
    at += words;
  }
  return { ...(out as Record<RegionName, Region>), totalWords: at };
}

/** Typed views over the shared buffer. Cheap to rebuild in every worker. */
export class Arena {
  readonly mem: Int32Array;
  readonly layout: Layout;

  private constructor(
    readonly buffer: SharedArrayBuffer,
    readonly config: ArenaConfig,
  ) {
    this.layout = planLayout(config);
    if (buffer.byteLength < this.layout.totalWords * WORD_BYTES) {
      throw new RangeError(`arena: buffer of ${buffer.byteLength} bytes is smaller than the layout`);
    }
    this.mem = new Int32Array(buffer, 0, this.layout.totalWords);
  }

  static create(config: ArenaConfig): Arena {
    const words = planLayout(config).totalWords;
    return new Arena(new SharedArrayBuffer(words * WORD_BYTES), config);
  }

  static attach(buffer: SharedArrayBuffer, config: ArenaConfig): Arena {
    return new Arena(buffer, config);
  }

  base(name: RegionName): number {
    return this.layout[name].base;
  }

  get bytes(): number {
    return this.buffer.byteLength;
  }
}
