/**
 * Why a scenario × mode cell is race or safe, in words, from the same siteVerdict steps that
 * siteSafe and the truth table use (modes.ts): explain cannot disagree with `list`. Then, for a
 * race, the shortest interleaving a controlled hunt (stopping at the scenario's unsafe sites)
 * and a shrink find, printed as the usual interleaving.
 */
import { SITE_INFO, siteVerdict, type Guard, type ModeTable, type SafetyStep, type Site } from '../workers/hugetlb/modes.js';
import { SCENARIOS, expected, sitesOf, type Expected, type Scenario } from '../workers/hugetlb/scenarios.js';
import { OPS } from '../workers/hugetlb/ops-list.js';
import { loadedDesign } from '../workers/hugetlb/mode-design.js';
import { controlledConfig, type ControlledResult } from './run.js';
import type { ReplayFile } from '../sched/replay.js';
import { replayFileOf } from './replay-file.js';
import { hunt } from './hunt.js';
import { foundByText } from '../sched/portfolio.js';
import { shrinkReplay } from './shrink.js';
import { formatInterleaving } from './interleaving.js';

const WALKER_LOCK: Record<ModeTable['walkerLock'], string> = { none: 'nothing', rcu: 'rcu_read_lock()', irq: 'local_irq_disable()' };

/** The locks a guard takes, in the order guardEnter takes them (kernel.ts), with kernel names. */
export function guardLocks(m: ModeTable, g: Guard): string[] {
  const out: string[] = [];
  if (g.vma === 'read') out.push('hugetlb_vma_lock_read');
  if (g.vma === 'tryread') out.push('hugetlb_vma_trylock_read (FOLL_NOWAIT; -EAGAIN when contended)');
  if (g.iMmap !== 'none') out.push(`i_mmap_lock_${g.iMmap}`);
  if (g.walker) out.push(`hugetlb_walker_lock() = ${WALKER_LOCK[m.walkerLock]}`);
  return out;
}

/** How a freed table is released in this mode (tlb_remove_table). */
export function tableFreeText(m: ModeTable): string {
  switch (m.tableFree) {
    case 'immediate':
      return 'freed at once when its last reference drops (put_page → free: no deferral)';
    case 'rcu':
      return 'freed after an RCU grace period (MMU_GATHER_RCU_TABLE_FREE: tlb_remove_table → call_rcu → tlb_remove_table_rcu)';
    case 'ipi':
      return 'freed after a TLB-shootdown IPI every CPU acknowledged with IRQs enabled (tlb_remove_table_sync_one)';
  }
}

/** One sentence per decided rule, ✓ when it held. */
export function stepText(m: ModeTable, site: Site, s: SafetyStep): string {
  const g = m.guards[site];
  const info = SITE_INFO[site];
  const mark = s.ok ? '✓' : '✗';
  switch (s.rule) {
    case 'split-locks':
      return s.ok
        ? `${mark} the split unshares inside __split_vma (hugetlb_split, 081056dc00a2) under the VMA write lock and i_mmap write, the locks a fault needs to re-share: no table is shared again before the bounds change`
        : `${mark} the split unshares before __split_vma takes its locks (split ${m.split}: hugetlb_vm_op_split / may_split): a fault can re-share the table before the bounds change, leaving a shared table under a VMA that no longer covers its PUD (CVE-2025-38084)`;
    case 'populate-lock':
      return s.ok
        ? `${mark} huge_pmd_share and pmd_alloc populate the PUD entry under one lock (populateLock ${m.populateLock}): two faults of one mm cannot both see it empty`
        : `${mark} huge_pmd_share populates the PUD entry under the shared page's ptl while pmd_alloc uses mm->page_table_lock (populateLock ptl): a fault of the same mm can replace the table this fault just shared and walked, and the entry is installed in a table its mm no longer links (fixed by 349d1670008d, 6.5)`;
    case 'lockless':
      return s.ok
        ? `${mark} it walks with IRQs off and no lock, and both ways a table leaves its mm wait for IRQ-off CPUs: the free (tableFree ${m.tableFree}) and the end of sharing (unshareSync ${m.unshareSync}${m.mmuGather && m.arch === 'x86' ? ', and the x86 TLB-flush IPI before i_mmap_rwsem is released' : ''})`
        : m.tableFree === 'immediate'
          ? `${mark} it walks with IRQs off and no lock, and a table is freed at once (tableFree immediate): nothing waits for it`
          : `${mark} it walks with IRQs off and no lock, and huge_pmd_unshare does not wait for IRQ-off CPUs (unshareSync ${m.unshareSync}, arch ${m.arch}): the table can become another mm's own table under it (1013af4f585f, CVE-2025-38085)`;
    case 'assert-walk':
      return s.ok
        ? `${mark} hugetlb_walk()'s lockdep assertion (assertWalk) holds: it walks under the vma lock or i_mmap_rwsem`
        : `${mark} assertWalk is on and it walks under neither the walked VMA's vma lock nor i_mmap_rwsem: every walk of a shareable VMA is a lock-rule violation (hugetlb_walk → lockdep assertion)`;
    case 'vma-lock':
      if (s.ok) return `${mark} it holds hugetlb_vma_lock_read and every unshare takes hugetlb_vma_lock_write (unshare.vmaLockWrite): no unshare of its VMA runs during the walk`;
      if (g.vma === 'none') return `${mark} no hugetlb vma lock`;
      if (info.otherMm) return `${mark} its vma lock is its own VMA's; the tables it walks are other mms' VMAs' (reached through i_mmap), whose unshares it does not exclude`;
      return `${mark} it holds the vma lock for read, but the unshare paths do not take it for write (unshare.vmaLockWrite false)`;
    case 'i-mmap':
      if (s.ok) return `${mark} it holds i_mmap_lock_${g.iMmap} and every unshare takes i_mmap_lock_write (unshare.iMmapWrite): no unshare of the file runs during the walk`;
      if (g.iMmap === 'none') return `${mark} no i_mmap_rwsem`;
      return `${mark} it holds i_mmap_rwsem, but the unshare paths do not take it for write (unshare.iMmapWrite false)`;
    case 'walker-lock':
      return s.ok
        ? `${mark} it holds the walker lock, ${WALKER_LOCK[m.walkerLock]}: nothing excludes the unshare, so the question is whether the free waits for it`
        : `${mark} no walker lock either: huge_pmd_unshare → put_page can free the PMD page while it dereferences it`;
    case 'free-deferred':
      if (s.ok) return `${mark} a table is ${tableFreeText(m)}, which waits for a ${WALKER_LOCK[m.walkerLock]} section: the page stays intact (pending free) until it is done`;
      return `${mark} but a table is ${tableFreeText(m)}, which does not wait for a ${WALKER_LOCK[m.walkerLock]} section (walkerLock ${m.walkerLock} with tableFree ${m.tableFree})`;
    case 'read-only':
      if (s.ok) return `${mark} it only reads through ptep, locklessly`;
      return `${mark} but it ${[info.takesPtl ? 'takes the ptl of' : '', info.writes ? 'writes to' : ''].filter((x) => x).join(' and ')} the walked page: the walker lock keeps the page from being freed, not from being unshared, so that ptl no longer serialises with this mm's (stale-lock / stale-write)`;
    case 'stale-read':
      return s.ok
        ? `${mark} a stale read after an unshare is accepted (acceptStaleRead): the value may be old, the dereference is safe`
        : `${mark} but a read after an unshare is a violation in this mode (acceptStaleRead false)`;
  }
}

