/**
 * BUSTED on purpose: the completion whose complete() counts the done but never notifies, so a
 * waiter already asleep on the word (sleepers > 0) is never woken: a lost wake-up. Under a waiter
 * that sleeps until notified (a real futex, or the torture harness's strict waiter) it sleeps for
 * ever beside a done count it could take. Everything else is the correct completion.
 */
import type { LockCtx } from '../ctx.js';

export {
  COMPLETION_WORDS,
  completeAll,
  completionDone,
  reinitCompletion,
  tryWaitForCompletion,
  waitForCompletion,
  waitForCompletionTimeout,
} from '../completion.js';

const ALL = 0x7fffffff;

export function complete(ctx: LockCtx, at: number): void {
  const m = ctx.mem;
  for (;;) {
    const d = Atomics.load(m, at);
    if (d === ALL) return;
    if (Atomics.compareExchange(m, at, d, d + 1) === d) break;
  }
  // The bug: no ctx.wake(at, 1) for a sleeper.
}
