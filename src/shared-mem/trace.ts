/**
 * ftrace-like per-CPU event rings in the `trace` region. Each CPU writes only its own ring
 * (head counter in its own line); a violation report snapshots the last events of every CPU.
 * Event ids are small integers; `traceEventName` gives the text.
 */
import { type Arena, LINE_WORDS, TRACE_EVENT_WORDS } from './layout.js';

/** Core events. The model's own events start at TraceEv.model. */
export const TraceEv = {
  opStart: 1, // a = op id, b = arg
  opEnd: 2, // a = op id, b = result
  lock: 3, // a = class, b = lock word
  unlock: 4,
  block: 5, // a = word, b = expected
  point: 6, // a = point id
  violation: 7, // a = kind, b = page
  ipi: 8, // a = kind, b = sender
  rcu: 9, // a = what, b = arg
  model: 32,
} as const;

const names = new Map<number, string>([
  [TraceEv.opStart, 'op-start'],
  [TraceEv.opEnd, 'op-end'],
  [TraceEv.lock, 'lock'],
  [TraceEv.unlock, 'unlock'],
  [TraceEv.block, 'block'],
  [TraceEv.point, 'point'],
  [TraceEv.violation, 'violation'],
  [TraceEv.ipi, 'ipi'],
  [TraceEv.rcu, 'rcu'],
]);

/** Register names for events above TraceEv.model (done at module load by the model). */
export function nameTraceEvent(id: number, name: string): void {
  names.set(id, name);
}

export function traceEventName(id: number): string {
  return names.get(id) ?? `ev${id}`;
}

export interface TraceEvent {
  cpu: number;
  /**
   * Microseconds since the run started (wraps after 35 minutes), from the clock read every 4th
   * event and after every sleep — lock and unlock events count a quarter (TraceRing.emit): so it
   * can lag the true time by the last three events' work (or up to 15 lock events'), never by a wait.
   */
  us: number;
  ev: number;
  name: string;
  a: number;
  b: number;
}

/** A trace event's clock is read every 4th event, every 16th lock or unlock (see TraceRing.due). */
const CLOCK_DUE = 16;

/** Word of CPU `cpu`'s ring head (event count), in its own line. */
export function traceHeadAt(arena: Arena, cpu: number): number {
  return arena.base('trace') + cpu * LINE_WORDS;
}

export class TraceRing {
  private readonly mem: Int32Array;
  private readonly head: number;
  private readonly ring: number;
  private readonly mask: number;
  private readonly t0: number;
  /** Timestamp of the last clock read: performance.now() costs ~50 ns, so it is read only when `due` is. */
  private us = 0;
  /**
   * Events since the last clock read, in quarters: a lock or unlock event (two per lock pair, the
   * bulk of all events, a few ns apart) counts 1, any other 4; the clock is read at CLOCK_DUE.
   */
  private due = CLOCK_DUE;

  /** Read the clock now (after a sleep or a widened nap, before a violation): the next events carry it. */
  refresh(): void {
    this.stamp(performance.now());
  }

  /** Take a clock reading made by the caller (a timed walk's, refhold.ts): the same as refresh without a second read. */
  stamp(now: number): void {
    this.us = ((now - this.t0) * 1000) & 0x7fffffff;
    this.due = 0;
  }

  constructor(
    arena: Arena,
    readonly cpu: number,
    t0 = performance.now(),
  ) {
    const depth = arena.config.traceDepth;
    const base = arena.base('trace');
    this.mem = arena.mem;
    this.head = traceHeadAt(arena, cpu);
    this.ring = base + arena.config.cpus * LINE_WORDS + cpu * depth * TRACE_EVENT_WORDS;
    this.mask = depth - 1;
    this.t0 = t0;
  }

  /**
   * Only this CPU writes its ring, so the head is read and the event written with plain accesses
   * (an Atomics access costs 5-10 ns, a plain one under 1); the one Atomics.store of the new head
   * publishes them: a reader's Atomics.load of the head sees the event words written before it,
   * and every other plain store this CPU made before (the tracker's held-lock stack relies on it).
   */
  emit(ev: number, a: number, b: number): void {
    const m = this.mem;
    const n = m[this.head]!;
    const at = this.ring + (n & this.mask) * TRACE_EVENT_WORDS;
    if (this.due >= CLOCK_DUE) this.refresh();
    this.due += ev === TraceEv.lock || ev === TraceEv.unlock ? 1 : 4;
    m[at] = this.us;
    m[at + 1] = ev;
    m[at + 2] = a;
    m[at + 3] = b;
    Atomics.store(m, this.head, n + 1);
  }
}

/** The last `count` events of one CPU, oldest first (racy against the writer by design: a snapshot). */
export function readTrace(arena: Arena, cpu: number, count: number): TraceEvent[] {
  const depth = arena.config.traceDepth;
  const base = arena.base('trace');
  const mem = arena.mem;
  const n = Atomics.load(mem, traceHeadAt(arena, cpu));
  const ring = base + arena.config.cpus * LINE_WORDS + cpu * depth * TRACE_EVENT_WORDS;
  const take = Math.min(count, n, depth);
  const out: TraceEvent[] = [];
  for (let i = n - take; i < n; i++) {
    const at = ring + (i & (depth - 1)) * TRACE_EVENT_WORDS;
    const ev = Atomics.load(mem, at + 1);
    out.push({ cpu, us: Atomics.load(mem, at), ev, name: traceEventName(ev), a: Atomics.load(mem, at + 2), b: Atomics.load(mem, at + 3) });
  }
  return out;
}

/** Copy the last `count` events of one CPU into a flat word array (for violation snapshots). */
export function copyTrace(arena: Arena, cpu: number, count: number, dst: number): number {
  const evs = readTrace(arena, cpu, count);
  const mem = arena.mem;
  evs.forEach((e, i) => {
    const at = dst + i * TRACE_EVENT_WORDS;
    Atomics.store(mem, at, e.us);
    Atomics.store(mem, at + 1, e.ev);
    Atomics.store(mem, at + 2, e.a);
    Atomics.store(mem, at + 3, e.b);
  });
  return evs.length;
}
