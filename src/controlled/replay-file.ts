/**
 * Replay files: what a controlled run that found a violation writes (the configuration, the
 * schedule, the violation and the trace hash), how one is named and written, and how it is run
 * again (src/sched/replay.ts validates them).
 */
import { join, resolve } from 'node:path';
import { defaultArenaConfig, type ArenaConfig } from '../shared-mem/layout.js';
import { MODE_CHOICES, SITES } from '../workers/hugetlb/modes.js';
import { SCENARIO_NAMES } from '../workers/hugetlb/scenarios.js';
import { REPLAY_VERSION, loadReplay, type ReplayConfig, type ReplayFile, type ReplayKnown } from '../sched/replay.js';
import { toolVersion } from '../report/report-json.js';
import { acceptDesign, designRecordOf } from '../engine/design-file.js';
import { writeFileAtomic } from '../report/out-file.js';
import { ControlledPool, controlledConfig, runControlled, sameViolation, type ControlledConfig, type ControlledResult } from './run.js';

export const REPLAY_KNOWN: ReplayKnown = {
  scenarios: SCENARIO_NAMES, modes: MODE_CHOICES, sites: SITES, toolVersion: toolVersion(),
  design: (x, where) => acceptDesign('', where, x).table.name,
  arenaKeys: Object.keys(defaultArenaConfig(1)).filter((k) => k !== 'cpus'),
};

export function replayFileOf(r: ControlledResult, shrunk = false): ReplayFile {
  if (!r.violation) throw new Error('replay files are written for violations only');
  const c = r.config;
  const config: ReplayConfig = {
    scenario: c.scenario, mode: c.mode, cpus: c.cpus, seed: c.seed, ops: c.ops, opsPerCpu: c.opsPerCpu, skipOps: c.skipOps,
    sched: c.sched, pctDepth: c.pctDepth, pctSteps: c.pctSteps, maxSteps: c.maxSteps, yields: c.yields,
    arena: c.arena as Record<string, number> | undefined, stopAtSites: c.stopAtSites !== undefined ? [...c.stopAtSites] : undefined,
  };
  const design = designRecordOf(c.mode)?.table;
  return { version: REPLAY_VERSION, toolVersion: toolVersion(), config, seed: c.seed, steps: r.schedule.steps, violation: r.violation, traceHash: r.traceHash, totalSteps: r.steps, shrunk, ...(design ? { design } : {}) };
}

export function configOfReplay(f: ReplayFile): ControlledConfig {
  const c = f.config;
  return controlledConfig({
    scenario: c.scenario, mode: c.mode, cpus: c.cpus, seed: f.seed, ops: c.ops, opsPerCpu: c.opsPerCpu, skipOps: c.skipOps, sched: c.sched,
    pctDepth: c.pctDepth, pctSteps: c.pctSteps, maxSteps: c.maxSteps, yields: c.yields ?? 'events', arena: c.arena as Partial<ArenaConfig> | undefined,
    stopAtSites: c.stopAtSites,
  });
}

/** The name hunt and run --sched give a replay file. */
export function replayFileName(f: ReplayFile): string {
  return `pmdtorture-${f.config.scenario}-${f.config.mode}-${f.config.sched}-${f.seed >>> 0}.replay.json`;
}

export function replayFileText(f: ReplayFile): string {
  return JSON.stringify(f, null, 1) + '\n';
}

/** Write a replay file into `dir` (atomically; throws on failure); its full path. */
export function writeReplayFile(dir: string, f: ReplayFile, name?: string): string {
  const file = resolve(join(dir, name ?? replayFileName(f)));
  writeFileAtomic(file, replayFileText(f));
  return file;
}

export interface ReplayOutcome {
  result: ControlledResult;
  recurred: boolean;
  sameStep: boolean;
  sameHash: boolean;
}

export async function replayFile(f: ReplayFile, opts: { pool?: ControlledPool; recordEvents?: boolean } = {}): Promise<ReplayOutcome> {
  const cfg = configOfReplay(f);
  const result = await runControlled(cfg, { pool: opts.pool, replay: f.steps, recordEvents: opts.recordEvents });
  const recurred = sameViolation(result.violation, f.violation);
  return { result, recurred, sameStep: recurred, sameHash: f.traceHash === undefined || f.traceHash === result.traceHash };
}

/** Load (validating) and replay a file. */
export async function loadAndReplay(path: string, opts: { pool?: ControlledPool; recordEvents?: boolean } = {}): Promise<ReplayOutcome> {
  return replayFile(loadReplay(path, REPLAY_KNOWN), opts);
}
