/**
 * A page-table page's role, not only its life: whose table it is. A PMD page is private to the
 * mm that allocated it (pmd_alloc), shared by a file's mappings once huge_pmd_share points a
 * second PUD entry at it, private to the last sharer again when the others unshared (the
 * kernel never frees or clears it then: 1013af4f585f, "potentially turning it into a normal page
 * table used in another process"), and free. A lockless walker that reached the page through
 * its own mm's PUD entry and then finds it private to another mm walks another process's page
 * table: the `foreign-table` outcome.
 *
 * One line per page in the `pageRole` region: ROLE (the current role), HEAD (entries written so
 * far) and a ring of HIST entries of (µs since the run started, role) — the splat prints it.
 */
import { type Arena, LINE_WORDS } from '../../shared-mem/layout.js';

export const RoleKind = { free: 0, private: 1, shared: 2 } as const;
export const ROLE_KIND_NAMES = ['free', 'private', 'shared'] as const;

const R = { ROLE: 0, HEAD: 1, HIST: 2 } as const;
/** History entries per page: (µs, role) pairs after ROLE and HEAD. */
export const ROLE_HIST = (LINE_WORDS - R.HIST) >> 1;

/** A role as one word: kind in the low 2 bits, owner + 1 above (mm for private, file for shared). */
export function roleWord(kind: number, owner: number): number {
  return kind | ((owner + 1) << 2);
}
export function roleKind(w: number): number {
  return w & 3;
}
export function roleOwner(w: number): number {
  return (w >> 2) - 1;
}

export function describeRole(w: number): string {
  const kind = roleKind(w);
  if (kind === RoleKind.private) return `private to mm ${roleOwner(w)}`;
  if (kind === RoleKind.shared) return `shared by the mappings of file ${roleOwner(w)}`;
  return 'free';
}

/** Role history entries a violation record keeps (its free words). */
export const ROLES_IN_RECORD = 5;

export class PageRoles {
  private readonly mem: Int32Array;
  private readonly base: number;

  constructor(arena: Arena) {
    this.mem = arena.mem;
    this.base = arena.base('pageRole');
  }

  private at(page: number): number {
    return this.base + page * LINE_WORDS;
  }

  role(page: number): number {
    return Atomics.load(this.mem, this.at(page) + R.ROLE);
  }

  /** Set the role and append it, with the time, to the page's history ring. */
  set(page: number, kind: number, owner: number, us: number): void {
    const at = this.at(page);
    const w = roleWord(kind, owner);
    Atomics.store(this.mem, at + R.ROLE, w);
    const i = Atomics.add(this.mem, at + R.HEAD, 1) % ROLE_HIST;
    Atomics.store(this.mem, at + R.HIST + 2 * i, us);
    Atomics.store(this.mem, at + R.HIST + 2 * i + 1, w);
  }

  /** The last `max` history entries as flat (µs, role word) pairs, oldest first: for a violation record. */
  recent(page: number, max = ROLES_IN_RECORD): number[] {
    const at = this.at(page);
    const head = Atomics.load(this.mem, at + R.HEAD);
    const out: number[] = [];
    for (let n = Math.max(0, head - Math.min(max, ROLE_HIST)); n < head; n++) {
      const i = n % ROLE_HIST;
      out.push(Atomics.load(this.mem, at + R.HIST + 2 * i), Atomics.load(this.mem, at + R.HIST + 2 * i + 1));
    }
    return out;
  }

  /** The history, oldest first (at most ROLE_HIST entries). */
  history(page: number): Array<{ us: number; role: string; owner: number; kind: string }> {
    const at = this.at(page);
    const head = Atomics.load(this.mem, at + R.HEAD);
    const out: Array<{ us: number; role: string; owner: number; kind: string }> = [];
    for (let n = Math.max(0, head - ROLE_HIST); n < head; n++) {
      const i = n % ROLE_HIST;
      const w = Atomics.load(this.mem, at + R.HIST + 2 * i + 1);
      out.push({ us: Atomics.load(this.mem, at + R.HIST + 2 * i), role: describeRole(w), owner: roleOwner(w), kind: ROLE_KIND_NAMES[roleKind(w)] ?? '?' });
    }
    return out;
  }
}
