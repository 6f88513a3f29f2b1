/** JUnit for a scaling study: one testcase per (mode, CPU count), failing as compare's per-mode cases do. */
import type { Case, Suite } from './junit.js';
import type { RunReport } from './report-json.js';
import type { ScaleReport } from './scale-study.js';

export function scaleSuite(d: ScaleReport, runCase: (r: RunReport) => Case): Suite {
  return {
    name: 'pmdtorture scale',
    timestamp: d.timing.startedAt,
    timeS: d.timing.elapsedMs / 1000,
    properties: [['version', d.tool.version], ['node', d.tool.node], ['seed', d.seed], ['command', d.command], ['cores', d.config.cores]],
    cases: d.runs.map((r, i) => {
      const c = runCase(r);
      const cell = d.cells[i]!;
      c.name = `${r.config.scenario} × ${r.config.mode} × ${cell.cpus} CPUs${cell.oversubscribed ? ' (oversubscribed)' : ''}`;
      c.properties.push(['cpus', cell.cpus], ['oversubscribed', String(cell.oversubscribed)], ['opsPerSecond', cell.opsPerSecond], ['ipisPerOp', cell.ipi.perOp]);
      if (cell.ratioToFirst !== null) c.properties.push(['ratioToFirstMode', cell.ratioToFirst]);
      return c;
    }),
  };
}
