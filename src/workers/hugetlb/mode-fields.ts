/**
 * The protection-mode fields as data: every ModeTable field with its type, accepted values and a
 * description, and the same for a guard's fields and for each call site. One source of truth:
 * the design-file loader (mode-design.ts) validates against it and schema/mode.schema.json is
 * generated from it (mode-schema.ts). The mapped types below make tsc refuse a ModeTable field,
 * a Guard field, a Site or an enum value that has no descriptor here.
 */
import { SITES, SITE_INFO, type Guard, type ModeTable, type Site } from './modes.js';

export type FieldDesc =
  | { kind: 'enum'; values: readonly string[]; description: string }
  | { kind: 'boolean'; description: string }
  | { kind: 'string'; description: string }
  | { kind: 'strings'; description: string }
  | { kind: 'object'; fields: Readonly<Record<string, FieldDesc>>; description: string }
  | { kind: 'guards'; description: string };

/** Where a field may appear: 'design' in design files; 'builtin' only in the compiled tables. */
export type FieldDescriptor = FieldDesc & { where: 'design' | 'builtin' };

/** Every value of the union T, no more, no less (a missing value makes the argument `never`). */
type Exhaustive<T extends string, A extends readonly string[]> = [T] extends [A[number]] ? ([A[number]] extends [T] ? A : never) : never;
function oneOf<T extends string>() {
  return <const A extends readonly T[]>(values: A & Exhaustive<T, A>, description: string): FieldDescriptor => ({ kind: 'enum', values, description, where: 'design' });
}
const bool = (description: string): FieldDescriptor => ({ kind: 'boolean', description, where: 'design' });
const str = (description: string): FieldDescriptor => ({ kind: 'string', description, where: 'design' });

/** A guard's fields: the locks a call site holds across its walk and dereference. */
export const GUARD_FIELDS: { readonly [K in keyof Guard]-?: FieldDescriptor } = {
  walker: bool("hold the mode's walker lock (walkerLock: rcu_read_lock or local_irq_disable) innermost, around hugetlb_walk() and the dereference"),
  vma: oneOf<Guard['vma']>()(['none', 'read', 'tryread'], "hugetlb_vma_lock_read of the walker's own VMA; 'tryread' = hugetlb_vma_trylock_read for the FOLL_NOWAIT path that may not sleep (gup-slow only)"),
  iMmap: oneOf<Guard['iMmap']>()(['none', 'read', 'write'], 'i_mmap_rwsem of the file (i_mmap_lock_read / i_mmap_lock_write)'),
};

/** Each call site's description in files and the schema: the kernel function it models. */
export const SITE_DESCRIPTIONS: { readonly [S in Site]: string } = Object.fromEntries(
  SITES.map((s) => [s, `${SITE_INFO[s].kernel}${SITE_INFO[s].takesPtl ? '; takes the ptl' : ''}${SITE_INFO[s].writes ? '; writes through ptep' : ''}${SITE_INFO[s].otherMm ? "; walks other mms' tables reached through i_mmap" : ''}`]),
) as Record<Site, string>;