export interface SiteExplanation {
  site: Site;
  kernel: string;
  safe: boolean;
  holds: string[];
  steps: string[];
}

export function explainSite(m: ModeTable, site: Site): SiteExplanation {
  const v = siteVerdict(m, site);
  return { site, kernel: SITE_INFO[site].kernel, safe: v.safe, holds: guardLocks(m, m.guards[site]), steps: v.steps.map((s) => stepText(m, site, s)) };
}

export interface CellExplanation {
  scenario: string;
  mode: string;
  expected: Expected;
  sites: SiteExplanation[];
  /** Unsafe sites the scenario is named for (its targets): what a hunt stops at. */
  unsafe: Site[];
  /** Unsafe sites it only passes through (another scenario's cell, e.g. 6.2's faults). */
  passing: Site[];
}

export function explainCell(sc: Scenario, m: ModeTable): CellExplanation {
  const sites = sitesOf(sc).map((s) => explainSite(m, s));
  const open = sites.filter((s) => !s.safe).map((s) => s.site);
  return { scenario: sc.name, mode: m.name, expected: expected(sc, m), sites, unsafe: open.filter((s) => sc.targets.includes(s)), passing: open.filter((s) => !sc.targets.includes(s)) };
}

/** "mode X (v6.2 …)" or "design X (FILE, extends Y, hash H)". */
export function modeLabel(m: ModeTable): string {
  const d = loadedDesign(m.name);
  return d ? `design ${m.name} (${d.source}, extends ${d.extends}, hash ${d.hash})` : `mode ${m.name} (${m.kernel})`;
}

/** The derivation as text: the scenario's ops, what the destroyers take, then each walk site's steps. */
export function cellText(sc: Scenario, m: ModeTable, c: CellExplanation = explainCell(sc, m)): string {
  const out: string[] = [];
  out.push(`${sc.name} under ${modeLabel(m)}: ${c.expected.toUpperCase()}`);
  out.push(`  scenario: ${sc.description}`);
  const ops = OPS.filter((o) => (sc.weights[o.name] ?? 0) > 0);
  out.push('  walkers:    ' + ops.filter((o) => !o.destroyer).map((o) => `${o.name} (${o.kernel})`).join('; '));
  out.push('  destroyers: ' + ops.filter((o) => o.destroyer).map((o) => o.name).join(', ') + ' — each unshares through huge_pmd_unshare → put_page and frees tables in free_pgtables');
  const takes = [m.unshare.vmaLockWrite ? 'hugetlb_vma_lock_write' : '', m.unshare.iMmapWrite ? 'i_mmap_lock_write' : ''].filter((x) => x);
  out.push(`  the unshare paths take: ${takes.length ? takes.join(', then ') : 'neither the vma lock nor i_mmap_rwsem (mmap_lock only, and truncate not even that)'}`);
  out.push(`  a page-table page whose last reference drops is ${tableFreeText(m)}`);
  for (const s of c.sites) {
    out.push(`  ${s.safe ? 'safe' : 'RACE'}  ${s.site} [${s.kernel}] holds ${s.holds.length ? s.holds.join(', ') : 'only mmap_lock (or nothing)'}`);
    for (const t of s.steps) out.push(`          ${t}`);
  }
  out.push(c.expected === 'race' ? `  => race: ${c.unsafe.join(', ')} ${c.unsafe.length > 1 ? 'are' : 'is'} not protected` : '  => safe: every site the scenario is named for is excluded from the unshare, or its free is deferred past it');
  if (c.passing.length > 0) out.push(`     (${c.passing.join(', ')} ${c.passing.length > 1 ? 'race' : 'races'} here too: not this scenario's target, another scenario's cell)`);
  return out.join('\n');
}

