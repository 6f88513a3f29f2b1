import { REPLAY_KNOWN } from '../src/controlled/replay-file.js';
/**
 * A valid replay file's shape, for the loader's tests: its schedule is not a real run's (the
 * loader is what is tested, not replaying).
 */

export function goodReplayDoc() {
  return {
    version: 2,
    toolVersion: REPLAY_KNOWN.toolVersion,
    config: { scenario: 'follow-page', mode: 'none', cpus: 2, seed: 5, ops: 200, sched: 'pct', pctDepth: 3, pctSteps: 600, maxSteps: 80000 },
    seed: 5,
    steps: [[0, 3], [1, 2]],
    violation: { kind: 'stale-write', site: 'fault', op: 'fault', cpu: 0, page: 1, pointerGen: 1, pageGen: 1, pageState: 'live', access: 'write', mm: 0, pudIndex: 0, slot: 0, step: 4 },
  };
}
