/**
 * lock_stat: per (CPU, class, side) statistics in the `lockstat` region, /proc/lock_stat columns
 * plus p50/p99 from log2 histograms.
 *
 * Each CPU accumulates in worker-private memory (a Float64Array, so totals are exact 64-bit-safe
 * integers of ns) and publishes dirty records to its own records in the arena: on flush() and
 * every PUBLISH_EVERY acquisitions. A record is guarded by a seqlock word, so the main thread
 * can read live, untorn statistics at any time. 64-bit values are stored as (lo, hi) words.
 *
 * Region layout: cpus × MAX_LOCK_CLASSES × 2 sides × LOCKSTAT_WORDS records, then the bounce
 * table: BOUNCE_SLOTS slots, one cache line each, holding the last acquirer of the lock
 * instances hashed to it (tag = lock word index and CPU). Two instances sharing a slot only
 * make bounces uncounted (a tag mismatch is "unknown"), never invented.
 */
import { type Arena, LINE_WORDS, LOCKSTAT_WORDS, MAX_LOCK_CLASSES } from '../shared-mem/layout.js';
import { lockClassName } from './classes.js';

export const BOUNCE_SLOTS = 512;

/** Word offsets in one record (and in the private accumulator, where 64-bit values take the lo slot). */
export const LS = {
  CON: 0, // contentions (lo, hi)
  ACQ: 2, // acquisitions
  CON_BOUNCE: 4,
  ACQ_BOUNCE: 6,
  WAIT_TOTAL: 8, // ns
  HOLD_TOTAL: 10, // ns, over the timed holds only
  WAIT_MIN: 12, // ns as uint32 (saturates at 4.29 s); 0 = none
  WAIT_MAX: 13,
  HOLD_MIN: 14,
  HOLD_MAX: 15,
  WAIT_HIST: 16,
  HOLD_HIST: 16 + 39,
  SEQ: 94,
  /** log2 of the hold-time sampling period (0 = every acquisition timed). */
  HOLD_SHIFT: 95,
  /**
   * Contention points: contentions counted by the waiter's call site (its current op, slot =
   * CpuField.CUR_OP: 0 = none). The kernel keys these by the return address of the lock call;
   * our call sites are the ops, each named after the kernel path it mirrors.
   */
  CON_POINTS: 96,
  /** Contending points: the same contentions counted by the holder's call site seen then, + 1 (0 = no holder seen). */
  CONTENDING_POINTS: 96 + 32,
} as const;
/** Call-site slots per list (CUR_OP values; higher ones share the last slot). */
export const LS_POINTS = 32;
/** Buckets per histogram: bucket i counts [2^i, 2^(i+1)) ns, bucket 0 also < 1 ns, the last also above. */
export const LS_BUCKETS = 39;
const WIDE = [LS.CON, LS.ACQ, LS.CON_BOUNCE, LS.ACQ_BOUNCE, LS.WAIT_TOTAL, LS.HOLD_TOTAL];

export const Side = { read: 0, write: 1 } as const;

export function lockstatRecord(arena: Arena, cpu: number, cls: number, side: number): number {
  return arena.base('lockstat') + ((cpu * MAX_LOCK_CLASSES + cls) * 2 + side) * LOCKSTAT_WORDS;
}

export function bounceTableBase(arena: Arena): number {
  const records = arena.config.cpus * MAX_LOCK_CLASSES * 2 * LOCKSTAT_WORDS;
  if (arena.layout.lockstat.words < records + BOUNCE_SLOTS * LINE_WORDS) {
    throw new Error('lock_stat: the lockstat region is smaller than locks/lockstat.ts lays out');
  }
  return arena.base('lockstat') + records;
}

export function log2Bucket(ns: number): number {
  if (!(ns >= 2)) return 0;
  const b = ns < 4294967296 ? 31 - Math.clz32(ns >>> 0) : 32 + (31 - Math.clz32(Math.min(ns / 4294967296, 0xffffffff) >>> 0));
  return b < LS_BUCKETS ? b : LS_BUCKETS - 1;
}

