import { UsageError } from './exit.js';
/**
 * `--shard I/N`: a deterministic split of a command's work items (soak rounds, hunt iterations,
 * the seeds of `run --seeds`) so that N machines cover disjoint work and together exactly the
 * work of one unsharded run: item i belongs to shard (i mod N) + 1. I is 1-based, like jest's and
 * Playwright's --shard. Without --shard, a Kubernetes indexed Job's JOB_COMPLETION_INDEX (0-based)
 * with a completion count in JOB_COMPLETIONS (or PMDTORTURE_SHARDS) selects the shard; the index
 * without a count is refused (exit 2) rather than ignored.
 */

export const MAX_SHARDS = 100_000;

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
  /** Where it came from: the flag or the environment. */
  source: 'flag' | 'env';
}

const HINT = 'accepted: I/N with 1 <= I <= N, e.g. 1/4';

export function parseShard(v: unknown, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (v !== undefined) {
    const s = String(v).trim();
    const m = /^(\d+)\/(\d+)$/.exec(s);
    const index = m ? Number(m[1]) : NaN;
    const count = m ? Number(m[2]) : NaN;
    if (!(count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) throw new UsageError('--shard', `'${s}' is not a shard (${HINT})`);
    return { index, count, source: 'flag' };
  }
  const idx = env['JOB_COMPLETION_INDEX'];
  const cnt = env['JOB_COMPLETIONS'] ?? env['PMDTORTURE_SHARDS'];
  if (idx === undefined || idx === '') {
    // Our own variable asks for sharding: without an index there is no shard to run.
    if (env['PMDTORTURE_SHARDS'] !== undefined && env['PMDTORTURE_SHARDS'] !== '') {
      throw new UsageError('--shard', `PMDTORTURE_SHARDS=${env['PMDTORTURE_SHARDS']} is set but not JOB_COMPLETION_INDEX (0-based): set it, or pass --shard I/N`);
    }
    return undefined;
  }
  // Kubernetes sets the index in every pod of an Indexed Job but not the count. Without it, each
  // pod would silently run the whole work (N identical copies, which merge then refuses, hours
  // later): refuse at once, so the pod fails at start with this line in its log.
  if (cnt === undefined || cnt === '') {
    throw new UsageError('--shard', `JOB_COMPLETION_INDEX=${idx} is set but not the shard count: set JOB_COMPLETIONS to the Job's completions (or PMDTORTURE_SHARDS), or pass --shard I/N (--shard 1/1: the whole work)`);
  }
  const index = Number(idx) + 1;
  const count = Number(cnt);
  if (!(Number.isInteger(index) && Number.isInteger(count) && count >= 1 && count <= MAX_SHARDS && index >= 1 && index <= count)) {
    throw new UsageError('--shard', `JOB_COMPLETION_INDEX=${idx} with ${env['JOB_COMPLETIONS'] !== undefined ? 'JOB_COMPLETIONS' : 'PMDTORTURE_SHARDS'}=${cnt} is not a shard (accepted: 0 <= index < count)`);
  }
  return { index, count, source: 'env' };
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

/** `--seeds 1,2,5-8` → [1,2,5,6,7,8] (uint32, in order, no duplicates, at most 1e6). */
export function parseSeedList(v: unknown): number[] {
  const s = String(v ?? '').trim();
  const out: number[] = [];
  const seen = new Set<number>();
  const bad = (): never => {
    throw new UsageError('--seeds', `'${s}' is not a seed list (accepted: comma-separated uint32 seeds and ranges, e.g. 1,2,10-20)`);
  };
  if (s === '') bad();
  for (const part of s.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) bad();
    const a = Number(m![1]);
    const b = m![2] !== undefined ? Number(m![2]) : a;
    if (!(a <= b && b <= 2 ** 32 - 1) || b - a > 1_000_000) bad();
    for (let x = a; x <= b; x++) {
      if (!seen.has(x)) {
        seen.add(x);
        out.push(x);
      }
      if (out.length > 1_000_000) bad();
    }
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

export function shardOptions<T>(y: import('yargs').Argv<T>, what: string): import('yargs').Argv<T> {
  return y.option('shard', {
    type: 'string',
    requiresArg: true,
    describe: `run shard I of N (1-based): ${what} i belongs to shard (i mod N) + 1; default from JOB_COMPLETION_INDEX and JOB_COMPLETIONS (Kubernetes indexed Job)`,
  });
}