/** Every ModeTable field, in the order design files and the schema list them. */
export const MODE_FIELDS: { readonly [K in keyof ModeTable]-?: FieldDescriptor } = {
  name: str("the design's name (letters, digits, '.', '_', '-'): how runs, reports and replay files name it; a built-in name only for an unchanged copy"),
  aliases: { kind: 'strings', description: 'other names of a built-in mode (final = the newest kernel); designs have none', where: 'builtin' },
  description: str('one line: what this design changes and why'),
  kernel: str("the kernel this table models ('v6.2', 'RFC v2', or your proposal's name)"),
  commits: { kind: 'strings', description: 'the commits (short hash + title) or series this table follows, oldest first', where: 'design' },
  arch: oneOf<ModeTable['arch']>()(['x86', 'arm64'], 'architecture where TLB flushes matter: x86 flushes by IPI (acknowledged with IRQs enabled), arm64 by broadcast TLBI'),
  mmuGather: bool('the TLB flush and mmu_gather of the unshare paths are modelled: every path that cleared entries or unshared flushes before it releases i_mmap_rwsem (a4a118f2eead); an IPI on x86, a broadcast TLBI on arm64'),
  walkerLock: oneOf<ModeTable['walkerLock']>()(['none', 'rcu', 'irq'], "what hugetlb_walker_lock() is (RFC v2): nothing, rcu_read_lock(), or local_irq_disable(); taken by every guard with walker: true"),
  tableFree: oneOf<ModeTable['tableFree']>()(['immediate', 'rcu', 'ipi'], 'how tlb_remove_table releases a page-table page whose last reference dropped: at once, after an RCU grace period (MMU_GATHER_RCU_TABLE_FREE, tlb_remove_table_rcu), or after a TLB-shootdown IPI every CPU acknowledged with IRQs enabled'),
  populateLock: oneOf<ModeTable['populateLock']>()(['both', 'ptl', 'page_table_lock'], "the lock huge_pmd_share() populates the PUD entry under: the shared page's ptl (6.2), mm->page_table_lock (349d1670008d, 6.5+), or both"),
  unshareSync: oneOf<ModeTable['unshareSync']>()(['none', 'ipi', 'gather'], 'what huge_pmd_unshare() does for lockless GUP-fast: nothing, tlb_remove_table_sync_one() per unshare (1013af4f585f), or once per mmu_gather (8ce720d5bd91)'),
  faultLock: oneOf<ModeTable['faultLock']>()(['mmap', 'per-vma'], "the lock a hugetlb fault runs under: mmap_lock read, or the per-VMA lock (lock_vma_under_rcu, 6.9)"),
  split: oneOf<ModeTable['split']>()(['none', 'may-split', 'hugetlb-split'], 'VMA split across a shared PMD range: no unshare, hugetlb_unshare_all_pmds before the split (b30c14cd6102), or hugetlb_split() inside __split_vma (081056dc00a2)'),
  splitAssertsVmaLock: bool("huge_pmd_unshare() from hugetlb_split() asserts the hugetlb vma lock that path never holds: a lockdep false positive from 081056dc00a2 until 'mm/hugetlb: avoid false positive lockdep assertion' (2026)"),
  unmapFreesVmaLock: bool('the final unmap (__unmap_hugepage_range_final) frees the hugetlb vma lock before i_mmap_unlock_write, so huge_pmd_share no longer finds the VMA shareable (131a79b474e9)'),
  unshare: {
    kind: 'object',
    description: "the locks the unshare paths take (huge_pmd_unshare's callers: munmap, exit, madvise, truncate, mprotect, split)",
    where: 'design',
    fields: {
      vmaLockWrite: bool('hugetlb_vma_lock_write of the VMA being unshared'),
      iMmapWrite: bool("i_mmap_lock_write of the VMA's file"),
    } satisfies { readonly [K in keyof ModeTable['unshare']]-?: FieldDescriptor },
  },
  assertWalk: bool("hugetlb_walk()'s lockdep assertion: a walk of a shareable VMA without its vma lock or i_mmap_rwsem is a lock-rule violation"),
  acceptStaleRead: bool('a lockless read through ptep after an unshare (page intact, pending free) is an accepted outcome, not a violation (the RFC: stale values are fine for these readers)'),
  guards: { kind: 'guards', description: 'per call site, the locks it holds across hugetlb_walk() and the dereference (a design states only the sites and fields it changes)', where: 'design' },
};

/** Field names in table order. */
export const MODE_FIELD_NAMES = Object.keys(MODE_FIELDS) as Array<keyof ModeTable>;

/** "a, b, c" of an enum's values, or the shape a non-enum field takes. */
export function acceptedOf(d: FieldDesc): string {
  switch (d.kind) {
    case 'enum':
      return d.values.join(', ');
    case 'boolean':
      return 'true, false';
    case 'string':
      return 'a string';
    case 'strings':
      return 'an array of strings';
    case 'object':
      return `an object with ${Object.keys(d.fields).join(', ')}`;
    case 'guards':
      return `an object keyed by call site (${SITES.join(', ')})`;
  }
}
