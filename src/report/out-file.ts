/**
 * Every file a command writes (--report, --html, --junit, --events, merge/report outputs,
 * replay --shrink --out, hunt --out, run --sched's replay file) goes through this module.
 *
 * Before the run: an output is opened for real — its missing parent directories are made and a
 * temporary file is created beside it and kept open — because creating a file is the only check
 * that holds for root too (access(W_OK) passes for root even in /proc). A file that cannot be
 * created is a UsageError: one line, exit 2, before anything runs.
 *
 * At the end: the text goes into the temporary file, which is then renamed over the target, so a
 * failed write (a full disk) never leaves a truncated file where a good one was. A target that
 * exists and is not a regular file (/dev/stdout, a FIFO, /dev/full) cannot be replaced by a
 * rename: it is opened itself before the run and written in place. A failed write is not thrown:
 * it is recorded, the command still prints its report, and cli.ts ends with one line per file
 * that could not be written, and exit 3.
 *
 * An output never written (a run refused after its outputs were opened, a second SIGINT) leaves
 * nothing behind: its temporary file and the directories made for it are removed at exit.
 *
 * Directories are made one level at a time: Node 20's mkdirSync(recursive) never returns for a
 * path under /proc (ENOENT, parent exists, retry, …), which is how `hunt --out /proc/x` hung.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, mkdirSync, openSync, realpathSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../engine/exit.js';

/** `ENOSPC (no space left on device)` from a Node fs error. */
export function errnoText(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  const why = /^[A-Z0-9_]+: ([^,]+)/.exec(x.message ?? '')?.[1];
  return x.code ? `${x.code}${why ? ` (${why})` : ''}` : String(x.message ?? e);
}

const failures: string[] = [];

/** One line per output that could not be written at the end (cli.ts prints them, exit 3). */
export function writeFailures(): readonly string[] {
  return failures;
}

function recordFailure(flag: string, path: string, e: unknown): void {
  failures.push(`could not write ${flag} '${path}': ${errnoText(e)}`);
}

/**
 * mkdir -p, one level at a time; returns the directories it made, outermost first (so that an
 * output never written can take them back). Throws the first error.
 */
function makeDirs(dir: string): string[] {
  const missing: string[] = [];
  let d = resolve(dir);
  for (;;) {
    try {
      if (!statSync(d).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${d}'`), { code: 'ENOTDIR' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      missing.unshift(d);
      const up = dirname(d);
      if (up === d) throw e;
      d = up;
    }
  }
  const made: string[] = [];
  try {
    for (const m of missing) {
      mkdirSync(m);
      made.push(m);
    }
  } catch (e) {
    removeDirs(made);
    throw e;
  }
  return made;
}

function removeDirs(made: readonly string[]): void {
  for (const d of [...made].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty: something else was put there
    }
  }
}

let tmpSeq = 0;

/** A fresh temporary file beside `target` (same directory, so rename is atomic), opened for writing. */
function createTemp(target: string): { path: string; fd: number } {
  const path = join(dirname(target), `.${basename(target)}.${process.pid}.${tmpSeq++}.tmp`);
  return { path, fd: openSync(path, 'wx', 0o666) };
}

/** Outputs opened but not yet written: cleaned up if the process exits first. */
const pending = new Set<OutputFile>();
process.on('exit', () => discardPendingOutputs());

/**
 * Remove every output opened but not written (a command refused after opening its outputs),
 * newest first: a directory made for an earlier output may hold a later one's temporary file.
 */
export function discardPendingOutputs(): void {
  for (const o of [...pending].reverse()) o.discard();
}

type How =
  /** Temporary file beside the target, renamed over it. */
  | { kind: 'atomic'; tmp: string; fd: number }
  /** Not a regular file (a device, FIFO): opened before the run, written in place. */
  | { kind: 'direct'; fd: number }
  /** A regular file in a directory we cannot create files in: opened (not truncated) before the run, rewritten in place. */
  | { kind: 'in-place'; fd: number };

/** One output file: opened before the run, written once at the end. */
export class OutputFile {
  private how: How | undefined;

  private constructor(
    readonly flag: string,
    /** As the user wrote it (messages). */
    readonly path: string,
    /** Resolved, symlinks followed: what the temporary file is renamed to. */
    private readonly target: string,
    how: How,
    private readonly madeDirs: string[],
  ) {
    this.how = how;
    pending.add(this);
  }

  /** Open `path` for a later write; a UsageError (one line, exit 2) when it cannot be created. */
  static open(flag: string, path: string): OutputFile {
    if (path.trim() === '') throw new UsageError(flag, 'needs a file name (accepted: a writable file path)');
    try {
      return OutputFile.create(flag, path);
    } catch (e) {
      throw new UsageError(flag, `cannot write '${path}': ${errnoText(e)} (accepted: a writable file path; missing directories are created)`);
    }
  }

