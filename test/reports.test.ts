/**
 * Issue 7: the HTML report rendered in headless Chromium (no console errors, every chart drawn,
 * numbers equal to the JSON), JUnit XML read back with junit2json, 4 shards merged equal to one
 * unsharded run, merge refusals, and the examples/ workflows parsed and their commands run.
 * Set PMDTORTURE_SCREENSHOTS=docs to refresh the screenshots under docs/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseJunit, type TestSuites } from 'junit2json';
import { parseAllDocuments } from 'yaml';
import type { Browser } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from './helpers/chromium.js';
import { runCli, type CliOut } from './run-cli.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'stress', 'cli.js');
// The HTML test needs Debian's chromium (.ci/run installs it): see test/helpers/chromium.ts.
const SKIP_HTML = skipWithoutChromium('test/reports.test.ts', 'HTML report in headless Chromium');
let dir = '';

type Out = CliOut;
const pmd = (args: string[], env: Record<string, string> = {}): Promise<Out> => runCli(dir, args, env);
const json = <T = Record<string, any>>(f: string): T => JSON.parse(readFileSync(join(dir, f), 'utf8')) as T;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmdtorture-reports-'));
  // The reports every test below reads: each kind once. Sequential: the machine has 2 cores.
  const runs: Array<[string[], number]> = [
    [['run', '--scenario', 'follow-page', '--mode', 'none', '--widen', '--ops', '20000', '--seed', '3', '--cpus', '2', '--quiet', '--report', 'run.json', '--html', 'run.html', '--junit', 'run.xml'], 1],
    [['compare', '--modes', 'vma-lock,walker-rcu,final', '--ops', '6000', '--seed', '1', '--cpus', '2', '--quiet', '--report', 'compare.json', '--html', 'compare.html', '--junit', 'compare.xml'], 0],
    // walker-rcu: its RCU charts (grace-period latency, callback backlog) must carry data.
    [['soak', '--scenario', 'follow-page', '--mode', 'walker-rcu', '--duration', '2s', '--round', '1s', '--seed', '2', '--cpus', '2', '--quiet', '--report', 'soak.json', '--html', 'soak.html', '--junit', 'soak.xml'], 0],
    [['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '500', '--seed', '1', '--quiet', '--json', '--out', '.', '--html', 'hunt.html', '--junit', 'hunt.xml'], 1],
  ];
  for (const [args, want] of runs) {
    const r = await pmd(args);
    if (args[0] === 'hunt') writeFileSync(join(dir, 'hunt.json'), r.stdout);
    expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(want);
  }
  // 4 shards of a seed list, and the same list unsharded. (Not `mixed`: GUP-fast races in the RFC
  // modes, so mixed × walker-rcu is a race cell; follow-page × walker-rcu is safe.)
  const base = ['run', '--scenario', 'follow-page', '--mode', 'walker-rcu', '--ops', '3000', '--seeds', '11-18', '--cpus', '2', '--quiet'];
  expect((await pmd([...base, '--report', 'full.json'])).code).toBe(0);
  for (let i = 1; i <= 4; i++) expect((await pmd([...base, '--shard', `${i}/4`, '--report', `shard-${i}.json`])).code).toBe(0);
  const m = await pmd(['merge', 'shard-1.json', 'shard-2.json', 'shard-3.json', 'shard-4.json', '--quiet', '--report', 'merged.json', '--html', 'merged.html', '--junit', 'merged.xml']);
  expect(m.code, m.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('shards and merge', () => {
  it('4 shards of run --seeds merge into the unsharded run: ops, per-op counts, outcomes, lock acquisitions, merged histograms', () => {
    const full = json('full.json');
    const merged = json('merged.json');
    const shards = [1, 2, 3, 4].map((i) => json(`shard-${i}.json`));
    expect(shards.map((s) => s.seeds)).toEqual([[11, 15], [12, 16], [13, 17], [14, 18]]);
    expect(merged.ops.total).toBe(full.ops.total);
    expect(merged.ops.perOp).toEqual(full.ops.perOp);
    expect(merged.violations.count).toBe(full.violations.count);
    expect([...merged.seeds].sort((a: number, b: number) => a - b)).toEqual(full.seeds);
    // Failed ops, unshares, outcomes and lock counts depend on the interleaving, not on the seed alone:
    // the merge must equal the sum of its shards for those.
    for (const k of Object.keys(merged.model)) expect(merged.model[k], k).toBe(shards.reduce((n, s) => n + s.model[k], 0));
    const sumOf = (o: Record<string, Record<string, number>>): number => Object.values(o).reduce((n, r) => n + Object.values(r).reduce((a, b) => a + b, 0), 0);
    expect(merged.merged.reports).toBe(4);
    // Histograms merged bucket by bucket: each bucket the sum of the shards'.
    const rh = shards.reduce((acc: number[], s) => acc.map((x, i) => x + s.refHold.hist[i]), new Array(32).fill(0));
    expect(merged.refHold.hist).toEqual(rh);
    for (const row of merged.lockstat) {
      const parts = shards.map((s) => s.lockstat.find((r: any) => r.cls === row.cls && r.side === row.side)).filter(Boolean);
      expect(row.acquisitions).toBe(parts.reduce((n: number, r: any) => n + r.acquisitions, 0));
      expect(row.waitHist.reduce((a: number, b: number) => a + b, 0)).toBe(parts.reduce((n: number, r: any) => n + r.waitHist.reduce((a: number, b: number) => a + b, 0), 0));
    }
    expect(sumOf(merged.outcomes)).toBeGreaterThan(0);
  });

  it('4 hunt shards cover exactly the iterations of the unsharded hunt: same executions, same total steps, the same failure', async () => {
    const base = ['hunt', '--scenario', 'follow-page', '--mode', 'final', '--iterations', '8', '--ops', '60', '--seed', '5', '--quiet', '--json', '--out', '.'];
    const one = await pmd(base); // a true unsharded hunt, not --shard 1/1
    expect(one.code, one.stderr).toBe(0);
    writeFileSync(join(dir, 'hunt-all.json'), one.stdout);
    for (let i = 1; i <= 4; i++) {
      const r = await pmd([...base, '--shard', `${i}/4`]);
      expect(r.code, r.stderr).toBe(0);
      writeFileSync(join(dir, `hunt-${i}.json`), r.stdout);
      expect(json(`hunt-${i}.json`).shard.items).toEqual([i - 1, i + 3]);
    }
    const m = await pmd(['merge', 'hunt-1.json', 'hunt-2.json', 'hunt-3.json', 'hunt-4.json', '--quiet', '--report', 'hunt-m.json']);
    expect(m.code, m.stderr).toBe(0);
    const all = json('hunt-all.json');
    const merged = json('hunt-m.json');
    expect(merged.iterationsRun).toBe(8);
    expect(merged.totalSteps).toBe(all.totalSteps);
    expect(merged.found).toBe(false);
    // A hunt that finds: the shard owning the unsharded hunt's failing iteration i fails there,
    // with the same seed and the same violation at the same step.
    const race = ['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '300', '--seed', '1', '--quiet', '--json', '--out', 'race'];
    const u = await pmd(race);
    expect(u.code, u.stderr).toBe(1);
    type Hunt = { iterationsRun: number; failingSeed: number; violation: unknown; shard: { items: number[] } };
    const uj = JSON.parse(u.stdout) as Hunt;
    const i = uj.iterationsRun - 1;
    const s = await pmd([...race, '--shard', `${(i % 4) + 1}/4`]);
    expect(s.code, s.stderr).toBe(1);
    const sj = JSON.parse(s.stdout) as Hunt;
    expect(sj.shard.items.at(-1)).toBe(i);
    expect(sj.failingSeed).toBe(uj.failingSeed);
    expect(sj.violation).toEqual(uj.violation);
  });

  it('refuses reports of different configurations, overlapping shards and unreadable files with exit 2 and one line', async () => {
    const a = await pmd(['merge', 'shard-1.json', 'soak.json']);
    expect(a.code).toBe(2);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toMatch(/cannot merge/);
    const b = await pmd(['merge', 'shard-1.json', 'shard-1.json']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/both shard 1\/4/);
    const c = await pmd(['merge', 'shard-1.json', 'full.json']);
    expect(c.code).toBe(2);
    const other = json('shard-2.json');
    other.tool.version = '9.9.9';
    writeFileSync(join(dir, 'other-version.json'), JSON.stringify(other));
    const d = await pmd(['merge', 'shard-1.json', 'other-version.json']);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/different versions/);
    const e = await pmd(['merge', 'nope.json']);
    expect(e.code).toBe(2);
    expect((await pmd(['run', '--shard', '5/4'])).code).toBe(2);
  });

  it('JOB_COMPLETION_INDEX with JOB_COMPLETIONS selects the shard; merge exits 1 when a shard found a violation', async () => {
    const r = await pmd(['run', '--mode', 'final', '--ops', '1000', '--seeds', '1-3', '--cpus', '2', '--quiet', '--report', 'env.json'], { JOB_COMPLETION_INDEX: '1', JOB_COMPLETIONS: '3' });
    expect(r.code, r.stderr).toBe(0);
    expect(json('env.json').shard).toMatchObject({ index: 2, count: 3, source: 'env' });
    expect(json('env.json').seeds).toEqual([2]);
    const h = await pmd(['merge', 'hunt.json', '--quiet', '--report', 'hunt-merged.json']);
    expect(h.code).toBe(1);
  });
});

describe('JUnit XML', () => {
  const read = async (f: string): Promise<TestSuites> => (await parseJunit(readFileSync(join(dir, f), 'utf8'))) as TestSuites;
  it('compare: one testcase per mode, no failure (no violation in a safe mode), seed and version properties', async () => {
    const x = await read('compare.xml');
    expect(x.tests).toBe(3);
    expect(x.failures).toBe(0);
    const suite = x.testsuite![0]!;
    expect(suite.testcase!.map((c) => c.name)).toEqual(['mixed × vma-lock', 'mixed × walker-rcu', 'mixed × final']);
    expect(suite.properties!.find((p) => p.name === 'seed')?.value).toBe(1);
    expect(suite.properties!.find((p) => p.name === 'version')?.value).toBe(json('compare.json').tool.version);
    for (const c of suite.testcase!) expect(c.time).toBeGreaterThan(0);
  });
  it('run with violations: a failure carrying the summary and the re-run command', async () => {
    const x = await read('run.xml');
    const report = json('run.json');
    expect(x.tests).toBe(1);
    expect(x.failures).toBe(1);
    const f = x.testsuite![0]!.testcase![0]!.failure![0]!;
    expect(f.message).toContain(`${report.violations.count} violation`);
    expect(f.message).toContain(report.command);
    expect(f.inner).toContain(`re-run: ${report.command}`);
  });
  it('hunt, soak and merged: counts and failures', async () => {
    const h = await read('hunt.xml');
    expect(h.failures).toBe(1);
    expect(h.testsuite![0]!.testcase![0]!.failure![0]!.message).toMatch(/replay .*\.replay\.json --shrink/);
    const s = await read('soak.xml');
    expect([s.tests, s.failures, s.errors]).toEqual([1, 0, 0]);
    const m = await read('merged.xml');
    expect([m.tests, m.failures]).toEqual([1, 0]);
    expect(m.testsuite![0]!.name).toContain('merged');
  });
});

describe.skipIf(SKIP_HTML)('HTML report in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  const get = (o: unknown, path: string): unknown => path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);

  for (const kind of ['compare', 'run', 'soak', 'hunt', 'merged'] as const) {
    it(`${kind}: no console errors, every chart drawn, the numbers equal the JSON's, no network`, async () => {
      const doc = json(`${kind}.json`);
      const html = readFileSync(join(dir, `${kind}.html`), 'utf8');
      expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=|url\(\s*['"]?https?:/);
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(join(dir, `${kind}.html`)).href);
      await page.waitForLoadState('load');
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const charts = await page.evaluate(() =>
        [...document.querySelectorAll('[data-chart]')].map((el) => {
          const name = el.getAttribute('data-chart')!;
          if (el.tagName.toLowerCase() === 'svg') {
            const marks = el.querySelectorAll('rect,circle,path,line').length;
            const empty = el.classList.contains('empty');
            return { name, ok: empty || marks > 0, empty, kind: 'svg' };
          }
          const canvas = el.querySelector('canvas');
          if (!canvas) return { name, ok: false, empty: true, kind: 'canvas' };
          const ctx = canvas.getContext('2d')!;
          const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
          let ink = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) ink++;
          return { name, ok: canvas.width > 0 && ink > 100, empty: false, kind: 'canvas' };
        }),
      );
      expect(charts.length).toBeGreaterThan(0);
      expect(charts.filter((c) => !c.ok)).toEqual([]);
      const want: Record<string, string[]> = {
        run: ['timeline', 'lock-hist', 'refhold', 'violation-trace'],
        soak: ['timeline', 'lock-hist', 'refhold', 'rcu-gp', 'rcu-backlog'],
        compare: ['compare-ops', 'compare-contentions', 'compare-wait-p99', 'timeline'],
        hunt: ['violation-trace'],
        merged: ['lock-hist', 'refhold'],
      };
      for (const w of want[kind]!) expect(charts.map((c) => c.name), w).toContain(w);
      // A chart drawn as "no samples" passes the check above; these must show data. walker-rcu
      // completes most grace periods through call_rcu, so an empty GP histogram is a defect.
      // (compare has one rcu-gp per mode: vma-lock and final take no grace periods.)
      const withData: Record<string, string[]> = { soak: ['rcu-gp', 'rcu-backlog'], merged: ['rcu-gp'], compare: ['rcu-gp'] };
      for (const w of withData[kind] ?? []) expect(charts.filter((c) => c.name === w && !c.empty), `${w} has data`).not.toEqual([]);
      if (kind !== 'compare') for (const w of withData[kind] ?? []) expect(charts.filter((c) => c.name === w && c.empty), `${w} empty`).toEqual([]);
      // ...and every asynchronous grace period (a distinct epoch) is in the histogram, not only
      // the odd synchronize() that a ring-full call_rcu makes.
      if (kind === 'soak' || kind === 'merged') {
        const rcu = doc['rcu'] as { gpLatencyHist: number[]; asyncGracePeriods: number };
        expect(rcu.asyncGracePeriods).toBeGreaterThan(0);
        expect(rcu.gpLatencyHist.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(rcu.asyncGracePeriods);
      }
      const nums = await page.evaluate(() => [...document.querySelectorAll('[data-json]')].map((el) => ({ path: el.getAttribute('data-json')!, text: el.textContent ?? '' })));
      expect(nums.length).toBeGreaterThan(5);
      for (const n of nums) {
        const v = get(doc, n.path);
        expect(typeof v, n.path).toBe('number');
        const shown = Number(n.text.replace(/,/g, ''));
        expect(Math.abs(shown - (v as number)), `${n.path}: page ${n.text}, JSON ${String(v)}`).toBeLessThanOrEqual(0.005 + Math.abs(v as number) * 1e-9);
      }
      const shots = process.env['PMDTORTURE_SCREENSHOTS'];
      if (shots) {
        mkdirSync(join(root, shots), { recursive: true });
        await page.screenshot({ path: join(root, shots, `report-${kind}.png`), clip: { x: 0, y: 0, width: 1200, height: kind === 'compare' ? 1100 : 900 } });
      }
      await page.close();
      // With JavaScript off the summary (a table or a dl) is still there, with the same numbers.
      const noJs = await browser.newContext({ javaScriptEnabled: false });
      const plainPage = await noJs.newPage();
      await plainPage.goto(pathToFileURL(join(dir, `${kind}.html`)).href);
      const plain = await plainPage.evaluate(() => ({
        tables: document.querySelectorAll('table, dl').length,
        nums: [...document.querySelectorAll('[data-json]')].map((el) => ({ path: el.getAttribute('data-json')!, text: el.textContent ?? '' })),
      }));
      await noJs.close();
      expect(plain.tables).toBeGreaterThan(0);
      expect(plain.nums).toEqual(nums);
    });
  }
});

describe('examples/', () => {
  /** Every `node dist/stress/cli.js …` command in a file, with ${{ matrix.shard }}, $SEED and $JOB_COMPLETION_INDEX filled in. */
  function commands(text: string, vars: Record<string, string>): string[][] {
    const out: string[][] = [];
    for (const m of text.matchAll(/node dist\/stress\/cli\.js ([^\n&|>]*)/g)) {
      let s = m[1]!.trim();
      s = s.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, vars['shard']!).replace(/\$(\w+)/g, (_x, k: string) => vars[k] ?? `$${k}`);
      out.push(s.split(/\s+/));
    }
    return out;
  }
  /** Shorten the work: durations to 300ms, rounds to 100ms, iterations to 3; paths into the temp dir. */
  const quick = (args: string[]): string[] =>
    args.map((a, i) => (args[i - 1] === '--duration' ? '600ms' : args[i - 1] === '--round' ? '300ms' : args[i - 1] === '--iterations' ? '8' : a.replace(/^\/reports\//, 'k8s/')));

  it('the GitHub Actions workflow parses, and its steps run as written (shell included) in a fresh workspace', async () => {
    const text = readFileSync(join(root, 'examples', 'github-actions-shards.yml'), 'utf8');
    const [doc] = parseAllDocuments(text);
    expect(doc!.errors).toEqual([]);
    const wf = doc!.toJS() as { jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; needs?: string; steps: Array<{ run?: string }> }> };
    expect(wf.jobs['shard']!.strategy!.matrix.shard).toEqual([1, 2, 3, 4]);
    expect(wf.jobs['merge']!.needs).toBe('shard');
    const runs = (j: string): string => wf.jobs[j]!.steps.map((s) => s.run ?? '').join('\n');
    expect(runs('shard')).toMatch(/npm ci/);
    // A runner's workspace holds the checkout only: no out/ or merged/ made here. Each step's
    // script runs through bash as Actions runs it (-e -o pipefail), redirections included, with
    // the CLI at its built path and the work shortened.
    const ws = join(dir, 'gha');
    mkdirSync(ws);
    const steps = (j: string): string[] => wf.jobs[j]!.steps.map((s) => s.run ?? '').filter((r) => r.includes('node dist/stress/cli.js'));
    const script = (r: string, shard: string): string =>
      r.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, shard).replace(/node dist\/stress\/cli\.js/g, '"$PMD_NODE" "$PMD_CLI"')
        .replace(/--duration \S+/g, '--duration 600ms').replace(/--round \S+/g, '--round 300ms').replace(/--iterations \S+/g, '--iterations 8');
    const bash = (code: string): Promise<Out> =>
      new Promise((resolve) => {
        execFile('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', code], { cwd: ws, env: { ...process.env, NO_COLOR: '1', SEED: '20221', PMD_NODE: process.execPath, PMD_CLI: cli }, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0, stdout, stderr });
        });
      });
    expect(steps('shard')).toHaveLength(2);
    for (const shard of ['1', '2', '3', '4']) {
      for (const r of steps('shard')) {
        const o = await bash(script(r, shard));
        expect(o.code, `${script(r, shard)}: ${o.stderr}`).toBe(0);
      }
    }
    expect(steps('merge')).toHaveLength(2);
    for (const r of steps('merge')) {
      // Exit 1 = a shard found a violation: the job fails, as the workflow intends.
      const o = await bash(script(r, ''));
      expect([0, 1], `${script(r, '')}: ${o.stderr}`).toContain(o.code);
    }
    expect(json('gha/merged/soak.json').merged.reports).toBe(4);
    expect(json('gha/merged/hunt.json').merged.reports).toBe(4);
  }, 90_000);

  it('the Kubernetes indexed Job parses, takes its shard from JOB_COMPLETION_INDEX, and its merge command merges the pods\' reports', async () => {
    const text = readFileSync(join(root, 'examples', 'k8s-indexed-job.yaml'), 'utf8');
    const docs = parseAllDocuments(text);
    expect(docs.map((d) => d.errors)).toEqual([[], []]);
    const [job, merge] = docs.map((d) => d.toJS()) as Array<{ kind: string; spec: { completionMode?: string; completions?: number; template: { spec: { containers: Array<{ env?: Array<{ name: string; value: string }>; args: string[] }> } } } }>;
    expect(job!.kind).toBe('Job');
    expect(job!.spec.completionMode).toBe('Indexed');
    const container = job!.spec.template.spec.containers[0]!;
    const completions = container.env!.find((e) => e.name === 'JOB_COMPLETIONS')!.value;
    expect(Number(completions)).toBe(job!.spec.completions);
    expect(container.args.join(' ')).toMatch(/npm ci/);
    mkdirSync(join(dir, 'k8s'), { recursive: true });
    // Two of the pods for real (the rest would run the same command with another index).
    const n = Number(completions);
    for (let idx = 0; idx < n; idx++) {
      const [c] = commands(container.args.join('\n'), { JOB_COMPLETION_INDEX: String(idx) });
      const args = quick(c!);
      expect(args).not.toContain('--shard');
      const r = await pmd(args, { JOB_COMPLETION_INDEX: String(idx), JOB_COMPLETIONS: completions });
      expect(r.code, r.stderr).toBe(0);
      expect(json(`k8s/soak-${idx}.json`).shard).toMatchObject({ index: idx + 1, count: n, source: 'env' });
    }
    const [mc] = commands(merge!.spec.template.spec.containers[0]!.args.join('\n'), {});
    const r = await pmd(quick(mc!));
    expect(r.code, r.stderr).toBe(0);
    expect(json('k8s/merged.json').merged.reports).toBe(n);
  }, 90_000);
});
