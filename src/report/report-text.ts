/**
 * Human-readable reports: the run summary, violations as kernel-style splats, the lock_stat
 * table in /proc/lock_stat's column order, RCU/IPI stats, invariants, stall reports, the
 * compare table, and the command that re-runs the run.
 */
import { formatLockStat } from '../locks/lockstat.js';
import { lockClassName } from '../locks/classes.js';
import { SITES, SITE_INFO, modeByName, type Site } from '../workers/hugetlb/modes.js';
import { OPS } from '../workers/hugetlb/ops-list.js';
import { POINT_NAMES } from '../workers/hugetlb/points.js';
import { OUTCOMES } from '../workers/hugetlb/outcomes.js';
// Registers the model's trace event names in this thread.
import '../workers/hugetlb/kernel.js';
import { TRACE_PER_CPU, type ViolationRecord } from '../workers/hugetlb/violations.js';
import { describeRole } from '../workers/hugetlb/roles.js';
import type { StallReport } from '../engine/engine.js';
import type { CompareLockCell, CompareReport, RunReport, WorldsJson } from './report-json.js';
import { plain, type Paint } from './color.js';
import { latencyCells, latencyHeads, latencyRows } from './op-latency.js';

/** Violations printed in full in the human report. */
export const SPLATS_IN_FULL = 3;
/** Trace events per CPU in a splat: all a record keeps, so the free that made a pointer stale shows. */
const TRACE_PER_CPU_SHOWN = TRACE_PER_CPU;

export const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** A duration the way the flags take it: 10s, 5m, 1h, 500ms. */
export function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const fix = (n: number, d = 2): string => n.toFixed(d);
/** A total per event, 0 with no events. */
const perOp = (total: number, n: number): number => (n === 0 ? 0 : total / n);

export function table(head: string[], rows: string[][], alignLeft = 1): string[] {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => (i < alignLeft ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ').trimEnd();
  return [line(head), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)];
}

/** One trace event as text: the model's ids resolved to names. */
export function describeEvent(event: string, a: number, b: number): string {
  switch (event) {
    case 'op-start':
      return `op-start ${OPS[a]?.name ?? a} arg=${b}`;
    case 'op-end':
      return `op-end ${OPS[a]?.name ?? a} ret=${b}`;
    case 'lock':
    case 'unlock':
      return `${event} ${lockClassName(a)} @${b}`;
    case 'block':
      return `block on word ${a} (expects ${b})`;
    case 'point':
      return `point ${POINT_NAMES[a] ?? a}${b ? ' (widened)' : ''}`;
    case 'violation':
      return `violation ${OUTCOMES[a] ?? a} page ${b}`;
    case 'hugetlb_walk':
      // GUP-fast does not call hugetlb_walk: it reads the PUD entry itself, IRQs off, no locks.
      return siteName(a) === 'gup-fast' ? `gup_fast_pud_range (IRQs off, no locks) → page ${b}` : `hugetlb_walk ${siteName(a)} → page ${b}`;
    case 'page_role':
      return `page ${a} is now ${describeRole(b)}`;
    case 'tlb_remove_table_sync_one':
      return `tlb_remove_table_sync_one: IPI to every CPU${a > 0 ? ` (gather: ${a} table${a > 1 ? 's' : ''} became exclusive)` : ''}`;
    case 'pud_clear':
      return `pud_clear mm ${a} page ${b}`;
    case 'free_table':
      return `free_table page ${a} gen ${b}`;
    case 'huge_pmd_share':
      return `huge_pmd_share mm ${a} page ${b}`;
    case 'pmd_alloc':
      return `pmd_alloc mm ${a} page ${b}`;
    case 'deref':
      return `deref ${siteName(a)} → ${OUTCOMES[b] ?? b}`;
    default:
      return `${event} ${a} ${b}`;
  }
}

function siteName(i: number): string {
  return SITES[i] ?? String(i);
}

