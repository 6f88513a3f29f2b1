/**
 * `--shard I/N` (and the Kubernetes indexed-Job environment that stands for it) and `--seeds
 * LIST`: declared and parsed here for every command that splits its work (soak rounds, hunt
 * iterations, run --seeds); which items a shard owns is src/engine/shard.ts.
 */
import type { Argv } from 'yargs';
import { UsageError } from '../../src/engine/exit.js';
import { MAX_SHARDS, type Shard } from '../../src/engine/shard.js';

export function shardOptions<T>(y: Argv<T>, what: string): Argv<T> {
  return y.option('shard', {
    type: 'string',
    requiresArg: true,
    describe: `run shard I of N (1-based): ${what} i belongs to shard (i mod N) + 1; default from JOB_COMPLETION_INDEX and JOB_COMPLETIONS (Kubernetes indexed Job)`,
  });
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