/** One CPU's private accumulators and its publisher. */
export class LockStatAcc {
  /** One LOCKSTAT_WORDS-long slice per (class, side), same offsets as the arena record. */
  private readonly acc = new Float64Array(MAX_LOCK_CLASSES * 2 * LOCKSTAT_WORDS);
  /**
   * What every acquisition touches, kept dense (1 KiB, L1-resident) apart from the 80 KiB of
   * records above, which only contended and timed acquisitions touch: acquisitions and
   * acquisition bounces per (class, side), copied into the records at publish.
   */
  private readonly acq = new Float64Array(MAX_LOCK_CLASSES * 2);
  private readonly acqBounce = new Float64Array(MAX_LOCK_CLASSES * 2);
  /** Records contended or timed since the last publish (acquisitions alone are seen from acq). */
  private readonly dirty = new Uint8Array(MAX_LOCK_CLASSES * 2);
  /** The last lock's bounce slot and tag: a CPU often re-takes the lock it just released. */
  private lastAt = -1;
  private lastSlot = 0;
  private lastTag = 0;
  private readonly mem: Int32Array;
  private readonly bounce0: number;

  constructor(
    private readonly arena: Arena,
    readonly cpu: number,
    readonly holdShift: number,
  ) {
    this.mem = arena.mem;
    this.bounce0 = bounceTableBase(arena);
  }

  /**
   * Record an acquisition of lock word `at` (every one, contended or not): the count, and an
   * acquisition bounce when its previous acquirer was another CPU. Returns whether it bounced.
   */
  acquired(cls: number, side: number, at: number): boolean {
    const rec = cls * 2 + side;
    this.acq[rec]++;
    // Load first: a CPU re-taking its own lock neither writes nor dirties the shared slot.
    if (at !== this.lastAt) {
      this.lastAt = at;
      this.lastSlot = this.bounce0 + (Math.imul(at, 0x9e3779b1) >>> 23) * LINE_WORDS;
      this.lastTag = ((((at & 0x1ffffff) << 6) | this.cpu) | 0x80000000) | 0;
    }
    // A plain load: the slot is a racy hint by design (who took the lock last), and an Atomics
    // load would be a third of lock_stat's cost on an uncontended tracked pair.
    const prev = this.mem[this.lastSlot]!;
    if (prev === this.lastTag) return false;
    Atomics.store(this.mem, this.lastSlot, this.lastTag);
    if (prev === 0 || ((prev ^ this.lastTag) & ~63) !== 0) return false;
    this.acqBounce[rec]++;
    return true;
  }

  /**
   * Record a contention (after acquired() of the same acquisition): the wait, its call site
   * (`site`) and the holder's (`holderSite`, -1 when no holder was seen) as contention and
   * contending points.
   */
  contended(cls: number, side: number, waitNs: number, bounced: boolean, site: number, holderSite: number): void {
    const rec = cls * 2 + side;
    this.dirty[rec] = 1;
    const o = rec * LOCKSTAT_WORDS;
    const a = this.acc;
    a[o + LS.CON]++;
    a[o + LS.CON_POINTS + Math.min(site, LS_POINTS - 1)]++;
    a[o + LS.CONTENDING_POINTS + Math.min(holderSite + 1, LS_POINTS - 1)]++;
    if (bounced) a[o + LS.CON_BOUNCE]++;
    a[o + LS.WAIT_TOTAL] += waitNs;
    if (a[o + LS.WAIT_MIN] === 0 || waitNs < a[o + LS.WAIT_MIN]!) a[o + LS.WAIT_MIN] = Math.max(1, waitNs);
    if (waitNs > a[o + LS.WAIT_MAX]!) a[o + LS.WAIT_MAX] = waitNs;
    a[o + LS.WAIT_HIST + log2Bucket(waitNs)]++;
  }

