/**
 * SIGINT/SIGTERM for the whole process, installed when this module is imported — the first thing
 * cli.ts does, before the rest of the program is even loaded — so that a signal sent while Node
 * is still loading modules is not lost: without it, Node's default action kills the process and a
 * run interrupted in its first few hundred milliseconds writes no report.
 *
 * A command that can stop cleanly claims the signals (claimInterrupts): the first one calls its
 * stop function — at once if it came before the claim — and a second one quits at once (130). A
 * command that cannot stop cleanly calls exitOnInterrupt: any signal ends it with 130. Until one
 * of them is called (start-up, argument parsing) a signal is only remembered.
 */

/** EXIT.interrupted (src/engine/exit.ts): not imported, this module loads alone, before the rest. */
const EXIT_INTERRUPTED = 130;

type OnFirst = (sig: NodeJS.Signals) => void;

let received: NodeJS.Signals | undefined;
let count = 0;
let onFirst: OnFirst | undefined;
let exitAtOnce = false;

function quit(sig: NodeJS.Signals, how: string): never {
  process.stderr.write(`pmdtorture: ${sig}${how}\n`);
  process.exit(EXIT_INTERRUPTED);
}

function onSignal(sig: NodeJS.Signals): void {
  count++;
  if (count > 1 && (onFirst !== undefined || received !== undefined)) quit(sig, ' again: quitting without a report');
  if (exitAtOnce) quit(sig, ': quitting');
  received ??= sig;
  onFirst?.(sig);
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

/** The signal received so far, if any. */
export function interruptedBy(): NodeJS.Signals | undefined {
  return received;
}

/**
 * This command stops cleanly: `stop` is called on the first signal (now, if one came already);
 * a second signal quits at once. Returns the release function.
 */
export function claimInterrupts(stop: OnFirst): () => void {
  onFirst = stop;
  exitAtOnce = false;
  if (received !== undefined) stop(received);
  return () => {
    if (onFirst === stop) onFirst = undefined;
  };
}

/** This command cannot stop cleanly: a signal (one already received included) ends it with 130. */
export function exitOnInterrupt(): void {
  onFirst = undefined;
  exitAtOnce = true;
  if (received !== undefined) quit(received, ': quitting');
}
