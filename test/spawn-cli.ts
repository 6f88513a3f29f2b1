/**
 * The built binary (dist/stress/cli.js, built by `pretest`) in a child process, for the CLI
 * tests: its exit code or signal, stdout and stderr; callbacks see the output as it comes (to
 * send a signal at the right moment). A child that does not exit in time is killed and the
 * promise rejects, so a hang fails the test instead of stalling the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const bin = join(root, 'dist', 'stress', 'cli.js');

export interface Out {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  timeoutMs?: number;
  cwd: string;
  env?: Record<string, string>;
  /** Run under `sh -c` with this prefix (e.g. `ulimit -f 8;`). */
  shellPrefix?: string;
  onStdout?: (all: string, child: ChildProcess) => void;
  onStderr?: (all: string, child: ChildProcess) => void;
  onSpawn?: (child: ChildProcess) => void;
}

export function runCli(args: string[], opts: CliOptions): Promise<Out> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NO_COLOR: '1', ...opts.env };
    const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;
    const child = opts.shellPrefix !== undefined
      ? spawn('sh', ['-c', `${opts.shellPrefix} exec ${[process.execPath, bin, ...args].map(quote).join(' ')}`], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(process.execPath, [bin, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    opts.onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      opts.onStdout?.(stdout, child);
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      opts.onStderr?.(stderr, child);
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pmdtorture ${args.join(' ')}: no exit within ${opts.timeoutMs ?? 30_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
