/**
 * `pmdtorture hunt` and `pmdtorture replay` as a user runs them (the built binary): hunt writes a
 * replay file and exits 1, replay reproduces it and exits 1, --shrink writes a smaller file and
 * prints the interleaving, bad files exit 2 with one line, a protected mode exits 0.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pmdtorture-sched-cli-'));

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: tmp, env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('hunt and replay CLI', () => {
  let file = '';
  it('hunt --sched pct --stop-at-target finds the scenario\'s own race, writes the replay file into --out, prints its path, exit 1', () => {
    const r = cli(['hunt', '--scenario', 'follow-page', '--mode', 'none', '--seed', '1', '--iterations', '1000', '--stop-at-target', '--out', join(tmp, 'out')]);
    expect(r.code, r.stderr).toBe(1);
    file = r.stdout.trim().split('\n').pop()!;
    expect(file.startsWith(join(tmp, 'out'))).toBe(true);
    expect(existsSync(file)).toBe(true);
    expect(r.stderr).toMatch(/FOUND \S+ \(follow-page, op follow-page, .* in iteration \d+/);
  });

  it('replay FILE --json: the identical violation at the identical step, exit 1', () => {
    const r = cli(['replay', file, '--json']);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as { recurred: boolean; sameHash: boolean; got: { step: number }; expected: { step: number } };
    expect(j.recurred).toBe(true);
    expect(j.sameHash).toBe(true);
    expect(j.got.step).toBe(j.expected.step);
  });

  it('replay FILE --shrink writes a smaller failing file and prints the interleaving', () => {
    const r = cli(['replay', file, '--shrink', '--shrink-runs', '60', '--out', join(tmp, 'small.json')]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toContain('shrunk in');
    expect(r.stdout).toMatch(/step +cpu +operation/);
    const small = JSON.parse(readFileSync(join(tmp, 'small.json'), 'utf8')) as { shrunk: boolean; config: { opsPerCpu: number[] } };
    expect(small.shrunk).toBe(true);
    expect(small.config.opsPerCpu.reduce((a, b) => a + b, 0)).toBeLessThan(200);
    expect(cli(['replay', join(tmp, 'small.json'), '--quiet']).code).toBe(1);
  });

  it.each([
    ['corrupt', '{"version":', /corrupt/],
    ['other version', JSON.stringify({ version: 99 }), /version 99 is not supported/],
    ['missing scenario', 'SCENARIO', /unknown scenario 'gone'/],
    // A schedule is choices at yield points: another pmdtorture's model or yield points differ.
    ['other pmdtorture version', 'TOOL', /written by pmdtorture 0\.0\.0-other, this is pmdtorture \d+\.\d+\.\d+/],
  ])('a %s replay file: one line, exit 2', (_what, text, msg) => {
    const p = join(tmp, `bad-${_what.replaceAll(' ', '-')}.json`);
    const recorded = readFileSync(file, 'utf8');
    if (text === 'TOOL') expect(recorded).toMatch(/"toolVersion": "\d+\.\d+\.\d+"/);
    writeFileSync(
      p,
      text === 'SCENARIO' ? recorded.replace('"follow-page"', '"gone"') : text === 'TOOL' ? recorded.replace(/"toolVersion": "[^"]*"/, '"toolVersion": "0.0.0-other"') : text,
    );
    const r = cli(['replay', p]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('run --sched random: a violation writes a replay file into the current directory that replay reproduces (exit 1 both)', () => {
    const r = cli(['run', '--scenario', 'mixed', '--mode', 'none', '--sched', 'random', '--ops', '200', '--seed', '1', '--json', '--quiet']);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as { replayFile: string; violation: { step: number } };
    expect(existsSync(j.replayFile)).toBe(true);
    const again = cli(['replay', j.replayFile, '--json', '--quiet']);
    expect(again.code).toBe(1);
    expect((JSON.parse(again.stdout) as { got: { step: number } }).got.step).toBe(j.violation.step);
    expect(cli(['run', '--sched', 'random', '--widen', '--ops', '100']).code).toBe(2);
  });

  it('hunt in a protected mode: nothing found, exit 0; --sched parallel is refused (exit 2)', () => {
    const r = cli(['hunt', '--scenario', 'follow-page', '--mode', 'final', '--seed', '1', '--iterations', '30', '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { found: boolean }).found).toBe(false);
    expect(cli(['hunt', '--sched', 'parallel']).code).toBe(2);
  });

  it('a failed end-of-run invariant check (planted) fails a controlled run and a hunt: exit 1, the check named, status invariants', () => {
    const plant = { PMDTORTURE_TEST_PLANT_INVARIANT: '1' };
    const run = cli(['run', '--sched', 'random', '--mode', 'final', '--ops', '40', '--seed', '3', '--quiet'], plant);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout + run.stderr).toMatch(/INVARIANTS FAILED: mm 0: PUD page \d+ has refcount 2/);
    const h = cli(['hunt', '--mode', 'final', '--ops', '40', '--iterations', '5', '--seed', '3', '--json'], plant);
    expect(h.code, h.stderr).toBe(1);
    expect(h.stderr).toMatch(/INVARIANTS FAILED in iteration 1 \(seed \d+, --sched \w+.*\): mm 0: PUD page \d+ has refcount 2/);
    const j = JSON.parse(h.stdout) as { found: boolean; status: string; exitCode: number };
    expect([j.found, j.status, j.exitCode]).toEqual([false, 'invariants', 1]);
    // Without the plant the same run is clean.
    expect(cli(['run', '--sched', 'random', '--mode', 'final', '--ops', '40', '--seed', '3', '--quiet']).code).toBe(0);
  });
});
