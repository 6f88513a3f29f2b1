/**
 * Named points inside the race windows. Each is a place where `Cpu.point` may widen the window
 * by a seeded delay and where a controlled scheduler may switch CPUs. Widening changes timing
 * only, never the protocol.
 */
export const POINTS = [
  { name: 'walk-pud', window: 'hugetlb_walk: between reading the root and reading the PUD entry' },
  { name: 'walk-deref', window: 'walker: between hugetlb_walk() returning ptep and dereferencing it' },
  { name: 'walk-ptl', window: 'walker: between taking huge_pte_lock and reading the entry' },
  { name: 'share-get-page', window: 'huge_pmd_share: between hugetlb_walk(svma) and get_page(spte page)' },
  { name: 'share-populate', window: 'huge_pmd_share: between seeing pud_none under the populate lock and pud_populate' },
  { name: 'fault-install', window: 'hugetlb_fault: between huge_pte_alloc and installing the entry' },
  { name: 'pmd-alloc', window: 'huge_pte_alloc (__pmd_alloc): between seeing the PUD entry empty under page_table_lock and pud_populate' },
  { name: 'unshare-clear', window: 'huge_pmd_unshare: between pud_clear and put_page' },
  { name: 'zap', window: '__unmap_hugepage_range: between entries' },
  { name: 'free-table', window: 'free_pgtables: between clearing the PUD entry and freeing the PMD page' },
  { name: 'ipi-wait', window: 'tlb_remove_table: between the shootdown and the free' },
  { name: 'rcu-free', window: 'RCU callback: freeing a page-table page after the grace period' },
  { name: 'op-gap', window: 'between two operations of a CPU' },
  { name: 'split-window', window: "__split_vma: between may_split's unshare (hugetlb_vm_op_split) and the VMA write lock + i_mmap write of the split" },
] as const;

export type PointName = (typeof POINTS)[number]['name'];
export const POINT_NAMES: readonly PointName[] = POINTS.map((p) => p.name);

/** Point ids by name. */
export const Pt = Object.fromEntries(POINTS.map((p, i) => [p.name, i])) as Record<PointName, number>;

export function pointId(name: string): number {
  const i = POINT_NAMES.indexOf(name as PointName);
  if (i < 0) throw new RangeError(`unknown delay point '${name}' (known: ${POINT_NAMES.join(', ')})`);
  return i;
}

/** One `--widen-point` spec: NAME[:PROB[:US]]. Throws a RangeError naming what is wrong. */
export function parseWidenPoint(spec: string): { name: string; prob?: number; us?: number } {
  const [name = '', p, u, extra] = spec.split(':');
  if (!(POINT_NAMES as readonly string[]).includes(name)) throw new RangeError(`unknown delay point '${name}' (accepted: ${POINT_NAMES.join(', ')})`);
  if (extra !== undefined) throw new RangeError(`'${spec}' has too many parts (accepted: NAME[:PROB[:US]])`);
  const prob = p === undefined || p === '' ? undefined : Number(p);
  if (prob !== undefined && !(prob > 0 && prob <= 1)) throw new RangeError(`'${spec}': probability '${p}' is not 0 < P <= 1`);
  const us = u === undefined || u === '' ? undefined : Number(u);
  if (us !== undefined && !(Number.isInteger(us) && us >= 1 && us <= 1_000_000)) throw new RangeError(`'${spec}': length '${u}' is not an integer from 1 to 1000000 µs`);
  return { name, ...(prob !== undefined ? { prob } : {}), ...(us !== undefined ? { us } : {}) };
}