function interleave(trace: ViolationRecord['trace'], perCpu: number): ViolationRecord['trace'] {
  const byCpu = new Map<number, ViolationRecord['trace']>();
  for (const e of trace) {
    const l = byCpu.get(e.cpu) ?? [];
    l.push(e);
    byCpu.set(e.cpu, l);
  }
  const keep = [...byCpu.values()].flatMap((l) => l.slice(-perCpu));
  return keep.sort((x, y) => x.us - y.us || x.cpu - y.cpu);
}

const ACCESS_VERB: Record<string, string> = { read: 'Read of', lock: 'Lock of the ptl of', write: 'Write to', get_page: 'get_page on', walk: 'Walk through' };

/** ` = v6.2, arm64` for a kernel version's mode (the splat names what it ran). */
function modeKernel(name: string): string {
  const m = modeByName(name);
  return m !== undefined && m.kernel.startsWith('v') ? ` = ${m.kernel}, ${m.arch}` : '';
}

/** The role that made a table foreign to mm `mm`: the last 'private to' another mm in its history. */
function foreignRole(history: ReadonlyArray<{ role: string }>, mm: number): string {
  const own = `private to mm ${mm}`;
  return [...history].reverse().find((r) => r.role.startsWith('private to mm ') && r.role !== own)?.role ?? history[history.length - 1]!.role;
}

/** A violation as a KASAN-style splat. */
export function formatSplat(v: ViolationRecord, p: Paint = plain): string {
  const bar = '='.repeat(78);
  const kernel = (SITE_INFO as Record<string, { kernel: string } | undefined>)[v.site]?.kernel;
  const out = [
    bar,
    p.red(p.bold(`BUG: pmdtorture: ${v.kind} in ${v.site}${kernel ? ` [${kernel}]` : ''} (scenario ${v.scenario}, mode ${v.mode}${modeKernel(v.mode)})`)),
    `${ACCESS_VERB[v.access] ?? v.access} ${v.pageLevel.toUpperCase()} page ${v.page} by CPU ${v.cpu}${v.world !== undefined ? ` (world ${v.world})` : ''} in op ${v.op}, at ${v.us} µs`,
    ...(v.kind === 'pud-overwrite'
      ? [
          // The populate is not a walk: `value` is the generation the overwritten entry carried.
          `populated mm ${v.mm} PUD[${v.pudIndex}] over a present entry → PMD page ${v.page} (generation ${v.value}): both populates saw it empty, each under its own lock, and page ${v.page} lost this link and the reference it held`,
          ...(v.rerun !== undefined ? [`re-run: ${v.rerun}`] : []),
          `the page is at generation ${v.pageGen}, state ${v.pageState}, level ${v.pageLevel}, allocated by mm ${v.pageOwner}`,
        ]
      : [
          `walked from mm ${v.mm} PUD[${v.pudIndex}] → slot ${v.slot}, entry value 0x${(v.value >>> 0).toString(16)}`,
          ...(v.rerun !== undefined ? [`re-run: ${v.rerun}`] : []),
          `the pointer carried generation ${v.pointerGen}; the page is at generation ${v.pageGen}${v.pointerGen !== v.pageGen ? ' (freed since the walk)' : ''}, state ${v.pageState}, level ${v.pageLevel}, allocated by mm ${v.pageOwner}`,
        ]),
    ...(v.kind === 'foreign-table' && v.roleHistory !== undefined
      ? [`mm ${v.mm}'s ${v.site} read its PUD entry, then grabbed a folio through PMD page ${v.page}, which had become ${foreignRole(v.roleHistory, v.mm)}: another process's page table`]
      : []),
    ...(v.roleHistory !== undefined ? [`roles of page ${v.page}, oldest first:`, ...v.roleHistory.map((r) => `  [${String(r.us).padStart(9)} µs] ${r.role}`)] : []),
    '',
    v.heldLocks.length ? `${v.heldLocks.length} lock${v.heldLocks.length > 1 ? 's' : ''} held by CPU ${v.cpu}/${v.op}:` : `no locks held by CPU ${v.cpu}/${v.op}`,
    ...v.heldLocks.map((h, i) => ` #${i}: ${h.cls} (${h.mode}) @${h.at}`),
    '',
    'last trace events of every CPU, interleaved (each CPU in its own order; µs read every 4th event, after',
    'every wait and at bad dereferences, so across CPUs the order is exact only to a few events):',
    ...interleave(v.trace, TRACE_PER_CPU_SHOWN).map((e) => `  [${String(e.us).padStart(9)} µs] cpu${e.cpu}: ${describeEvent(e.event, e.a, e.b)}`),
    bar,
  ];
  return out.join('\n');
}

