/**
 * The calling thread's time on a core and waiting for one (/proc/thread-self/schedstat: ns
 * running, ns runnable but not running). A CPU worker reads it around its op loop so a benchmark
 * can tell the model's own cost (ops per second on a core) from what the host gave it (a core
 * shared with other jobs). null where /proc is not there.
 */
import { readFileSync } from 'node:fs';

export interface ThreadSched {
  /** ms this thread ran, and ms it was runnable but waited for a core. */
  onCpuMs: number;
  runqueueMs: number;
}

let unavailable = process.platform !== 'linux';

export function threadSched(): ThreadSched | null {
  if (unavailable) return null;
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ').map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) throw new Error('schedstat');
    return { onCpuMs: run! / 1e6, runqueueMs: wait! / 1e6 };
  } catch {
    unavailable = true;
    return null;
  }
}

/** b - a, or null when either is missing. */
export function schedSince(a: ThreadSched | null, b: ThreadSched | null): ThreadSched | null {
  return a && b ? { onCpuMs: b.onCpuMs - a.onCpuMs, runqueueMs: b.runqueueMs - a.runqueueMs } : null;
}
