/**
 * Sums the statistics of several runs (soak rounds, merged shards): lock_stat rows per (class,
 * side), RCU and IPI counters. Counts, totals and histograms add exactly, so the percentiles of
 * the sum come from the summed histograms, by the rule their producer uses; lock_stat rows
 * without histograms (older reports) keep an acquisition-weighted p50 and the worst p99.
 * What depends on how the runs relate (a backlog or an epoch: the last of a sequence, or the sum
 * or maximum over parallel shards) is the caller's.
 */
import type { LockPoint, LockStatRow } from '../locks/lockstat.js';
import type { RcuStats } from '../locks/rcu.js';
import type { IpiStats } from '../locks/irq.js';
import { histPercentile } from '../locks/log2hist.js';
import { addHist, histQuantileUs } from './hist.js';

/** acc += x for RCU counters and the grace-period histogram (not backlog, not gpSeq). */
export function addRcuStats(acc: RcuStats, x: RcuStats): void {
  acc.gracePeriods += x.gracePeriods;
  acc.asyncGracePeriods += x.asyncGracePeriods;
  addHist(acc.gpLatencyHist, x.gpLatencyHist);
  acc.gpP50Us = histPercentile(acc.gpLatencyHist, 0.5);
  acc.gpP99Us = histPercentile(acc.gpLatencyHist, 0.99);
  acc.callbacksQueued += x.callbacksQueued;
  acc.callbacksInvoked += x.callbacksInvoked;
  acc.maxBacklog = Math.max(acc.maxBacklog, x.maxBacklog);
  acc.stalls += x.stalls;
}

/** acc += x for IPI counters and the shootdown latency histogram. */
export function addIpiStats(acc: IpiStats, x: IpiStats): void {
  acc.sent += x.sent;
  acc.acks += x.acks;
  acc.shootdowns += x.shootdowns;
  // Reports from before the wait counters lack them: they add as zero.
  acc.broadcasts = (acc.broadcasts ?? 0) + (x.broadcasts ?? 0);
  acc.waitUs = (acc.waitUs ?? 0) + (x.waitUs ?? 0);
  acc.meanWaitUs = acc.broadcasts === 0 ? 0 : Math.round((acc.waitUs / acc.broadcasts) * 10) / 10;
  addHist(acc.latencyHist, x.latencyHist);
  acc.p50Us = histPercentile(acc.latencyHist, 0.5);
  acc.p99Us = histPercentile(acc.latencyHist, 0.99);
  acc.deadlocks += x.deadlocks;
  acc.lastDeadlock = x.lastDeadlock ?? acc.lastDeadlock;
}

const minOf = (x: number, y: number): number => (x === 0 ? y : y === 0 ? x : Math.min(x, y));

function addPoints(acc: LockPoint[] | undefined, x: readonly LockPoint[] | undefined): LockPoint[] | undefined {
  if (!x?.length) return acc;
  const out = acc ?? [];
  for (const p of x) {
    const a = out.find((q) => q.site === p.site);
    if (a) a.count += p.count;
    else out.push({ ...p });
  }
  return out.sort((p, q) => q.count - p.count);
}

function copyRow(r: LockStatRow): LockStatRow {
  const c: LockStatRow = { ...r };
  for (const k of ['waitHist', 'holdHist'] as const) {
    const h = r[k];
    if (h) c[k] = [...h];
    else delete c[k];
  }
  for (const k of ['contentionPoints', 'contendingPoints'] as const) {
    const l = r[k];
    if (l) c[k] = l.map((p) => ({ ...p }));
    else delete c[k];
  }
  return c;
}

/** acc += rows (in place; new classes appended). Returns acc. */
export function mergeLockStatRows(acc: LockStatRow[], rows: readonly LockStatRow[]): LockStatRow[] {
  for (const r of rows) {
    const a = acc.find((x) => x.cls === r.cls && x.side === r.side);
    if (!a) {
      acc.push(copyRow(r));
      continue;
    }
    const w = a.acquisitions + r.acquisitions;
    const wavg = (x: number, y: number): number => (w > 0 ? (x * a.acquisitions + y * r.acquisitions) / w : 0);
    a.waitP50 = wavg(a.waitP50, r.waitP50);
    a.holdP50 = wavg(a.holdP50, r.holdP50);
    a.waitP99 = Math.max(a.waitP99, r.waitP99);
    a.holdP99 = Math.max(a.holdP99, r.holdP99);
    a.conBounces += r.conBounces;
    a.contentions += r.contentions;
    a.waitMin = minOf(a.waitMin, r.waitMin);
    a.waitMax = Math.max(a.waitMax, r.waitMax);
    a.waitTotal += r.waitTotal;
    a.waitAvg = a.contentions > 0 ? a.waitTotal / a.contentions : 0;
    a.acqBounces += r.acqBounces;
    a.acquisitions = w;
    a.holdMin = minOf(a.holdMin, r.holdMin);
    a.holdMax = Math.max(a.holdMax, r.holdMax);
    a.holdTotal += r.holdTotal;
    a.holdSamples += r.holdSamples;
    a.holdAvg = a.acquisitions > 0 ? a.holdTotal / a.acquisitions : 0;
    a.holdSampled ||= r.holdSampled;
    const cp = addPoints(a.contentionPoints, r.contentionPoints);
    if (cp) a.contentionPoints = cp;
    const dp = addPoints(a.contendingPoints, r.contendingPoints);
    if (dp) a.contendingPoints = dp;
    if (a.waitHist && r.waitHist) {
      addHist(a.waitHist, r.waitHist);
      a.waitP50 = histQuantileUs(a.waitHist, 0.5, a.waitMin, a.waitMax);
      a.waitP99 = histQuantileUs(a.waitHist, 0.99, a.waitMin, a.waitMax);
    } else delete a.waitHist;
    if (a.holdHist && r.holdHist) {
      addHist(a.holdHist, r.holdHist);
      a.holdP50 = histQuantileUs(a.holdHist, 0.5, a.holdMin, a.holdMax);
      a.holdP99 = histQuantileUs(a.holdHist, 0.99, a.holdMin, a.holdMax);
    } else delete a.holdHist;
  }
  return acc;
}
