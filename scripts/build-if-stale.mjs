// `npm start` and `npm run bench`: compile with tsc only when a source (src/, stress/, bench/,
// tsconfig.json, package.json, the lockfile) is newer than the last successful build, so a
// command is not preceded by seconds of tsc each time. The last build is the stamp
// dist/.build-stamp, dated when that build started (a file saved during a build is newer).
// `--always` builds regardless (`npm run build`, and `npm test`'s pretest).
// Plain Node, no dependencies.
import { existsSync, readdirSync, statSync, writeFileSync, chmodSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const STAMP = join('dist', '.build-stamp');
const SOURCES = ['src', 'stress', 'bench', 'tsconfig.json', 'package.json', 'package-lock.json'];

/** Newest modification time under `path` (a file or a directory tree), 0 when absent. */
function newest(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  // A directory's own time moves when a file in it is added, renamed or deleted.
  let t = st.mtimeMs;
  for (const e of readdirSync(path)) t = Math.max(t, newest(join(path, e)));
  return t;
}

const always = process.argv.includes('--always');
const built = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
const changed = Math.max(...SOURCES.map(newest));
if (always || built === 0 || changed > built) {
  if (!always) process.stderr.write(`pmdtorture: ${built === 0 ? 'building' : 'sources changed since the last build: rebuilding'} (tsc)\n`);
  const start = new Date();
  // The tsc of node_modules (ensure-deps installs it first).
  execFileSync(process.execPath, [join('node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], { stdio: 'inherit' });
  chmodSync(join('dist', 'stress', 'cli.js'), 0o755);
  writeFileSync(STAMP, `built from sources as of ${start.toISOString()}\n`);
  utimesSync(STAMP, start, start);
}
