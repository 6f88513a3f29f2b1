/**
 * `pmdtorture soak`: the stress engine for hours. The soak is a chain of rounds (--round, default
 * 30 s: invariants checked twice a minute, and a round's re-run command stays short); each round is one engine run on a fresh arena with its own seed derived from
 * --seed, and its end is a quiescent point where the invariants (page-pool conservation,
 * refcounts, mapcounts) are checked. A status line every --stat-interval, like rcutorture's
 * periodic line. Violations are counted and the run goes on (unless --stop-on-violation).
 * Memory stays bounded: each round's arena is dropped, totals are summed, only the first
 * violations and the last rounds are kept. SIGINT/SIGTERM stop the round, print the summary
 * and write the report (exit 130).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { parseDuration } from '../args.js';
import { Session } from '../session.js';
import { buildRunReport, findingStatus, worstStatus, type SoakJson, type SoakRoundJson } from '../../src/report/report-json.js';
import { cpusText, int, mb, plural } from '../../src/report/report-text.js';
import { addWorldStats } from '../../src/engine/worlds.js';
import { createStressPool, type LiveStat, type RunResult } from '../../src/engine/engine.js';
import { addIpiStats, addRcuStats, mergeLockStatRows } from '../../src/report/stats-merge.js';
import { addOpHists } from '../../src/report/op-latency.js';
import { Timeline } from '../../src/engine/timeline.js';
import { deliverRunReport, outputOptions, resolveOutputs } from '../options/output.js';
import { shardItem, type Shard } from '../../src/engine/shard.js';
import { addHist } from '../../src/report/hist.js';
import { fullGc } from '../../src/workers/gc.js';
import { rssSplit } from '../../src/engine/procmem.js';
import { UsageError } from '../../src/engine/exit.js';
import { fmtMs } from '../../src/report/report-text.js';
import { parseShard, shardOptions } from '../options/shard.js';
import { rerunCommand, resolveStress, stressOptions, type StressDefaults } from '../options/stress.js';

export const SOAK_DEFAULTS: StressDefaults = { mode: 'final', stopOnViolation: false, durationMs: 0, statIntervalMs: 10_000 };
const DEFAULT_ROUND_MS = 30_000;
/** Kept in full over the whole soak (the rest are counted). */
const MAX_VIOLATIONS_KEPT = 16;
const MAX_ROUNDS_KEPT = 100;
const MAX_ERRORS_KEPT = 50;

type Raw = Record<string, unknown>;

export const soakCommand: CommandModule<object, Raw> = {
  command: 'soak',
  describe: 'run for hours: a status line every --stat-interval, invariants checked every round, continues past violations',
  builder: (y: Argv<object>) =>
    outputOptions(shardOptions(stressOptions(y, SOAK_DEFAULTS, { ops: false }), 'round'))
      .option('round', { type: 'string', requiresArg: true, default: fmtMs(DEFAULT_ROUND_MS), describe: 'length of a round: each ends at a quiescent point where the invariants are checked, and the next starts on a fresh arena with the next seed' })
      .example('$0 soak --mode final --duration 8h --report soak.json', 'an overnight soak')
      .example('$0 soak --mode final --duration 1h --shard 2/8 --report soak-2.json', 'shard 2 of 8: rounds 1, 9, 17, … of the unsharded soak') as unknown as Argv<Raw>,
  handler: async (argv: ArgumentsCamelCase<Raw>) => {
    process.exitCode = await soakMain(argv);
  },
};

/** Seed of round r (round 0 runs the soak's own seed). */
export function roundSeed(seed: number, r: number): number {
  return r === 0 ? seed >>> 0 : (seed + Math.imul(r, 0x9e3779b9)) >>> 0;
}

function hms(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 3600)).padStart(2, '0')}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

const addTo = (acc: Record<string, number>, x: Record<string, number>): void => {
  for (const [k, n] of Object.entries(x)) acc[k] = (acc[k] ?? 0) + n;
};

