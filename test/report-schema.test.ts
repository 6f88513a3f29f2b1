/**
 * Every report kind the CLI writes (run, run --seeds --shard, soak, soak shards, compare, hunt
 * --json, hunt shards, and merge of each; a crashed run) validated against the shipped schema
 * by two independent validators (ajv and @cfworker/json-schema), every schema property
 * described; what merge and run --seeds print (issue 11, items 4, 5, 6); soak's text and its
 * invariant checks in later rounds (12, 22); JUnit names, titles and per-suite counts (13, 23).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { Validator } from '@cfworker/json-schema';
import { parse as parseJunit, type TestSuites } from 'junit2json';
import { CLI as cli, runCli, type CliOut } from './run-cli.js';
import { statusLine } from '../stress/commands/soak.js';
import { formatSummary } from '../src/report/report-text.js';
import type { RunReport } from '../src/report/report-json.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schema = JSON.parse(readFileSync(join(root, 'schema', 'report.schema.json'), 'utf8')) as Record<string, any>;
const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
const ajv = new (Ajv as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({ allErrors: true, strict: false, validateFormats: false });
const ajvValidate = ajv.compile(schema);
const cfValidator = new Validator(schema, '7', false);
let dir = '';

type Out = CliOut;
const pmd = (args: string[], env: Record<string, string> = {}): Promise<Out> => runCli(dir, args, env);
const json = (f: string): Record<string, any> => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, any>;
const outs: Record<string, Out> = {};

/** Report files written below, by kind of report. */
const REPORTS = ['run.json', 'crash.json', 'seeds-1.json', 'seeds-2.json', 'seeds-merged.json', 'soak.json', 'soak-bad.json', 'soak-1.json', 'soak-2.json', 'soak-merged.json', 'compare.json', 'compare-merged.json', 'hunt.json', 'hunt-1.json', 'hunt-2.json', 'hunt-merged.json', 'soak-int.json', 'scale.json', 'worlds.json', 'worlds-1.json', 'worlds-2.json', 'worlds-merged.json'];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmdtorture-schema-'));
  const two = ['--cpus', '2'];
  const jobs: Array<[string, string[], number, Record<string, string>?]> = [
    ['run', ['run', '--scenario', 'follow-page', '--mode', 'none', '--widen', '--ops', '20000', '--seed', '3', ...two, '--report', 'run.json', '--junit', 'run.xml'], 1],
    ['crash', ['run', '--plant', 'crash', '--ops', '20000', '--seed', '5', ...two, '--quiet', '--report', 'crash.json', '--junit', 'crash.xml'], 3],
    ['seeds-1', ['run', '--seeds', '1-4', '--shard', '1/2', '--ops', '4000', ...two, '--report', 'seeds-1.json'], 0],
    ['seeds-2', ['run', '--seeds', '1-4', '--shard', '2/2', '--ops', '4000', ...two, '--quiet', '--report', 'seeds-2.json'], 0],
    ['seeds-merged', ['merge', 'seeds-1.json', 'seeds-2.json', '--report', 'seeds-merged.json', '--junit', 'seeds-merged.xml'], 0],
    ['soak', ['soak', '--scenario', 'follow-page', '--mode', 'walker-rcu', '--duration', '2s', '--round', '1s', '--stat-interval', '300ms', '--seed', '2', ...two, '--report', 'soak.json', '--junit', 'soak.xml'], 0],
    // A planted invariant failure in round 1, the second (the first round's check passes); the
    // failed check stops the soak as a violation would (--stop-on-violation), whatever the load.
    ['soak-bad', ['soak', '--mode', 'final', '--duration', '10m', '--round', '300ms', '--stop-on-violation', '--seed', '2', ...two, '--report', 'soak-bad.json', '--junit', 'soak-bad.xml'], 1, { PMDTORTURE_TEST_PLANT_INVARIANT_ROUND: '1' }],
    ['soak-1', ['soak', '--mode', 'final', '--duration', '1s', '--round', '500ms', '--seed', '4', '--shard', '1/2', ...two, '--quiet', '--report', 'soak-1.json'], 0],
    ['soak-2', ['soak', '--mode', 'final', '--duration', '1s', '--round', '500ms', '--seed', '4', '--shard', '2/2', ...two, '--quiet', '--report', 'soak-2.json'], 0],
    ['soak-merged', ['merge', 'soak-1.json', 'soak-2.json', '--quiet', '--report', 'soak-merged.json', '--junit', 'soak-merged.xml'], 0],
    ['compare', ['compare', '--modes', 'vma-lock,final', '--ops', '4000', '--seed', '1', ...two, '--quiet', '--report', 'compare.json', '--junit', 'compare.xml'], 0],
    ['compare-merged', ['merge', 'compare.json', '--quiet', '--report', 'compare-merged.json', '--junit', 'compare-merged.xml'], 0],
    ['hunt', ['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '500', '--seed', '1', '--quiet', '--json', '--out', '.', '--junit', 'hunt.xml'], 1],
    ['hunt-1', ['hunt', '--scenario', 'follow-page', '--mode', 'final', '--iterations', '4', '--ops', '60', '--seed', '5', '--shard', '1/2', '--quiet', '--json', '--out', '.'], 0],
    ['hunt-2', ['hunt', '--scenario', 'follow-page', '--mode', 'final', '--iterations', '4', '--ops', '60', '--seed', '5', '--shard', '2/2', '--quiet', '--json', '--out', '.'], 0],
    ['hunt-merged', ['merge', 'hunt-1.json', 'hunt-2.json', '--quiet', '--report', 'hunt-merged.json', '--junit', 'hunt-merged.xml'], 0],
    ['scale', ['scale', '--modes', 'vma-lock,final', '--cpus', '1,2', '--ops', '3000', '--seed', '1', '--quiet', '--report', 'scale.json'], 0],
    // Two worlds of 2 CPUs each: the worlds section and a violation's world; shards of a seed list in 2 worlds, merged.
    ['worlds', ['run', '--scenario', 'follow-page', '--mode', 'none', '--widen', '--ops', '20000', '--seed', '3', '--cpus', '4', '--worlds', '2', '--quiet', '--report', 'worlds.json'], 1],
    ['worlds-1', ['run', '--seeds', '1-2', '--shard', '1/2', '--ops', '2000', ...two, '--worlds', '2', '--quiet', '--report', 'worlds-1.json'], 0],
    ['worlds-2', ['run', '--seeds', '1-2', '--shard', '2/2', '--ops', '2000', ...two, '--worlds', '2', '--quiet', '--report', 'worlds-2.json'], 0],
    ['worlds-merged', ['merge', 'worlds-1.json', 'worlds-2.json', '--quiet', '--report', 'worlds-merged.json'], 0],
    ['page', ['report', 'compare.json', 'soak.json', 'run.json', '--junit', 'page.xml', '--html', 'page.html'], 0],
  ];
  for (const [name, args, want, env] of jobs) {
    const r = await pmd(args, env);
    outs[name] = r;
    if (args[0] === 'hunt') writeFileSync(join(dir, `${name}.json`), r.stdout);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(want);
  }
  // A soak interrupted long before its first status line (10 s) and its first round's end (30 s).
  const soak = spawn(process.execPath, [cli, 'soak', '--mode', 'final', ...two, '--seed', '8', '--report', 'soak-int.json'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  soak.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  // SIGINT once the soak has started (its header is printed after the signal handlers are set), well inside round 0.
  let sent = false;
  soak.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (!sent && stderr.includes('pmdtorture soak: scenario')) {
      sent = true;
      setTimeout(() => soak.kill('SIGINT'), 1500);
    }
  });
  const code = await new Promise<number | null>((resolve) => soak.on('exit', (c) => resolve(c)));
  outs['soak-int'] = { code: code ?? -1, stdout, stderr };
  expect(code, stderr).toBe(130);
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the shipped schema', () => {
  it('every report kind the CLI writes is valid, by ajv and by @cfworker/json-schema', () => {
    const kinds = new Set<string>();
    for (const f of REPORTS) {
      const doc = json(f);
      kinds.add(`${doc['kind']}${doc['merged'] ? ' merged' : ''}${doc['shard'] ? ' shard' : ''}${doc['seeds'] ? ' seeds' : ''}`);
      expect(ajvValidate(doc), `${f} (ajv): ${JSON.stringify(ajvValidate.errors, null, 1)}`).toBe(true);
      const r = cfValidator.validate(doc);
      expect(r.valid, `${f} (@cfworker/json-schema): ${JSON.stringify(r.errors.slice(0, 5), null, 1)}`).toBe(true);
    }
    expect([...kinds].sort()).toEqual(['compare', 'compare merged', 'hunt', 'hunt merged', 'hunt shard', 'run', 'run merged seeds', 'run shard seeds', 'scale', 'soak', 'soak merged', 'soak shard']);
  });

  it('both validators reject what the schema forbids (an unknown kind, a hunt without its command, a run whose command has no seed)', () => {
    const bad = [
      { ...json('run.json'), kind: 'bogus' },
      { ...json('hunt.json'), command: 'run' },
      { ...json('run.json'), command: 'pmdtorture run --mode final' },
      { ...json('seeds-merged.json'), widened: { 'walk-pud': -1 } },
      { ...json('scale.json'), config: { ...json('scale.json')['config'], cpus: [1, 1] } },
      { ...json('run.json'), opLatency: { fault: { count: 1, p50Us: -1, p99Us: 1, hist: [1] } } },
      { ...json('worlds.json'), worlds: { ...json('worlds.json')['worlds'], assignment: 'blocks' } },
    ];
    for (const d of bad) {
      expect(ajvValidate(d)).toBe(false);
      expect(cfValidator.validate(d).valid).toBe(false);
    }
  });

  it('every property is described; the failed-ops column says what it counts', () => {
    const missing: string[] = [];
    let n = 0;
    const walk = (node: unknown, path: string): void => {
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      for (const [k, v] of Object.entries((o['properties'] ?? {}) as Record<string, Record<string, unknown>>)) {
        n++;
        if (typeof v['description'] !== 'string' || v['description'].length < 4) missing.push(`${path}.${k}`);
        walk(v, `${path}.${k}`);
      }
      for (const k of ['items', 'additionalProperties']) walk(o[k], `${path}[]`);
      for (const k of ['oneOf', 'anyOf', 'allOf']) for (const x of (o[k] ?? []) as unknown[]) walk(x, path);
    };
    for (const [name, d] of Object.entries(schema['definitions'] as Record<string, unknown>)) walk(d, name);
    expect(n).toBeGreaterThan(300);
    expect(missing).toEqual([]);
    const failed = schema['definitions'].runReport.properties.ops.properties.failed.description as string;
    expect(failed).toMatch(/gup-slow/);
    expect(failed).toMatch(/-EAGAIN/);
  });
});

