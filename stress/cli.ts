#!/usr/bin/env node
/**
 * The pmdtorture binary. The signal handlers go in before anything else is loaded (loading the
 * program takes a few hundred milliseconds on a busy machine, and a SIGINT then must still end in
 * a report: interrupt.ts); then the program itself (main.ts).
 */
import './interrupt.js';

const { runCli } = await import('./main.js');
await runCli();
