/**
 * The steps of a controlled run as people read them: each recorded step decoded (CPU, operation,
 * yield point by name), and the whole printed one line per stretch of one CPU.
 */
import { OPS } from '../workers/hugetlb/ops-list.js';
import { POINT_NAMES } from '../workers/hugetlb/points.js';
import { EVENT_POINT_BASE } from '../workers/cpu.js';
import { pteYieldName } from '../workers/hugetlb/pte.js';
import { lockYieldName } from '../locks/yield-points.js';
import { TraceEv, traceEventName } from '../shared-mem/trace.js';
import { lockClassName } from '../locks/classes.js';
import { EV_WORDS, PSEUDO } from '../sched/controlled-waiter.js';

export interface StepEvent {
  step: number;
  cpu: number;
  op: string;
  point: string;
  next: number;
}


export function decodeEvents(ev: Int32Array): StepEvent[] {
  const out: StepEvent[] = [];
  for (let i = 0; i + EV_WORDS <= ev.length; i += EV_WORDS) {
    const op = ev[i + 1]!;
    const p = ev[i + 2]!;
    out.push({
      step: i / EV_WORDS,
      cpu: ev[i]!,
      op: op > 0 ? (OPS[op - 1]?.name ?? `op${op - 1}`) : '-',
      point: pointName(p, ev[i + 4]!, ev[i + 5]!),
      next: ev[i + 3]!,
    });
  }
  return out;
}

function pointName(p: number, a: number, b: number): string {
  if (p === PSEUDO.block) return 'blocks';
  if (p === PSEUDO.finish) return 'finished';
  if (p < EVENT_POINT_BASE) return POINT_NAMES[p] ?? pteYieldName(p) ?? lockYieldName(p) ?? `point${p}`;
  const ev = p - EVENT_POINT_BASE;
  const name = traceEventName(ev);
  if (ev === TraceEv.lock || ev === TraceEv.unlock) return `${name} ${lockClassName(a)}`;
  if (ev === TraceEv.rcu) return `rcu:${['', 'gp-start', 'gp-end', 'call_rcu', 'rcu-callback', 'async-gp'][a] ?? a}`;
  if (ev === TraceEv.ipi) return a < 0 ? 'ipi-ack' : 'ipi-send';
  if (ev >= TraceEv.model) return `${name}(${a},${b})`;
  return name;
}


/**
 * A readable interleaving: one line per stretch of one CPU inside one operation (the op-gap
 * point after an operation stays on its line), with the yield points it passed and the CPU
 * the scheduler switched to.
 */
export function formatInterleaving(evs: readonly StepEvent[], violationStep = -1): string {
  const lines: string[] = ['step   cpu  operation          yield points (→ next CPU)'];
  let i = 0;
  while (i < evs.length) {
    const e = evs[i]!;
    let j = i;
    const pts: string[] = [];
    while (j < evs.length && evs[j]!.cpu === e.cpu && (evs[j]!.op === e.op || (evs[j]!.op === '-' && e.op !== '-' && evs[j]!.point === 'op-gap'))) {
      const x = evs[j]!;
      pts.push(x.point + (x.step === violationStep ? ' [VIOLATION seen]' : ''));
      j++;
      if (x.next !== x.cpu || x.op === '-') break;
    }
    const last = evs[j - 1]!;
    const to = last.next !== last.cpu ? `  → cpu ${last.next}` : '';
    lines.push(`${String(e.step).padStart(5)}  ${String(e.cpu).padStart(3)}  ${e.op.padEnd(18)} ${compress(pts).join(', ')}${to}`);
    i = j;
  }
  return lines.join('\n');
}

/** "zap, zap, zap" → "zap ×3". */
function compress(xs: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < xs.length; ) {
    let j = i;
    while (j < xs.length && xs[j] === xs[i]) j++;
    out.push(j - i > 1 ? `${xs[i]} ×${j - i}` : xs[i]!);
    i = j;
  }
  return out;
}
