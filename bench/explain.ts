/**
 * `explain` on the race cells (issue 15): for every built-in scenario × mode whose truth table
 * says race, the derivation plus the witness (a portfolio hunt stopping at the cell's unsafe sites, then
 * a shrink) with the CLI's defaults, in process. Prints each cell's time and the median;
 * target: median < 2 s. A figure, not a unit-test assertion (the machine is shared).
 *
 * Run: `npm run bench -- explain`, or `node dist/bench/explain.js` alone;
 * PMDTORTURE_BENCH_CELLS=N measures only the first N race cells.
 */
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { MODES } from '../src/workers/hugetlb/modes.js';
import { SCENARIOS } from '../src/workers/hugetlb/scenarios.js';
import { explainCell, findWitness } from '../src/controlled/explain.js';
import { EXPLAIN_DEFAULTS } from '../stress/commands/explain.js';

export async function benchExplain(): Promise<void> {
  const cells = SCENARIOS.flatMap((sc) => MODES.map((m) => ({ sc, m }))).filter(({ sc, m }) => explainCell(sc, m).expected === 'race');
  const n = Math.min(cells.length, Number(process.env['PMDTORTURE_BENCH_CELLS'] ?? cells.length));
  process.stdout.write(`explain: ${n} of ${cells.length} race cells, defaults ${JSON.stringify(EXPLAIN_DEFAULTS)}, load ${loadavg()[0]!.toFixed(1)}\n`);
  const times: number[] = [];
  for (const { sc, m } of cells.slice(0, n)) {
    const t0 = performance.now();
    const c = explainCell(sc, m);
    const w = await findWitness(c, EXPLAIN_DEFAULTS);
    const ms = performance.now() - t0;
    times.push(ms);
    const v = w.shrunk?.file.violation;
    process.stdout.write(`  ${sc.name.padEnd(17)} ${m.name.padEnd(11)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${w.found ? `${v!.kind} at ${v!.site}, hunt iteration ${w.iterations}, ${w.shrunk!.result.preemptions} preemptions after ${w.shrunk!.runs} shrink replays` : `none found in ${w.iterations} iterations`}\n`);
  }
  const s = [...times].sort((a, b) => a - b);
  const med = s.length ? s[Math.floor(s.length / 2)]! : NaN;
  process.stdout.write(`explain median over ${s.length} race cells: ${(med / 1000).toFixed(2)} s (target < 2 s: ${med < 2000 ? 'PASS' : 'FAIL'}), max ${(s.at(-1)! / 1000).toFixed(2)} s\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await benchExplain();
