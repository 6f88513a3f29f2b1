/**
 * schema/mode.schema.json, generated from the field registry (mode-fields.ts) by
 * `node scripts/gen-mode-schema.mjs`; a test checks the shipped file equals this.
 */
import { MODE_CHOICES, SITES } from './modes.js';
import { GUARD_FIELDS, MODE_FIELDS, MODE_FIELD_NAMES, SITE_DESCRIPTIONS, type FieldDesc } from './mode-fields.js';

type Schema = Record<string, unknown>;

function fieldSchema(d: FieldDesc): Schema {
  switch (d.kind) {
    case 'enum':
      return { description: d.description, enum: [...d.values] };
    case 'boolean':
      return { description: d.description, type: 'boolean' };
    case 'string':
      return { description: d.description, type: 'string' };
    case 'strings':
      return { description: d.description, type: 'array', items: { type: 'string' } };
    case 'object':
      return { description: d.description, type: 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(d.fields).map(([k, f]) => [k, fieldSchema(f)])) };
    case 'guards':
      return {
        description: d.description,
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(SITES.map((s) => [s, { description: SITE_DESCRIPTIONS[s], $ref: '#/definitions/guard' }])),
      };
  }
}

export function modeSchema(): Schema {
  const props: Schema = {
    $schema: { description: 'path or URL of this schema (for editors); ignored', type: 'string' },
    extends: { description: 'the built-in mode this design starts from; the design states only what it changes (objects merge per key, guards per site and field)', enum: [...MODE_CHOICES] },
  };
  for (const k of MODE_FIELD_NAMES) if (MODE_FIELDS[k].where === 'design') props[k] = fieldSchema(MODE_FIELDS[k]);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/pmdtorture/pmdtorture/schema/mode.schema.json',
    title: 'pmdtorture protection-mode design file',
    description: 'A locking design for the hugetlb PMD-unshare vs page-table-walker race: `pmdtorture run|soak|hunt|explain --mode FILE.json`, `compare --modes a,FILE.json`. Generated from src/workers/hugetlb/mode-fields.ts; the loader also refuses combinations the model cannot run.',
    type: 'object',
    additionalProperties: false,
    required: ['extends', 'name'],
    properties: props,
    definitions: {
      guard: { type: 'object', additionalProperties: false, properties: Object.fromEntries(Object.entries(GUARD_FIELDS).map(([k, f]) => [k, fieldSchema(f)])) },
    },
  };
}

/** The schema file's text (what the generator writes and the test compares). */
export function modeSchemaText(): string {
  return JSON.stringify(modeSchema(), null, 2) + '\n';
}
