/**
 * Where compiled code lives. Workers always load the compiled JS in dist/ — the same file for
 * the CLI, the tests (vitest runs src/ through its transform but a Worker loads by path) and the
 * benchmarks — so paths are resolved from the package root, found by walking up from this
 * module to the directory holding package.json (works from src/ and from dist/src/).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error(`pmdtorture: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/**
 * Absolute path of a compiled file, `rel` relative to dist/ (e.g. 'src/workers/tasks/locktorture.js';
 * a leading 'dist/' is accepted too).
 */
export function distPath(rel: string): string {
  const r = rel.replace(/^\.?\/?dist\//, '');
  const p = join(packageRoot(), 'dist', r);
  if (!existsSync(p)) throw new Error(`pmdtorture: ${p} is missing; build first (npx tsc -p .)`);
  return p;
}