  held(cls: number, side: number, holdNs: number): void {
    const rec = cls * 2 + side;
    this.dirty[rec] = 1;
    const o = rec * LOCKSTAT_WORDS;
    const a = this.acc;
    a[o + LS.HOLD_TOTAL] += holdNs;
    if (a[o + LS.HOLD_MIN] === 0 || holdNs < a[o + LS.HOLD_MIN]!) a[o + LS.HOLD_MIN] = Math.max(1, holdNs);
    if (holdNs > a[o + LS.HOLD_MAX]!) a[o + LS.HOLD_MAX] = holdNs;
    a[o + LS.HOLD_HIST + log2Bucket(holdNs)]++;
  }

  /** Copy dirty records into the arena under their seqlocks. */
  publish(): void {
    const m = this.mem;
    const a = this.acc;
    for (let rec = 0; rec < MAX_LOCK_CLASSES * 2; rec++) {
      const o = rec * LOCKSTAT_WORDS;
      // Dirty: contended or timed since the last publish (marked), or acquired (counts moved).
      if (this.dirty[rec] === 0 && a[o + LS.ACQ] === this.acq[rec]) continue;
      this.dirty[rec] = 0;
      a[o + LS.ACQ] = this.acq[rec]!;
      a[o + LS.ACQ_BOUNCE] = this.acqBounce[rec]!;
      const dst = lockstatRecord(this.arena, this.cpu, rec >> 1, rec & 1);
      Atomics.add(m, dst + LS.SEQ, 1); // odd: being written
      for (const w of WIDE) {
        const v = a[o + w]!;
        Atomics.store(m, dst + w, v % 4294967296 | 0);
        Atomics.store(m, dst + w + 1, Math.floor(v / 4294967296) | 0);
      }
      for (let w = LS.WAIT_MIN; w <= LS.HOLD_MAX; w++) Atomics.store(m, dst + w, Math.min(a[o + w]!, 0xffffffff) | 0);
      for (let w = LS.WAIT_HIST; w < LS.WAIT_HIST + 2 * LS_BUCKETS; w++) Atomics.store(m, dst + w, a[o + w]! | 0);
      for (let w = LS.CON_POINTS; w < LS.CON_POINTS + 2 * LS_POINTS; w++) Atomics.store(m, dst + w, a[o + w]! | 0);
      Atomics.store(m, dst + LS.HOLD_SHIFT, this.holdShift);
      Atomics.add(m, dst + LS.SEQ, 1);
    }
  }
}

// ---------------------------------------------------------------- main-thread side

/** One /proc/lock_stat line. Times in microseconds, like the kernel's output. */
export interface LockStatRow {
  cls: number;
  name: string;
  side: 'read' | 'write';
  conBounces: number;
  contentions: number;
  waitMin: number;
  waitMax: number;
  waitTotal: number;
  waitAvg: number;
  acqBounces: number;
  acquisitions: number;
  holdMin: number;
  holdMax: number;
  /** Estimated from the timed holds when hold times are sampled (holdSampled). */
  holdTotal: number;
  holdAvg: number;
  waitP50: number;
  waitP99: number;
  holdP50: number;
  holdP99: number;
  /** Holds actually timed (acquisitions when not sampled). */
  holdSamples: number;
  holdSampled: boolean;
  /**
   * Contention points (the waiters' call sites) and contending points (the holders' call sites
   * seen at those contentions), most contended first — /proc/lock_stat's two lists per class.
   */
  contentionPoints?: LockPoint[];
  contendingPoints?: LockPoint[];
  /** The merged log2 histograms behind the percentiles: bucket i = [2^i, 2^(i+1)) ns (LS_BUCKETS). */
  waitHist?: number[];
  holdHist?: number[];
}

export interface LockPoint {
  site: string;
  count: number;
}

/** Names a call-site slot (a CUR_OP value); the default only numbers it. */
export type SiteNamer = (slot: number) => string;
const defaultSiteName: SiteNamer = (slot) => (slot === 0 ? '(none)' : `op ${slot - 1}`);

function points(sum: readonly number[], at: number, name: SiteNamer): LockPoint[] {
  const out: LockPoint[] = [];
  for (let i = 0; i < LS_POINTS; i++) if (sum[at + i]! > 0) out.push({ site: name(i), count: sum[at + i]! });
  return out.sort((x, y) => y.count - x.count);
}

