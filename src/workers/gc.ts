/**
 * A full (mark-compact) garbage collection on demand, in whichever thread calls it: `gc` when
 * node runs with --expose-gc, else exposed at run time (a V8 flag; workers created afterwards
 * get it too). A no-op where neither works.
 *
 * Used at quiescent points of long runs (a soak's round changes), in the main thread and in the
 * CPU workers: an isolate that allocates little long-lived memory rarely runs a full GC by
 * itself, so the objects of past rounds — above all each round's arena, a SharedArrayBuffer
 * whose backing store lives until every thread that saw it has collected its handle — would
 * pile up in old space and outside the heap, and RSS would creep round after round.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let cached: (() => void) | undefined;

export function fullGc(): () => void {
  if (cached) return cached;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return (cached = exposed);
  try {
    setFlagsFromString('--expose-gc');
    return (cached = runInNewContext('gc') as () => void);
  } catch {
    return (cached = () => {});
  }
}