  /** As open, throwing the file system's error. */
  static create(flag: string, path: string): OutputFile {
    let target = resolve(path);
    let st: ReturnType<typeof statSync> | undefined;
    try {
      target = realpathSync(target); // a symlink: replace the file it points to, not the link
      st = statSync(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (st?.isDirectory()) throw Object.assign(new Error('EISDIR: is a directory'), { code: 'EISDIR' });
    if (st && !st.isFile()) return new OutputFile(flag, path, target, { kind: 'direct', fd: openSync(target, 'w') }, []);
    let made: string[] = [];
    try {
      made = makeDirs(dirname(target));
      const t = createTemp(target);
      return new OutputFile(flag, path, target, { kind: 'atomic', tmp: t.path, fd: t.fd }, made);
    } catch (e) {
      removeDirs(made);
      // The file exists and is writable but its directory is not: rewrite it in place.
      if (st?.isFile()) {
        try {
          return new OutputFile(flag, path, target, { kind: 'in-place', fd: openSync(target, constants.O_WRONLY) }, []);
        } catch {
          /* the first error says more */
        }
      }
      throw e;
    }
  }

  /** Write the whole file. A failure is recorded (see writeFailures), never thrown; false then. */
  write(text: string): boolean {
    try {
      this.commit(text);
      return true;
    } catch (e) {
      recordFailure(this.flag, this.path, e);
      return false;
    }
  }

  /** Write the whole file, throwing the file system's error (after cleaning up). */
  commit(text: string): void {
    const how = this.how;
    if (how === undefined) throw new Error(`${this.flag}: written twice`);
    this.how = undefined;
    pending.delete(this);
    let open = true;
    try {
      if (how.kind === 'in-place') ftruncateSync(how.fd, 0);
      writeFileSync(how.fd, text);
      if (how.kind === 'atomic') fsyncSync(how.fd);
      open = false;
      closeSync(how.fd);
      if (how.kind === 'atomic') renameSync(how.tmp, this.target);
    } catch (e) {
      this.cleanUp(how, open);
      throw e;
    }
  }

  /** Never to be written: remove the temporary file and the directories made for it. */
  discard(): void {
    const how = this.how;
    if (how === undefined) return;
    this.how = undefined;
    pending.delete(this);
    this.cleanUp(how, true);
  }

  private cleanUp(how: How, open: boolean): void {
    if (open) {
      try {
        closeSync(how.fd);
      } catch {
        /* a failed close still frees the descriptor */
      }
    }
    if (how.kind !== 'atomic') return;
    try {
      unlinkSync(how.tmp);
    } catch {
      /* gone already */
    }
    removeDirs(this.madeDirs);
  }
}

/**
 * A directory files are written into later, under names not known yet (hunt --out: the failing
 * seed names the replay file). Checked before the run by creating (and removing) a file in it.
 */
export class OutputDir {
  private constructor(
    readonly flag: string,
    readonly path: string,
  ) {}

  static open(flag: string, path: string): OutputDir {
    if (path.trim() === '') throw new UsageError(flag, 'needs a directory (accepted: a writable directory; missing ones are created)');
    let made: string[] = [];
    try {
      made = makeDirs(path);
      const t = createTemp(join(resolve(path), 'probe'));
      closeSync(t.fd);
      unlinkSync(t.path);
    } catch (e) {
      removeDirs(made);
      throw new UsageError(flag, `cannot write into '${path}': ${errnoText(e)} (accepted: a writable directory; missing ones are created)`);
    }
    return new OutputDir(flag, path);
  }

  /** Write `name` in the directory, atomically; its full path, or undefined (recorded) on failure. */
  write(name: string, text: string): string | undefined {
    const full = resolve(join(this.path, name));
    try {
      OutputFile.create(this.flag, full).commit(text);
      return full;
    } catch (e) {
      recordFailure(this.flag, full, e);
      return undefined;
    }
  }
}

/**
 * --events: a stream written as the run goes (a killed run keeps every line so far), so it is
 * opened — and truncated — before the run and written in place. A failed write stops the stream
 * and is recorded like any other output.
 */
export class OutputStream {
  private fd: number | undefined;

  constructor(
    readonly flag: string,
    readonly path: string,
  ) {
    try {
      makeDirs(dirname(resolve(path)));
      this.fd = openSync(path, 'w');
    } catch (e) {
      throw new UsageError(flag, `cannot write '${path}': ${errnoText(e)} (accepted: a writable file path; missing directories are created)`);
    }
  }

  get open(): boolean {
    return this.fd !== undefined;
  }

  writeLine(line: string): void {
    if (this.fd === undefined) return;
    try {
      writeFileSync(this.fd, line);
    } catch (e) {
      recordFailure(this.flag, this.path, e);
      this.close();
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Write a whole file atomically now, throwing on failure (library callers: hunt's outDir, tests). */
export function writeFileAtomic(path: string, text: string): void {
  OutputFile.create('file', path).commit(text);
}
