/**
 * `pmdtorture list --mode NAME|FILE.json`: one mode's derived truth table with the reasons per
 * walk site; with --json the mode in the design-file format (a built-in extends itself), so a
 * user starts a design from a copy.
 */
import { designFileOf, loadedDesign } from '../../src/workers/hugetlb/mode-design.js';
import { modeTableOf, parseModeArg } from '../../src/engine/design-file.js';
import { truthTableText } from '../../src/controlled/explain.js';

export function listModeMain(arg: unknown, json: boolean): void {
  const m = modeTableOf(parseModeArg('--mode', arg));
  if (json) process.stdout.write(JSON.stringify(designFileOf(m, loadedDesign(m.name)?.extends ?? m.name), null, 2) + '\n');
  else process.stdout.write(truthTableText(m) + '\n');
}