interface RawRecord {
  w: number[];
}

function readRecord(mem: Int32Array, at: number): RawRecord | undefined {
  for (let tries = 0; tries < 1000; tries++) {
    const s1 = Atomics.load(mem, at + LS.SEQ);
    if (s1 === 0) return undefined;
    if (s1 & 1) continue;
    const w: number[] = [];
    for (let i = 0; i < LOCKSTAT_WORDS; i++) w.push(Atomics.load(mem, at + i));
    if (Atomics.load(mem, at + LS.SEQ) === s1) return { w };
  }
  return undefined;
}

const wide = (w: number[], i: number): number => (w[i]! >>> 0) + (w[i + 1]! >>> 0) * 4294967296;

/** Bucket midpoint in µs for the p-th quantile, clamped to the observed [min, max]. */
function histQuantile(h: number[], p: number, minNs: number, maxNs: number): number {
  let n = 0;
  for (const x of h) n += x;
  if (n === 0) return 0;
  const want = Math.max(1, Math.ceil(n * p));
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= want) {
      const mid = i === 0 ? 1 : 1.5 * 2 ** i;
      return Math.min(Math.max(mid, minNs), maxNs) / 1000;
    }
  }
  return maxNs / 1000;
}

/** Merge every CPU's published records per class and side (classes never used are left out). */
export function readLockStat(arena: Arena, siteName: SiteNamer = defaultSiteName): LockStatRow[] {
  const mem = arena.mem;
  const rows: LockStatRow[] = [];
  for (let cls = 0; cls < MAX_LOCK_CLASSES; cls++) {
    for (const side of [Side.write, Side.read]) {
      let any = false;
      const sum = new Array<number>(LOCKSTAT_WORDS).fill(0);
      let waitMin = Infinity;
      let holdMin = Infinity;
      let shift = 0;
      for (let cpu = 0; cpu < arena.config.cpus; cpu++) {
        const r = readRecord(mem, lockstatRecord(arena, cpu, cls, side));
        if (!r) continue;
        any = true;
        const w = r.w;
        for (const i of WIDE) sum[i]! += wide(w, i);
        const wmin = w[LS.WAIT_MIN]! >>> 0;
        const hmin = w[LS.HOLD_MIN]! >>> 0;
        if (wmin > 0) waitMin = Math.min(waitMin, wmin);
        if (hmin > 0) holdMin = Math.min(holdMin, hmin);
        sum[LS.WAIT_MAX] = Math.max(sum[LS.WAIT_MAX]!, w[LS.WAIT_MAX]! >>> 0);
        sum[LS.HOLD_MAX] = Math.max(sum[LS.HOLD_MAX]!, w[LS.HOLD_MAX]! >>> 0);
        for (let i = LS.WAIT_HIST; i < LS.WAIT_HIST + 2 * LS_BUCKETS; i++) sum[i]! += w[i]! >>> 0;
        for (let i = LS.CON_POINTS; i < LS.CON_POINTS + 2 * LS_POINTS; i++) sum[i]! += w[i]! >>> 0;
        shift = Math.max(shift, w[LS.HOLD_SHIFT]!);
      }
      if (!any || sum[LS.ACQ] === 0) continue;
      const waitH = sum.slice(LS.WAIT_HIST, LS.WAIT_HIST + LS_BUCKETS);
      const holdH = sum.slice(LS.HOLD_HIST, LS.HOLD_HIST + LS_BUCKETS);
      const holdN = holdH.reduce((x, y) => x + y, 0);
      const con = sum[LS.CON]!;
      const acq = sum[LS.ACQ]!;
      const wMin = waitMin === Infinity ? 0 : waitMin;
      const hMin = holdMin === Infinity ? 0 : holdMin;
      const holdAvgNs = holdN > 0 ? sum[LS.HOLD_TOTAL]! / holdN : 0;
      rows.push({
        cls,
        name: lockClassName(cls),
        side: side === Side.read ? 'read' : 'write',
        conBounces: sum[LS.CON_BOUNCE]!,
        contentions: con,
        waitMin: wMin / 1000,
        waitMax: sum[LS.WAIT_MAX]! / 1000,
        waitTotal: sum[LS.WAIT_TOTAL]! / 1000,
        waitAvg: con > 0 ? sum[LS.WAIT_TOTAL]! / con / 1000 : 0,
        acqBounces: sum[LS.ACQ_BOUNCE]!,
        acquisitions: acq,
        holdMin: hMin / 1000,
        holdMax: sum[LS.HOLD_MAX]! / 1000,
        holdTotal: (holdN === acq ? sum[LS.HOLD_TOTAL]! : holdAvgNs * acq) / 1000,
        holdAvg: holdAvgNs / 1000,
        waitP50: histQuantile(waitH, 0.5, wMin, sum[LS.WAIT_MAX]!),
        waitP99: histQuantile(waitH, 0.99, wMin, sum[LS.WAIT_MAX]!),
        holdP50: histQuantile(holdH, 0.5, hMin, sum[LS.HOLD_MAX]!),
        holdP99: histQuantile(holdH, 0.99, hMin, sum[LS.HOLD_MAX]!),
        holdSamples: holdN,
        holdSampled: shift > 0,
        contentionPoints: points(sum, LS.CON_POINTS, siteName),
        contendingPoints: points(sum, LS.CONTENDING_POINTS, (slot) => (slot === 0 ? '(no holder seen)' : siteName(slot - 1))),
        waitHist: waitH,
        holdHist: holdH,
      });
    }
  }
  return rows;
}

