#!/usr/bin/env node
// Writes schema/mode.schema.json from the field registry (src/workers/hugetlb/mode-fields.ts).
// Run after `npx tsc -p .`; test/mode-design.test.ts fails while the shipped file differs.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { modeSchemaText } from '../dist/src/workers/hugetlb/mode-schema.js';

const out = fileURLToPath(new URL('../schema/mode.schema.json', import.meta.url));
writeFileSync(out, modeSchemaText());
process.stdout.write(`wrote ${out}\n`);
