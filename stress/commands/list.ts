/**
 * `pmdtorture list`: scenarios (with the race each targets), modes, delay points and the truth
 * table. `--json` prints exactly
 * `{"scenarios":[{"name","description","expected":{"<mode>":"race"|"safe"}}],"modes":[...],"points":[...]}`
 * where modes are `{"name","aliases","kernel","commits","arch","description"}` and points
 * `{"name","description"}`.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { MODES } from '../../src/workers/hugetlb/modes.js';
import { POINTS } from '../../src/workers/hugetlb/points.js';
import { truthTable } from '../../src/workers/hugetlb/scenarios.js';
import { paintFor } from '../../src/report/color.js';
import { listModeMain } from './list-mode.js';

type Raw = Record<string, unknown>;

export interface ListJson {
  scenarios: Array<{ name: string; description: string; expected: Record<string, 'race' | 'safe'> }>;
  modes: Array<{ name: string; aliases: string[]; kernel: string; commits: string[]; arch: string; description: string }>;
  points: Array<{ name: string; description: string }>;
}

export function listJson(): ListJson {
  return {
    scenarios: truthTable().map((r) => ({ name: r.scenario, description: r.description, expected: r.expected })),
    modes: MODES.map((m) => ({ name: m.name, aliases: [...m.aliases], kernel: m.kernel, commits: [...m.commits], arch: m.arch, description: m.description })),
    points: POINTS.map((p) => ({ name: p.name, description: p.window })),
  };
}

export function listText(color = false): string {
  const p = paintFor({ isTTY: color });
  const l = listJson();
  const out: string[] = [];
  const w = Math.max(...l.scenarios.map((s) => s.name.length));
  out.push(p.bold('scenarios (--scenario): the race each targets'));
  for (const s of l.scenarios) out.push(`  ${s.name.padEnd(w)}  ${s.description}`);
  out.push('', p.bold('modes (--mode)'));
  const mw = Math.max(...l.modes.map((m) => m.name.length));
  l.modes.forEach((m, i) => {
    const alias = m.aliases.length > 0 ? ` (alias: ${m.aliases.join(', ')})` : '';
    out.push(`  ${m.name.padEnd(mw)}  ${m.kernel}${alias}, ${m.arch}: ${m.description}`);
    // A version lists what it adds to the one before it (the JSON carries every commit).
    const prev = i > 0 ? l.modes[i - 1]! : undefined;
    const inherited = prev !== undefined && prev.commits.length > 0 && prev.commits.every((c) => m.commits.includes(c)) ? prev : undefined;
    const added = m.commits.filter((c) => !inherited?.commits.includes(c));
    if (inherited) out.push(`  ${''.padEnd(mw)}    (the commits of ${inherited.name}${added.length > 0 ? ', and' : ''})`);
    for (const c of added) out.push(`  ${''.padEnd(mw)}    ${c}`);
  });
  out.push('', p.bold('delay points (--widen-point)'));
  const pw = Math.max(...l.points.map((x) => x.name.length));
  for (const x of l.points) out.push(`  ${x.name.padEnd(pw)}  ${x.description}`);
  out.push('', p.bold('truth table: expected outcome of each scenario under each mode (race = a forbidden outcome must be found)'));
  const modes = l.modes.map((m) => m.name);
  const cw = modes.map((m) => Math.max(m.length, 4));
  out.push(`  ${'scenario'.padEnd(w)}  ${modes.map((m, i) => m.padEnd(cw[i]!)).join('  ')}`);
  for (const s of l.scenarios) {
    out.push(`  ${s.name.padEnd(w)}  ${modes.map((m, i) => { const e = s.expected[m] ?? '?'; const cell = e.padEnd(cw[i]!); return e === 'race' ? p.red(cell) : p.green(cell); }).join('  ')}`.trimEnd());
  }
  return out.join('\n');
}

export const listCommand: CommandModule<object, Raw> = {
  command: 'list',
  describe: 'scenarios, modes, delay points and the truth table of expected outcomes',
  builder: (y: Argv<object>) =>
    y
      .option('json', { type: 'boolean', default: false, describe: 'print as JSON (with --mode: the mode in the design-file format)' })
      .option('mode', { type: 'string', requiresArg: true, describe: "one mode's (NAME or design file FILE.json) derived truth table, with the reasons per walk site" }) as unknown as Argv<Raw>,
  handler: (argv: ArgumentsCamelCase<Raw>) => {
    if (argv['mode'] !== undefined) {
      listModeMain(argv['mode'], argv['json'] === true);
      process.exitCode = 0;
      return;
    }
    if (argv['json'] === true) process.stdout.write(JSON.stringify(listJson(), null, 2) + '\n');
    else process.stdout.write(listText(paintFor(process.stdout).enabled) + '\n');
    process.exitCode = 0;
  },
};
