/**
 * Independent worlds (`--worlds N`, issue 14 item 7), with real workers: a race found inside a
 * world of 2 CPUs, a safe mode clean over every world, worlds that do not race each other, one
 * world exactly the run without the flag, and bad --worlds values refused in one line.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStress, type RunConfig } from '../src/engine/engine.js';
import { runCli, type CliOut } from './run-cli.js';
import { processThreads, threadSched, threadsOnCpuMs } from '../src/workers/thread-sched.js';

const dir = mkdtempSync(join(tmpdir(), 'pmdtorture-worlds-'));
const cli = (args: string[]): Promise<CliOut> => runCli(dir, args);

const base: RunConfig = {
  scenario: 'mixed', mode: 'final', cpus: 4, worlds: 2, seed: 1, ops: 0, durationMs: 60_000,
  lockstat: false, stopOnViolation: false, stallTimeoutMs: 30_000,
};

/** Exit 2 with exactly one line on stderr naming --worlds, no stack trace. */
function expectRefused(r: CliOut, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('worlds', () => {
  it('2 worlds × 2 CPUs under mode none, widened: a race is found inside a world, its violations carry that world', async () => {
    // 40,000 widened ops; today's single world finds the first within ~10-40 ms (README).
    const r = await runStress({ ...base, mode: 'none', ops: 40_000, stopOnViolation: true, widen: { prob: 0.05, us: 200 } });
    expect(r.violationCount).toBeGreaterThan(0);
    expect(r.worlds.map((w) => w.cpus)).toEqual([[0, 2], [1, 3]]);
    expect(r.worlds.reduce((n, w) => n + w.violations, 0)).toBe(r.violationCount);
    const found = r.worlds.filter((w) => w.violations > 0);
    for (const w of found) expect(w.firstViolationMs).not.toBeNull();
    for (const v of r.violations) expect(v.world).toBe(v.cpu % 2);
  }, 120_000);

  it('2 worlds × 2 CPUs under final: zero violations over 20,000 ops (and 8,000 widened), invariants hold over both worlds', async () => {
    for (const widen of [undefined, { prob: 0.05, us: 200 }]) {
      const r = await runStress({ ...base, ops: widen ? 8000 : 20_000, widen, seed: widen ? 3 : 2 });
      expect(r.status, r.errors.join('\n')).toBe('ok');
      expect(r.ops).toBe(widen ? 8000 : 20_000);
      expect(r.violationCount).toBe(0);
      expect(r.invariants.errors).toEqual([]);
      expect(r.worlds.map((w) => w.ops)).toEqual(widen ? [4000, 4000] : [10_000, 10_000]);
      // Each worker's time on a core over its op loop (bench/worlds.ts divides by it): there, and no longer than the run.
      if (process.platform === 'linux') {
        for (const sc of r.cpuSched) {
          expect(sc).not.toBeNull();
          expect(sc!.onCpuMs).toBeGreaterThan(0);
          expect(sc!.onCpuMs).toBeLessThanOrEqual(r.runMs + 50);
        }
      }
    }
  }, 180_000);

  it.skipIf(process.platform !== 'linux')('threads of the process are timed by their schedstat (bench/worlds.ts times V8\'s helpers so): this thread\'s work shows in the sum; a thread gone counts 0', () => {
    const tids = processThreads();
    expect(tids.length).toBeGreaterThan(0);
    const self0 = threadSched()!.onCpuMs;
    const sum0 = threadsOnCpuMs(tids);
    // Spin until this thread has had 30 ms on a core, however loaded the host (bounded at 60 s).
    const until = Date.now() + 60_000;
    let x = 0;
    while (threadSched()!.onCpuMs - self0 < 30 && Date.now() < until) for (let i = 0; i < 100_000; i++) x = (x * 31 + i) | 0;
    expect(threadSched()!.onCpuMs - self0).toBeGreaterThanOrEqual(30);
    expect(threadsOnCpuMs(tids) - sum0).toBeGreaterThanOrEqual(30);
    expect(threadsOnCpuMs(['0'])).toBe(0);
    expect(x).not.toBeNaN();
  });

  it('worlds share no page table: one CPU per world under mode none, widened, finds nothing in 8,000 ops (one world of 2 CPUs does)', async () => {
    const cfg = { ...base, mode: 'none', cpus: 2, ops: 8000, widen: { prob: 0.05, us: 200 } };
    const apart = await runStress({ ...cfg, worlds: 2 });
    expect(apart.status, apart.errors.join('\n')).toBe('ok');
    expect(apart.violationCount).toBe(0);
    expect(apart.invariants.errors).toEqual([]);
    const together = await runStress({ ...cfg, worlds: 1, stopOnViolation: true, ops: 40_000 });
    expect(together.violationCount).toBeGreaterThan(0);
  }, 180_000);

  it('IPIs go to the sender\'s world only, and still hold GUP-fast off: gup-fast in 2 worlds × 2 CPUs races under 6.2, not under 6.16 (40,000 widened ops)', async () => {
    const cfg = { ...base, scenario: 'gup-fast', widen: { prob: 0.05, us: 300 } };
    const race = await runStress({ ...cfg, mode: '6.2', durationMs: 60_000, stopOnViolation: true, stopAtSites: ['gup-fast'] });
    expect(race.violations.some((v) => v.site === 'gup-fast')).toBe(true);
    const safe = await runStress({ ...cfg, mode: '6.16', ops: 40_000 });
    expect(safe.status, safe.errors.join('\n')).toBe('ok');
    expect(safe.violationCount).toBe(0);
    expect(safe.invariants.errors).toEqual([]);
    expect(safe.model.syncOne).toBeGreaterThan(0);
    // One other CPU in each world: every broadcast is one IPI, not three.
    expect(safe.ipi.sent).toBe(safe.ipi.broadcasts);
    expect(safe.outcomes['gup-fast']?.['ok'] ?? 0).toBeGreaterThan(1000);
  }, 180_000);

  it('--worlds 1 is the run without the flag: same command, arena, op counts per CPU and per op kind', async () => {
    const args = ['run', '--mode', 'final', '--cpus', '2', '--ops', '6000', '--seed', '17', '--json', '--quiet'];
    const [a, b] = [await cli(args), await cli([...args, '--worlds', '1'])];
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [ja, jb] = [a, b].map((x) => JSON.parse(x.stdout) as { command: string; config: { worlds: number; arena: object }; ops: { perCpu: number[]; perOp: Record<string, number> }; worlds?: unknown });
    expect(jb.command).toBe(ja.command);
    expect(jb.config.worlds).toBe(1);
    expect(jb.config.arena).toEqual(ja.config.arena);
    expect(jb.ops.perCpu).toEqual(ja.ops.perCpu);
    expect(jb.ops.perOp).toEqual(ja.ops.perOp);
    expect(jb.worlds).toBeUndefined();
  }, 60_000);

  it('the report and the re-run command say how many worlds', async () => {
    const r = await cli(['run', '--mode', 'final', '--cpus', '2', '--worlds', '2', '--ops', '2000', '--seed', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/2 CPUs in 2 worlds/);
    expect(r.stdout).toMatch(/^ {2}world 1 \(cpu 1\): 1,000 ops, 0 violations$/m);
    expect(r.stdout).toMatch(/re-run: pmdtorture run .*--cpus 2 --worlds 2 --ops 2000 --seed 4/);
  }, 60_000);

  it('bad --worlds: 0, not a number, more worlds than CPUs, with --sched, a scale study with fewer CPUs: one line, exit 2', async () => {
    expectRefused(await cli(['run', '--worlds', '0', '--cpus', '2', '--ops', '10']), /^pmdtorture \w+: --worlds: '0' is not valid \(accepted: a world count from 1 to 64\)$/);
    expectRefused(await cli(['run', '--worlds', 'two', '--cpus', '2', '--ops', '10']), /^pmdtorture \w+: --worlds: 'two' is not valid/);
    expectRefused(await cli(['run', '--worlds', '3', '--cpus', '2', '--ops', '10']), /^pmdtorture \w+: --worlds: 3 worlds but only 2 CPUs: every world needs at least one CPU/);
    expectRefused(await cli(['compare', '--worlds', '2', '--cpus', '1', '--modes', 'final', '--ops', '10']), /^pmdtorture \w+: --worlds: 2 worlds but only 1 CPU:/);
    expectRefused(await cli(['soak', '--worlds', '1.5', '--cpus', '2', '--duration', '1s']), /^pmdtorture \w+: --worlds: '1.5' is not valid/);
    expectRefused(await cli(['scale', '--worlds', '2', '--cpus', '2,1', '--modes', 'final', '--ops', '10']), /^pmdtorture \w+: --worlds: 2 worlds but only 1 CPU:/);
    expectRefused(await cli(['run', '--sched', 'random', '--worlds', '2', '--cpus', '2', '--ops', '10']), /^pmdtorture \w+: --worlds: not with --sched random:/);
  }, 60_000);
});
