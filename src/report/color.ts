/** ANSI colours for one output stream: only on a TTY, never with NO_COLOR (https://no-color.org) or TERM=dumb. */
export interface Paint {
  enabled: boolean;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  bold(s: string): string;
  dim(s: string): string;
}

export function paintFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Paint {
  const on = stream.isTTY === true && !('NO_COLOR' in env && env['NO_COLOR'] !== '') && env['TERM'] !== 'dumb' && !('FORCE_COLOR' in env && env['FORCE_COLOR'] === '0');
  const wrap = (a: number, b: number) => (s: string): string => (on ? `\x1b[${a}m${s}\x1b[${b}m` : s);
  return { enabled: on, red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), bold: wrap(1, 22), dim: wrap(2, 22) };
}

export const plain: Paint = paintFor({ isTTY: false });
