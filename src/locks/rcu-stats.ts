/** Main-thread readers of RCU's counters (grace periods, callbacks, latency) for reports. */
import type { Arena } from '../shared-mem/layout.js';
import { RcuCpu, RcuG, rcuCpuLine } from './rcu-words.js';
import { histPercentile, histRead } from './log2hist.js';

export interface RcuStats {
  /** Current epoch (GP counter / 4). */
  gpSeq: number;
  /** Grace periods completed (synchronize calls + asynchronous completions). */
  gracePeriods: number;
  asyncGracePeriods: number;
  /** Grace-period latency (GP start to completion, synchronous or not), bucket i = [2^i, 2^(i+1)) µs. */
  gpLatencyHist: number[];
  gpP50Us: number;
  gpP99Us: number;
  callbacksQueued: number;
  callbacksInvoked: number;
  backlog: number;
  maxBacklog: number;
  stalls: number;
}

export function readRcuStats(arena: Arena): RcuStats {
  const m = arena.mem;
  const base = arena.base('rcu');
  let queued = 0;
  let invoked = 0;
  for (let r = 0; r < arena.config.cpus; r++) {
    const line = rcuCpuLine(base, r);
    queued += Atomics.load(m, line + RcuCpu.CB_QUEUED);
    invoked += Atomics.load(m, line + RcuCpu.CB_INVOKED);
  }
  const hist = histRead(m, base + RcuG.HIST);
  return {
    gpSeq: Atomics.load(m, base + RcuG.GP) >>> 2,
    gracePeriods: Atomics.load(m, base + RcuG.GPS),
    asyncGracePeriods: Atomics.load(m, base + RcuG.ASYNC_GPS),
    gpLatencyHist: hist,
    gpP50Us: histPercentile(hist, 0.5),
    gpP99Us: histPercentile(hist, 0.99),
    callbacksQueued: queued,
    callbacksInvoked: invoked,
    backlog: (Atomics.load(m, base + RcuG.TAIL) - Atomics.load(m, base + RcuG.HEAD)) | 0,
    maxBacklog: Atomics.load(m, base + RcuG.MAX_BACKLOG),
    stalls: Atomics.load(m, base + RcuG.STALLS),
  };
}

/**
 * The largest callback backlog since the previous call (at least the current one), for one
 * main-thread sampler: call_rcu work comes in bursts that an instant sample mostly misses.
 */
export function takeRcuBacklogPeak(arena: Arena): number {
  const m = arena.mem;
  const base = arena.base('rcu');
  const now = (Atomics.load(m, base + RcuG.TAIL) - Atomics.load(m, base + RcuG.HEAD)) | 0;
  return Math.max(now, Atomics.exchange(m, base + RcuG.PEAK_BACKLOG, 0));
}
