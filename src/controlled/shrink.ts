/**
 * Shrinking a failing replay file (src/sched/shrink.ts searches; this runs the candidates): fewer
 * CPUs, operations and preemptions, the same kind of violation at the same site.
 */
import { type ReplayFile } from '../sched/replay.js';
import { normalizeSteps, shrinkSchedule, type ShrinkCandidate, type ShrinkResult } from '../sched/shrink.js';
import { ControlledPool, opsSplit, runControlled, sameKind, type ControlledConfig, type ControlledResult } from './run.js';
import { configOfReplay, replayFileOf } from './replay-file.js';
import type { StepEvent } from './interleaving.js';

export interface ShrinkOutcome {
  file: ReplayFile;
  result: ControlledResult;
  stats: ShrinkResult;
}

function truncateSteps(steps: ReadonlyArray<readonly [number, number]>, upTo: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let left = upTo;
  for (const [c, n] of steps) {
    if (left <= 0) break;
    out.push([c, Math.min(n, left)]);
    left -= n;
  }
  return out;
}

/** Per step: [deciding cpu, index of its operation among those that ran (-1 between operations)]. */
function opOwners(evs: readonly StepEvent[]): Array<[number, number]> {
  const started = new Map<number, number>();
  return evs.map((e) => {
    if (e.point === 'op-start') started.set(e.cpu, (started.get(e.cpu) ?? 0) + 1);
    // The op-gap point right after an operation belongs to it: a skipped operation has none.
    const cur = (started.get(e.cpu) ?? 0) - 1;
    return [e.cpu, e.op !== '-' || e.point === 'op-gap' ? cur : -1];
  });
}

/** Shrink a failing replay file; returns the smallest failing file found, re-run with its interleaving. */
export async function shrinkReplay(f: ReplayFile, budget = { maxRuns: 300, maxMs: 60_000 }): Promise<ShrinkOutcome> {
  const base = configOfReplay(f);
  const pools = new Map<number, ControlledPool>();
  const poolFor = (n: number): ControlledPool => {
    let p = pools.get(n);
    if (!p) pools.set(n, (p = new ControlledPool(n)));
    return p;
  };
  const cfgOf = (c: ShrinkCandidate): ControlledConfig => ({
    ...base, cpus: c.cpus, opsPerCpu: c.opsPerCpu, ops: c.opsPerCpu.reduce((a, b) => a + b, 0),
    skipOps: c.skip.some((s) => s.length > 0) ? c.skip : undefined,
  });
  try {
    const start: ShrinkCandidate = {
      cpus: base.cpus,
      opsPerCpu: base.opsPerCpu ?? opsSplit(base),
      skip: base.skipOps ?? Array.from({ length: base.cpus }, () => []),
      steps: f.steps,
    };
    const stats = await shrinkSchedule(
      start,
      async (c) => {
        if (c.opsPerCpu.every((o, i) => o - (c.skip[i]?.length ?? 0) <= 0)) return { fails: false };
        const r = await runControlled(cfgOf(c), { pool: poolFor(c.cpus), replay: c.steps, recordEvents: true });
        const fails = r.status === 'violations' && sameKind(r.violation, f.violation);
        if (!fails) return { fails };
        return { fails, steps: truncateSteps(r.schedule.steps, r.violation!.step + 1), opsUsed: r.perCpu, preemptions: r.preemptions, owners: opOwners(r.interleaving ?? []) };
      },
      budget,
    );
    const best = stats.best;
    const result = await runControlled(cfgOf(best), { pool: poolFor(best.cpus), replay: best.steps, recordEvents: true });
    const file: ReplayFile = {
      ...replayFileOf({ ...result, schedule: { seed: f.seed, steps: normalizeSteps(best.steps) } }, true),
    };
    return { file, result, stats };
  } finally {
    for (const p of pools.values()) await p.close();
  }
}
