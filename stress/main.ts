/**
 * pmdtorture: the command line (cli.ts is the entry: it installs the signal handlers first). Each command is a yargs CommandModule in stress/commands/;
 * add one by appending it to COMMANDS. Handlers set process.exitCode; bad usage is a UsageError
 * (or a yargs parse failure) and ends here in one line with exit 2; anything else unexpected
 * is an internal error, exit 3.
 *
 * Exit codes: 0 ok, 1 violations, 2 bad usage, 3 internal error / worker crash, 4 stall or
 * deadlock, 130 interrupted.
 */
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { acceptedFor } from './args.js';
import { toolVersion } from '../src/report/report-json.js';
import { discardPendingOutputs, writeFailures } from '../src/report/out-file.js';
import { interruptedBy } from './interrupt.js';
import { runCommand } from './commands/run.js';
import { soakCommand } from './commands/soak.js';
import { compareCommand } from './commands/compare.js';
import { listCommand } from './commands/list.js';
import { huntCommand } from './commands/hunt.js';
import { replayCommand } from './commands/replay.js';
import { reportCommand } from './commands/report.js';
import { mergeCommand } from './commands/merge.js';
import { explainCommand } from './commands/explain.js';
import { UsageError } from '../src/engine/exit.js';
import { EXIT } from '../src/engine/exit.js';
import { scaleCommand } from './commands/scale.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const COMMANDS: Array<CommandModule<any, any>> = [runCommand, soakCommand, compareCommand, listCommand, huntCommand, replayCommand, reportCommand, mergeCommand, explainCommand, scaleCommand];

function commandNames(): string[] {
  return COMMANDS.map((c) => String(Array.isArray(c.command) ? c.command[0] : c.command).split(' ')[0]!);
}

/** The command the user named, if any (for the prefix of error lines). */
function commandOf(args: readonly string[]): string | undefined {
  const first = args.find((x) => !x.startsWith('-'));
  return first !== undefined && commandNames().includes(first) ? first : undefined;
}

/**
 * The command a typo most likely meant (yargs' recommendCommands() stays silent when there is a
 * default command, and `run` is one): the nearest name by edit distance, adjacent transpositions
 * counting one, if it is near enough to be a typo rather than another word.
 */
export function nearestCommand(word: string, names: readonly string[]): string | undefined {
  const dist = (a: string, b: string): number => {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const row = d[i]!;
        row[j] = Math.min(d[i - 1]![j]! + 1, row[j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, d[i - 2]![j - 2]! + 1);
      }
    }
    return d[a.length]![b.length]!;
  };
  let best: string | undefined;
  let bestD = Infinity;
  for (const n of names) {
    const d = dist(word.toLowerCase(), n);
    if (d < bestD && d <= Math.max(1, Math.floor(n.length / 3))) [best, bestD] = [n, d];
  }
  return best;
}

/** One line for a yargs parse failure. */
export function usageLine(msg: string, args: readonly string[], known: readonly string[]): string {
  const cmd = commandOf(args);
  const prefix = `pmdtorture${cmd ? ` ${cmd}` : ''}`;
  const first = args.find((x) => !x.startsWith('-'));
  const names = commandNames();
  if (cmd === undefined && first !== undefined && !names.includes(first)) {
    const near = nearestCommand(first, names);
    return `pmdtorture: unknown command '${first}'${near ? ` (did you mean ${near}?)` : ''} (accepted: ${names.join(', ')})`;
  }
  if (cmd === undefined && /command/i.test(msg)) return `pmdtorture: a command is needed (accepted: ${names.join(', ')}; pmdtorture --help for more)`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg.split('\n')[0]!);
  if (unknown) {
    const bad = unknown[1]!.split(', ')[0]!;
    const asOption = args.some((x) => x === `--${bad}` || x.startsWith(`--${bad}=`) || x === `-${bad}` || x === `--no-${bad}`);
    const opts = known.length ? ` (accepted: ${known.map((k) => `--${k}`).join(', ')})` : '';
    return asOption ? `${prefix}: unknown option --${bad}${opts}` : `${prefix}: unexpected argument '${bad}' (${cmd ? `${cmd} takes options only; see pmdtorture ${cmd} --help` : `accepted commands: ${names.join(', ')}`})`;
  }
  if (/^Not enough non-option arguments/.test(msg) && cmd) {
    const usage = COMMANDS.map((c) => String(Array.isArray(c.command) ? c.command[0] : c.command)).find((c) => c.split(' ')[0] === cmd) ?? cmd;
    return `${prefix}: missing ${usage.replace(/^\S+ ?/, '').replace(/[<>]|\.\./g, '').toUpperCase() || 'an argument'} (usage: pmdtorture ${usage}; see pmdtorture ${cmd} --help)`;
  }
  const needs = /^Not enough arguments following: (.*)$/.exec(msg);
  if (needs) {
    const acc = acceptedFor(needs[1]!);
    return `${prefix}: --${needs[1]}: needs a value (${acc ? `accepted: ${acc}` : `see pmdtorture ${cmd ?? ''} --help`.replace('  ', ' ')})`;
  }
  return `${prefix}: ${msg.split('\n')[0]}`;
}

