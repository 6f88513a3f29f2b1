/**
 * The seeded PRNG every random choice comes from: reproducible per (run seed, CPU, stream),
 * independent across CPUs and streams, and not visibly biased.
 */
import { describe, expect, it } from 'vitest';
import { Prng, Stream, deriveSeed } from '../src/shared-mem/prng.js';

const draw = (p: Prng, n: number): number[] => Array.from({ length: n }, () => p.nextU32());

describe('Prng (xoshiro128**)', () => {
  it('the same (seed, cpu, stream) gives the same sequence', () => {
    for (const [seed, cpu, stream] of [[0, 0, Stream.ops], [1, 3, Stream.widen], [0xffffffff, -1, Stream.sched]] as const) {
      expect(draw(new Prng(seed, cpu, stream), 64)).toEqual(draw(new Prng(seed, cpu, stream), 64));
    }
  });

  it('streams differ for every seed, CPU and stream tried (no collisions among 4096 starts)', () => {
    const starts = new Set<string>();
    for (let seed = 0; seed < 64; seed++) {
      for (let cpu = -1; cpu < 15; cpu++) {
        for (const stream of [Stream.ops, Stream.widen, Stream.sched, Stream.setup]) {
          starts.add(draw(new Prng(seed, cpu, stream), 4).join(','));
        }
      }
    }
    expect(starts.size).toBe(64 * 16 * 4);
  });

  it('(seed, CPU 0) and (seed ^ k, CPU 1) no longer share a stream (the XOR derivation let them)', () => {
    const k = (Math.imul(1, 0x27d4eb2f) ^ Math.imul(2, 0x27d4eb2f)) >>> 0;
    expect(draw(new Prng(5, 0), 16)).not.toEqual(draw(new Prng((5 ^ k) >>> 0, 1), 16));
  });

  it('is roughly uniform: chi-square over 16 buckets of 160,000 draws', () => {
    const p = new Prng(42, 0);
    const n = 160_000;
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < n; i++) buckets[p.below(16)]!++;
    const e = n / 16;
    const chi2 = buckets.reduce((s, c) => s + ((c - e) * (c - e)) / e, 0);
    // 15 degrees of freedom: p = 0.001 at 37.7. A biased generator lands in the hundreds.
    expect(chi2).toBeLessThan(37.7);
  });

  it('deriveSeed is deterministic and gives distinct seeds for the iterations of one base', () => {
    const a = Array.from({ length: 10_000 }, (_, i) => deriveSeed(7, i));
    expect(a).toEqual(Array.from({ length: 10_000 }, (_, i) => deriveSeed(7, i)));
    expect(new Set(a).size).toBe(a.length);
  });
});
