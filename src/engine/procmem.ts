/**
 * The process's resident memory split as the kernel counts it (/proc/self/status): RssAnon is
 * private memory (V8 heaps, malloc, SharedArrayBuffers) — where a leak shows; RssFile is pages
 * of mapped files, mostly the node binary's code, paged in the first time a path runs (the
 * first soak round change pages in a few MiB of it once). null where /proc is not there.
 */
import { readFileSync } from 'node:fs';

export interface RssSplit {
  anonBytes: number;
  fileBytes: number;
}

let unavailable = process.platform !== 'linux';

export function rssSplit(): RssSplit | null {
  if (unavailable) return null;
  try {
    const s = readFileSync('/proc/self/status', 'latin1');
    const kb = (key: string): number => {
      const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(s);
      return m ? Number(m[1]) * 1024 : NaN;
    };
    const anonBytes = kb('RssAnon');
    const fileBytes = kb('RssFile');
    if (Number.isNaN(anonBytes) || Number.isNaN(fileBytes)) throw new Error('no RssAnon/RssFile');
    return { anonBytes, fileBytes };
  } catch {
    unavailable = true;
    return null;
  }
}