describe('run --seeds and merge say what ran and measure it right', () => {
  it('run --seeds 1-4 --shard 1/2: stderr and the header name seeds 1 and 3, never an unused seed', () => {
    const o = outs['seeds-1']!;
    expect(o.stderr).toContain('seeds 1, 3 (shard 1/2 of a list of 4)');
    expect(o.stderr).not.toMatch(/\bseed \d+(?![\d:])/);
    expect(o.stdout).toContain('seeds 1, 3 (shard 1/2)');
    expect(o.stdout).not.toMatch(/^seed /m);
    expect(json('seeds-1.json').seeds).toEqual([1, 3]);
  });

  it('merge of two shard reports: a merge of 2 shards with their seeds, the rate the sum of theirs, the longest shard\'s time, invariants per shard', () => {
    const [a, b, m] = [json('seeds-1.json'), json('seeds-2.json'), json('seeds-merged.json')];
    const text = outs['seeds-merged']!.stdout;
    expect(text).toContain('merge of 2 shards: shard 1/2 (seeds-1.json) seeds 1, 3; shard 2/2 (seeds-2.json) seeds 2, 4');
    expect(text).not.toMatch(/^seed /m);
    expect(text).not.toMatch(/first op/);
    expect(m['ops'].total).toBe(a['ops'].total + b['ops'].total);
    // Each shard's rate is over its own measured window (start barrier to the last CPU's end, summed over its seeds).
    for (const s of [a, b]) expect(s['ops'].perSecond).toBeCloseTo(s['ops'].total / (s['timing'].runMs / 1000), -1);
    expect(m['ops'].perSecond).toBeCloseTo(a['ops'].perSecond + b['ops'].perSecond, 1);
    expect(m['ops'].perSecond).toBeGreaterThan(Math.max(a['ops'].perSecond, b['ops'].perSecond));
    expect(m['timing'].runMs).toBe(Math.max(a['timing'].runMs, b['timing'].runMs));
    expect(m['timing'].firstOpMs).toBeNull();
    expect(text).toContain(`ops: ${m['ops'].total.toLocaleString('en-US')} ops in 2 shards`);
    expect(text).toContain(`= ${Math.round(m['ops'].perSecond).toLocaleString('en-US')} ops/s, the sum of the shards' rates`);
    expect(m['merged'].shards.map((s: any) => s.seeds)).toEqual([[1, 3], [2, 4]]);
    for (const k of ['allocs', 'frees', 'free', 'live']) expect(m['invariants'].pool[k]).toBe(a['invariants'].pool[k] + b['invariants'].pool[k]);
    expect(text).toMatch(/invariants: ok \(summed over 2 shards: pool free \d+/);
    expect(text).toMatch(/\n {2}shard 1\/2: ok \(pool free \d+/);
    expect(text).toMatch(/\n {2}shard 2\/2: ok \(pool free \d+/);
  });
});

describe('soak', () => {
  it('interrupted before its first status line: RSS measured at the start, "1 round", no 0.0 MB', () => {
    const r = json('soak-int.json');
    expect(r['status']).toBe('interrupted');
    expect(r['soak'].statLines).toBe(0);
    expect(r['soak'].rss.firstBytes).toBeGreaterThan(1 << 20);
    expect(r['soak'].rss.maxBytes).toBeGreaterThanOrEqual(r['soak'].rss.firstBytes);
    const text = outs['soak-int']!.stdout;
    expect(text).toMatch(/soak: 1 round of 30s;/);
    expect(text).not.toContain('0.0 MB');
  });

  it('status lines print numbers with thousands separators', () => {
    // Status lines and round-end lines; seeds are names, not quantities.
    const lines = outs['soak']!.stdout.split('\n').filter((l) => l.startsWith('pmdtorture-soak: ')).map((l) => l.replace(/seed \d+/, 'seed S'));
    expect(lines.filter((l) => /^pmdtorture-soak: \d\d:/.test(l)).length).toBeGreaterThan(0);
    for (const l of lines) expect(l).not.toMatch(/\d{4,}/);
    // The line itself, with counts large enough to need separators whatever the machine's speed.
    const rcu = { backlog: 1200 } as Parameters<typeof statusLine>[0]['stat']['rcu'];
    const line = statusLine({ elapsedMs: 3_723_000, round: 12, ops: 1_234_567, rate: 23_456.7, violations: 1234, gps: 56_789, stat: { rcu, pool: { live: 6, pending: 0, free: 58 }, rssBytes: 100 << 20, rssAnonBytes: null } });
    expect(line).toBe('pmdtorture-soak: 01:02:03 round 12 ops 1,234,567 ops/s 23,457 violations 1,234 gps 56,789 cb-backlog 1,200 pool live 6 pending 0 free 58 rss 100.0 MB');
  });

  it('a failed invariant check in a later round fails the soak: status violations, exit 1, the round named, JUnit failure', async () => {
    const r = json('soak-bad.json');
    expect(r['soak'].lastRounds.map((x: any) => [x.round, x.invariantsOk, x.status])).toEqual([[0, true, 'ok'], [1, false, 'violations']]);
    expect(r['soak'].invariantFailures).toBe(1);
    expect(r['violations'].count).toBe(0);
    expect([r['status'], r['exitCode'], r['invariants'].ok]).toEqual(['violations', 1, false]);
    expect(r['invariants'].errors[0]).toMatch(/^round 1: mm 0: PUD page \d+ has refcount 2/);
    expect(outs['soak-bad']!.stdout).toContain('status: INVARIANTS FAILED   exit 1');
    // --quiet's summary names the first failed check.
    expect(formatSummary(r as RunReport)).toMatch(/; invariants FAILED \(round 1: mm 0: PUD page \d+ has refcount 2[^)]*\); exit 1\n/);
    const x = (await parseJunit(readFileSync(join(dir, 'soak-bad.xml'), 'utf8'))) as TestSuites;
    expect(x.failures).toBe(1);
    expect(x.testsuite![0]!.testcase![0]!.failure![0]!.type).toBe('invariant');
  });
});

describe('JUnit', () => {
  const XML = ['run.xml', 'crash.xml', 'seeds-merged.xml', 'soak.xml', 'soak-bad.xml', 'soak-merged.xml', 'compare.xml', 'compare-merged.xml', 'hunt.xml', 'hunt-merged.xml', 'page.xml'];
  it('each <testsuite>\'s tests, failures and errors equal its <testcase>, <failure> and <error> elements, for every report kind', async () => {
    let failures = 0;
    let errors = 0;
    for (const f of XML) {
      const text = readFileSync(join(dir, f), 'utf8');
      // Read twice: by an existing parser, and by counting the elements in the text.
      const x = (await parseJunit(text)) as TestSuites;
      const raw = [...text.matchAll(/<testsuite [^>]*>[\s\S]*?<\/testsuite>/g)].map((m) => m[0]);
      expect(x.testsuite!.length, f).toBe(raw.length);
      x.testsuite!.forEach((s, i) => {
        const cases = s.testcase ?? [];
        const nf = cases.reduce((n, c) => n + (c.failure?.length ?? 0), 0);
        const ne = cases.reduce((n, c) => n + (c.error?.length ?? 0), 0);
        expect([s.tests, s.failures, s.errors], `${f} suite ${i}`).toEqual([cases.length, nf, ne]);
        const attr = (k: string): number => Number(new RegExp(`^<testsuite [^>]*\\b${k}="(\\d+)"`).exec(raw[i]!)![1]);
        expect([attr('tests'), attr('failures'), attr('errors')], `${f} suite ${i} (text)`).toEqual([(raw[i]!.match(/<testcase /g) ?? []).length, (raw[i]!.match(/<failure /g) ?? []).length, (raw[i]!.match(/<error /g) ?? []).length]);
        failures += nf;
        errors += ne;
      });
      expect([x.failures, x.errors], f).toEqual([x.testsuite!.reduce((n, s) => n + (s.failures ?? 0), 0), x.testsuite!.reduce((n, s) => n + (s.errors ?? 0), 0)]);
    }
    // The set covers passing, failing and erroring cases.
    expect(failures).toBeGreaterThan(0);
    expect(errors).toBeGreaterThan(0);
  });

  it('compare testcases are classed pmdtorture.compare.*, a merged compare says so, a page of several kinds is named after all of them', async () => {
    const c = (await parseJunit(readFileSync(join(dir, 'compare.xml'), 'utf8'))) as TestSuites;
    expect(c.testsuite![0]!.testcase!.map((t) => t.classname)).toEqual(['pmdtorture.compare.mixed', 'pmdtorture.compare.mixed']);
    const m = (await parseJunit(readFileSync(join(dir, 'compare-merged.xml'), 'utf8'))) as TestSuites;
    expect(m.testsuite![0]!.name).toBe('pmdtorture compare (merged)');
    const page = (await parseJunit(readFileSync(join(dir, 'page.xml'), 'utf8'))) as TestSuites;
    expect(page.name).toBe('pmdtorture compare, soak and run (3 reports)');
    expect(readFileSync(join(dir, 'page.html'), 'utf8')).toContain('<title>pmdtorture compare, soak and run (3 reports)</title>');
    expect(page.testsuite!.map((s) => s.testcase![0]!.classname)).toEqual(['pmdtorture.compare.mixed', 'pmdtorture.soak.follow-page', 'pmdtorture.run.follow-page']);
    expect(((await parseJunit(readFileSync(join(dir, 'hunt-merged.xml'), 'utf8'))) as TestSuites).testsuite![0]!.name).toBe('pmdtorture hunt (merged)');
  });
});
