/**
 * Headless Chromium for the HTML tests: Debian's /usr/bin/chromium (or $CHROMIUM) driven by
 * playwright-core, which downloads no browser. Without it the HTML tests are skipped with the
 * reason printed on a developer's machine, but fail in CI (env CI set, and not 0/false).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
const IN_CI = !/^(|0|false)$/i.test(process.env['CI'] ?? '');

/** True when the HTML tests must be skipped; `file` and `what` name them in the printed reason. */
export function skipWithoutChromium(file: string, what: string): boolean {
  const skip = !existsSync(CHROMIUM) && !IN_CI;
  if (skip) console.warn(`${file}: SKIPPING "${what}": ${CHROMIUM} is missing (apt-get install chromium, as .ci/run does; with CI set this fails instead)`);
  return skip;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