/** `list --mode`: every scenario's verdict with the unsafe sites, then each site's deciding steps. */
export function truthTableText(m: ModeTable): string {
  const out: string[] = [`truth table of ${modeLabel(m)}`];
  const w = Math.max(...SCENARIOS.map((s) => s.name.length));
  for (const sc of SCENARIOS) {
    const c = explainCell(sc, m);
    out.push(`  ${sc.name.padEnd(w)}  ${c.expected === 'race' ? `race  (${c.unsafe.join(', ')})` : 'safe'}`);
  }
  out.push('', 'why, per walk site (the rules in the order they decide):');
  const sites = [...new Set(SCENARIOS.flatMap((sc) => sitesOf(sc)))];
  for (const site of sites) {
    const s = explainSite(m, site);
    out.push(`  ${s.safe ? 'safe' : 'RACE'}  ${site} [${s.kernel}] holds ${s.holds.length ? s.holds.join(', ') : 'only mmap_lock (or nothing)'}`);
    for (const t of s.steps) out.push(`          ${t}`);
  }
  return out.join('\n');
}

export interface WitnessOptions {
  seed: number;
  iterations: number;
  ops: number;
  shrinkRuns: number;
}

export interface Witness {
  found: boolean;
  iterations: number;
  hunt?: ControlledResult | undefined;
  shrunk?: { file: ReplayFile; result: ControlledResult; runs: number } | undefined;
  text: string;
}

/**
 * The shortest interleaving found for a race cell: a hunt (2 CPUs, hunt's default portfolio of
 * random and PCT iterations) that stops only at the scenario's unsafe sites, then a shrink of its
 * schedule. PCT alone with seed 1 found none in 1,000 iterations in some race cells (gup-fast-free
 * under walker-rcu and 6.15, mixed under walker-rcu, 6.2 and 6.5); the failing iteration's
 * strategy is in its replay file, so the shrink replays it exactly.
 */
/** Iterations of PCT alone before the witness hunt switches to the portfolio. */
const PCT_FIRST = 200;

export async function findWitness(c: CellExplanation, o: WitnessOptions): Promise<Witness> {
  const cfg = controlledConfig({ scenario: c.scenario, mode: c.mode, cpus: 2, seed: o.seed, ops: o.ops, stopAtSites: c.unsafe });
  // PCT first: its few preemptions shrink to an interleaving a person can read; the portfolio
  // (random finds with hundreds of preemptions) only where PCT finds none within its share.
  const pctShare = Math.min(o.iterations, PCT_FIRST);
  const first = await hunt({ ...cfg, sched: 'pct', iterations: pctShare, portfolio: false });
  const h = first.found || o.iterations <= pctShare ? first : await hunt({ ...cfg, iterations: o.iterations - pctShare, portfolio: true });
  const tried = h === first ? first.iterations : pctShare + h.iterations;
  if (!h.found || !h.failure?.violation) {
    return { found: false, iterations: tried, text: `no interleaving found in ${tried} hunt iterations (pct, then portfolio, seed ${o.seed}); try --iterations or another --seed` };
  }
  const v = h.failure.violation;
  const s = await shrinkReplay(replayFileOf(h.failure), { maxRuns: o.shrinkRuns, maxMs: 60_000 });
  const sv = s.file.violation;
  const oc = (s.file.config.opsPerCpu ?? []).map((n, i) => n - (s.file.config.skipOps?.[i]?.length ?? 0));
  const text = [
    `shortest interleaving found: hunt --seed ${o.seed} found ${v.kind} at ${v.site} after ${tried} iterations (${foundByText(h.foundBy!)}); shrunk in ${s.stats.runs} replays to ${s.file.config.cpus} CPUs, operations per CPU [${oc.join(', ')}], ${s.result.preemptions} preemptions:`,
    formatInterleaving(s.result.interleaving ?? [], sv.step),
    `  ${sv.kind} at ${sv.site} (op ${sv.op}, cpu ${sv.cpu}) at step ${sv.step}`,
  ].join('\n');
  return { found: true, iterations: tried, hunt: h.failure, shrunk: { file: s.file, result: s.result, runs: s.stats.runs }, text };
}
