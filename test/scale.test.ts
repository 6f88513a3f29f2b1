/**
 * Issue 11 item 14: many CPUs. The text report summarises ops per CPU beyond 8 CPUs; the CPU
 * workers' young generations stay bounded in total; --duration counts from the first operation,
 * not from the start of the (with many CPUs, slow) worker start-up. Memory and start-up figures
 * for --cpus 64 against --cpus 2 are in bench/scale, not here.
 */
import { describe, expect, it } from 'vitest';
import { perCpuText, PER_CPU_LISTED } from '../src/report/report-text.js';
import { runStress, youngGenerationMb } from '../src/engine/engine.js';

describe('many CPUs', () => {
  it('the per-CPU line lists up to 8 CPUs, and gives min / median / max beyond', () => {
    expect(perCpuText([1000, 2000, 1500])).toBe('1,000 / 2,000 / 1,500');
    const many = Array.from({ length: 64 }, (_, i) => 1000 + i * 10);
    expect(perCpuText(many)).toBe('min 1,000 / median 1,315 / max 1,630 over 64 CPUs (each in the JSON report)');
    expect(perCpuText(many.slice(0, PER_CPU_LISTED + 1))).toMatch(/^min 1,000 \/ median 1,040 \/ max 1,080 over 9 CPUs/);
  });

  it('the workers\u2019 young generations add up to at most ~100 MB whatever the CPU count, 6 MB each for few CPUs', () => {
    for (let n = 1; n <= 64; n++) {
      expect(youngGenerationMb(n)).toBeGreaterThanOrEqual(2);
      expect(youngGenerationMb(n) * Math.min(n, 48)).toBeLessThanOrEqual(96);
    }
    expect(youngGenerationMb(2)).toBe(6);
    expect(youngGenerationMb(16)).toBe(6);
    expect(youngGenerationMb(64)).toBe(2);
  });

  it('--duration runs that long from the first operation: worker start-up does not count', async () => {
    // 6 CPUs: their start-up alone takes a few hundred ms on 2 cores, which a duration counted
    // from the pool's creation would have eaten (the run would measure far less than 400 ms).
    const r = await runStress({ scenario: 'mixed', mode: 'final', cpus: 6, seed: 1, ops: 0, durationMs: 400, lockstat: false, stopOnViolation: false, stallTimeoutMs: 60_000 });
    expect(r.status).toBe('ok');
    expect(r.firstOpAtMs).toBeGreaterThan(0);
    expect(r.runMs).toBeGreaterThanOrEqual(400);
  });
});
