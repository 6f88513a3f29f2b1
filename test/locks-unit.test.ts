/**
 * Semantics of the primitives in one thread. Blocking is simulated with a context whose block()
 * runs "the other CPU" at the moment this one would sleep — the same hook a scheduler uses.
 */
import { describe, expect, it } from 'vitest';
import type { LockCtx } from '../src/locks/ctx.js';
import { spinLock, spinTrylock, spinUnlock } from '../src/locks/spinlock.js';
import { mutexLock, mutexTrylock, mutexUnlock } from '../src/locks/mutex.js';
import { downgradeWrite, downRead, downReadTrylock, downWrite, downWriteTrylock, rwsemState, upRead, upWrite } from '../src/locks/rwsem.js';
import { complete, completeAll, completionDone, tryWaitForCompletion, waitForCompletion } from '../src/locks/completion.js';
import { barrierWait } from '../src/locks/barrier.js';

interface TestCtx extends LockCtx {
  onBlock: Array<() => void>;
  wakes: Array<[number, number]>;
}

function ctxs(n: number): TestCtx[] {
  const mem = new Int32Array(new SharedArrayBuffer(4096));
  return Array.from({ length: n }, (_, cpuId) => {
    const c: TestCtx = {
      mem,
      cpuId,
      onBlock: [],
      wakes: [],
      block(at: number, expected: number): void {
        const f = c.onBlock.shift();
        if (!f) throw new Error(`cpu ${cpuId} would sleep forever on ${at} (== ${expected})`);
        f();
      },
      wake(at: number, count: number): void {
        c.wakes.push([at, count]);
      },
    };
    return c;
  });
}

describe('spinlock and mutex', () => {
  it('zero is unlocked; trylock; contended lock returns true; unlock wakes only a sleeper', () => {
    const [a, b] = ctxs(2) as [TestCtx, TestCtx];
    for (const [lock, trylock, unlock] of [[spinLock, spinTrylock, spinUnlock], [mutexLock, mutexTrylock, mutexUnlock]] as const) {
      const at = 0;
      expect(lock(a, at)).toBe(false);
      expect(trylock(b, at)).toBe(false);
      unlock(a, at);
      expect(a.wakes).toEqual([]); // nobody waited: no notify
      expect(trylock(b, at)).toBe(true);
      a.onBlock.push(() => unlock(b, at));
      expect(lock(a, at)).toBe(true);
      expect(Atomics.load(a.mem, at)).toBe(2); // taken as "maybe waiters" after sleeping
      unlock(a, at);
      expect(a.wakes).toEqual([[at, 1]]);
      a.wakes.length = 0;
      b.wakes.length = 0;
    }
  });
});