/** What each CPU was doing when the watchdog called a stall. */
export function formatStalls(stalls: readonly StallReport[], timeoutMs: number, p: Paint = plain, errors: readonly string[] = []): string {
  const who = errors.find((e) => /made no progress/.test(e));
  const out = [p.red(p.bold(`INFO: stall: ${who ?? 'a CPU made no progress'} (--stall-timeout ${fmtMs(timeoutMs)}); state of every CPU:`))];
  for (const s of stalls) {
    const owners = stalls.filter((o) => o.cpu !== s.cpu && o.heldLocks.some((h) => (s.waitingFor === null || h.name === s.waitingFor) && s.waitingOn >= h.at && s.waitingOn - h.at < 8));
    const wait =
      s.state === 'blocked'
        ? `blocked on word ${s.waitingOn}${s.waitingFor ? ` acquiring ${s.waitingFor}` : ''}${owners.length ? ` held by cpu ${owners.map((o) => o.cpu).join(', ')}` : ''}`
        : s.state;
    out.push(`cpu ${s.cpu}: ${wait}; op ${s.op}; irqs ${s.irqsOff ? 'off' : 'on'}; rcu ${s.rcuReader ? 'holding grace periods (read-side section, or quiescent state not yet reported)' : 'quiescent'}`);
    if (s.heldLocks.length === 0) out.push('  holds no locks');
    else out.push(`  holds ${s.heldLocks.length} lock${s.heldLocks.length > 1 ? 's' : ''}:`, ...s.heldLocks.map((h, i) => `   #${i}: ${h.name} (${h.mode}) @${h.at}`));
    out.push('  last events:', ...s.lastEvents.slice(-10).map((e) => `   [${String(e.us).padStart(9)} µs] ${describeEvent(e.event.replace(/ \(.*\)$/, ''), e.a, e.b)}`));
  }
  return out.join('\n');
}

function statusWord(r: { status: string; violations: { count: number } }, p: Paint): string {
  switch (r.status) {
    case 'ok':
      return p.green('OK');
    case 'violations':
      // A run with no violation has this status when an invariant check failed.
      return p.red(r.violations.count > 0 ? `VIOLATIONS (${int(r.violations.count)})` : 'INVARIANTS FAILED');
    case 'crashed':
      return p.red('CRASHED (internal error)');
    case 'stalled':
      return p.red('STALLED');
    case 'interrupted':
      return p.yellow(`INTERRUPTED${r.violations.count > 0 ? ` with ${int(r.violations.count)} violations` : ''}`);
    default:
      return r.status;
  }
}

function lengthText(r: RunReport): string {
  if (r.config.ops > 0) return `--ops ${r.config.ops}`;
  if (r.config.durationMs === null) return 'until interrupted';
  return `--duration ${fmtMs(r.config.durationMs)}`;
}

const listSeeds = (xs: readonly number[]): string => (xs.length > 12 ? `${xs.slice(0, 10).join(', ')}, … (${xs.length})` : xs.join(', '));

/** Which seeds the report covers: one seed, the seeds of `run --seeds`, or each merged shard's. */
function seedsOf(r: RunReport): string {
  const m = r.merged;
  if (m) {
    const parts = m.shards.map((s) => `${s.shard ? `shard ${s.shard.index}/${s.shard.count}` : 'report'} (${s.file})${s.seeds ? ` seed${s.seeds.length === 1 ? '' : 's'} ${listSeeds(s.seeds)}` : ''}`);
    return `merge of ${m.reports} ${m.shards.some((s) => s.shard) ? 'shards' : 'reports'}: ${parts.join('; ')}`;
  }
  if (r.seeds) return `seed${r.seeds.length === 1 ? '' : 's'} ${listSeeds(r.seeds)}${r.shard ? ` (shard ${r.shard.index}/${r.shard.count})` : ''}`;
  return `seed ${r.seed}${r.seedRandom ? ' (random)' : ''}`;
}