class ParseFailure extends Error {}

type AnyArgv = ReturnType<typeof yargs>;

export async function main(argv: readonly string[]): Promise<number> {
  let known: string[] = [];
  // Wrap each builder to learn the command's options: an unknown option's message lists them.
  const commands = COMMANDS.map((c) => ({
    ...c,
    builder: (y: AnyArgv): AnyArgv => {
      const b = c.builder;
      const r = (typeof b === 'function' ? b(y) : b ? y.options(b) : y) as AnyArgv;
      const o = (r as unknown as { getOptions(): { key: Record<string, unknown>; hiddenOptions: string[] } }).getOptions();
      // Positionals (`merge <reports..>`) are options to yargs but not to the user.
      const positionals = [...String(Array.isArray(c.command) ? c.command[0] : c.command).matchAll(/[<[]([\w-]+)/g)].map((m) => m[1]);
      known = Object.keys(o.key).filter((k) => !/[A-Z]/.test(k) && !o.hiddenOptions.includes(k) && k !== '$0' && !positionals.includes(k));
      return r;
    },
  }));
  const cli = yargs(argv as string[])
    .scriptName('pmdtorture')
    .usage('$0 <command> [options]\n\nTorture tester for the hugetlb PMD-unshare vs page-table-walker race.')
    .command(commands as unknown as Array<CommandModule<object, object>>)
    .demandCommand(1, 'a command is needed')
    .strict()
    .version(toolVersion())
    .help()
    .alias('h', 'help')
    .epilogue('Exit codes: 0 ok, 1 violations, 2 bad usage, 3 internal error or worker crash, 4 stall or deadlock, 130 interrupted.')
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg: string | null, err: Error | undefined) => {
      // yargs' own validation errors (YError) are usage errors; anything else came from a handler.
      if (err && err.name !== 'YError') throw err;
      throw new ParseFailure(msg ?? err?.message ?? 'bad usage');
    });
  const prefix = `pmdtorture${commandOf(argv) ? ` ${commandOf(argv)}` : ''}`;
  let code: number;
  try {
    await cli.parseAsync();
    code = typeof process.exitCode === 'number' ? process.exitCode : Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${prefix}: ${e.message}\n`);
      code = EXIT.usage;
    } else if (e instanceof ParseFailure) {
      process.stderr.write(usageLine(e.message, argv, known) + '\n');
      code = EXIT.usage;
    } else {
      process.stderr.write(`pmdtorture: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      code = EXIT.internal;
    }
  }
  // Outputs opened but never written (a refused command) leave nothing behind.
  discardPendingOutputs();
  // The report was printed; a file that could not be written is said in one line each, exit 3.
  const failed = writeFailures();
  for (const line of failed) process.stderr.write(`${prefix}: ${line}\n`);
  if (failed.length > 0 && (code === EXIT.ok || code === EXIT.violations)) code = EXIT.internal;
  // A signal a command did not claim (interrupt.ts) still ends it as interrupted.
  if (code === EXIT.ok && interruptedBy() !== undefined) code = EXIT.interrupted;
  return code;
}

/** Exit once stdout and stderr have drained: the process never lingers on a stray handle. */
async function exitWhenFlushed(code: number): Promise<never> {
  const drain = (s: NodeJS.WriteStream): Promise<void> => new Promise((r) => (s.writableLength === 0 ? r() : s.write('', () => r())));
  await Promise.race([Promise.all([drain(process.stdout), drain(process.stderr)]), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(code);
}

/** The whole program: parse, run the command, exit. */
export async function runCli(): Promise<never> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  return exitWhenFlushed(await main(hideBin(process.argv)));
}
