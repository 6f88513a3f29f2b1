/**
 * What the HTML report's violation picture shows: a violation's trace events as a sequence
 * (time order, one row per event), the CPUs as columns, and the three events that tell the race:
 * the walk that returned the page (pointer taken), the PUD clear or table free of that page (made
 * stale) and the bad dereference. The text report prints the same interleaving (formatSplat).
 */
import { TRACE_PER_CPU, type ViolationRecord } from '../../workers/hugetlb/violations.js';
import { describeEvent } from '../report-text.js';

export type EventRole = 'taken' | 'stale' | 'bad';

export interface SeqEvent {
  /** Index into `columns`. */
  col: number;
  cpu: number;
  us: number;
  label: string;
  role?: EventRole;
}

export interface Sequence {
  /** Column headings, left to right: the violating CPU first. */
  columns: string[];
  events: SeqEvent[];
  /** Said under the chart: omitted events, a stale-making event outside the window. */
  notes: string[];
  page: number;
}

/** Rows drawn at most: every event of the violating and the stale-making CPU, then the latest of the others. */
export const MAX_ROWS = 160;
/** Columns drawn at most: beyond, the remaining CPUs share one column. */
const MAX_COLUMNS = 3;

type Ev = ViolationRecord['trace'][number] & { i: number };

/** The roles of the events that tell this race, by index into the time-ordered trace. */
function roles(v: ViolationRecord, ev: readonly Ev[]): Map<number, EventRole> {
  const out = new Map<number, EventRole>();
  const own = (e: Ev): boolean => e.cpu === v.cpu;
  let bad = -1;
  for (let i = ev.length - 1; i >= 0 && bad < 0; i--) if (own(ev[i]!) && (ev[i]!.event === 'deref' || ev[i]!.event === 'violation')) bad = i;
  if (bad < 0) return out;
  // The deref and the violation record right after it are one event to the reader.
  for (let i = bad; i >= 0 && own(ev[i]!) && (ev[i]!.event === 'deref' || ev[i]!.event === 'violation'); i--) out.set(i, 'bad');
  for (let i = bad + 1; i < ev.length; i++) if (own(ev[i]!) && ev[i]!.event === 'violation') out.set(i, 'bad');
  let taken = -1;
  for (let i = bad; i >= 0 && taken < 0; i--) if (own(ev[i]!) && ev[i]!.event === 'hugetlb_walk' && ev[i]!.b === v.page) taken = i;
  if (taken >= 0) out.set(taken, 'taken');
  const makesStale = (e: Ev): boolean => (e.event === 'pud_clear' && e.b === v.page) || (e.event === 'free_table' && e.a === v.page);
  // Between the walk and the dereference: every clear or free of the page (an unshare, then the
  // free by the last sharer). Without the walk in the window: the last one before the dereference.
  const stale: number[] = [];
  for (let i = bad - 1; i >= Math.max(0, taken); i--) if (makesStale(ev[i]!) && (taken >= 0 || stale.length === 0)) stale.push(i);
  for (const i of stale) out.set(i, 'stale');
  return out;
}

export function violationSequence(v: ViolationRecord): Sequence {
  const ev: Ev[] = v.trace.map((e, i) => ({ ...e, i })).sort((x, y) => x.us - y.us || x.i - y.i);
  const role = roles(v, ev);
  const staleCpus = [...role].filter(([, r]) => r === 'stale').map(([i]) => ev[i]!.cpu);
  const cpus = [...new Set(ev.map((e) => e.cpu))];
  const first = [v.cpu, ...staleCpus.filter((c) => c !== v.cpu)].filter((c, i, a) => a.indexOf(c) === i);
  const rest = cpus.filter((c) => !first.includes(c)).sort((a, b) => a - b);
  const own = first.length + rest.length <= MAX_COLUMNS ? [...first, ...rest] : first;
  const shared = own.length < first.length + rest.length ? rest : [];
  const columns = [...own.map((c) => `cpu ${c}${c === v.cpu ? ' (violation)' : ''}`), ...(shared.length ? [`other CPUs (${shared.length})`] : [])];
  const colOf = (cpu: number): number => (own.includes(cpu) ? own.indexOf(cpu) : own.length);
  // Keep every event of the columns of their own, then the latest of the shared column, up to MAX_ROWS.
  const budget = Math.max(0, MAX_ROWS - ev.filter((e) => own.includes(e.cpu)).length);
  const sharedIdx = ev.map((e, i) => (own.includes(e.cpu) ? -1 : i)).filter((i) => i >= 0);
  const keepShared = new Set(sharedIdx.slice(Math.max(0, sharedIdx.length - budget)));
  const events: SeqEvent[] = [];
  ev.forEach((e, i) => {
    if (!own.includes(e.cpu) && !keepShared.has(i)) return;
    const label = `${own.includes(e.cpu) ? '' : `cpu${e.cpu}: `}${describeEvent(e.event, e.a, e.b)}`;
    const r = role.get(i);
    events.push({ col: colOf(e.cpu), cpu: e.cpu, us: e.us, label, ...(r ? { role: r } : {}) });
  });
  const notes: string[] = [];
  if (sharedIdx.length > keepShared.size) notes.push(`${sharedIdx.length - keepShared.size} earlier events of other CPUs not drawn (all are in the JSON)`);
  if (![...role.values()].includes('stale')) {
    // Which CPUs' windows start after the walk: the clear or free hides before one of them.
    const takenUs = ev.find((_e, i) => role.get(i) === 'taken')?.us ?? -1;
    const late = cpus.filter((c) => c !== v.cpu && (ev.find((e) => e.cpu === c)?.us ?? 0) > takenUs);
    const where = late.length ? `: it came before the first captured event of ${late.map((c) => `cpu ${c}`).join(', ')}` : '';
    notes.push(`the PUD clear or table free of page ${v.page} is not among the captured events (the last ${TRACE_PER_CPU} of each CPU)${where}`);
  }
  return { columns, events, notes, page: v.page };
}