/** ops and rate; a merge's rate is the sum of its shards' (each over its own measured time). */
function opsText(r: RunReport): string {
  const sec = fix((r.timing.runMs ?? r.timing.elapsedMs) / 1000);
  if (r.merged) return `${int(r.ops.total)} ops in ${r.merged.reports} shards (longest ${sec} s) = ${int(r.ops.perSecond)} ops/s, the sum of the shards' rates`;
  return `${int(r.ops.total)} ops in ${sec} s = ${int(r.ops.perSecond)} ops/s`;
}

/** `2 CPUs` or `4 CPUs in 2 worlds`. */
export function cpusText(c: { cpus: number; worlds?: number | undefined }): string {
  const w = c.worlds ?? 1;
  return `${c.cpus} CPU${c.cpus === 1 ? '' : 's'}${w > 1 ? ` in ${w} worlds` : ''}`;
}

/** Each world's CPUs, ops, violations and first violation. */
function worldsText(w: WorldsJson): string {
  const one = (x: WorldsJson['perWorld'][number]): string =>
    `  world ${x.world} (cpu ${x.cpus.join(', ')}): ${int(x.ops)} ops, ${plural(x.violations, 'violation')}${x.firstViolationMs !== null ? `, the first after ${fix(x.firstViolationMs, 1)} ms` : ''}`;
  return [`worlds: ${w.count} (CPU c works in world c mod ${w.count}, on its own processes, files and page tables)`, ...w.perWorld.map(one)].join('\n');
}

/** A failed invariant check in one line: its first error, and how many more. */
export function invariantsText(errors: readonly string[]): string {
  return `${errors[0] ?? 'no error recorded'}${errors.length > 1 ? `, and ${errors.length - 1} more` : ''}`;
}

/** The few lines --quiet prints. */
export function formatSummary(r: RunReport, p: Paint = plain): string {
  const c = r.config;
  const kinds = Object.entries(r.violations.byKind).map(([k, n]) => `${k} ${int(n)}`).join(', ');
  return [
    `pmdtorture ${r.kind}: ${statusWord(r, p)} — scenario ${c.scenario}, mode ${c.mode} (expected ${r.expected}), ${cpusText(c)}, ${seedsOf(r)}`,
    `  ${opsText(r)}; violations ${int(r.violations.count)}${kinds ? ` (${kinds})` : ''}; invariants ${r.invariants.ok ? 'ok' : `FAILED${r.invariants.errors.length > 0 ? ` (${invariantsText(r.invariants.errors)})` : ''}`}; exit ${r.exitCode}`,
    `  re-run: ${r.command}`,
  ].join('\n');
}

/** The full human report of a run or soak. */
/** CPUs listed one by one in the text report; beyond, min / median / max (every CPU is in the JSON). */
export const PER_CPU_LISTED = 8;

/** Ops per CPU: each CPU's count, or for many CPUs their spread. */
export function perCpuText(perCpu: readonly number[]): string {
  if (perCpu.length <= PER_CPU_LISTED) return perCpu.map(int).join(' / ');
  const s = [...perCpu].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return `min ${int(s[0]!)} / median ${int(median)} / max ${int(s[s.length - 1]!)} over ${perCpu.length} CPUs (each in the JSON report)`;
}

