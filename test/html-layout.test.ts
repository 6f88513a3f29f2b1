/**
 * Issue 11 item 8: the HTML report read at 1000 px and 1400 px in headless Chromium. The violation
 * picture is a sequence chart whose event labels never cover one another; the page never scrolls
 * sideways, nor does the lock table; every summary label sits on the row of its value.
 * Screenshots of each page at each width go to test-output/html-layout/ (PMDTORTURE_TEST_OUTPUT
 * to put them elsewhere).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from './helpers/chromium.js';
import { violationSequence } from '../src/report/html/interleaving.js';
import type { ViolationRecord } from '../src/workers/hugetlb/violations.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist', 'stress', 'cli.js');
const outDir = process.env['PMDTORTURE_TEST_OUTPUT'] ?? join(root, 'test-output', 'html-layout');
const SKIP_HTML = skipWithoutChromium('test/html-layout.test.ts', 'HTML layout in headless Chromium');
const WIDTHS = [1000, 1400] as const;

describe('violation sequence (what the chart draws)', () => {
  const ev = (cpu: number, us: number, event: string, a: number, b: number): ViolationRecord['trace'][number] => ({ cpu, us, event, a, b });
  const record = (trace: ViolationRecord['trace'], cpu = 1): ViolationRecord =>
    ({ kind: 'use-after-free', scenario: 'follow-page', mode: 'none', site: 'follow-page', op: 'follow-page', cpu, page: 7, pointerGen: 1, pageGen: 2, pageState: 'free', pageLevel: 'pmd', pageOwner: 0, mm: 1, pudIndex: 0, slot: 0, value: 0, access: 'read', us: 90, heldLocks: [], trace }) as ViolationRecord;

  it('marks the walk that returned the page, its clear and free on the other CPU, and the dereference; time order, one column per CPU', () => {
    const s = violationSequence(record([
      ev(1, 10, 'hugetlb_walk', 3, 7),
      ev(0, 12, 'hugetlb_walk', 3, 7), // another CPU's walk of the same page: not the pointer taken
      ev(0, 20, 'pud_clear', 1, 7),
      ev(0, 20, 'pud_clear', 2, 9), // another page
      ev(0, 30, 'free_table', 7, 2),
      ev(1, 80, 'deref', 3, 2),
      ev(1, 90, 'violation', 2, 7),
    ]));
    expect(s.columns).toEqual(['cpu 1 (violation)', 'cpu 0']);
    expect(s.events.map((e) => e.us)).toEqual([10, 12, 20, 20, 30, 80, 90]);
    expect(s.events.map((e) => e.role ?? '-')).toEqual(['taken', '-', 'stale', '-', 'stale', 'bad', 'bad']);
    expect(s.events.map((e) => e.col)).toEqual([0, 1, 1, 1, 1, 0, 0]);
    expect(s.notes).toEqual([]);
  });

  it('says so when the clear or free is older than the captured events, and which CPU it hides behind', () => {
    const s = violationSequence(record([ev(1, 10, 'hugetlb_walk', 3, 7), ev(0, 40, 'lock', 4, 400), ev(1, 80, 'deref', 3, 2)]));
    expect(s.events.map((e) => e.role ?? '-')).toEqual(['taken', '-', 'bad']);
    expect(s.notes.join(' ')).toMatch(/not among the captured events .*before the first captured event of cpu 0/);
  });

  it('with more CPUs than columns: the violating and the freeing CPU keep their own, the rest share one', () => {
    const s = violationSequence(record([ev(3, 5, 'lock', 4, 1), ev(1, 10, 'hugetlb_walk', 3, 7), ev(2, 15, 'lock', 4, 1), ev(0, 20, 'free_table', 7, 2), ev(1, 80, 'deref', 3, 2)]));
    expect(s.columns).toEqual(['cpu 1 (violation)', 'cpu 0', 'other CPUs (2)']);
    expect(s.events.filter((e) => e.col === 2).map((e) => e.label)).toEqual(['cpu3: lock ptlock @1', 'cpu2: lock ptlock @1']);
  });
});

let dir = '';
function pmd(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20, timeout: 90_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 99) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(SKIP_HTML)('HTML layout at 1000 and 1400 px', () => {
  let browser: Browser;
  // Each page and the exit code its run must end with: a violation on 2 CPUs, one on 4 CPUs (more
  // CPUs than columns), a hunt's violation, and compare over every mode (the widest lock tables).
  const pages: Array<[string, string[], number]> = [
    ['run', ['run', '--scenario', 'follow-page', '--mode', 'none', '--widen', '--ops', '20000', '--seed', '3', '--cpus', '2'], 1],
    ['run4', ['run', '--scenario', 'mixed', '--mode', 'none', '--widen', '--ops', '40000', '--seed', '5', '--cpus', '4'], 1],
    ['hunt', ['hunt', '--scenario', 'follow-page', '--mode', 'none', '--iterations', '500', '--seed', '1', '--out', '.'], 1],
    ['compare', ['compare', '--scenario', 'mixed', '--ops', '3000', '--seed', '1', '--cpus', '2'], 0],
  ];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pmdtorture-layout-'));
    mkdirSync(outDir, { recursive: true });
    for (const [name, args, want] of pages) {
      const r = await pmd([...args, '--quiet', '--html', `${name}.html`, ...(name === 'hunt' ? ['--json'] : ['--report', `${name}.json`])]);
      expect(r.code, `${name}: ${r.stderr}`).toBe(want);
      if (name === 'hunt') writeFileSync(join(dir, 'hunt.json'), r.stdout);
    }
    browser = await launchChromium();
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string, width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    await page.goto(pathToFileURL(join(dir, `${name}.html`)).href);
    await page.waitForLoadState('load');
    await page.screenshot({ path: join(outDir, `${name}-${width}.png`), fullPage: true });
    return page;
  }

  for (const width of WIDTHS) {
    for (const [name] of pages) {
      it(`${name} at ${width} px: no sideways scroll of the page or of any table; each summary label on its value's row`, async () => {
        const page = await open(name, width);
        const m = await page.evaluate(() => {
          const de = document.documentElement;
          const tables = [...document.querySelectorAll('table')].map((t) => {
            const box = t.getBoundingClientRect();
            const host = t.parentElement!.getBoundingClientRect();
            return { cls: t.className, right: box.right, hostRight: host.right, scroll: t.scrollWidth - t.clientWidth };
          });
          const pairs = [...document.querySelectorAll('dl.summary dt')].map((dt) => {
            const dd = dt.nextElementSibling!;
            const a = dt.getBoundingClientRect();
            const r = document.createRange();
            r.selectNodeContents(dd);
            const first = r.getClientRects()[0] ?? dd.getBoundingClientRect();
            return { label: dt.textContent ?? '', dt: { top: a.top, bottom: a.bottom, right: a.right }, dd: { top: first.top, bottom: first.bottom, left: first.left }, ddTag: dd.tagName };
          });
          return { scrollWidth: de.scrollWidth, clientWidth: de.clientWidth, tables, pairs, lockTables: document.querySelectorAll('table.locks').length };
        });
        expect(m.scrollWidth, 'page scrolls sideways').toBeLessThanOrEqual(m.clientWidth);
        if (name !== 'hunt') expect(m.lockTables).toBeGreaterThan(0);
        for (const t of m.tables) {
          expect(t.right, `table.${t.cls} sticks out of its container`).toBeLessThanOrEqual(t.hostRight + 0.5);
          expect(t.scroll, `table.${t.cls} scrolls`).toBeLessThanOrEqual(0);
        }
        expect(m.pairs.length).toBeGreaterThan(5);
        for (const p of m.pairs) {
          expect(p.ddTag).toBe('DD');
          // The label's line and the value's first line overlap vertically, the label to the left.
          expect(Math.min(p.dt.bottom, p.dd.bottom) - Math.max(p.dt.top, p.dd.top), `${p.label}: label and value on different rows`).toBeGreaterThan(4);
          expect(p.dt.right, p.label).toBeLessThanOrEqual(p.dd.left + 0.5);
        }
        await page.close();
      });
    }

    for (const name of ['run', 'run4', 'hunt']) {
      it(`${name} at ${width} px: every event of the violation's interleaving is drawn, readable, and no two labels overlap`, async () => {
        const page = await open(name, width);
        const charts = await page.evaluate(() =>
          [...document.querySelectorAll('svg[data-chart="violation-trace"]')].map((svg) => {
            const box = svg.getBoundingClientRect();
            const vb = (svg as SVGSVGElement).viewBox.baseVal;
            const texts = [...svg.querySelectorAll('text')].map((t) => {
              const b = t.getBoundingClientRect();
              return { text: (t.lastChild?.textContent ?? '').trim(), cls: t.getAttribute('class') ?? '', role: t.getAttribute('data-role') ?? '', x: b.left, y: b.top, w: b.width, h: b.height };
            });
            return { scale: box.width / vb.width, left: box.left, right: box.right, top: box.top, bottom: box.bottom, texts };
          }),
        );
        const figures = await page.$$('figure.interleaving');
        for (let i = 0; i < figures.length; i++) await figures[i]!.screenshot({ path: join(outDir, `${name}-${width}-violation-${i + 1}.png`) });
        await page.close();
        expect(charts.length).toBeGreaterThan(0);
        const report = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { violations: { recorded?: ViolationRecord[] } | ViolationRecord[] };
        const recorded = Array.isArray(report.violations) ? report.violations : (report.violations.recorded ?? []);
        charts.forEach((c, i) => {
          // No two texts of the chart (labels, times, headings, title) overlap.
          const bad: string[] = [];
          for (let a = 0; a < c.texts.length; a++)
            for (let b = a + 1; b < c.texts.length; b++) {
              const p = c.texts[a]!, q = c.texts[b]!;
              const ox = Math.min(p.x + p.w, q.x + q.w) - Math.max(p.x, q.x);
              const oy = Math.min(p.y + p.h, q.y + q.h) - Math.max(p.y, q.y);
              if (ox > 0.5 && oy > 0.5) bad.push(`"${p.text}" / "${q.text}"`);
            }
          expect(bad.slice(0, 5), `${bad.length} overlapping pairs`).toEqual([]);
          // Drawn at (nearly) its own size: 11 px labels stay >= 10 px.
          expect(c.scale, 'chart shrunk').toBeGreaterThanOrEqual(0.9);
          const labels = c.texts.filter((t) => t.cls.startsWith('evt'));
          const want = violationSequence(recorded[i]!).events;
          expect(labels.map((l) => l.text)).toEqual(want.map((e) => e.label));
          if (name !== 'run4') expect(labels.length, 'every trace event has a row').toBe(recorded[i]!.trace.length);
          expect(labels.filter((l) => l.role === 'bad').length).toBeGreaterThan(0);
          // The walk that returned the page may be older than the captured events (then a note says so).
          expect(labels.filter((l) => l.role === 'taken').length).toBeLessThanOrEqual(1);
          for (const t of c.texts) {
            expect(t.h, `${t.text}: unreadably small`).toBeGreaterThanOrEqual(10);
            expect(t.x, t.text).toBeGreaterThanOrEqual(c.left - 0.5);
            expect(t.x + t.w, `${t.text} runs past the chart`).toBeLessThanOrEqual(c.right + 0.5);
          }
        });
      });
    }
  }
});
