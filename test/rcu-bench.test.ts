/**
 * Smoke test of bench/rcu.ts: the table and the three verdicts are printed from a real (short)
 * run. The performance targets themselves are judged by `npm run bench`, not here — a shared
 * CI machine cannot promise timings.
 */
import { expect, it } from 'vitest';
import { benchRcuResult } from '../bench/rcu.js';

it('bench/rcu prints the read-side cost table, GP latency and PASS/FAIL verdicts', async () => {
  const lines: string[] = [];
  const r = await benchRcuResult({ runMs: 40, rounds: 1, warmMs: 40, gpMs: 300, log: (s) => lines.push(s) });
  console.log(lines.join('\n'));
  const text = lines.join('\n');
  for (const label of ['Atomics load+store', 'rcu_read_lock/unlock', 'local_irq_disable/enable', 'down_read/up_read']) {
    expect(text).toContain(label);
  }
  expect(r.rows).toHaveLength(8);
  for (const row of r.rows) expect(row.ns).toBeGreaterThan(0);
  expect(r.gpP99Ms).toBeGreaterThan(0);
  expect(text).toMatch(/(PASS|FAIL) rcu read pair <= 2x/);
  expect(text).toMatch(/(PASS|FAIL) grace-period p99 < 10 ms/);
});
