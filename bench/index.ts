/**
 * `npm run bench`: every benchmark, each printing ratios to baselines measured in the same run
 * (absolute numbers drift on a shared 2-core machine). `npm run bench -- locks model` runs a subset.
 */
import { benchLocks } from './locks.js';
import { benchRcu } from './rcu.js';
import { benchModel } from './model.js';
import { benchCli } from './cli.js';
import { benchScale } from './scale.js';
import { benchSched } from './sched.js';
import { benchReport } from './report.js';
import { benchExplain } from './explain.js';
import { benchIpiRegression } from './ipi-regression.js';
import { benchOpLatency } from './op-latency.js';
import { benchScaleStudy } from './scale-study.js';
import { benchWorlds } from './worlds.js';
import { benchHistory } from './history.js';

const SUITES: Record<string, () => Promise<void>> = {
  locks: benchLocks,
  rcu: () => benchRcu(),
  model: benchModel,
  cli: benchCli,
  scale: benchScale,
  sched: benchSched,
  report: benchReport,
  explain: benchExplain,
  'ipi-regression': benchIpiRegression,
  'op-latency': () => benchOpLatency(),
  'scale-study': benchScaleStudy,
  worlds: benchWorlds,
  history: benchHistory,
};

const want = process.argv.slice(2);
const unknown = want.filter((w) => !(w in SUITES));
if (unknown.length > 0) {
  process.stderr.write(`pmdtorture bench: unknown suite '${unknown[0]}' (known: ${Object.keys(SUITES).join(', ')})\n`);
  process.exit(2);
}
for (const name of want.length > 0 ? want : Object.keys(SUITES)) {
  const t = performance.now();
  await SUITES[name]!();
  process.stdout.write(`\n(${name}: ${((performance.now() - t) / 1000).toFixed(1)} s)\n\n`);
}