/** The periodic soak status line (rcutorture-style); counts with thousands separators. */
export function statusLine(x: { elapsedMs: number; round: number; ops: number; rate: number; violations: number; gps: number; stat: Pick<LiveStat, 'rcu' | 'pool' | 'rssBytes' | 'rssAnonBytes'> }): string {
  const st = x.stat;
  return `pmdtorture-soak: ${hms(x.elapsedMs)} round ${x.round} ops ${int(x.ops)} ops/s ${int(x.rate)} violations ${int(x.violations)} gps ${int(x.gps)} cb-backlog ${int(st.rcu.backlog)} pool live ${st.pool.live} pending ${st.pool.pending} free ${st.pool.free} rss ${mb(st.rssBytes)}${st.rssAnonBytes !== null ? ` (anon ${mb(st.rssAnonBytes)})` : ''}`;
}

/** Fold one round into the soak's running totals (bounded: nothing grows with the soak's length). */
export function mergeRound(acc: RunResult | undefined, r: RunResult, round: number): RunResult {
  if (!acc) {
    return {
      ...r,
      perOp: { ...r.perOp },
      failedOps: { ...r.failedOps },
      perCpu: [...r.perCpu],
      outcomes: Object.fromEntries(Object.entries(r.outcomes).map(([k, v]) => [k, { ...v }])),
      violations: r.violations.slice(0, MAX_VIOLATIONS_KEPT),
      model: { ...r.model },
      lockstat: mergeLockStatRows([], r.lockstat),
      rcu: { ...r.rcu, gpLatencyHist: [...r.rcu.gpLatencyHist] },
      ipi: { ...r.ipi, latencyHist: [...r.ipi.latencyHist] },
      invariants: { ...r.invariants, errors: r.invariants.errors.map((e) => `round ${round}: ${e}`) },
      errors: r.errors.map((e) => `round ${round}: ${e}`),
      ...(r.refHold ? { refHold: { ...r.refHold, hist: [...r.refHold.hist] } } : {}),
      ...(r.widened ? { widened: { ...r.widened } } : {}),
      ...(r.opLatency ? { opLatency: addOpHists({}, r.opLatency) } : {}),
      worlds: r.worlds.map((w) => ({ ...w, cpus: [...w.cpus] })),
    };
  }
  acc.status = worstStatus([acc.status, r.status]);
  acc.elapsedMs += r.elapsedMs;
  // The measured time of runs one after another: their measured windows added (rates are over it).
  acc.runMs += r.runMs;
  acc.ops += r.ops;
  addTo(acc.perOp, r.perOp);
  addTo(acc.failedOps, r.failedOps);
  if (r.widened) addTo((acc.widened ??= {}), r.widened);
  r.perCpu.forEach((n, i) => (acc.perCpu[i] = (acc.perCpu[i] ?? 0) + n));
  for (const [site, counts] of Object.entries(r.outcomes)) addTo((acc.outcomes[site] ??= {}), counts);
  acc.violationCount += r.violationCount;
  addWorldStats(acc.worlds, r.worlds);
  for (const v of r.violations) if (acc.violations.length < MAX_VIOLATIONS_KEPT) acc.violations.push(v);
  for (const k of Object.keys(acc.model) as Array<keyof RunResult['model']>) acc.model[k] += r.model[k] ?? 0;
  mergeLockStatRows(acc.lockstat, r.lockstat);
  for (const l of r.lockdep) if (acc.lockdep.length < 32) acc.lockdep.push(l);
  addRcuStats(acc.rcu, r.rcu);
  // Rounds run one after another: the epoch and the callback backlog are the latest round's.
  acc.rcu.gpSeq = r.rcu.gpSeq;
  acc.rcu.backlog = r.rcu.backlog;
  addIpiStats(acc.ipi, r.ipi);
  acc.invariants = {
    ok: acc.invariants.ok && r.invariants.ok,
    errors: [...acc.invariants.errors, ...r.invariants.errors.map((e) => `round ${round}: ${e}`)].slice(0, MAX_ERRORS_KEPT),
    pool: r.invariants.pool,
  };
  acc.errors = [...acc.errors, ...r.errors.map((e) => `round ${round}: ${e}`)].slice(0, MAX_ERRORS_KEPT);
  if (r.stalls.length) acc.stalls = r.stalls;
  if (r.opLatency) acc.opLatency = addOpHists(acc.opLatency ?? {}, r.opLatency);
  if (r.refHold) {
    if (acc.refHold) {
      addHist(acc.refHold.hist, r.refHold.hist);
      acc.refHold.samples += r.refHold.samples;
    } else acc.refHold = { ...r.refHold, hist: [...r.refHold.hist] };
  }
  return acc;
}

