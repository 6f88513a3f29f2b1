/**
 * `--shard I/N`: a deterministic split of a command's work items (soak rounds, hunt iterations,
 * the seeds of `run --seeds`) so that N machines cover disjoint work and together exactly the
 * work of one unsharded run: item i belongs to shard (i mod N) + 1. I is 1-based, like jest's and
 * Playwright's --shard. Without --shard, a Kubernetes indexed Job's JOB_COMPLETION_INDEX (0-based)
 * with a completion count in JOB_COMPLETIONS (or PMDTORTURE_SHARDS) selects the shard; the index
 * without a count is refused (exit 2) rather than ignored (both parsed in stress/options/shard.ts).
 */

export const MAX_SHARDS = 100_000;

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
  /** Where it came from: the flag or the environment. */
  source: 'flag' | 'env';
}

/** Does work item i (0-based, in the unsharded order) belong to this shard? */
export function ownsItem(shard: Shard | undefined, i: number): boolean {
  return shard === undefined || i % shard.count === shard.index - 1;
}

/** The k-th (0-based) work item of this shard, in the unsharded numbering. */
export function shardItem(shard: Shard | undefined, k: number): number {
  return shard === undefined ? k : shard.index - 1 + k * shard.count;
}

/** Items of [0, total) owned by the shard, in order. */
export function shardItems(shard: Shard | undefined, total: number): number[] {
  const out: number[] = [];
  for (let k = 0; ; k++) {
    const i = shardItem(shard, k);
    if (i >= total) break;
    out.push(i);
  }
  return out;
}

export interface ShardJson {
  index: number;
  count: number;
  source: 'flag' | 'env';
  /** Work items (soak rounds, hunt iterations, seed-list positions) this shard ran, unsharded numbering. */
  items?: number[];
}
