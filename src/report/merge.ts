/**
 * `pmdtorture merge`: one report from many (shards of a soak, a hunt or `run --seeds`, run on
 * different machines). Counts are summed, log2 histograms merged bucket by bucket and the
 * percentiles recomputed from the merged counts (never averaged), violations kept with the shard
 * and file they came from and the command that re-runs them. Reports of different versions,
 * kinds or configurations, or two reports covering the same work items, are refused (MergeError,
 * exit 2).
 */
import { addWorldStats } from '../engine/worlds.js';
import { basename } from 'node:path';
import type { CompareReport, RunReport, SoakRoundJson } from './report-json.js';
import { compareTable, worstStatus } from './report-json.js';
import type { HuntReport } from './hunt-report.js';
import type { AnyReport } from './html/render.js';
import type { LockStatRow } from '../locks/lockstat.js';
import { addIpiStats, addRcuStats, mergeLockStatRows } from './stats-merge.js';
import { addOpLatency } from './op-latency.js';
import { addHist } from './hist.js';
import type { ShardJson } from '../engine/shard.js';
import { exitCodeFor } from '../engine/exit.js';

export class MergeError extends Error {}

export const MAX_MERGED_VIOLATIONS = 64;
const MAX_LIST = 100;

export interface MergeInput {
  file: string;
  doc: AnyReport;
}

const stripShard = (cmd: string): string => cmd.replace(/\s+--shard\s+\d+\/\d+/g, '');

function sumInto(acc: Record<string, number>, x: Record<string, number>): void {
  for (const [k, n] of Object.entries(x)) acc[k] = (acc[k] ?? 0) + n;
}

/** What must be equal for two run/soak reports to be merged. */
function runKey(r: RunReport): Record<string, unknown> {
  const c = r.config;
  return {
    schemaVersion: r.schemaVersion,
    version: r.tool.version,
    kind: r.kind,
    scenario: c.scenario,
    mode: c.mode,
    design: c.design?.hash ?? null,
    cpus: c.cpus,
    worlds: c.worlds ?? 1,
    ops: c.ops,
    durationMs: r.kind === 'soak' ? c.durationMs : undefined,
    roundMs: r.soak?.roundMs,
    widen: c.widen,
    lockstat: c.lockstat,
    stopOnViolation: c.stopOnViolation,
    plant: c.plant,
    arena: c.arena,
    seed: r.seed,
    shards: r.shard?.count ?? null,
  };
}

function explainMismatch(a: Record<string, unknown>, b: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(a)) {
    const x = JSON.stringify(a[k]);
    const y = JSON.stringify(b[k]);
    if (x !== y) return `${k} ${x ?? 'unset'} vs ${y ?? 'unset'}`;
  }
  return undefined;
}

function checkSame(inputs: readonly MergeInput[], key: (d: AnyReport) => Record<string, unknown>): void {
  const k0 = key(inputs[0]!.doc);
  for (const it of inputs.slice(1)) {
    const why = explainMismatch(k0, key(it.doc));
    if (why) throw new MergeError(`${it.file} does not match ${inputs[0]!.file}: ${why} (merge takes reports of one version and one configuration)`);
  }
}

