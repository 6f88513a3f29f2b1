/**
 * `--mode NAME|FILE.json` and compare's `--modes LIST|all`: declared and parsed here for every
 * command (run, soak, hunt, explain through their builders; list has its own optional form),
 * so a mode's description, its accepted values and the loading of design files are one thing.
 */
import type { Argv } from 'yargs';
import { MODE_NAMES, uniqueModes } from '../../src/workers/hugetlb/modes.js';
import { parseModeArg, parseModeListArg } from '../../src/engine/design-file.js';

type Raw = Record<string, unknown>;

export function modeOption<T>(y: Argv<T>, dflt: string): Argv<T> {
  return y.option('mode', { type: 'string', requiresArg: true, default: dflt, describe: `protection mode: ${MODE_NAMES.join(', ')}, or a design file FILE.json` });
}

export function modesOption<T>(y: Argv<T>): Argv<T> {
  return y.option('modes', { type: 'string', requiresArg: true, default: 'all', describe: `modes to compare, comma-separated, or all: ${MODE_NAMES.join(', ')}; design files FILE.json too` });
}

/** --mode → the mode's name (a design file is loaded and registered). */
export function resolveMode(a: Raw, dflt: string): string {
  return parseModeArg('--mode', a['mode'] ?? dflt);
}

/** --modes → names in order, without duplicates or two names of one table. */
export function resolveModes(a: Raw): string[] {
  return uniqueModes(parseModeListArg('--modes', a['modes'], 'all', MODE_NAMES));
}
