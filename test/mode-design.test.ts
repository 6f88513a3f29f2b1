/**
 * Design files (issue 15): the field registry covers every ModeTable field and call site, the
 * shipped schema is the generated one, bad designs are refused in one line with exit 2, a copy
 * of a built-in behaves exactly as the built-in (op counts, trace hash, truth table), explain
 * agrees with the truth table, a replay file replays its design without the file, and merges
 * refuse shards of different designs.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import AjvModule from 'ajv';
import { MODES, SITES, siteSafe, siteVerdict } from '../src/workers/hugetlb/modes.js';
import { GUARD_FIELDS, MODE_FIELDS, SITE_DESCRIPTIONS } from '../src/workers/hugetlb/mode-fields.js';
import { modeSchemaText } from '../src/workers/hugetlb/mode-schema.js';
import { DesignError, designFileOf, resolveDesign, modeHash } from '../src/workers/hugetlb/mode-design.js';
import { SCENARIOS, expected, truthTable } from '../src/workers/hugetlb/scenarios.js';
import { explainCell } from '../src/controlled/explain.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'dist', 'stress', 'cli.js');
const tmp = mkdtempSync(join(tmpdir(), 'pmdtorture-design-'));
const examples = join(root, 'examples', 'designs');

interface Out {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], timeoutMs = 60_000): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: tmp, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pmdtorture ${args.join(' ')}: no exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const Ajv = (AjvModule as unknown as { default?: typeof AjvModule }).default ?? AjvModule;
const ajv = new (Ajv as unknown as new (o: object) => { compile(s: object): ((d: unknown) => boolean) & { errors?: unknown } })({ allErrors: true, strict: false });
const validateDesign = ajv.compile(JSON.parse(readFileSync(join(root, 'schema', 'mode.schema.json'), 'utf8')) as object);

const write = (name: string, x: unknown): string => {
  const p = join(tmp, name);
  writeFileSync(p, typeof x === 'string' ? x : JSON.stringify(x, null, 2));
  return p;
};

describe('field registry and schema', () => {
  it('every ModeTable field of every built-in mode has a descriptor, and every descriptor a field', () => {
    for (const m of MODES) expect(Object.keys(m).sort(), `mode ${m.name}: describe new fields in src/workers/hugetlb/mode-fields.ts`).toEqual(Object.keys(MODE_FIELDS).sort());
    for (const m of MODES) for (const s of SITES) expect(Object.keys(m.guards[s]).sort(), `${m.name} guards.${s}`).toEqual(Object.keys(GUARD_FIELDS).sort());
  });

  it('every call site has a description and a schema property', () => {
    const schema = JSON.parse(modeSchemaText()) as { properties: { guards: { properties: Record<string, unknown> } } };
    expect(Object.keys(SITE_DESCRIPTIONS).sort()).toEqual([...SITES].sort());
    expect(Object.keys(schema.properties.guards.properties).sort()).toEqual([...SITES].sort());
  });

  it('the shipped schema/mode.schema.json is the generated one (node scripts/gen-mode-schema.mjs)', () => {
    expect(readFileSync(join(root, 'schema', 'mode.schema.json'), 'utf8')).toBe(modeSchemaText());
  });

  it('the schema accepts every example design and every built-in exported as a design file', () => {
    for (const f of readdirSync(examples).filter((x) => x.endsWith('.json'))) {
      const ok = validateDesign(JSON.parse(readFileSync(join(examples, f), 'utf8')));
      expect(ok, `${f}: ${JSON.stringify(validateDesign.errors)}`).toBe(true);
    }
    for (const m of MODES) expect(validateDesign(designFileOf(m)), m.name).toBe(true);
  });
});

describe('validation that teaches', () => {
  const refuse = (x: unknown): DesignError => {
    try {
      resolveDesign(x);
    } catch (e) {
      if (e instanceof DesignError) return e;
      throw e;
    }
    throw new Error(`accepted: ${JSON.stringify(x)}`);
  };
  const base = { extends: 'final', name: 'mine' };
  it.each([
    [{ ...base, guards: { 'follow-pages': { vma: 'read' } } }, '$.guards["follow-pages"]', 'unknown call site (accepted: fault, pmd-share'],
    [{ ...base, guards: { 'follow-page': { vma: 'reed' } } }, '$.guards["follow-page"].vma', "unknown value 'reed' (accepted: none, read, tryread)"],
    [{ ...base, guards: { 'follow-page': { ptl: true } } }, '$.guards["follow-page"].ptl', 'unknown guard field (accepted: walker, vma, iMmap)'],
    [{ ...base, walkerLock: 'seqlock' }, '$.walkerLock', "unknown value 'seqlock' (accepted: none, rcu, irq)"],
    [{ ...base, assertWalk: 'yes' }, '$.assertWalk', "expected true or false, got 'yes'"],
    [{ ...base, unshare: { vmaLockWrite: 1 } }, '$.unshare.vmaLockWrite', 'expected true or false'],
    [{ ...base, tableFre: 'rcu' }, '$.tableFre', 'unknown field (accepted: $schema, extends, name'],
    [{ name: 'mine' }, '$.extends', 'missing: a design states the built-in mode it starts from (accepted: none, vma-lock'],
    [{ ...base, extends: '6.1' }, '$.extends', "unknown mode '6.1' (accepted: none"],
    [{ extends: 'final' }, '$.name', 'missing'],
    [{ ...base, name: 'my/design' }, '$.name', 'is not a name'],
    [{ ...base, aliases: ['x'] }, '$.aliases', 'designs have no aliases'],
    [{ ...base, guards: { 'walk-range': { walker: true } } }, '$.guards["walk-range"].walker', "walkerLock is 'none'"],
    [{ extends: 'walker-rcu', name: 'mine', walkerLock: 'none' }, '$.walkerLock', "walkerLock is 'none'"],
    [{ ...base, guards: { 'walk-range': { vma: 'tryread' } } }, '$.guards["walk-range"].vma', "'tryread' only where a walk may not sleep"],
    [{ extends: 'walker-rcu', name: 'mine', guards: { fault: { walker: true } } }, '$.guards.fault.walker', 'cannot be held there'],
    [{ ...base, guards: { 'pmd-share': { vma: 'read' } } }, '$.guards["pmd-share"].vma', 'recursive down_read'],
    [{ ...base, name: '6.19', walkerLock: 'rcu' }, '$.name', "is the built-in mode 6.19's name and this design differs from it at $.walkerLock"],
    [[1, 2], '$', 'expected a JSON object'],
  ])('refuses %j at its path', (x, path, msg) => {
    const e = refuse(x);
    expect(e.path).toBe(path);
    expect(e.message).toContain(msg);
  });

  it('accepts the runnable combinations the model defines (rcu walker with an immediate free: a race, not an error)', () => {
    const d = resolveDesign({ extends: 'walker-rcu', name: 'rcu-immediate', tableFree: 'immediate' });
    expect(d.table.tableFree).toBe('immediate');
    expect(siteSafe(d.table, 'walk-range')).toBe(false);
    expect(siteSafe(d.table, 'follow-page')).toBe(true);
  });

  it('deep-merges guards per site and field, and keeps the base elsewhere', () => {
    const d = resolveDesign({ extends: 'final', name: 'm', guards: { 'walk-range': { iMmap: 'read' } } });
    const final = MODES.find((m) => m.aliases.includes('final'))!;
    expect(d.table.guards['walk-range']).toEqual({ ...final.guards['walk-range'], iMmap: 'read' });
    expect(d.table.guards['follow-page']).toEqual(final.guards['follow-page']);
    expect(d.extends).toBe(final.name);
    expect(d.hash).not.toBe(modeHash(final));
  });

  it('refuses bad files on the command line in one line, exit 2, naming the file and the path', async () => {
    const cases: Array<[string, string]> = [
      [write('site.json', { extends: 'final', name: 'x', guards: { gup: { vma: 'read' } } }), '$.guards.gup: unknown call site (accepted: fault,'],
      [write('bad.json', '{ "extends": "final", '), 'not valid JSON'],
      [join(tmp, 'missing.json'), 'cannot read the design file (ENOENT)'],
      [write('type.json', { extends: 'final', name: 'x', split: 3 }), "$.split: expected a string, got a number (accepted: none, may-split, hugetlb-split)"],
    ];
    for (const [file, msg] of cases) {
      for (const args of [['run', '--mode', file, '--ops', '10'], ['compare', '--modes', `none,${file}`, '--ops', '10'], ['explain', '--mode', file], ['list', '--mode', file]]) {
        const r = await cli(args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
        const lines = r.stderr.trim().split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        expect(lines[0]).toContain(file);
        expect(lines[0]).toContain(msg);
        expect(r.stderr).not.toMatch(/\n\s+at /);
      }
    }
  }, 120_000);
});

describe('explain and list derive from the same verdicts as the truth table', () => {
  it('every built-in cell: explain says what the truth table says, and its last step decides', () => {
    const tt = truthTable();
    for (const sc of SCENARIOS) {
      for (const m of MODES) {
        const c = explainCell(sc, m);
        expect(c.expected, `${sc.name} × ${m.name}`).toBe(tt.find((r) => r.scenario === sc.name)!.expected[m.name]);
        for (const s of c.sites) {
          const v = siteVerdict(m, s.site);
          expect(v.steps.at(-1)!.ok, `${m.name} ${s.site}: the last step decides`).toBe(v.safe);
          expect(s.steps).toHaveLength(v.steps.length);
        }
        expect(c.unsafe.length > 0).toBe(c.expected === 'race');
      }
    }
  });

  it('list --mode FILE prints the design\'s whole truth table, equal to the derived one', async () => {
    const file = join(examples, 'gup-fast-rfc-walker.json');
    const r = await cli(['list', '--mode', file]);
    expect(r.code).toBe(0);
    const d = resolveDesign(JSON.parse(readFileSync(file, 'utf8')));
    for (const sc of SCENARIOS) expect(r.stdout).toMatch(new RegExp(`\\n  ${sc.name} +${expected(sc, d.table)}`));
    expect(r.stdout).toContain('why, per walk site');
  });
});

describe('a copy of a built-in is the built-in', () => {
  it('list --mode 6.19 --json, renamed, gives the identical truth table, op counts and controlled trace', async () => {
    const exported = await cli(['list', '--mode', '6.19', '--json']);
    expect(exported.code).toBe(0);
    const copy = { ...(JSON.parse(exported.stdout) as Record<string, unknown>), name: 'copy-of-6.19' };
    const file = write('copy.json', copy);
    const d = resolveDesign(copy);
    const v619 = MODES.find((m) => m.name === '6.19')!;
    expect(d.hash).toBe(modeHash(v619));
    for (const sc of SCENARIOS) expect(expected(sc, d.table), sc.name).toBe(expected(sc, v619));
    const listed = await Promise.all([cli(['list', '--mode', file]), cli(['list', '--mode', '6.19'])]);
    expect(listed[0].stdout.split('\n').slice(1)).toEqual(listed[1].stdout.split('\n').slice(1));
    // Parallel run: per-op counts with --ops depend on the seed and the table only.
    const runs = [];
    for (const mode of [file, '6.19']) runs.push(await cli(['run', '--mode', mode, '--scenario', 'mixed', '--cpus', '2', '--ops', '20000', '--seed', '7', '--json', '--quiet']));
    const [a, b] = runs.map((r) => JSON.parse(r.stdout) as { ops: { total: number; perOp: Record<string, number> }; violations: { count: number }; expected: string; config: { design?: { hash: string; name: string } } });
    expect(a!.ops.perOp).toEqual(b!.ops.perOp);
    expect(a!.ops.total).toBe(20000);
    expect([a!.violations.count, b!.violations.count]).toEqual([0, 0]);
    expect(a!.expected).toBe(b!.expected);
    expect(a!.config.design).toEqual({ name: 'copy-of-6.19', hash: modeHash(v619), extends: '6.19', source: file });
    expect(b!.config.design).toBeUndefined();
    expect(runs[0]!.stderr + runs[0]!.stdout).toContain(`--mode ${file}`); // the re-run command names the file
    // Controlled run: the same seed gives a byte-identical trace when the tables are identical.
    const ctl = [];
    for (const mode of [file, '6.19']) ctl.push(JSON.parse((await cli(['run', '--sched', 'pct', '--mode', mode, '--scenario', 'mixed', '--cpus', '2', '--ops', '200', '--seed', '3', '--json', '--quiet'])).stdout) as { traceHash: string; steps: number });
    expect(ctl[0]!.traceHash).toBe(ctl[1]!.traceHash);
    expect(ctl[0]!.steps).toBe(ctl[1]!.steps);
  }, 180_000);
});

describe('replay and merge with a design', () => {
  it('a hunt on a racy design writes a replay file that embeds it and replays without the file', async () => {
    // 6.2's tables without hugetlb_walk's assertion and with follow_page's vma lock dropped: the 6.1 race again.
    const file = write('reopen.json', { extends: '6.2', name: 'reopen-follow-page', assertWalk: false, guards: { 'follow-page': { vma: 'none' } } });
    const out = join(tmp, 'replays');
    const h = await cli(['hunt', '--scenario', 'follow-page', '--mode', file, '--iterations', '1000', '--seed', '1', '--stop-at-target', '--out', out, '--quiet', '--json'], 170_000);
    expect(h.code, h.stderr).toBe(1);
    const doc = JSON.parse(h.stdout) as { replayFile: string; design: { name: string; hash: string } };
    expect(doc.design.name).toBe('reopen-follow-page');
    const replay = JSON.parse(readFileSync(doc.replayFile, 'utf8')) as { design: Record<string, unknown>; config: { mode: string } };
    expect(replay.config.mode).toBe('reopen-follow-page');
    expect(replay.design['name']).toBe('reopen-follow-page');
    rmSync(file);
    const r = await cli(['replay', doc.replayFile], 120_000);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('RECURRED');
    // A tampered embedded design is refused in one line.
    const bad = write('tampered.replay.json', { ...replay, design: { ...replay.design, walkerLock: 'futex' } });
    const t = await cli(['replay', bad]);
    expect(t.code).toBe(2);
    expect(t.stderr.trim().split('\n')).toHaveLength(1);
    expect(t.stderr).toContain("design: $.walkerLock: unknown value 'futex'");
  }, 300_000);

  it('merge refuses shards of different designs in one line', async () => {
    const a = join(examples, 'rcu-free-no-unshare-sync.json');
    const b = write('same-name.json', { ...(JSON.parse(readFileSync(a, 'utf8')) as object), walkerLock: 'irq', tableFree: 'ipi' });
    const reports = [];
    for (const [i, f] of [a, b].entries()) {
      const rep = join(tmp, `shard${i}.json`);
      const r = await cli(['run', '--mode', f, '--scenario', 'walk-range', '--cpus', '2', '--ops', '2000', '--seeds', '1-2', '--shard', `${i + 1}/2`, '--report', rep, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      reports.push(rep);
    }
    const m = await cli(['merge', ...reports]);
    expect(m.code).toBe(2);
    expect(m.stderr.trim().split('\n')).toHaveLength(1);
    expect(m.stderr).toContain('design');
  }, 120_000);
});