export function formatRunReport(r: RunReport, p: Paint = plain): string {
  const c = r.config;
  const out: string[] = [];
  out.push(p.bold(`pmdtorture ${r.kind}: scenario ${c.scenario}, mode ${c.mode} (truth table: ${r.expected}), ${cpusText(c)} on ${c.cores} cores${c.oversubscribed ? ' (oversubscribed)' : ''}`));
  out.push(`${seedsOf(r)}; ${lengthText(r)}; widen ${c.widen ? `p=${c.widen.prob} ${c.widen.us} µs at ${c.widen.points.length ? c.widen.points.join(', ') : 'every point'}` : 'off'}; lock_stat ${c.lockstat ? 'on' : 'off'}; stop on violation ${c.stopOnViolation ? (c.stopAtSites ? `at ${c.stopAtSites.join(', ')}` : 'on') : 'off'}; stall timeout ${fmtMs(c.stallTimeoutMs)}`);
  if (r.widened) {
    // The widened points (all when none is named) and any other that waited.
    const named = new Set(c.widen?.points.map((s) => s.split(':')[0]!));
    const shown = Object.entries(r.widened).filter(([k, n]) => n > 0 || named.size === 0 || named.has(k));
    out.push(`widening delays taken: ${shown.map(([k, n]) => `${k} ${int(n)}`).join(', ') || 'none'}`);
  }
  out.push(`status: ${statusWord(r, p)}   exit ${r.exitCode}`);
  out.push(`ops: ${opsText(r)}; per CPU ${perCpuText(r.ops.perCpu)}${r.timing.firstOpMs !== null ? `; first op ${int(r.timing.firstOpMs)} ms after start` : ''}`);
  if (r.worlds) out.push(worldsText(r.worlds));
  out.push('');

  const opRows = Object.keys(r.ops.perOp).map((k) => [k, int(r.ops.perOp[k]!), int(r.ops.perOpPerSecond[k] ?? 0), int(r.ops.failed[k] ?? 0), ...latencyCells(r.opLatency, k)]);
  if (opRows.length) out.push('operations:', ...table(['op', 'count', 'ops/s', 'failed', ...latencyHeads(r.opLatency)], opRows).map((l) => `  ${l}`), '');

  const sites = Object.keys(r.outcomes);
  if (sites.length) {
    const kinds = OUTCOMES.filter((k) => sites.some((s) => (r.outcomes[s]![k] ?? 0) > 0) || k === 'ok');
    const rows = sites.map((s) => [s, ...kinds.map((k) => int(r.outcomes[s]![k] ?? 0))]);
    out.push('outcomes per site:', ...table(['site', ...kinds], rows).map((l) => `  ${l}`), '');
  }

  const v = r.violations;
  if (v.count > 0) {
    const kinds = Object.entries(v.byKind).map(([k, n]) => `${k} ${int(n)}`).join(', ');
    const sitesTxt = Object.entries(v.bySite).map(([k, n]) => `${k} ${int(n)}`).join(', ');
    out.push(p.red(`violations: ${int(v.count)}${kinds ? ` — by kind: ${kinds}` : ''}`));
    if (sitesTxt) out.push(`  by site: ${sitesTxt}`);
    // A run that stopped at the scenario's own sites shows the violation it stopped at first.
    const stopAt = c.stopAtSites;
    const aimed = stopAt ? v.recorded.filter((x) => stopAt.includes(x.site)) : [];
    const shown = [...aimed, ...v.recorded.filter((x) => !aimed.includes(x))].slice(0, SPLATS_IN_FULL);
    out.push(`  ${aimed.length > 0 && aimed.length < v.recorded.length ? `those at ${stopAt!.join(', ')} first, then the others: ` : 'first '}${shown.length} in full (${v.recorded.length} recorded${v.count > v.recorded.length ? `, the rest counted` : ''}):`, '');
    for (const s of shown) out.push(formatSplat(s, p), '');
  } else {
    out.push(`violations: 0${r.expected === 'race' && c.mode !== 'final' ? ' (the truth table expects a race here: try --widen or a longer run)' : ''}`, '');
  }

  if (c.lockstat && r.lockstat.length) out.push(formatLockStat(r.lockstat), '');
  else if (!c.lockstat) out.push('lock_stat: off (--no-lockstat)', '');

  const rc = r.rcu;
  out.push(`rcu: grace periods ${int(rc.gracePeriods)} (async ${int(rc.asyncGracePeriods)}), gp latency p50 ${rc.gpP50Us} µs p99 ${rc.gpP99Us} µs; callbacks queued ${int(rc.callbacksQueued)} invoked ${int(rc.callbacksInvoked)} backlog ${int(rc.backlog)} (max ${int(rc.maxBacklog)}); stalls ${rc.stalls}`);
  const ip = r.ipi;
  out.push(`ipi: shootdowns ${int(ip.shootdowns)}, sent ${int(ip.sent)}, acked ${int(ip.acks)}, latency p50 ${ip.p50Us} µs p99 ${ip.p99Us} µs; senders waited ${fix((ip.waitUs ?? 0) / 1000, 1)} ms in all, ${fix(ip.meanWaitUs ?? 0, 1)} µs per broadcast; deadlocks ${ip.deadlocks}`);
  const m = r.model;
  out.push(`model: unshares ${int(m.unshares)}, table frees ${int(m.tableFrees)}, shares ${int(m.shares)}, PMD allocs ${int(m.pmdAllocs)}, destroyer saw stale ${int(m.destroyerSawStale)}, follow-page at a migration entry: waited ${int(m.migrationWaits ?? 0)}, returned (patch 3) ${int(m.migrationNoWait ?? 0)}, tlb_remove_table_sync_one ${int(m.syncOne ?? 0)}, TLB flushes ${int(m.tlbFlushes ?? 0)}, exit_mmap ${int(m.exitMmaps ?? 0)} (mean ${fix(perOp(m.exitMmapUs ?? 0, m.exitMmaps ?? 0), 1)} µs, of it mmap_lock wait ${fix(perOp(m.exitMmapWaitUs ?? 0, m.exitMmaps ?? 0), 1)}, IPI wait ${fix(perOp(m.exitMmapIpiUs ?? 0, m.exitMmaps ?? 0), 1)})${m.populateOverwrites ? `, PUD entries populated over a present one ${int(m.populateOverwrites)} (6.2's populate race)` : ''}${m.forkSameTable ? `, fork found the child's table to be the parent's after its count said unshared ${int(m.forkSameTable)}` : ''}${m.forkInterimExits ? `, fork found the child's slot used since its exit ${int(m.forkInterimExits)}` : ''}`);
  const byOp = Object.entries(r.ipi.byOp ?? {});
  if (byOp.length > 0) out.push(`ipi per op (sent/acked, senders' wait): ${byOp.map(([op, n]) => `${op} ${int(n.sent)}/${int(n.acked)} ${fix((n.waitUs ?? 0) / 1000, 1)} ms`).join(', ')}`);
  const pool = r.invariants.pool;
  const poolText = (q: typeof pool): string => `pool free ${q.free} live ${q.live} pending ${q.pending}; allocs ${int(q.allocs)} frees ${int(q.frees)} failures ${q.allocFailures}`;
  out.push(`invariants: ${r.invariants.ok ? p.green('ok') : p.red('FAILED')} (${r.merged ? `summed over ${r.merged.reports} shards: ` : ''}${poolText(pool)})`);
  for (const sh of r.merged?.shards ?? []) {
    if (sh.invariants) out.push(`  ${sh.shard ? `shard ${sh.shard.index}/${sh.shard.count}` : sh.file}: ${sh.invariants.ok ? 'ok' : 'FAILED'} (${poolText(sh.invariants.pool)})`);
  }
  for (const e of r.invariants.errors.slice(0, 10)) out.push(`  ${e}`);
  if (r.lockdep.length) {
    out.push(p.red(`lockdep: ${r.lockdep.length} report${r.lockdep.length > 1 ? 's' : ''}`));
    for (const l of r.lockdep.slice(0, 5)) out.push(`  ${l.message.split('\n').join('\n  ')}`);
    if (modeByName(c.mode)?.splitAssertsVmaLock === true && r.lockdep.every((l) => l.message.includes('__split_vma') && l.message.includes('vma_lock'))) {
      out.push('  all at __split_vma: the kernel\'s own false positive from 081056dc00a2 (hugetlb_split holds no hugetlb vma lock), fixed by "mm/hugetlb: avoid false positive lockdep assertion" (2026); modelled as the kernel has it, not a violation');
    }
  }
  if (r.soak) {
    const s = r.soak;
    out.push(`soak: ${plural(s.rounds, 'round')} of ${fmtMs(s.roundMs)}; invariant failures ${s.invariantFailures}; RSS first ${mb(s.rss.firstBytes)} last ${mb(s.rss.lastBytes)} max ${mb(s.rss.maxBytes)}${s.rss.anonLastBytes !== undefined ? `; RssAnon first ${mb(s.rss.anonFirstBytes ?? 0)} last ${mb(s.rss.anonLastBytes)} max ${mb(s.rss.anonMaxBytes ?? 0)}` : ''}`);
  }
  if (r.errors.length) {
    out.push(p.red('errors:'));
    for (const e of r.errors.slice(0, 10)) out.push(`  ${e.split('\n')[0]}`);
  }
  if (r.stalls.length) out.push('', formatStalls(r.stalls, c.stallTimeoutMs, p, r.errors));
  out.push('', `re-run: ${r.command}`);
  return out.join('\n');
}

/** `1 round`, `2 rounds` (with thousands separators). */
export const plural = (n: number, word: string): string => `${int(n)} ${word}${n === 1 ? '' : 's'}`;

export const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;

/**
 * compare rows per op kind that sent IPIs in any mode: IPIs sent (and acknowledged) per op of that
 * kind, and the senders' wait per op; exit_mmap's mean time when any mode exited.
 */
function ipiPerOpRows(modes: readonly string[], run: (m: string) => RunReport | undefined): string[][] {
  const kinds = [...new Set(modes.flatMap((m) => Object.keys(run(m)?.ipi.byOp ?? {})))];
  const rows: string[][] = [];
  for (const op of kinds) {
    const cell = (m: string, f: (n: NonNullable<RunReport['ipi']['byOp']>[string], ops: number) => string): string => {
      const r = run(m);
      const n = r?.ipi.byOp?.[op];
      return n && r ? f(n, r.ops.perOp[op] ?? 0) : '-';
    };
    rows.push([`ipi sent/acked per ${op}`, ...modes.map((m) => cell(m, (n, ops) => `${fix(perOp(n.sent, ops), 1)}/${fix(perOp(n.acked, ops), 1)}`))]);
    rows.push([`ipi wait µs per ${op}`, ...modes.map((m) => cell(m, (n, ops) => fix(perOp(n.waitUs ?? 0, ops), 1)))]);
  }
  if (modes.some((m) => (run(m)?.model.exitMmaps ?? 0) > 0)) {
    rows.push(['exit_mmap mean µs', ...modes.map((m) => fix(perOp(run(m)?.model.exitMmapUs ?? 0, run(m)?.model.exitMmaps ?? 0), 1))]);
    const part = (m: string, us: 'exitMmapWaitUs' | 'exitMmapIpiUs'): string => fix(perOp(run(m)?.model[us] ?? 0, run(m)?.model.exitMmaps ?? 0), 1);
    rows.push(['  of it mmap_lock / IPI wait', ...modes.map((m) => `${part(m, 'exitMmapWaitUs')} / ${part(m, 'exitMmapIpiUs')}`)]);
  }
  return rows;
}

/** The side-by-side table of `compare`. */
export function formatCompare(rep: CompareReport, p: Paint = plain): string {
  const t = rep.table;
  const modes = t.modes;
  const first = rep.runs[0];
  const out: string[] = [];
  if (first) {
    const c = first.config;
    out.push(p.bold(`pmdtorture compare: scenario ${c.scenario}, ${cpusText(c)}, seed ${rep.seed}, ${c.ops > 0 ? `${int(c.ops)} ops` : c.durationMs === null ? 'until interrupted' : fmtMs(c.durationMs)} per mode${c.widen ? `, widen p=${c.widen.prob} ${c.widen.us} µs` : ''}`));
  }
  out.push('');
  const opRows = Object.keys(t.opsPerSecond).map((op) => [op, ...modes.map((m) => int(t.opsPerSecond[op]![m] ?? 0))]);
  opRows.push(['total', ...modes.map((m) => int(t.totalOpsPerSecond[m] ?? 0))]);
  out.push('ops/s per op kind:', ...table(['op', ...modes], opRows).map((l) => `  ${l}`), '');
  if (t.latency) out.push('latency per op kind, p50 / p99 µs:', ...table(['op', ...modes], latencyRows(t.latency, modes)).map((l) => `  ${l}`), '');
  const vRows = [
    ['violations', ...modes.map((m) => int(t.violations[m]!.count))],
    ['expected', ...modes.map((m) => t.violations[m]!.expected)],
    ['verdict', ...modes.map((m) => verdict(t.violations[m]!.count, t.violations[m]!.expected, t.violations[m]!.status))],
  ];
  out.push('violations vs the truth table:', ...table(['', ...modes], vRows).map((l) => `  ${l}`), '');
  const run = (m: string): RunReport | undefined => rep.runs.find((r) => r.config.mode === m);
  const dRows = [
    ['rcu grace periods', ...modes.map((m) => int(run(m)?.rcu.gracePeriods ?? 0))],
    ['rcu gp p99 µs', ...modes.map((m) => String(run(m)?.rcu.gpP99Us ?? 0))],
    ['ipi shootdowns', ...modes.map((m) => int(run(m)?.ipi.shootdowns ?? 0))],
    ['ipi p99 µs', ...modes.map((m) => String(run(m)?.ipi.p99Us ?? 0))],
    ['ipi wait µs/broadcast', ...modes.map((m) => fix(run(m)?.ipi.meanWaitUs ?? 0, 1))],
    ...ipiPerOpRows(modes, run),
    ['table frees', ...modes.map((m) => int(run(m)?.model.tableFrees ?? 0))],
  ];
  out.push('page-table freeing (RCU grace periods, TLB-shootdown IPIs):', ...table(['', ...modes], dRows).map((l) => `  ${l}`), '');
  const metrics: Array<[string, (c: CompareLockCell) => string]> = [
    ['acquisitions', (c) => int(c.acquisitions)],
    ['contentions', (c) => int(c.contentions)],
    ['wait p50 µs', (c) => fix(c.waitP50)],
    ['wait p99 µs', (c) => fix(c.waitP99)],
    ['hold p99 µs', (c) => fix(c.holdP99)],
    // The op name only (the kernel function is in the run's lock_stat lists), to keep columns narrow.
    ['top waiter', (c) => (c.topWaiter ? `${c.topWaiter.site.split(' [')[0]} ${c.topWaiter.count}` : '-')],
  ];
  if (t.locks.length) {
    const rows: string[][] = [];
    const rw = new Set(t.locks.filter((l) => l.side === 'read').map((l) => l.name));
    for (const l of t.locks) {
      const label = rw.has(l.name) ? `${l.name}-${l.side === 'read' ? 'R' : 'W'}` : l.name;
      metrics.forEach(([name, f], i) => rows.push([i === 0 ? label : '', name, ...modes.map((m) => (l.perMode[m] ? f(l.perMode[m]) : '-'))]));
    }
    out.push('lock classes (lock_stat):', ...table(['class', 'metric', ...modes], rows, 2).map((l) => `  ${l}`));
  } else out.push('lock classes: lock_stat off');
  out.push('', `re-run: ${rep.command}`);
  return out.join('\n');
}

function verdict(count: number, expected: string, status: string): string {
  if (status === 'crashed' || status === 'stalled' || status === 'interrupted') return status;
  if (expected === 'race') return count > 0 ? 'race found' : 'not found';
  return count > 0 ? 'UNEXPECTED' : 'safe';
}

export function siteKernel(site: string): string | undefined {
  return (SITE_INFO as Record<string, { kernel: string }>)[site as Site]?.kernel;
}
