/**
 * Seeded PRNG: xoshiro128** with state seeded by splitmix32 from (run seed, CPU id, stream).
 * Every random choice in pmdtorture comes from one of these, so a run is reproducible from its seed.
 */

/** Named streams so that, e.g., race-widening draws never perturb the operation stream. */
export const Stream = { ops: 1, widen: 2, sched: 3, setup: 4 } as const;
export type StreamId = (typeof Stream)[keyof typeof Stream];

function splitmix32(x: number): () => number {
  let s = x >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * @param seed run seed (uint32); @param cpu CPU id, or -1 for the main thread; @param stream which stream
   *
   * The 128-bit state is injective in (seed, cpu, stream): a and c come from the seed alone, d from
   * (cpu, stream) alone, each through splitmix32's first outputs (bijections of their seed). Mixing
   * all three into one 32-bit seed, as before, let (seed, cpu 0) and (seed ^ k, cpu 1) collide.
   */
  constructor(seed: number, cpu: number, stream: number = Stream.ops) {
    const s = splitmix32(seed >>> 0);
    const t = splitmix32((((cpu + 1) << 8) | (stream & 0xff)) >>> 0);
    this.a = s();
    this.d = t();
    this.b = (s() ^ t()) >>> 0;
    this.c = s();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    const x = xs[this.below(xs.length)];
    if (x === undefined) throw new RangeError('pick from an empty list');
    return x;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A fresh random uint32 run seed (the only unseeded randomness: it is always printed). */
export function randomSeed(): number {
  return (Math.random() * 4294967296) >>> 0;
}

/** Seed of derived run i (hunt iterations, shards): deterministic from the base seed. */
export function deriveSeed(base: number, i: number): number {
  const sm = splitmix32((base >>> 0) ^ Math.imul(i + 1, 0x9e3779b1));
  return sm();
}
