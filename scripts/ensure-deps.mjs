// Lets `npm test` and `npm start` work on a fresh clone: installs from the lockfile when
// node_modules is missing or older than package-lock.json. Plain Node, no dependencies.
import { existsSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync('package-lock.json').mtimeMs;
if (stale) {
  process.stderr.write('pmdtorture: installing dependencies from package-lock.json (npm ci)\n');
  execSync('npm ci --no-audit --no-fund', { stdio: ['ignore', 2, 2] });
}