/** No two shards may cover the same work item (the same shard twice, or a sharded and an unsharded report). */
function checkDisjoint(inputs: readonly MergeInput[], shardOf: (d: AnyReport) => ShardJson | undefined): void {
  const seen = new Map<number, string>();
  for (const it of inputs) {
    const s = shardOf(it.doc);
    if (!s) {
      if (inputs.length > 1) throw new MergeError(`${it.file} is not a shard (no --shard): merging it with other reports would count its work twice`);
      continue;
    }
    const prev = seen.get(s.index);
    if (prev !== undefined) throw new MergeError(`${it.file} and ${prev} are both shard ${s.index}/${s.count}: their work overlaps`);
    seen.set(s.index, it.file);
  }
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Merge run or soak reports (shards of one configuration). */
export function mergeRunReports(inputs: readonly MergeInput[]): RunReport {
  const docs = inputs.map((i) => i.doc as RunReport);
  const first = docs[0]!;
  const out: RunReport = JSON.parse(JSON.stringify(first)) as RunReport;
  delete out.timeline;
  delete out.shard;
  out.command = stripShard(first.command);
  const tag = (d: RunReport, file: string): RunReport['violations']['recorded'] =>
    d.violations.recorded.map((v) => ({ ...v, shard: d.shard ?? null, source: basename(file), rerun: v.rerun ?? d.command }));
  out.violations.recorded = tag(first, inputs[0]!.file);
  out.errors = first.errors.map((e) => `${basename(inputs[0]!.file)}: ${e}`);
  out.invariants = { ...first.invariants, pool: { ...first.invariants.pool }, errors: first.invariants.errors.map((e) => `${basename(inputs[0]!.file)}: ${e}`) };
  let startedAt = first.timing.startedAt;
  let finishedAt = first.timing.finishedAt;
  for (let i = 1; i < docs.length; i++) {
    const d = docs[i]!;
    const file = basename(inputs[i]!.file);
    out.ops.total += d.ops.total;
    sumInto(out.ops.perOp, d.ops.perOp);
    sumInto(out.ops.failed, d.ops.failed);
    if (d.widened) sumInto((out.widened ??= {}), d.widened);
    d.ops.perCpu.forEach((n, c) => (out.ops.perCpu[c] = (out.ops.perCpu[c] ?? 0) + n));
    for (const [site, counts] of Object.entries(d.outcomes)) sumInto((out.outcomes[site] ??= {}), counts);
    out.violations.count += d.violations.count;
    sumInto(out.violations.byKind, d.violations.byKind);
    sumInto(out.violations.bySite, d.violations.bySite);
    out.violations.recorded.push(...tag(d, inputs[i]!.file));
    for (const k of Object.keys(out.model) as Array<keyof RunReport['model']>) out.model[k] += d.model[k] ?? 0; // reports from before a counter existed lack it
    out.lockdep.push(...d.lockdep);
    addRcuStats(out.rcu, d.rcu);
    // Shards run side by side: their backlogs add up, the epoch is the furthest.
    out.rcu.backlog += d.rcu.backlog;
    out.rcu.gpSeq = Math.max(out.rcu.gpSeq, d.rcu.gpSeq);
    addIpiStats(out.ipi, d.ipi);
    out.invariants.ok &&= d.invariants.ok;
    // Each shard's pool at its own end: summed, like every other count (merged.shards keeps each).
    for (const k of Object.keys(out.invariants.pool) as Array<keyof RunReport['invariants']['pool']>) out.invariants.pool[k] += d.invariants.pool[k];
    out.invariants.errors.push(...d.invariants.errors.map((e) => `${file}: ${e}`));
    out.errors.push(...d.errors.map((e) => `${file}: ${e}`));
    if (out.stalls.length === 0) out.stalls = d.stalls;
    if (d.opLatency) out.opLatency = addOpLatency(out.opLatency, d.opLatency)!;
    if (out.worlds && d.worlds) addWorldStats(out.worlds.perWorld, d.worlds.perWorld);
    if (d.refHold) {
      if (out.refHold) {
        addHist(out.refHold.hist, d.refHold.hist);
        out.refHold.samples += d.refHold.samples;
      } else out.refHold = JSON.parse(JSON.stringify(d.refHold)) as RunReport['refHold'];
    }
    if (out.soak && d.soak) {
      out.soak.rounds += d.soak.rounds;
      out.soak.lastRounds = [...out.soak.lastRounds, ...d.soak.lastRounds].slice(-MAX_LIST) as SoakRoundJson[];
      out.soak.rss.maxBytes = Math.max(out.soak.rss.maxBytes, d.soak.rss.maxBytes);
      if (d.soak.rss.anonMaxBytes !== undefined) out.soak.rss.anonMaxBytes = Math.max(out.soak.rss.anonMaxBytes ?? 0, d.soak.rss.anonMaxBytes);
      out.soak.statLines += d.soak.statLines;
      out.soak.invariantFailures += d.soak.invariantFailures;
    }
    if (d.timing.startedAt < startedAt) startedAt = d.timing.startedAt;
    if (d.timing.finishedAt > finishedAt) finishedAt = d.timing.finishedAt;
  }
  out.lockstat = docs.reduce((acc: LockStatRow[], d) => mergeLockStatRows(acc, d.lockstat), []);
  out.lockdep = out.lockdep.slice(0, 32);
  out.violations.recorded = out.violations.recorded.slice(0, MAX_MERGED_VIOLATIONS);
  out.invariants.errors = out.invariants.errors.slice(0, MAX_LIST);
  out.errors = out.errors.slice(0, MAX_LIST);
  out.timing.startedAt = startedAt;
  out.timing.finishedAt = finishedAt;
  // Shards run side by side: the merged rate is the sum of the shards' rates, each its ops over
  // its own measured time (timing.runMs: start barrier to the last CPU's end, summed over its
  // seeds; a soak's whole wall time), never over summed elapsed times with worker start-up. The
  // merged times are the longest shard's; a first-op time belongs to one process and is dropped.
  const runMs = (d: RunReport): number => d.timing.runMs ?? d.timing.elapsedMs;
  out.timing.elapsedMs = round2(Math.max(...docs.map((d) => d.timing.elapsedMs)));
  out.timing.runMs = round2(Math.max(...docs.map(runMs)));
  out.timing.firstOpMs = null;
  out.ops.perSecond = round2(docs.reduce((n, d) => n + d.ops.perSecond, 0));
  out.ops.perOpPerSecond = Object.fromEntries(Object.keys(out.ops.perOp).map((k) => [k, round2(docs.reduce((n, d) => n + (d.ops.perOpPerSecond[k] ?? 0), 0))]));
  const seeds = docs.flatMap((d) => d.seeds ?? []);
  if (seeds.length) out.seeds = seeds;
  else delete out.seeds;
  out.status = worstStatus(docs.map((d) => d.status));
  out.exitCode = exitCodeFor(out.status);
  out.merged = {
    reports: docs.length,
    shards: docs.map((d, i) => ({
      file: basename(inputs[i]!.file),
      shard: d.shard ?? null,
      status: d.status,
      ops: d.ops.total,
      violations: d.violations.count,
      seeds: d.seeds ?? (d.soak ? d.soak.lastRounds.map((r) => r.seed) : [d.seed]),
      runMs: runMs(d),
      perSecond: d.ops.perSecond,
      invariants: { ok: d.invariants.ok, pool: { ...d.invariants.pool } },
    })),
  };
  return out;
}

function mergeCompare(inputs: readonly MergeInput[]): CompareReport {
  const docs = inputs.map((i) => i.doc as CompareReport);
  const first = docs[0]!;
  const modes = first.runs.map((r) => r.config.mode);
  const runs = modes.map((_, m) => mergeRunReports(inputs.map((it) => ({ file: it.file, doc: (it.doc as CompareReport).runs[m]! }))));
  const statuses = runs.map((r) => (r.status === 'violations' ? (r.expected === 'safe' ? 'violations' : 'ok') : r.status));
  const status = worstStatus(statuses);
  const out: CompareReport = {
    ...first,
    command: stripShard(first.command),
    status,
    exitCode: exitCodeFor(status),
    timing: { startedAt: docs.map((d) => d.timing.startedAt).sort()[0]!, finishedAt: docs.map((d) => d.timing.finishedAt).sort().at(-1)!, elapsedMs: docs.reduce((n, d) => n + d.timing.elapsedMs, 0) },
    table: compareTable(runs),
    runs,
  };
  (out as CompareReport & { merged?: RunReport['merged'] }).merged = { reports: docs.length, shards: docs.map((d, i) => ({ file: basename(inputs[i]!.file), shard: null, status: d.status, ops: d.runs.reduce((n, r) => n + r.ops.total, 0), violations: d.runs.reduce((n, r) => n + r.violations.count, 0) })) };
  return out;
}

function mergeHunts(inputs: readonly MergeInput[]): HuntReport {
  const docs = inputs.map((i) => i.doc as HuntReport);
  const first = docs[0]!;
  const found = docs.find((d) => d.found);
  const bad = docs.find((d) => d.status === 'deadlock' || d.status === 'crashed');
  const lead = found ?? bad ?? first;
  const out: HuntReport = {
    ...JSON.parse(JSON.stringify(lead)) as HuntReport,
    iterationsRun: docs.reduce((n, d) => n + d.iterationsRun, 0),
    totalSteps: docs.reduce((n, d) => n + d.totalSteps, 0),
    elapsedMs: docs.reduce((n, d) => n + d.elapsedMs, 0),
    anomalies: docs.flatMap((d) => d.anomalies).slice(0, MAX_LIST),
    found: found !== undefined,
    exitCode: Math.max(...docs.map((d) => d.exitCode)) === 1 || found ? 1 : Math.max(...docs.map((d) => d.exitCode)),
    violations: docs.flatMap((d) => (d.violations ?? []).map((v) => ({ ...v, shard: d.shard ?? null }))).slice(0, MAX_MERGED_VIOLATIONS),
    merged: { reports: docs.length, shards: docs.map((d, i) => ({ file: basename(inputs[i]!.file), shard: d.shard ?? null, found: d.found, iterationsRun: d.iterationsRun, replayFile: d.replayFile })) },
  };
  if (out.rerun) out.rerun = stripShard(out.rerun);
  delete out.shard;
  return out;
}

/** Merge reports of one kind and configuration. Throws MergeError when they cannot be merged. */
export function mergeReports(inputs: readonly MergeInput[]): AnyReport {
  if (inputs.length === 0) throw new MergeError('no reports to merge');
  const kinds = new Set(inputs.map((i) => i.doc.kind));
  if (kinds.size > 1) throw new MergeError(`reports of different kinds (${[...kinds].join(', ')}): merge takes shards of one command`);
  const versions = new Set(inputs.map((i) => `${i.doc.tool.version}/schema ${i.doc.schemaVersion}`));
  if (versions.size > 1) throw new MergeError(`reports from different versions (${[...versions].join(', ')}): re-run the shards with one version`);
  const kind = inputs[0]!.doc.kind;
  if (kind === 'scale') throw new MergeError('scale reports are not sharded; merge takes shards of soak, hunt or run --seeds');
  if (kind === 'compare') {
    checkSame(inputs, (d) => {
      const c = d as CompareReport;
      return { modes: c.runs.map((r) => r.config.mode), ...runKey(c.runs[0]!) };
    });
    if (inputs.length > 1) throw new MergeError('compare reports are not sharded; merge takes shards of soak, hunt or run --seeds');
    return mergeCompare(inputs);
  }
  if (kind === 'hunt') {
    checkSame(inputs, (d) => {
      const h = d as HuntReport;
      return { scenario: h.scenario, mode: h.mode, design: h.design?.hash ?? null, cpus: h.cpus, ops: h.ops, iterations: h.iterations, seed: h.seed, sched: h.sched, pctDepth: h.pctDepth, yields: h.yields, shards: h.shard?.count ?? null };
    });
    checkDisjoint(inputs, (d) => (d as HuntReport).shard);
    return mergeHunts(inputs);
  }
  checkSame(inputs, (d) => runKey(d as RunReport));
  checkDisjoint(inputs, (d) => (d as RunReport).shard);
  return mergeRunReports(inputs);
}

/** Exit code of a merged report: 1 if any shard found a violation (compare: in a safe mode). */
export function mergedExitCode(d: AnyReport): number {
  return d.exitCode;
}