export async function soakMain(a: Raw): Promise<number> {
  if (a['ops'] !== undefined) throw new UsageError('--ops', 'soak runs for a time, not an op count (accepted: --duration, e.g. 8h, or none: until SIGINT/SIGTERM)');
  const roundMs = parseDuration('--round', a['round']);
  const args = resolveStress(a, SOAK_DEFAULTS);
  const shard: Shard | undefined = parseShard(a['shard']);
  const outputs = resolveOutputs(a);
  const cfg = args.base;
  const mode = cfg.mode;
  const command = rerunCommand('soak', cfg, { stopOnViolationDefault: SOAK_DEFAULTS.stopOnViolation, roundMs: roundMs === DEFAULT_ROUND_MS ? undefined : roundMs }) + (shard ? ` --shard ${shard.index}/${shard.count}` : '');
  const total = cfg.durationMs;
  const forever = total >= Number.MAX_SAFE_INTEGER;
  const s = new Session(args);
  const startedAt = new Date();
  const t0 = performance.now();
  let acc: RunResult | undefined;
  const rounds: SoakRoundJson[] = [];
  let nRounds = 0;
  let statLines = 0;
  let invariantFailures = 0;
  const rss: SoakJson['rss'] = { firstBytes: 0, lastBytes: 0, maxBytes: 0 };
  // Sampled at the start too, so a soak stopped before its first status line still reports memory.
  const sampleRss = (bytes: number, anon: number | null): void => {
    rss.lastBytes = bytes;
    rss.maxBytes = Math.max(rss.maxBytes, bytes);
    if (rss.firstBytes === 0) rss.firstBytes = bytes;
    if (anon !== null) {
      rss.anonLastBytes = anon;
      rss.anonMaxBytes = Math.max(rss.anonMaxBytes ?? 0, anon);
      rss.anonFirstBytes ??= anon;
    }
  };
  sampleRss(process.memoryUsage().rss, rssSplit()?.anonBytes ?? null);
  let firstOpMs = 0;
  // A full GC at each round's end (a quiescent point): the main thread allocates little, so V8
  // would otherwise keep the dropped arenas and results of many rounds around and RSS would
  // creep. The workers collect at the start of each round (RunConfig.pool: CpuTask.collect).
  const collect = fullGc();
  // One pool of CPU workers for every round: no thread churn, so RSS stays flat over hours.
  const pool = createStressPool(cfg.cpus);
  const timeline = new Timeline();
  const roundsRun: number[] = [];
  // Test hook (tests only, undocumented): round K's end-of-round invariant check finds a planted
  // fault, to prove that a failed check in any round, not only the first, fails the soak.
  const plantRound = process.env['PMDTORTURE_TEST_PLANT_INVARIANT_ROUND'] === undefined ? -1 : Number(process.env['PMDTORTURE_TEST_PLANT_INVARIANT_ROUND']);
  try {
    if (cfg.cpus > args.cores) s.note(`pmdtorture: ${cfg.cpus} CPUs on ${args.cores} cores: oversubscribed`);
    if (!args.quiet) s.note(`pmdtorture soak: scenario ${cfg.scenario}, mode ${mode}, ${cpusText(cfg)}, seed ${cfg.seed}, ${forever ? 'until SIGINT/SIGTERM' : fmtMs(total)}, rounds of ${fmtMs(roundMs)}, status every ${fmtMs(args.statIntervalMs)}`);
    s.events.write({ type: 'start', t: startedAt.toISOString(), command, seed: cfg.seed, mode, scenario: cfg.scenario, cpus: cfg.cpus });
    // Round 0 runs even when a signal came first (it stops at once): the report is still written.
    let ranMs = 0;
    for (let round = 0; round === 0 || !s.interrupted; round++) {
      // Like run's --duration, the soak's counts operating time: worker start-up of a round is not in it.
      const done = ranMs;
      // A last round shorter than 100 ms would cost more in worker start-up than it runs.
      if (!forever && round > 0 && done >= total - 100) break;
      // Sharded: this shard's k-th round is round shardItem(k) of the unsharded soak.
      const seed = roundSeed(cfg.seed, shardItem(shard, round));
      roundsRun.push(shardItem(shard, round));
      const before = { ops: acc?.ops ?? 0, violations: acc?.violationCount ?? 0, gps: acc?.rcu.gracePeriods ?? 0 };
      timeline.markRound(round);
      let lastViolations = before.violations;
      const r = await s.run(
        { ...cfg, seed, timeline, pool, plantInvariant: round === plantRound, durationMs: forever ? roundMs : Math.min(roundMs, Math.max(1, Math.round(total - done))) },
        {
          round,
          onStat: (st: LiveStat, rate: number) => {
            sampleRss(st.rssBytes, st.rssAnonBytes);
            statLines++;
            const v = before.violations + st.violations;
            const flag = v > lastViolations ? ' !!!' : '';
            lastViolations = v;
            s.say(statusLine({ elapsedMs: performance.now() - t0, round, ops: before.ops + st.ops, rate, violations: v, gps: before.gps + st.rcu.gracePeriods, stat: st }) + flag);
          },
        },
      );
      ranMs += r.runMs;
      if (round === 0) firstOpMs = r.firstOpAtMs;
      // A failed check fails the round (and, with --stop-on-violation, stops the soak) like a violation.
      r.status = findingStatus(r);
      nRounds++;
      collect();
      if (!r.invariants.ok && r.status !== 'crashed' && r.status !== 'stalled') invariantFailures++;
      const rec: SoakRoundJson = { round, seed, status: r.status, elapsedMs: Math.round(r.elapsedMs), ops: r.ops, violations: r.violationCount, invariantsOk: r.invariants.ok, rssBytes: process.memoryUsage().rss };
      sampleRss(rec.rssBytes, rssSplit()?.anonBytes ?? null);
      rounds.push(rec);
      if (rounds.length > MAX_ROUNDS_KEPT) rounds.shift();
      s.events.write({ type: 'round', t: new Date().toISOString(), ...rec });
      // A round is one run of its own seed: its violations keep the command that re-runs it.
      const roundRerun = rerunCommand('run', { ...cfg, seed, ops: 0, durationMs: Math.round(r.elapsedMs) }, { stopOnViolationDefault: true });
      for (const v of r.violations) v.rerun = roundRerun;
      acc = mergeRound(acc, r, round);
      s.say(`pmdtorture-soak: round ${round} done: seed ${seed}, ${int(r.ops)} ops, ${plural(r.violationCount, 'violation')}, invariants ${r.invariants.ok ? 'ok' : 'FAILED'}${r.violationCount > 0 || !r.invariants.ok ? ` — re-run: ${roundRerun}` : ''}`);
      if (r.status === 'crashed' || r.status === 'stalled' || r.status === 'interrupted') break;
      if (r.status === 'violations' && cfg.stopOnViolation) break;
    }
    if (!acc) {
      s.note('pmdtorture soak: interrupted before the first round ended');
      return 130;
    }
    if (s.interrupted) acc.status = 'interrupted';
    acc.config = { ...acc.config, seed: cfg.seed, durationMs: total };
    const report = buildRunReport(acc, {
      kind: 'soak',
      command,
      seedRandom: args.seedRandom,
      statIntervalMs: args.statIntervalMs,
      startedAt,
      finishedAt: new Date(),
      firstOpMs,
      soak: { roundMs, rounds: nRounds, lastRounds: rounds, rss: { ...rss }, statLines, invariantFailures },
    });
    if (shard) report.shard = { ...shard, items: roundsRun.slice(0, 10_000) };
    report.timing.elapsedMs = Math.round(performance.now() - t0);
    // A soak's rate is over its whole wall time, round changes included.
    report.timing.runMs = report.timing.elapsedMs;
    report.ops.perSecond = report.timing.elapsedMs > 0 ? Math.round((acc.ops * 100000) / report.timing.elapsedMs) / 100 : 0;
    return deliverRunReport(s, outputs, report, report.exitCode, args.quiet);
  } finally {
    await pool.close().catch(() => {});
    s.close();
  }
}