describe('rwsem', () => {
  const at = 16;
  it('readers share, a writer excludes, trylocks follow', () => {
    const [a, b] = ctxs(2) as [TestCtx, TestCtx];
    expect(downRead(a, at)).toBe(false);
    expect(downReadTrylock(b, at)).toBe(true);
    expect(downWriteTrylock(b, at)).toBe(false);
    expect(rwsemState(a.mem, at).readers).toBe(2);
    upRead(a, at);
    upRead(b, at);
    expect(a.wakes).toEqual([]);
    expect(downWriteTrylock(a, at)).toBe(true);
    expect(downReadTrylock(b, at)).toBe(false);
    expect(downWriteTrylock(b, at)).toBe(false);
    upWrite(a, at);
    expect(a.wakes).toEqual([]);
    expect(rwsemState(a.mem, at)).toEqual({ writer: false, readers: 0, waitingWriters: 0, waitingReaders: 0 });
  });

  it('writer preference: a waiting writer blocks new readers, then gets the lock from the last reader', () => {
    const [r1, w, r2] = ctxs(3) as [TestCtx, TestCtx, TestCtx];
    expect(downRead(r1, at)).toBe(false);
    w.onBlock.push(() => {
      // The writer is queued behind r1.
      expect(rwsemState(w.mem, at)).toMatchObject({ readers: 1, waitingWriters: 1 });
      expect(downReadTrylock(r2, at)).toBe(false); // a waiting writer blocks new readers
      upRead(r1, at); // the last reader out wakes the writer
      expect(r1.wakes.length).toBe(1);
    });
    expect(downWrite(w, at)).toBe(true);
    expect(rwsemState(w.mem, at)).toMatchObject({ writer: true, readers: 0, waitingWriters: 0 });
    upWrite(w, at);
  });

  it('hand-off: a releasing writer gives the lock to waiting readers before a waiting writer', () => {
    const [w1, r, w2] = ctxs(3) as [TestCtx, TestCtx, TestCtx];
    expect(downWrite(w1, at)).toBe(false);
    r.onBlock.push(() => {
      expect(rwsemState(r.mem, at)).toMatchObject({ writer: true, waitingReaders: 1 });
      // Another writer queues too; it must not overtake the reader.
      w2.onBlock.push(() => {
        upWrite(w1, at); // hand-off: the reader is now active, the writer still waits
        expect(rwsemState(r.mem, at)).toMatchObject({ writer: false, readers: 1, waitingReaders: 0, waitingWriters: 1 });
        expect(downWriteTrylock(w1, at)).toBe(false);
        w2.onBlock.push(() => {
          throw new Error('unreachable');
        });
      });
      let threw = false;
      try {
        downWrite(w2, at);
      } catch {
        threw = true; // the simulated second sleep: w2 is still queued behind the reader
      }
      expect(threw).toBe(true);
    });
    expect(downRead(r, at)).toBe(true);
    // w2 gave up (its sleep threw): with no writer queued and the reader active the state is clean.
    expect(rwsemState(r.mem, at)).toEqual({ writer: false, readers: 1, waitingWriters: 0, waitingReaders: 0 });
    upRead(r, at);
    expect(rwsemState(r.mem, at).readers).toBe(0);
  });
});

describe('rwsem downgrade_write', () => {
  it('keeps the lock as a reader, admits queued readers, keeps a queued writer out', () => {
    const [w, r, w2] = ctxs(3) as [TestCtx, TestCtx, TestCtx];
    const at = 64;
    expect(downWrite(w, at)).toBe(false);
    r.onBlock.push(() => {
      downgradeWrite(w, at); // r is queued: it is handed the lock with the downgrade
      expect(rwsemState(w.mem, at)).toEqual({ writer: false, readers: 2, waitingWriters: 0, waitingReaders: 0 });
    });
    expect(downRead(r, at)).toBe(true);
    expect(downWriteTrylock(w2, at)).toBe(false);
    upRead(r, at);
    upRead(w, at);
    expect(downWriteTrylock(w2, at)).toBe(true);
  });
});

describe('completion and barrier', () => {
  it('complete / wait / complete_all, waking only sleepers', () => {
    const [a, b] = ctxs(2) as [TestCtx, TestCtx];
    const at = 32;
    expect(tryWaitForCompletion(a, at)).toBe(false);
    complete(b, at);
    expect(b.wakes).toEqual([]);
    expect(waitForCompletion(a, at)).toBe(false);
    a.onBlock.push(() => complete(b, at));
    expect(waitForCompletion(a, at)).toBe(true);
    expect(b.wakes).toEqual([[at, 1]]);
    completeAll(b, at);
    expect(completionDone(a.mem, at)).toBe(true);
    expect(waitForCompletion(a, at)).toBe(false);
    expect(waitForCompletion(a, at)).toBe(false);
  });

  it('the barrier releases everyone at once and is reusable', () => {
    const cs = ctxs(3);
    const at = 48;
    for (let gen = 0; gen < 3; gen++) {
      cs[0]!.onBlock.push(() => {
        cs[1]!.onBlock.push(() => expect(barrierWait(cs[2]!, at, 3)).toBe(true));
        expect(barrierWait(cs[1]!, at, 3)).toBe(false);
      });
      expect(barrierWait(cs[0]!, at, 3)).toBe(false);
      expect(Atomics.load(cs[0]!.mem, at + 1)).toBe(gen + 1);
    }
  });
});
