/**
 * Output files (--report, --html, --junit, --events, hunt --out): checked before anything runs,
 * written at the end. The check creates nothing — a run refused or failing later must not leave
 * empty files (or directories) behind — and a missing parent directory is not an error: it is
 * created when the file is written, so `--report out/soak-1.json` works on a fresh CI runner.
 */
import { accessSync, constants, mkdirSync, openSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from './args.js';

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? 'error';
}

/**
 * Why `path` could not be created as a file or directory, or undefined if it could: the nearest
 * existing ancestor must be a writable directory (missing ones below it are created later).
 */
function whyNotCreatable(path: string): string | undefined {
  let dir = dirname(resolve(path));
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(dir).isDirectory();
    } catch (e) {
      if (errno(e) !== 'ENOENT') return errno(e);
      const up = dirname(dir);
      if (up === dir) return 'ENOENT';
      dir = up;
      continue;
    }
    if (!isDir) return 'ENOTDIR';
    try {
      accessSync(dir, constants.W_OK | constants.X_OK);
      return undefined;
    } catch (e) {
      return errno(e);
    }
  }
}

/** Fail early, as bad usage, when a file we must write later cannot be written. Creates nothing. */
export function checkWritable(flag: string, path: string): void {
  let why: string | undefined;
  try {
    if (statSync(path).isDirectory()) why = 'EISDIR';
    else accessSync(path, constants.W_OK);
  } catch (e) {
    why = errno(e) === 'ENOENT' ? whyNotCreatable(path) : errno(e);
  }
  if (why !== undefined) throw new UsageError(flag, `cannot write '${path}' (${why}) (accepted: a writable file path; missing directories are created)`);
}

/** The same for a directory we will create or write into (hunt --out). */
export function checkWritableDir(flag: string, path: string): void {
  let why: string | undefined;
  try {
    if (!statSync(path).isDirectory()) why = 'ENOTDIR';
    else accessSync(path, constants.W_OK | constants.X_OK);
  } catch (e) {
    why = errno(e) === 'ENOENT' ? whyNotCreatable(path) : errno(e);
  }
  if (why !== undefined) throw new UsageError(flag, `cannot write into '${path}' (${why}) (accepted: a writable directory; missing ones are created)`);
}

/** Write a whole output file, creating its missing parent directories. */
export function writeOutputFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Open an output file for streaming (--events), creating its missing parent directories. */
export function openOutputFile(path: string): number {
  mkdirSync(dirname(path), { recursive: true });
  return openSync(path, 'w');
}