const COLS = [
  'con-bounces', 'contentions', 'waittime-min', 'waittime-max', 'waittime-total', 'waittime-avg',
  'acq-bounces', 'acquisitions', 'holdtime-min', 'holdtime-max', 'holdtime-total', 'holdtime-avg',
  'wait-p50', 'wait-p99', 'hold-p50', 'hold-p99',
];

/** Call sites listed per class and list, as the kernel does. */
const POINTS_SHOWN = 4;

/** /proc/lock_stat-style text (times in µs with two decimals; p50/p99 are our extra columns). */
export function formatLockStat(rows: readonly LockStatRow[]): string {
  const us = (x: number): string => x.toFixed(2);
  const nameW = Math.max(40, ...rows.map((r) => r.name.length + 3));
  const bar = '-'.repeat(nameW + 1 + COLS.length * 15);
  const out = ['lock_stat version 0.4 (pmdtorture; + p50/p99)', bar,
    `${'class name'.padStart(nameW)} ${COLS.map((c) => c.padStart(14)).join(' ')}`, bar];
  const rw = new Set(rows.filter((r) => r.side === 'read').map((r) => r.cls));
  for (const r of rows) {
    const label = rw.has(r.cls) ? `${r.name}-${r.side === 'read' ? 'R' : 'W'}:` : `${r.name}:`;
    const cells = [
      String(r.conBounces), String(r.contentions), us(r.waitMin), us(r.waitMax), us(r.waitTotal), us(r.waitAvg),
      String(r.acqBounces), String(r.acquisitions), us(r.holdMin), us(r.holdMax), us(r.holdTotal) + (r.holdSampled ? '~' : ''),
      us(r.holdAvg), us(r.waitP50), us(r.waitP99), us(r.holdP50), us(r.holdP99),
    ];
    out.push(`${label.padStart(nameW)} ${cells.map((c) => c.padStart(14)).join(' ')}`);
    // The kernel's two lists under a contended class: where waiters waited, then where holders held.
    for (const list of [r.contentionPoints, r.contendingPoints]) {
      if (!list?.length) continue;
      out.push(`${'-'.repeat(r.name.length).padStart(nameW)}`);
      for (const pt of list.slice(0, POINTS_SHOWN)) out.push(`${r.name.padStart(nameW)} ${String(pt.count).padStart(14)} ${pt.site}`);
    }
  }
  if (rows.some((r) => r.holdSampled)) out.push('~ hold times sampled; holdtime-total estimated from the timed holds');
  return out.join('\n');
}
