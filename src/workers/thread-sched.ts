/**
 * A thread's time on a core and waiting for one (schedstat: ns running, ns runnable but not
 * running). A CPU worker reads its own around its op loop so a benchmark can tell the model's own
 * cost (ops per second on a core) from what the host gave it (a core shared with other jobs); a
 * benchmark reads the process's other threads (V8's compiler and GC helpers) the same way. null
 * where /proc is not there.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadSched {
  /** ms this thread ran, and ms it was runnable but waited for a core. */
  onCpuMs: number;
  runqueueMs: number;
}

let unavailable = process.platform !== 'linux';

/** One schedstat file read (throws where it is missing or malformed). */
function readSchedstat(path: string): ThreadSched {
  const [run, wait] = readFileSync(path, 'latin1').split(' ').map(Number);
  if (!Number.isFinite(run) || !Number.isFinite(wait)) throw new Error('schedstat');
  return { onCpuMs: run! / 1e6, runqueueMs: wait! / 1e6 };
}

export function threadSched(): ThreadSched | null {
  if (unavailable) return null;
  try {
    return readSchedstat('/proc/thread-self/schedstat');
  } catch {
    unavailable = true;
    return null;
  }
}

/** b - a, or null when either is missing. */
export function schedSince(a: ThreadSched | null, b: ThreadSched | null): ThreadSched | null {
  return a && b ? { onCpuMs: b.onCpuMs - a.onCpuMs, runqueueMs: b.runqueueMs - a.runqueueMs } : null;
}

/** The ids of this process's threads now (none off Linux). */
export function processThreads(): string[] {
  try {
    return readdirSync('/proc/self/task');
  } catch {
    return [];
  }
}

/** ms on a core, summed over these threads of this process (those that have exited count 0). */
export function threadsOnCpuMs(tids: readonly string[]): number {
  let ms = 0;
  for (const t of tids) {
    try {
      ms += readSchedstat(`/proc/self/task/${t}/schedstat`).onCpuMs;
    } catch {
      // exited
    }
  }
  return ms;
}
