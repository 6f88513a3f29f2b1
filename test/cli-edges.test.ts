/**
 * The CLI used as a new user — and a hostile one — would (issue 11): --ops below the CPU count,
 * output files that cannot be created or written, signals at awkward moments, replay files with a
 * forged config, typos, help text against behaviour, and `npm start`'s build step. Each test
 * spawns the built binary with small --ops so the file stays short.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPLAY_KNOWN } from '../stress/controlled.js';
import { ReplayFileError, validateReplay } from '../src/sched/replay.js';
import { root, runCli, type CliOptions, type Out } from './spawn-cli.js';
import { goodReplayDoc } from './replay-fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmdtorture-edges-'));

function cli(args: string[], opts: Omit<CliOptions, 'cwd'> & { cwd?: string } = {}): Promise<Out> {
  return runCli(args, { ...opts, cwd: opts.cwd ?? tmp });
}

/** Exit 2 with exactly one line on stderr, no stack trace, nothing on stdout. */
function expectRefused(r: Out, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at |undefined/);
  expect(r.stdout).toBe('');
}

describe('--ops below the CPU count', () => {
  // Before: a CPU whose share was 0 ran until stopped, and a run with --ops never ended.
  it('run: a CPU whose share is 0 runs none, and the run ends with exactly --ops operations', async () => {
    for (const [ops, cpus, perCpu] of [[1, 2, [1, 0]], [3, 4, [1, 1, 1, 0]]] as const) {
      const r = await cli(['run', '--ops', String(ops), '--cpus', String(cpus), '--seed', '62', '--json', '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout) as { ops: { total: number; perCpu: number[] } };
      expect(j.ops.total).toBe(ops);
      expect(j.ops.perCpu).toEqual(perCpu);
    }
  });

  it('compare, hunt and run --sched end too', async () => {
    const c = await cli(['compare', '--ops', '1', '--modes', 'final', '--cpus', '2', '--seed', '1', '--json', '--quiet']);
    expect(c.code, c.stderr).toBe(0);
    expect((JSON.parse(c.stdout) as { runs: Array<{ ops: { total: number } }> }).runs[0]!.ops.total).toBe(1);
    const h = await cli(['hunt', '--ops', '1', '--iterations', '3', '--cpus', '2', '--seed', '1', '--json', '--quiet', '--out', 'hunt-ops1']);
    expect(h.code, h.stderr).toBe(0);
    const hj = JSON.parse(h.stdout) as { iterationsRun: number; totalSteps: number };
    expect(hj.iterationsRun).toBe(3);
    // One operation an iteration is a few dozen steps; a CPU running until stopped took 20,000.
    expect(hj.totalSteps).toBeLessThan(1000);
    const s = await cli(['run', '--sched', 'pct', '--ops', '2', '--cpus', '3', '--mode', 'final', '--seed', '1', '--json', '--quiet']);
    expect(s.code, s.stderr).toBe(0);
    expect((JSON.parse(s.stdout) as { perCpu: number[] }).perCpu).toEqual([1, 1, 0]);
  });
});

describe('output files', () => {
  // /proc refuses new files even to root, for whom access(W_OK) always passes.
  const refused: Array<[string, string[]]> = [
    ['run --report', ['run', '--ops', '200', '--cpus', '1', '--report', '/proc/x.json']],
    ['run --html', ['run', '--ops', '200', '--cpus', '1', '--html', '/proc/x.html']],
    ['run --junit', ['run', '--ops', '200', '--cpus', '1', '--junit', '/proc/x.xml']],
    ['run --events', ['run', '--ops', '200', '--cpus', '1', '--events', '/proc/x.ndjson']],
    ['run --report in a missing directory under /proc', ['run', '--ops', '200', '--cpus', '1', '--report', '/proc/a/b/x.json']],
    ['compare --report', ['compare', '--ops', '200', '--modes', 'final', '--cpus', '1', '--report', '/proc/x.json']],
    ['soak --html', ['soak', '--duration', '1s', '--cpus', '1', '--html', '/proc/x.html']],
    ['merge --report', ['merge', 'any.json', '--report', '/proc/x.json']],
    ['merge --junit', ['merge', 'any.json', '--junit', '/proc/x.xml']],
    ['report --html', ['report', 'any.json', '--html', '/proc/x.html']],
    ['hunt --report', ['hunt', '--iterations', '2', '--report', '/proc/x.json']],
    // Before: Node's recursive mkdir spins forever on a path under /proc (the hunt hung at 98% CPU).
    ['hunt --out', ['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '50', '--seed', '1', '--out', '/proc/x']],
    ['replay --shrink --out', ['replay', 'any.replay.json', '--shrink', '--out', '/proc/x.json']],
  ];
  it.each(refused)('%s that cannot be created: refused before anything runs (exit 2, one line)', async (_what, args) => {
    writeFileSync(join(tmp, 'any.json'), '{}');
    writeFileSync(join(tmp, 'any.replay.json'), JSON.stringify(goodReplay()));
    const r = await cli(args, { timeoutMs: 20_000 });
    expectRefused(r, /: --(report|html|junit|events|out): cannot write( into)? '\/proc\/[^']+': E[A-Z]+ \(/);
  });

  it('a write that fails at the end (disk full): the text report is printed, one line per file, exit 3', async () => {
    const r = await cli(['run', '--ops', '200', '--cpus', '1', '--seed', '1', '--report', '/dev/full', '--html', '/dev/full', '--events', '/dev/full']);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^status: OK/m);
    expect(r.stderr).toContain("pmdtorture run: could not write --report '/dev/full': ENOSPC (no space left on device)");
    expect(r.stderr).toContain("pmdtorture run: could not write --html '/dev/full': ENOSPC");
    expect(r.stderr).toContain("pmdtorture run: could not write --events '/dev/full': ENOSPC");
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    const good = join(tmp, 'good.json');
    expect((await cli(['run', '--ops', '200', '--cpus', '1', '--quiet', '--report', good])).code).toBe(0);
    for (const args of [['merge', good, '--quiet', '--report', '/dev/full'], ['report', good, '--junit', '/dev/full']]) {
      const m = await cli(args);
      expect(m.code, m.stderr).toBe(3);
      expect(m.stderr).toMatch(new RegExp(`^pmdtorture ${args[0]}: could not write --(report|junit) '/dev/full': ENOSPC`, 'm'));
      expect(m.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });

  it('reports are written atomically: a write cut short (file size limit) leaves the old file whole and no temporary file', async () => {
    const d = mkdtempSync(join(tmp, 'atomic-'));
    const report = join(d, 'r.json');
    writeFileSync(report, 'GOOD\n');
    // ulimit -f 8: writes past 8 KiB fail with EFBIG, as a full disk would fail with ENOSPC.
    const r = await cli(['run', '--ops', '500', '--cpus', '1', '--seed', '1', '--report', report], { shellPrefix: 'ulimit -f 8;' });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toMatch(/^status: OK/m);
    expect(r.stderr).toMatch(/could not write --report '.*r\.json': EFBIG/);
    expect(readFileSync(report, 'utf8')).toBe('GOOD\n');
    expect(readdirSync(d)).toEqual(['r.json']);
    // And without the limit the same command replaces it with a whole report.
    expect((await cli(['run', '--ops', '500', '--cpus', '1', '--seed', '1', '--quiet', '--report', report])).code).toBe(0);
    expect((JSON.parse(readFileSync(report, 'utf8')) as { kind: string }).kind).toBe('run');
    expect(readdirSync(d)).toEqual(['r.json']);
  });
});

describe('signals', () => {
  it('hunt: SIGINT stops it and prints and writes what it has (exit 130)', async () => {
    let sent = false;
    const report = join(tmp, 'hunt-int.json');
    const r = await cli(['hunt', '--scenario', 'follow-page', '--mode', 'final', '--iterations', '1000000', '--seed', '1', '--report', report], {
      timeoutMs: 60_000,
      onStdout: (all, child) => {
        if (!sent && all.includes('pmdtorture hunt: scenario')) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 500);
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/pmdtorture hunt: INTERRUPTED after \d+ iterations/);
    const j = JSON.parse(readFileSync(report, 'utf8')) as { kind: string; status: string; exitCode: number };
    expect([j.kind, j.status, j.exitCode]).toEqual(['hunt', 'interrupted', 130]);
  });

  it('a SIGINT that comes before the run has set up its handlers still ends in a report (exit 130)', async () => {
    // The run opens --events before it starts; a FIFO with no reader holds it there, before the
    // command's own signal handling exists — where a SIGINT sent in the first moments lands.
    const d = mkdtempSync(join(tmp, 'early-'));
    const fifo = join(d, 'events.fifo');
    execFileSync('mkfifo', [fifo]);
    const report = join(d, 'r.json');
    let pid = 0;
    const done = cli(['run', '--ops', '100000000', '--cpus', '1', '--quiet', '--report', report, '--events', fifo], { timeoutMs: 60_000, onSpawn: (c) => (pid = c.pid!) });
    const wchan = (): string => {
      try {
        return readFileSync(`/proc/${pid}/wchan`, 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 400 && wchan() !== 'wait_for_partner'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(wchan()).toBe('wait_for_partner'); // blocked opening the FIFO
    process.kill(pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    const reader = execFileSync('cat', [fifo]); // unblocks the open and drains the events
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    const j = JSON.parse(readFileSync(report, 'utf8')) as { status: string; ops: { total: number } };
    expect(j.status).toBe('interrupted');
    expect(j.ops.total).toBeLessThan(100_000_000);
    expect(reader.toString()).toContain('"type":"end"');
  });
});

const goodReplay = (): Record<string, unknown> => goodReplayDoc();

describe('replay files: every field is checked', () => {
  const g = goodReplay();
  const cfg = g['config'] as Record<string, unknown>;
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['ops beyond any run (1e12)', { ...g, config: { ...cfg, ops: 1e12 } }, /config\.ops must be an integer in \[0, 10000000\]/],
    ['more CPUs than the schedule runs', { ...g, config: { ...cfg, cpus: 64 } }, /config\.cpus is 64 but the schedule runs CPUs 0, 1/],
    ['a fractional cpu count', { ...g, config: { ...cfg, cpus: 1.5 } }, /config\.cpus must be an integer/],
    ['opsPerCpu not adding up to ops', { ...g, config: { ...cfg, opsPerCpu: [1, 2] } }, /config\.opsPerCpu adds up to 3, config\.ops says 200/],
    ['a skipped operation past the CPU\'s stream', { ...g, config: { ...cfg, ops: 3, opsPerCpu: [1, 2], skipOps: [[1], []] } }, /config\.skipOps\[0\]/],
    ['a config seed that is not the file\'s', { ...g, config: { ...cfg, seed: 6 } }, /config\.seed 6 differs from seed 5/],
    ['a PCT depth out of range', { ...g, config: { ...cfg, pctDepth: 1000 } }, /config\.pctDepth must be an integer in \[1, 64\]/],
    ['an unknown mode', { ...g, config: { ...cfg, mode: 'lol' } }, /unknown mode 'lol'/],
    ['an unknown config field', { ...g, config: { ...cfg, opz: 1 } }, /unknown field config\.opz/],
    ['an unknown arena field', { ...g, config: { ...cfg, arena: { pagez: 4 } } }, /unknown field config\.arena\.pagez/],
    ['a violation after the schedule ends', { ...g, violation: { ...(g['violation'] as object), step: 99 } }, /violation\.step must be an integer in \[0, 4\]/],
    ['a violation on a CPU that does not exist', { ...g, violation: { ...(g['violation'] as object), cpu: 2 } }, /violation\.cpu must be an integer in \[0, 1\]/],
    ['a run report', { schemaVersion: 1, kind: 'run', tool: { name: 'pmdtorture' } }, /not a replay file \(it is a run report/],
    ['no version', {}, /version missing is not supported/],
  ];
  it.each(cases)('%s: one line', (_what, doc, msg) => {
    expect(() => validateReplay(doc, REPLAY_KNOWN)).toThrow(ReplayFileError);
    expect(() => validateReplay(doc, REPLAY_KNOWN)).toThrow(msg);
  });

  it('the CLI refuses a forged config with exit 2 and one line (no TimeoutOverflowWarning, no run)', async () => {
    const g2 = goodReplay();
    for (const [name, config, msg] of [
      ['big-ops', { ...(g2['config'] as object), ops: 1e12 }, /config\.ops must be/],
      ['64-cpus', { ...(g2['config'] as object), cpus: 64 }, /config\.cpus is 64/],
    ] as const) {
      const f = join(tmp, `${name}.replay.json`);
      writeFileSync(f, JSON.stringify({ ...g2, config }));
      expectRefused(await cli(['replay', f]), msg);
    }
    const report = join(tmp, 'a-run.json');
    expect((await cli(['run', '--ops', '100', '--cpus', '1', '--quiet', '--report', report])).code).toBe(0);
    expectRefused(await cli(['replay', report]), /^pmdtorture replay: .*a-run\.json: not a replay file \(it is a run report/);
  });
});

describe('help, typos and error wording', () => {
  it('--help says what each command does', async () => {
    const help = async (cmd: string): Promise<string> => (await cli([cmd, '--help'], { timeoutMs: 60_000 })).stdout.replace(/\s+/g, ' ');
    const compare = await help('compare');
    expect(compare).toMatch(/--duration how long to run, e\.g\. 10s, 5m, 1h \(default: --ops 100,000 per mode instead/);
    expect(compare).not.toContain('until SIGINT');
    expect(await help('soak')).not.toContain('--ops');
    const replay = await help('replay');
    expect(replay).toContain('.shrunk.replay.json');
    expect(replay).not.toMatch(/\.shrunk\.json/);
    const hunt = await help('hunt');
    expect(hunt).toContain('--report');
    expect(hunt).not.toContain('parallel');
    // Every flag the README names is a flag of some command.
    let all = `${compare} ${replay} ${hunt}`;
    for (const cmd of ['run', 'soak', 'report', 'merge', 'list', 'explain', 'scale']) all += ` ${await help(cmd)}`;
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const flag of new Set(readme.match(/--[a-z][a-z-]+/g))) {
      expect(all.includes(flag) || all.includes(flag.replace(/^--no-/, '--')), flag).toBe(true);
    }
  });

  it('a mistyped command gets the nearest one suggested; a word that is no typo gets none', async () => {
    expectRefused(await cli(['comapre']), /^pmdtorture: unknown command 'comapre' \(did you mean compare\?\) \(accepted: run, soak, compare/);
    expectRefused(await cli(['sok']), /did you mean soak\?/);
    const far = await cli(['xyzzy']);
    expectRefused(far, /unknown command 'xyzzy' \(accepted:/);
  });

  it('error lines name the command once and never say undefined', async () => {
    expectRefused(await cli(['merge', 'nope.json']), /^pmdtorture merge: cannot read 'nope\.json' \(ENOENT\)/);
    // A positional is not an option: `report` has no --reports to offer.
    expectRefused(await cli(['report', 'x.json', '--quiet']), /^pmdtorture report: unknown option --quiet \(accepted: --version, --help, --html, --junit\)$/);
    expectRefused(await cli(['replay']), /^pmdtorture replay: missing FILE \(usage: pmdtorture replay <file>/);
    writeFileSync(join(tmp, 'empty.json'), '{}');
    expectRefused(await cli(['replay', 'empty.json']), /version missing is not supported/);
    const replay = join(tmp, 'good.replay.json');
    writeFileSync(replay, JSON.stringify(goodReplay()));
    expectRefused(await cli(['merge', replay]), /is a replay file, not a report/);
    expectRefused(await cli(['replay', replay, '--out', 'x.json']), /--out: is where --shrink writes: give --shrink too/);
  });
});

describe('npm start builds only when a source changed (scripts/build-if-stale.mjs)', () => {
  it('builds the first time, not again, again after a source changes, always with --always', () => {
    // A copy of the script in a scratch project whose "tsc" only logs that it ran.
    const d = mkdtempSync(join(tmp, 'build-'));
    mkdirSync(join(d, 'scripts'));
    writeFileSync(join(d, 'scripts', 'build-if-stale.mjs'), readFileSync(join(root, 'scripts', 'build-if-stale.mjs')));
    mkdirSync(join(d, 'stress'));
    writeFileSync(join(d, 'stress', 'cli.ts'), '');
    writeFileSync(join(d, 'tsconfig.json'), '{}');
    mkdirSync(join(d, 'node_modules', 'typescript', 'bin'), { recursive: true });
    writeFileSync(
      join(d, 'node_modules', 'typescript', 'bin', 'tsc'),
      "import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';\nmkdirSync('dist/stress', { recursive: true });\nwriteFileSync('dist/stress/cli.js', '');\nappendFileSync('tsc.log', 'ran\\n');\n",
    );
    writeFileSync(join(d, 'node_modules', 'typescript', 'package.json'), '{"type":"module"}');
    const runs = (): number => (existsSync(join(d, 'tsc.log')) ? readFileSync(join(d, 'tsc.log'), 'utf8').split('\n').length - 1 : 0);
    const build = (...args: string[]): void => void execFileSync(process.execPath, ['scripts/build-if-stale.mjs', ...args], { cwd: d, stdio: 'pipe' });
    build();
    expect(runs()).toBe(1);
    expect(statSync(join(d, 'dist', 'stress', 'cli.js')).mode & 0o111).not.toBe(0);
    build();
    expect(runs()).toBe(1);
    // A source saved after the last build started: the stamp ten seconds old, the source five.
    const ago = (s: number): Date => new Date(Date.now() - s * 1000);
    utimesSync(join(d, 'dist', '.build-stamp'), ago(10), ago(10));
    utimesSync(join(d, 'stress', 'cli.ts'), ago(5), ago(5));
    build();
    expect(runs()).toBe(2);
    build();
    expect(runs()).toBe(2);
    build('--always');
    expect(runs()).toBe(3);
  });
});
