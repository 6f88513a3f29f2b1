/**
 * The JSON document of `pmdtorture hunt` (what --json prints), typed so that the HTML, JUnit and
 * merge code can read it: kind 'hunt', the configuration, what was found, and the replay file.
 */
import type { ViolationRecord } from '../workers/hugetlb/violations.js';
import type { DesignJson, ToolInfo } from './report-json.js';
import type { ShardJson } from '../engine/shard.js';
import type { FoundBy } from '../sched/portfolio.js';

export interface HuntReport {
  schemaVersion: number;
  kind: 'hunt';
  tool: ToolInfo;
  /** 'hunt' (the document's command). */
  command: string;
  /** The command line that re-runs this hunt. */
  rerun?: string;
  scenario: string;
  mode: string;
  /** Present when the mode came from a design file. */
  design?: DesignJson;
  cpus: number;
  ops: number;
  iterations: number;
  seed: number;
  sched: string;
  pctDepth: number;
  /** The strategy and settings that found the violation (null when none was found; absent in older reports). */
  foundBy?: FoundBy | null;
  yields: unknown;
  found: boolean;
  iterationsRun: number;
  replayFile: string | null;
  violation: { kind: string; site: string; op: string; cpu: number; step: number } | null;
  failingSeed: number | null;
  status: string;
  deadlock: unknown;
  totalSteps: number;
  elapsedMs: number;
  anomalies: unknown[];
  exitCode: number;
  /** The failing execution's recorded violations (KASAN-like, with per-CPU traces). */
  violations?: ViolationRecord[];
  startedAt?: string;
  shard?: ShardJson;
  /** merge: the hunts this one was merged from. */
  merged?: { reports: number; shards: Array<{ file: string; shard: ShardJson | null; found: boolean; iterationsRun: number; replayFile: string | null }> };
}

export function isHuntReport(d: unknown): d is HuntReport {
  return typeof d === 'object' && d !== null && ((d as { kind?: unknown }).kind === 'hunt' || (d as { command?: unknown }).command === 'hunt');
}
