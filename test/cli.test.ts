/**
 * The CLI as a user runs it: the built binary (dist/stress/cli.js, built by `pretest`) in a
 * child process. Every command, every exit code (crash and stall through planted faults),
 * reports validated against the shipped schema, seeds reproducing op streams, and `list`
 * agreeing with the truth table. Short runs only: the whole file stays well under 90 s.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, existsSync, readdirSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AjvModule from 'ajv';
import { truthTable } from '../src/workers/hugetlb/scenarios.js';
import { MODE_NAMES } from '../src/workers/hugetlb/modes.js';
import { POINT_NAMES } from '../src/workers/hugetlb/points.js';
import { bin, runCli, root, type CliOptions, type Out } from './spawn-cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'pmdtorture-cli-'));
// A regular file: a path under it can never be written (ENOTDIR), whatever directories are created.
writeFileSync(join(tmp, 'a-file'), '');

function cli(args: string[], opts: Omit<CliOptions, 'cwd'> & { cwd?: string } = {}): Promise<Out> {
  return runCli(args, { ...opts, cwd: opts.cwd ?? tmp });
}

const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
const schema = JSON.parse(readFileSync(join(root, 'schema', 'report.schema.json'), 'utf8')) as object;
const ajv = new (Ajv as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(schema);

function expectValid(doc: unknown): void {
  const ok = validate(doc);
  expect(ok, JSON.stringify(validate.errors, null, 1)).toBe(true);
}

interface Report {
  schemaVersion: number;
  kind: string;
  command: string;
  seed: number;
  status: string;
  exitCode: number;
  config: { cpus: number; mode: string; scenario: string; stopAtSites?: string[] };
  ops: { total: number; perOp: Record<string, number> };
  violations: { count: number; recorded: Array<{ kind: string; site: string; heldLocks: unknown[]; trace: unknown[]; rerun?: string }> };
  stalls: unknown[];
  soak: { rounds: number } | null;
  errors: string[];
  timeline?: { marks: Array<{ kind: string; n: number; tMs: number }> };
}

beforeAll(() => {
  expect(existsSync(bin), `${bin} missing: run \`npm test\` (pretest builds)`).toBe(true);
});

describe('pmdtorture list', () => {
  it('prints scenarios, modes, points and the truth table', async () => {
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    for (const m of MODE_NAMES) expect(r.stdout).toContain(m);
    for (const p of POINT_NAMES) expect(r.stdout).toContain(p);
    expect(r.stdout).toContain('truth table');
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('--json agrees with truthTable() and has exactly the documented shape', async () => {
    const r = await cli(['list', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { scenarios: Array<Record<string, unknown>>; modes: Array<{ name: string }>; points: Array<{ name: string }> };
    expect(Object.keys(j)).toEqual(['scenarios', 'modes', 'points']);
    expect(j.scenarios).toEqual(truthTable().map((t) => ({ name: t.scenario, description: t.description, expected: t.expected })));
    for (const s of j.scenarios) expect(Object.keys(s)).toEqual(['name', 'description', 'expected']);
    expect(j.modes.map((m) => m.name)).toEqual(MODE_NAMES);
    expect(j.points.map((p) => p.name)).toEqual([...POINT_NAMES]);
  });
});

describe('pmdtorture run', () => {
  it('exit 0: a safe mode, JSON on stdout valid against the schema, human text on stderr, report file written', async () => {
    const report = join(tmp, 'ok.json');
    const events = join(tmp, 'ok.ndjson');
    const r = await cli(['run', '--scenario', 'fault-unshare', '--mode', 'final', '--cpus', '2', '--ops', '5000', '--seed', '11', '--json', '--report', report, '--events', events]);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Report;
    expectValid(j);
    expect(j.status).toBe('ok');
    expect(j.exitCode).toBe(0);
    expect(j.seed).toBe(11);
    expect(j.ops.total).toBe(5000);
    expect(j.command).toBe('pmdtorture run --scenario fault-unshare --mode final --cpus 2 --ops 5000 --seed 11');
    expect(JSON.parse(readFileSync(report, 'utf8'))).toEqual(j);
    expect(r.stderr).toContain('lock_stat version');
    expect(r.stderr).toContain('re-run: pmdtorture run');
    expect(r.stderr).toContain('seed 11');
    expect(r.stderr).not.toContain('\r'); // no progress animation on a pipe
    const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]!.type).toBe('start');
    expect(lines.at(-1)!.type).toBe('end');
  });

  it('exit 1: --mode none --widen finds the race; splat in the text, full records in JSON and events', async () => {
    const events = join(tmp, 'race.ndjson');
    const r = await cli(['run', '--scenario', 'mixed', '--mode', 'none', '--widen', '--cpus', '2', '--ops', '20000', '--seed', '7', '--json', '--events', events]);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as Report;
    expectValid(j);
    expect(j.status).toBe('violations');
    expect(j.violations.count).toBeGreaterThan(0);
    const v = j.violations.recorded[0]!;
    expect(v.heldLocks.length + v.trace.length).toBeGreaterThan(0);
    expect(r.stderr).toContain('BUG: pmdtorture:');
    expect(r.stderr).toContain('last trace events of every CPU');
    expect(j.command).toContain('--seed 7');
    const lines = readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((l) => l.type === 'violation').length).toBe(j.violations.recorded.length);
  });

  it('a run stops at the race its scenario is named for: the other sites\' violations are counted, its own splat comes first', async () => {
    // follow-page under none: its faults (huge_pmd_share) race too, usually first.
    const r = await cli(['run', '--scenario', 'follow-page', '--mode', 'none', '--widen', '--cpus', '2', '--seed', '3', '--duration', '60s', '--json']);
    expect(r.code, r.stderr).toBe(1);
    const j = JSON.parse(r.stdout) as Report;
    expectValid(j);
    expect(j.config.stopAtSites).toEqual(['follow-page']);
    expect(j.violations.recorded.some((v) => v.site === 'follow-page')).toBe(true);
    expect(r.stderr).toContain('stop on violation at follow-page');
    expect(r.stderr).toMatch(/violations: [0-9,]+[^\n]*\n[^\n]*\n[^\n]*\n+=+\nBUG: pmdtorture: \S+ in follow-page /);
    // Where the mode leaves none of the scenario's own sites open, any violation stops it.
    const safe = await cli(['run', '--scenario', 'gup-fast', '--mode', '6.19', '--cpus', '2', '--ops', '2000', '--seed', '3', '--json', '--quiet']);
    expect(safe.code, safe.stderr).toBe(0);
    expect((JSON.parse(safe.stdout) as Report).config.stopAtSites).toBeUndefined();
  });

  it('the same --seed and --ops give identical per-op counts', async () => {
    const args = ['run', '--scenario', 'mixed', '--mode', 'final', '--cpus', '2', '--ops', '5000', '--seed', '424242', '--json', '--quiet'];
    const [a, b] = await Promise.all([cli(args), cli(args)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const ja = JSON.parse(a.stdout) as Report;
    const jb = JSON.parse(b.stdout) as Report;
    expect(ja.ops.perOp).toEqual(jb.ops.perOp);
    expect(Object.values(ja.ops.perOp).reduce((x, y) => x + y, 0)).toBe(5000);
  });

  it('--quiet prints only the summary, on stderr', async () => {
    const r = await cli(['run', '--mode', 'final', '--cpus', '1', '--ops', '2000', '--seed', '3', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(4);
    expect(r.stderr).toContain('--seed 3');
  });

  const bad: Array<[string[], string, RegExp]> = [
    [['run', '--mode', 'bogus'], '--mode', /accepted: none, vma-lock, walker-rcu, walker-irq, 6.2, 6.2-x86, 6.5, 6.15, 6.16, 6.19, final, or a design file FILE\.json\)$/],
    [['run', '--scenario', 'nope'], '--scenario', /accepted: fault-unshare, .*mixed/],
    [['run', '--cpus', '65'], '--cpus', /1 to 64/],
    [['run', '--cpus', '0'], '--cpus', /1 to 64/],
    [['run', '--duration', '10parsecs'], '--duration', /ms, s, m or h/],
    [['run', '--widen-point', 'nowhere'], '--widen-point', /walk-pud/],
    [['run', '--widen-point', 'walk-ptl:2'], '--widen-point', /probability '2' is not 0 < P <= 1/],
    [['run', '--widen-point', 'walk-ptl:0.5:0'], '--widen-point', /length '0' is not an integer from 1/],
    [['run', '--report', join(tmp, 'a-file', 'dir', 'r.json')], '--report', /cannot write .*ENOTDIR.*writable/],
    [['run', '--html', tmp], '--html', /EISDIR/],
    [['hunt', '--out', join(tmp, 'a-file')], '--out', /ENOTDIR/],
    [['run', '--frobnicate'], '--frobnicate', /accepted: .*--scenario/],
    [['run', '--cpus'], '--cpus', /needs a value/],
    [['compare', '--modes', 'none,bogus'], '--modes', /accepted: all, or a comma-separated list of none, /],
    [['frobnicate'], 'frobnicate', /accepted: run, soak, compare, list/],
    [['--frobnicate'], '--frobnicate', /accepted: .*--mode/],
  ];
  it.each(bad)('exit 2 with one line: %j', async (args, flag, accepted) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(lines[0]).toMatch(accepted);
  });

  it('exit 3: a worker crash stops the run and still writes the partial report', async () => {
    const report = join(tmp, 'crash.json');
    const r = await cli(['run', '--plant', 'crash', '--cpus', '2', '--duration', '10s', '--seed', '5', '--report', report]);
    expect(r.code, r.stderr).toBe(3);
    const j = JSON.parse(readFileSync(report, 'utf8')) as Report;
    expectValid(j);
    expect(j.status).toBe('crashed');
    expect(j.errors.join('\n')).toContain('planted crash');
    expect(r.stdout).toContain('CRASHED');
  });

  it('exit 4: a stall is reported with every CPU’s held locks, state and last events', async () => {
    const t0 = Date.now();
    const r = await cli(['run', '--plant', 'stall', '--cpus', '2', '--duration', '30s', '--stall-timeout', '1s', '--seed', '5', '--json']);
    expect(r.code, r.stderr).toBe(4);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const j = JSON.parse(r.stdout) as Report;
    expectValid(j);
    expect(j.status).toBe('stalled');
    expect(j.stalls).toHaveLength(2);
    expect(r.stderr).toContain('INFO: stall');
    expect(r.stderr).toMatch(/cpu 0: .*irqs (on|off); rcu/);
    expect(r.stderr).toContain('last events:');
  });

  it('--help documents the flags and exits 0', async () => {
    const r = await cli(['run', '--help']);
    expect(r.code).toBe(0);
    for (const f of ['--scenario', '--mode', '--cpus', '--duration', '--ops', '--seed', '--widen', '--widen-prob', '--widen-us', '--widen-point', '--lockstat', '--json', '--quiet', '--report', '--events', '--stop-on-violation', '--stall-timeout']) expect(r.stdout).toContain(f);
    expect(r.stdout).not.toContain('--plant');
  });
});

describe('output files', () => {
  it('missing parent directories of --report, --events, --html, --junit and hunt --out are created', async () => {
    const d = join(tmp, 'fresh');
    const r = await cli(['run', '--mode', 'final', '--cpus', '1', '--ops', '2000', '--seed', '4', '--quiet', '--report', 'fresh/a/r.json', '--events', 'fresh/b/c/e.ndjson', '--html', 'fresh/h/r.html', '--junit', 'fresh/j/r.xml']);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['a/r.json', 'b/c/e.ndjson', 'h/r.html', 'j/r.xml']) expect(statSync(join(d, f)).size, f).toBeGreaterThan(0);
    const h = await cli(['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '300', '--seed', '1', '--quiet', '--out', 'fresh/replays/x']);
    expect(h.code, h.stderr).toBe(1);
    expect(readdirSync(join(d, 'replays', 'x')).filter((f) => f.endsWith('.replay.json'))).toHaveLength(1);
    const m = await cli(['merge', 'fresh/a/r.json', '--quiet', '--report', 'fresh/m/merged.json']);
    expect(m.code, m.stderr).toBe(0);
    expect(statSync(join(d, 'm', 'merged.json')).size).toBeGreaterThan(0);
  });

  it('a command refused after its outputs were checked leaves no file or directory behind', async () => {
    const d = join(tmp, 'refused');
    mkdirSync(d);
    const r = await cli(['merge', 'nope.json', '--report', 'out/m.json', '--html', 'out/m.html', '--junit', 'm.xml'], { cwd: d });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(d)).toEqual([]);
  });

  // run --sched builds no RunReport: report outputs and multi-seed flags are refused, never ignored.
  const refused: Array<[string, string[]]> = [
    ['--report', ['--html', 'x.html', '--junit', 'y.xml', '--report', 'z.json']],
    ['--html', ['--html', 'x.html']],
    ['--junit', ['--junit', 'y.xml']],
    ['--report', ['--report', 'z.json']],
    ['--events', ['--events', 'e.ndjson']],
    ['--seeds', ['--seeds', '1-4']],
    ['--shard', ['--shard', '1/2']],
    ['--worlds', ['--worlds', '2']],
    // Flags with defaults: refused when given, never silently ignored.
    ['--stall-timeout', ['--stall-timeout', '5s']],
    ['--stat-interval', ['--stat-interval', '2s']],
    ['--lockstat', ['--no-lockstat']],
  ];
  it.each(refused)('run --sched pct|random %s: exit 2 with one line, no file created', async (flag, extra) => {
    for (const sched of ['pct', 'random']) {
      const d = mkdtempSync(join(tmp, `sched-${sched}-`));
      const r = await cli(['run', '--sched', sched, '--ops', '100', '--mode', 'final', ...extra], { cwd: d });
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toContain(`${flag}: not with --sched ${sched}`);
      expect(readdirSync(d)).toEqual([]);
    }
  });

  it('JOB_COMPLETION_INDEX without a shard count: exit 2 with one line (soak, hunt, run --seeds); a single run is not sharded', async () => {
    const env = { JOB_COMPLETION_INDEX: '2' };
    for (const args of [['soak', '--duration', '1s'], ['hunt', '--iterations', '2'], ['run', '--seeds', '1-4', '--ops', '100']]) {
      const r = await cli([...args, '--quiet'], { env });
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/JOB_COMPLETION_INDEX=2 is set but not the shard count: set JOB_COMPLETIONS/);
    }
    const one = await cli(['run', '--mode', 'final', '--cpus', '1', '--ops', '500', '--quiet'], { env });
    expect(one.code, one.stderr).toBe(0);
    // And the other way round: our shard count without an index.
    const noIndex = await cli(['soak', '--duration', '1s', '--quiet'], { env: { PMDTORTURE_SHARDS: '4' } });
    expect(noIndex.code, noIndex.stderr).toBe(2);
    expect(noIndex.stderr.trim()).toMatch(/^pmdtorture soak: --shard: PMDTORTURE_SHARDS=4 is set but not JOB_COMPLETION_INDEX/);
  });
});

describe('pmdtorture soak', () => {
  it('prints periodic status lines, checks invariants every round, exits 0', async () => {
    const r = await cli(['soak', '--mode', 'final', '--cpus', '2', '--duration', '2s', '--round', '1s', '--stat-interval', '500ms', '--seed', '9', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Report;
    expectValid(j);
    expect(j.kind).toBe('soak');
    expect(j.soak!.rounds).toBe(2);
    // The chart's round marks: round 1 starts after round 0's samples (none for round 0).
    expect(j.timeline!.marks.filter((m) => m.kind === 'round').map((m) => m.n)).toEqual([1]);
    expect(j.timeline!.marks.find((m) => m.kind === 'round')!.tMs).toBeGreaterThan(500);
    expect(r.stderr).toMatch(/pmdtorture-soak: \d\d:\d\d:\d\d round 0 ops [\d,]+ ops\/s [\d,]+ violations 0 gps [\d,]+ cb-backlog [\d,]+ pool live \d+ pending \d+ free \d+ rss [\d.]+ MB/);
    expect(r.stderr).toContain('round 1 done');
  });

  it('SIGINT: finishes, prints the summary, writes the report, exits 130', async () => {
    const report = join(tmp, 'soak-int.json');
    const events = join(tmp, 'soak-int.ndjson');
    let sent = false;
    const r = await cli(['soak', '--mode', 'none', '--widen', '--cpus', '2', '--duration', '1m', '--round', '1s', '--stat-interval', '500ms', '--seed', '1', '--report', report, '--events', events], {
      timeoutMs: 20_000,
      onStdout: (all, child) => {
        if (!sent && /pmdtorture-soak: .* round 1 /.test(all)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.code, r.stderr).toBe(130);
    expect(r.stdout).toContain('INTERRUPTED');
    const j = JSON.parse(readFileSync(report, 'utf8')) as Report;
    expectValid(j);
    expect(j.status).toBe('interrupted');
    expect(j.violations.count).toBeGreaterThan(0); // soak continues past violations
    expect(j.soak!.rounds).toBeGreaterThanOrEqual(2);
    // Each recorded violation re-runs its own round's seed, not the whole soak.
    expect(j.violations.recorded.length).toBeGreaterThan(0);
    for (const v of j.violations.recorded) expect(v.rerun).toMatch(/^pmdtorture run .* --seed \d+/);
    const types = readFileSync(events, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types[0]).toBe('start');
    expect(types).toContain('stat');
    expect(types).toContain('violation');
    expect(types).toContain('round');
    expect(types.at(-1)).toBe('end');
  });
});

describe('pmdtorture compare', () => {
  it('runs the same workload under several modes and prints one side-by-side table', async () => {
    const r = await cli(['compare', '--modes', 'none,final', '--cpus', '2', '--ops', '5000', '--seed', '3', '--json']);
    expect(r.code, r.stderr).toBe(0); // races in `none` are expected by the truth table
    const j = JSON.parse(r.stdout) as { kind: string; table: { modes: string[]; locks: Array<{ name: string; perMode: Record<string, unknown> }>; opsPerSecond: Record<string, Record<string, number>> }; runs: Report[] };
    expectValid(j);
    expect(j.kind).toBe('compare');
    expect(j.table.modes).toEqual(['none', 'final']);
    expect(j.runs.map((x) => x.ops.perOp)).toSatisfy((p: Array<Record<string, number>>) => JSON.stringify(p[0]) === JSON.stringify(p[1]));
    expect(j.table.locks.some((l) => l.name.includes('vma_lock') && 'final' in l.perMode && !('none' in l.perMode))).toBe(true);
    expect(r.stderr).toContain('ops/s per op kind');
    expect(r.stderr).toContain('wait p99');
    expect(r.stderr).toContain('hold p99');
  });
});
