/**
 * Issue 14 item 3: `pmdtorture scale`. The CPU list refused in one line (exit 2); a study over
 * two modes and CPU counts 1 and cores+1 (oversubscribed, marked in text, JSON, JUnit and HTML);
 * IPIs per op and per op kind (ipi.byOp); the HTML page's two line charts drawn in headless
 * Chromium with the numbers of the JSON; SIGINT mid-study prints and writes what was measured (130).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse as parseJunit } from 'junit2json';
import { UsageError } from '../src/engine/exit.js';
import { defaultScaleModes, parseCpuList, scaleCell } from '../src/report/scale-study.js';
import type { ScaleReport } from '../src/report/scale-study.js';
import { launchChromium, skipWithoutChromium } from './helpers/chromium.js';
import { CLI, runCli, type CliOut } from './run-cli.js';

const SKIP_HTML = skipWithoutChromium('test/scale-study.test.ts', 'scale HTML in headless Chromium');
const cores = availableParallelism();
let dir = '';
let study: CliOut;
let doc: ScaleReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pmdtorture-scale-'));
  study = await runCli(dir, ['scale', '--modes', 'walker-irq,final', '--cpus', `1,${cores + 1}`, '--ops', '4000', '--seed', '3', '--report', 'scale.json', '--html', 'scale.html', '--junit', 'scale.xml']);
  doc = JSON.parse(readFileSync(join(dir, 'scale.json'), 'utf8')) as ScaleReport;
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('--cpus LIST', () => {
  it('takes distinct counts 1..64 in order; refuses 0, duplicates, non-numbers and more than 64 with a reason', () => {
    expect(parseCpuList('1,2,4')).toEqual([1, 2, 4]);
    expect(parseCpuList('8, 1')).toEqual([8, 1]);
    const why = (s: string): string => {
      try {
        parseCpuList(s);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      return 'accepted';
    };
    expect(why('1,0')).toMatch(/0 CPUs/);
    expect(why('1,2,2')).toMatch(/2 is listed twice/);
    expect(why('1,two')).toMatch(/'two' is not a CPU count/);
    expect(why('1,-2')).toMatch(/'-2' is not a CPU count/);
    expect(why('1.5')).toMatch(/not a CPU count/);
    expect(why('65')).toMatch(/more than 64/);
    expect(why('')).toMatch(/needs a list/);
  });

  it('the CLI refuses each in one line, exit 2, before running anything', async () => {
    for (const bad of ['0,1', '1,1', 'x', '1,65']) {
      const r = await runCli(dir, ['scale', '--cpus', bad, '--ops', '100']);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(r.stderr, bad).toMatch(/^pmdtorture scale: --cpus: /);
      expect(r.stdout).toBe('');
    }
  }, 60_000);

  it('the default modes are the kernel-version modes when there are any', () => {
    expect(defaultScaleModes(['none', 'final', '6.2', '6.19'])).toEqual(['6.2', '6.19']);
    expect(defaultScaleModes(['none', 'vma-lock', 'walker-irq', 'final'])).toEqual(['vma-lock', 'walker-irq', 'final']);
  });
});

describe('a study', () => {
  it('one cell per mode and CPU count, in order; ratios to the first mode; oversubscription marked everywhere', () => {
    expect(study.code, study.stderr).toBe(0);
    expect(doc.cells.map((c) => [c.mode, c.cpus])).toEqual([['walker-irq', 1], ['final', 1], ['walker-irq', cores + 1], ['final', cores + 1]]);
    expect(doc.runs.map((r) => r.config.cpus)).toEqual([1, 1, cores + 1, cores + 1]);
    for (const c of doc.cells) {
      expect(c.oversubscribed).toBe(c.cpus > cores);
      expect(c.ops).toBe(4000);
      const first = doc.cells.find((x) => x.mode === 'walker-irq' && x.cpus === c.cpus)!;
      expect(c.ratioToFirst).toBeCloseTo(c.opsPerSecond / first.opsPerSecond, 2);
      expect(Object.keys(c.latency)).toContain('exit');
      expect(c.latency['exit']!.p99Us).toBeGreaterThanOrEqual(c.latency['exit']!.p50Us);
      expect(c.topLocks.length).toBeLessThanOrEqual(3);
      for (let i = 1; i < c.topLocks.length; i++) expect(c.topLocks[i - 1]!.waitTotalUs).toBeGreaterThanOrEqual(c.topLocks[i]!.waitTotalUs);
    }
    // The same op streams in both modes at one CPU count (--ops: the seed alone decides them).
    expect(doc.runs[0]!.ops.perOp).toEqual(doc.runs[1]!.ops.perOp);
    expect(doc.command).toMatch(new RegExp(`--cpus 1,${cores + 1} .*--seed 3`));
    expect(study.stderr).toContain(`${cores + 1} CPUs on ${cores} cores: oversubscribed`);
    expect(study.stdout).toMatch(new RegExp(`walker-irq +${cores + 1}\\* `));
    expect(study.stdout).toContain('* oversubscribed');
    expect(study.stdout).toContain('latency per op kind, p50 / p99 µs:');
  });

  it('IPIs per op: walker-irq frees tables after a TLB-shootdown IPI at 2+ CPUs; final (6.19) sends the unshare sync IPI', () => {
    const irq = doc.cells.find((c) => c.mode === 'walker-irq' && c.cpus > 1)!;
    const fin = doc.cells.find((c) => c.mode === 'final' && c.cpus > 1)!;
    expect(irq.ipi.sent).toBeGreaterThan(0);
    expect(irq.ipi.perOp).toBeCloseTo(irq.ipi.sent / irq.ops, 3);
    // Since 6.16 huge_pmd_unshare() syncs with GUP-fast by an IPI (tlb_remove_table_sync_one).
    expect(fin.ipi.sent).toBeGreaterThan(0);
    expect(fin.ipi.perOp).toBeCloseTo(fin.ipi.sent / fin.ops, 3);
  });

  it('IPIs per operation of each kind from the run\'s per-op IPI counts (ipi.byOp); none in a report without them', () => {
    const i = doc.cells.findIndex((c) => c.mode === 'final' && c.cpus > 1);
    const r = structuredClone(doc.runs[i]!);
    const byOp = r.ipi.byOp!;
    const sent = Object.entries(byOp).filter(([, x]) => x.sent > 0);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.reduce((n, [, x]) => n + x.sent, 0)).toBeLessThanOrEqual(r.ipi.sent);
    const want = Object.fromEntries(sent.map(([op, x]) => [op, Math.round((x.sent / r.ops.perOp[op]!) * 1e6) / 1e6]));
    expect(doc.cells[i]!.ipiPerOpKind).toEqual(want);
    expect(scaleCell(r).ipiPerOpKind).toEqual(want);
    delete r.ipi.byOp;
    expect(scaleCell(r).ipiPerOpKind).toBeUndefined();
  });

  it('JUnit: one testcase per cell, oversubscribed in the name and as a property', async () => {
    const j = (await parseJunit(readFileSync(join(dir, 'scale.xml'), 'utf8'))) as { testsuite?: Array<{ testcase?: Array<{ name?: string; properties?: Array<{ name?: string; value?: string }> }> }> };
    const cases = j.testsuite![0]!.testcase!;
    expect(cases.map((c) => c.name)).toEqual(doc.cells.map((c) => `mixed × ${c.mode} × ${c.cpus} CPUs${c.oversubscribed ? ' (oversubscribed)' : ''}`));
    expect(cases[2]!.properties!.find((p) => p.name === 'oversubscribed')!.value).toBe(String(cores + 1 > cores));
  });

  it.skipIf(SKIP_HTML)('HTML in headless Chromium: throughput and exit-latency lines, one per mode; numbers equal the JSON; no errors, no network', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      const requests: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(join(dir, 'scale.html')).href);
      await page.waitForLoadState('load');
      expect(errors).toEqual([]);
      expect(requests).toEqual([]);
      const charts = await page.evaluate(() =>
        [...document.querySelectorAll('svg[data-chart^="scale-"]')].map((el) => ({
          name: el.getAttribute('data-chart'),
          lines: el.querySelectorAll('path').length,
          points: el.querySelectorAll('circle').length,
          box: el.getBoundingClientRect().width,
          labels: [...el.querySelectorAll('text')].map((t) => t.textContent ?? ''),
        })),
      );
      expect(charts.map((c) => c.name)).toEqual(['scale-throughput', 'scale-exit-latency']);
      for (const c of charts) {
        expect(c.lines, c.name!).toBe(2);
        expect(c.points, c.name!).toBe(4);
        expect(c.box).toBeGreaterThan(200);
        expect(c.labels).toContain(`${cores + 1}*`);
      }
      const nums = await page.evaluate(() => [...document.querySelectorAll('[data-json^="cells."]')].map((el) => ({ path: el.getAttribute('data-json')!, text: el.textContent ?? '' })));
      expect(nums.length).toBeGreaterThanOrEqual(4 * 5);
      for (const n of nums) {
        const v = n.path.split('.').reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], doc) as number;
        expect(Math.abs(Number(n.text.replace(/,/g, '')) - v), n.path).toBeLessThanOrEqual(0.0051 + Math.abs(v) * 1e-9);
      }
      expect(await page.evaluate(() => document.body.innerText)).toContain('oversubscribed');
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('SIGINT', () => {
  it('mid-study: prints and writes the cells measured so far, status interrupted, exit 130', async () => {
    const child = spawn(process.execPath, [CLI, 'scale', '--modes', 'final,vma-lock,walker-rcu', '--cpus', '1,2', '--duration', '4s', '--seed', '9', '--report', 'int.json'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      // After the first cell's line: one run measured, the second under way.
      if (!sent && /final +1 CPUs +ok/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(130);
    const d = JSON.parse(readFileSync(join(dir, 'int.json'), 'utf8')) as ScaleReport;
    expect(d.status).toBe('interrupted');
    expect(d.exitCode).toBe(130);
    expect(d.cells.length).toBeGreaterThanOrEqual(1);
    expect(d.cells.length).toBeLessThan(6);
    expect(d.cells[0]!.status).toBe('ok');
    expect(d.cells[0]!.ops).toBeGreaterThan(0);
    expect(stdout).toContain(`interrupted: ${d.cells.length} of 6 runs measured`);
    expect(stdout).toContain('per mode and CPU count');
  }, 60_000);
});
