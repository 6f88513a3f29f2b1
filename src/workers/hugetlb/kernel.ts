/**
 * The per-CPU view of the modelled kernel: the CPU's locks (tracked for lockdep and lock_stat),
 * RCU and IRQ state, and the mode table. Holds what every operation shares: the walker guards,
 * hugetlb_walk(), the KASAN-style check of a dereference, violation reports, and table freeing.
 */
import type { Arena } from '../../shared-mem/layout.js';
import { PagePool, PageHdr, PageLevel, PageState, GEN_MASK, POISON } from './pool.js';
import { TraceEv, nameTraceEvent } from '../../shared-mem/trace.js';
import { requestStop } from '../../shared-mem/ctl.js';
import { LockClass } from '../../locks/classes.js';
import { LockTracker } from '../../locks/tracker.js';
import { Rcu } from '../../locks/rcu.js';
import { Irq, IpiKind } from '../../locks/irq.js';
import { type RcuFlavourOps, rcuFlavour } from '../../locks/rcu-flavour.js';
import type { Cpu } from '../cpu.js';
import { type ModeTable, type Guard, SITES, SITE_INFO, type Site } from './modes.js';
import { Oc, forbidden } from './outcomes.js';
import { Structs, Mm, Vma, VmaFlag, File, ptrPage, ptrTag } from './structs.js';
import { C, counterAt, outcomeField } from './stats.js';
import { Access, recordViolation } from './violations.js';
import { Pt } from './points.js';
import { RefHoldClock } from './refhold.js';
import { PageRoles, RoleKind, roleKind, roleOwner, roleWord } from './roles.js';
import { cpusOfWorld, modelShape, worldOfCpu } from './setup.js';

/** Trace events of the model. */
export const KEv = {
  walk: TraceEv.model + 0, // a = site, b = page
  pudClear: TraceEv.model + 1, // a = mm, b = page
  tableFree: TraceEv.model + 2, // a = page, b = gen
  share: TraceEv.model + 3, // a = mm, b = page
  pmdAlloc: TraceEv.model + 4, // a = mm, b = page
  deref: TraceEv.model + 5, // a = site, b = outcome
  role: TraceEv.model + 6, // a = page, b = role word (roles.ts)
  syncOne: TraceEv.model + 7, // a = tables that became exclusive (gather) or -1 (per unshare)
  tlbFlush: TraceEv.model + 8, // a = 1 when it interrupted the other CPUs (x86 IPI), 0 (arm64 TLBI)
} as const;
nameTraceEvent(KEv.walk, 'hugetlb_walk');
nameTraceEvent(KEv.pudClear, 'pud_clear');
nameTraceEvent(KEv.tableFree, 'free_table');
nameTraceEvent(KEv.share, 'huge_pmd_share');
nameTraceEvent(KEv.pmdAlloc, 'pmd_alloc');
nameTraceEvent(KEv.deref, 'deref');
nameTraceEvent(KEv.role, 'page_role');
nameTraceEvent(KEv.syncOne, 'tlb_remove_table_sync_one');
nameTraceEvent(KEv.tlbFlush, 'flush_tlb_range');

/** RCU callback kind: free a page-table page (tlb_remove_table_rcu). */
export const RCU_FREE_TABLE = 1;

export interface KernelOptions {
  mode: ModeTable;
  lockstat: boolean;
  stopOnViolation: boolean;
  /** With stopOnViolation: stop only at a violation at one of these sites. */
  stopAtSites?: readonly string[] | undefined;
  /**
   * Leave the walk path bare: no trace event, named point or reference timing in hugetlb_walk.
   * Only for measuring the protocol's own cost (bench); runs keep the instrumentation.
   */
  bareWalks?: boolean | undefined;
  /** Run start in this thread's performance.now() (violation timestamps). */
  t0: number;
}

/** Site ids by name: a Map, since this lookup sits on every walk. */
const SITE_ID = new Map<Site, number>(SITES.map((s, i) => [s, i]));
const siteId = (site: Site): number => SITE_ID.get(site)!;
const PT_WALK_PUD = Pt['walk-pud'];

/** A site's guard takes the walker lock / a sleeping lock (the vma lock or i_mmap_rwsem). */
const GUARD_WALKER = 1;
const GUARD_LOCKS = 2;
const guardBitsOf = (mode: ModeTable): Record<Site, number> =>
  Object.fromEntries(
    SITES.map((site) => {
      const gd = mode.guards[site];
      return [site, (gd.walker ? GUARD_WALKER : 0) | (gd.vma !== 'none' || gd.iMmap !== 'none' ? GUARD_LOCKS : 0)];
    }),
  ) as Record<Site, number>;

export class Kernel {
  readonly mem: Int32Array;
  readonly arena: Arena;
  readonly pool: PagePool;
  readonly s: Structs;
  readonly locks: LockTracker;
  readonly rcu: Rcu;
  readonly irq: Irq;
  /** The mode's walker lock as an RCU flavour ops table (rcu-flavour.ts); null: none. */
  readonly walker: RcuFlavourOps | null;
  readonly roles: PageRoles;
  readonly mode: ModeTable;
  /** mode.tableFree is 'rcu' (tlb_remove_table_rcu): GUP-fast's walk is then also an RCU read-side section. */
  readonly tableFreeRcu: boolean;
  readonly E: number;
  private readonly stopOnViolation: boolean;
  private readonly stopAtSites: readonly string[] | undefined;
  private readonly instrumentWalks: boolean;
  /**
   * A VMA's mm never changes after setup: read once, kept local for the walk path. Its PUD index
   * (the address) does: mremap moves a VMA (mremap.ts), so it is read from the arena at each walk.
   */
  private readonly vmaMmOf: Int32Array;
  /**
   * The walk path's fixed addresses, computed once so hugetlb_walk inlines into its caller (a
   * walk costs ~4 Atomics loads; each layer of call around them cost as much as one): the arena
   * word of each VMA's PUD index (the VMA's struct never moves; the index it holds does, so it is
   * still loaded at every walk), and each mm's root table's (mm->pgd, fixed after setup) first entry.
   */
  private readonly vmaPudAt: Int32Array;
  private readonly rootEnt: Int32Array;
  /** mode.assertWalk, kept on the kernel: the walk tests it before every PUD read. */
  private readonly assertWalk: boolean;
  /**
   * The mode's guard of each site as bits (GUARD_WALKER, GUARD_LOCKS): one field load where a
   * guard is entered or left, not the chain mode → guards → guard → three fields (~5 ns a walk).
   */
  private readonly guardBits: Readonly<Record<Site, number>>;
  private readonly t0: number;
  private readonly ctr0: number;
  /** Mapping slots (processes × files) of a world: slot v's split spare is nMaps + v within its world's block of vmaStride slots (setup.ts). */
  private readonly nMaps: number;
  private readonly vmaStride: number;

  /** The reference the last hugetlb_walk() returned: page, pointer tag, and the table walked. */
  wPage = -1;
  wTag = 0;
  wMm = -1;
  wPudIndex = -1;
  /** Age of the walked reference at each dereference (refhold.ts). */
  readonly refHold = new RefHoldClock();
  private lastSite: Site | null = null;
  private lastSid = -1;
  /** Operation in progress (for violation records). */
  op = 0;
  /** This CPU's broadcasts and the µs it waited for their acknowledgements, worker-local (opExit reads them around exit_mmap). */
  broadcasts = 0;
  broadcastWaitUs = 0;
  /** Dereferences a violation made an operation abandon. */
  aborted = false;
  /**
   * PMD pages this CPU's unshares left with one user, whose role changes to that user's own
   * table when the unsharer releases i_mmap_rwsem (commitRoles): only then may the last user
   * repurpose it, since changing a hugetlb mapping needs i_mmap_rwsem for write.
   */
  private readonly nowExclusive: number[] = [];
  /** Entries were cleared or a PUD entry unshared since the last flush (the mmu_gather has work). */
  private tlbPending = false;

  constructor(
    readonly cpu: Cpu,
    opts: KernelOptions,
  ) {
    this.arena = cpu.arena;
    this.mem = cpu.mem;
    this.pool = new PagePool(cpu.arena);
    this.s = new Structs(cpu.arena);
    this.locks = new LockTracker(cpu, { lockstat: opts.lockstat });
    this.rcu = new Rcu(cpu);
    this.irq = new Irq(cpu);
    this.roles = new PageRoles(cpu.arena);
    this.mode = opts.mode;
    this.tableFreeRcu = opts.mode.tableFree === 'rcu';
    this.E = cpu.arena.config.entriesPerPage;
    this.stopOnViolation = opts.stopOnViolation;
    this.stopAtSites = opts.stopAtSites;
    this.instrumentWalks = opts.bareWalks !== true;
    const nv = cpu.arena.config.vmas;
    this.vmaMmOf = Int32Array.from({ length: nv }, (_, v) => this.s.vmaMm(v));
    this.vmaPudAt = Int32Array.from({ length: nv }, (_, v) => this.s.vma(v) + Vma.PUD_INDEX);
    this.rootEnt = Int32Array.from({ length: cpu.arena.config.mms }, (_, mm) => this.pool.entry(ptrPage(this.s.ld(this.s.mm(mm) + Mm.PUD)), 0));
    this.assertWalk = opts.mode.assertWalk;
    this.guardBits = guardBitsOf(opts.mode);
    this.walker = rcuFlavour(opts.mode.walkerLock, this.rcu, this.irq);
    this.t0 = opts.t0;
    this.ctr0 = counterAt(cpu.arena, cpu.cpuId, 0);
    // The op an IPI interrupted, for the per-op IPI counts (issue 14's cost study).
    const acked = (): void => this.count(C.IPI_ACKED + this.op);
    this.irq.onIpi(IpiKind.tlbFlush, acked);
    this.irq.onIpi(IpiKind.callFunction, acked);
    const shape = modelShape(cpu.arena);
    // Only this world's CPUs can be walking its tables: a broadcast waits for them alone (worlds.ts).
    if (shape.worlds > 1) this.irq.setPeers(cpusOfWorld(cpu.arena.config.cpus, shape.worlds, worldOfCpu(shape, cpu.cpuId)));
    this.nMaps = shape.mms * shape.files;
    this.vmaStride = shape.vmaStride;
    this.rcu.onCallback(RCU_FREE_TABLE, (page) => {
      this.cpu.point(Pt['rcu-free']);
      this.releaseTable(page);
    });
  }

  /**
   * Only this CPU writes its counters block (the main thread sums it): a plain add, not an
   * Atomics.add (a locked instruction, 2 per checked dereference); the CPU's next Atomics store
   * (its trace head, heartbeat, state) publishes it.
   */
  count(field: number, n = 1): void {
    const m = this.mem;
    const at = this.ctr0 + field;
    m[at] = m[at]! + n;
  }

  // ---- locks by object ----
  mmapRead(mm: number): void {
    this.locks.downRead(LockClass.mmap_lock, this.s.mm(mm) + Mm.MMAP_LOCK);
  }
  mmapReadUnlock(mm: number): void {
    this.locks.upRead(LockClass.mmap_lock, this.s.mm(mm) + Mm.MMAP_LOCK);
  }
  mmapWrite(mm: number): void {
    this.locks.downWrite(LockClass.mmap_lock, this.s.mm(mm) + Mm.MMAP_LOCK);
  }
  mmapWriteUnlock(mm: number): void {
    this.locks.upWrite(LockClass.mmap_lock, this.s.mm(mm) + Mm.MMAP_LOCK);
  }
  vmaLockAt(vma: number): number {
    return this.s.vma(vma) + Vma.VMA_LOCK;
  }
  iMmapAt(file: number): number {
    return this.s.file(file) + File.I_MMAP_RWSEM;
  }
  vmLockAt(vma: number): number {
    return this.s.vma(vma) + Vma.VM_LOCK;
  }
  /** The VMA a mapping slot splits into (its upper half), or the mapping of a spare. */
  spareOf(vma: number): number {
    return vma % this.vmaStride < this.nMaps ? vma + this.nMaps : vma - this.nMaps;
  }
  /** The per-VMA lock exists for hugetlb faults only where they run under it (faultLock). */
  private get perVmaLock(): boolean {
    return this.mode.faultLock === 'per-vma';
  }
  /**
   * vma_start_write(vma): a VMA about to change excludes lock_vma_under_rcu readers; the kernel
   * keeps it write-locked until mmap_write_unlock (vma_end_write_all), the model until the end
   * of the operation (vmaEndWrite), still inside mmap_lock.
   */
  vmaStartWrite(vma: number): void {
    if (this.perVmaLock) this.locks.downWrite(LockClass.vm_lock, this.vmLockAt(vma));
  }
  vmaEndWrite(vma: number): void {
    if (this.perVmaLock) this.locks.upWrite(LockClass.vm_lock, this.vmLockAt(vma));
  }
  ptlLock(page: number): void {
    this.locks.spinLock(LockClass.ptl, this.pool.ptl(page));
  }
  ptlUnlock(page: number): void {
    this.locks.spinUnlock(LockClass.ptl, this.pool.ptl(page));
  }

  /** The unshare paths' locks for one VMA (vma lock write, then i_mmap write), per the mode. */
  unshareLock(vma: number, file: number): void {
    if (this.mode.unshare.vmaLockWrite) this.locks.downWrite(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma));
    if (this.mode.unshare.iMmapWrite) this.locks.downWrite(LockClass.i_mmap_rwsem, this.iMmapAt(file));
  }
  unshareUnlock(vma: number, file: number): void {
    this.beforeIMmapRelease();
    if (this.mode.unshare.iMmapWrite) this.locks.upWrite(LockClass.i_mmap_rwsem, this.iMmapAt(file));
    if (this.mode.unshare.vmaLockWrite) this.locks.upWrite(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma));
  }

  // ---- walker guards ----
  /**
   * Take the locks the mode says `site` holds around its walk: vma lock, i_mmap_rwsem, then the
   * walker lock (innermost: it may not sleep). False when a non-sleeping trylock failed (-EAGAIN).
   */
  guardEnter(site: Site, vma: number, file: number, mayNotSleep = false): boolean {
    const bits = this.guardBits[site];
    // The sleeping locks out of line: a lockless walker's guard is the walker lock alone, and a
    // short guardEnter inlines into the walk's caller.
    if ((bits & GUARD_LOCKS) !== 0 && !this.guardLocks(this.mode.guards[site], vma, file, mayNotSleep)) return false;
    if ((bits & GUARD_WALKER) !== 0) this.walkerLock();
    return true;
  }

  /** guardEnter's vma lock and i_mmap_rwsem. False when a non-sleeping trylock failed. */
  private guardLocks(gd: Guard, vma: number, file: number, mayNotSleep: boolean): boolean {
    if (gd.vma === 'read' || (gd.vma === 'tryread' && !mayNotSleep)) {
      this.locks.downRead(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma));
    } else if (gd.vma === 'tryread') {
      if (!this.locks.downReadTrylock(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma))) return false;
    }
    if (gd.iMmap === 'read') this.locks.downRead(LockClass.i_mmap_rwsem, this.iMmapAt(file));
    else if (gd.iMmap === 'write') this.locks.downWrite(LockClass.i_mmap_rwsem, this.iMmapAt(file));
    return true;
  }

  guardExit(site: Site, vma: number, file: number): void {
    const bits = this.guardBits[site];
    if ((bits & GUARD_WALKER) !== 0) this.walkerUnlock();
    if ((bits & GUARD_LOCKS) !== 0) this.guardUnlocks(this.mode.guards[site], vma, file);
  }

  private guardUnlocks(gd: Guard, vma: number, file: number): void {
    if (gd.iMmap === 'read') this.locks.upRead(LockClass.i_mmap_rwsem, this.iMmapAt(file));
    else if (gd.iMmap === 'write') this.locks.upWrite(LockClass.i_mmap_rwsem, this.iMmapAt(file));
    if (gd.vma !== 'none') this.locks.upRead(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma));
  }

  /** hugetlb_walker_lock(): rcu_read_lock() or local_irq_disable(), per the mode. */
  walkerLock(): void {
    this.walker?.readLock();
  }
  walkerUnlock(): void {
    this.walker?.readUnlock();
  }

  // ---- hugetlb_walk ----
  /**
   * hugetlb_walk(vma, addr) / huge_pte_offset(): read the PUD entry of the VMA's mm and return
   * the PMD page it points to in wPage/wTag (false when none). In `final` mode, asserts (as
   * lockdep does in hugetlb_walk) that a shareable VMA's walker holds its vma lock or i_mmap_rwsem.
   */
  hugetlbWalk(site: Site, vma: number): boolean {
    if (this.assertWalk) this.assertWalkLocked(site, vma);
    return this.pudWalk(site, vma);
  }

  /** hugetlb_walk's lockdep assertion (final modes), out of line: the lockless walks never run it. */
  private assertWalkLocked(site: Site, vma: number): void {
    const s = this.s;
    if ((s.vmaFlags(vma) & VmaFlag.MAYSHARE) === 0) return;
    const ok =
      this.locks.isHeld(LockClass.hugetlb_vma_lock, this.vmaLockAt(vma), 'any') ||
      this.locks.isHeld(LockClass.i_mmap_rwsem, this.iMmapAt(s.vmaFile(vma)), 'any');
    if (!ok) this.violation(Oc['lock-rule'], site, -1, 0, Access.walk, s.vmaMm(vma), s.vmaPudIndex(vma), 0, 0);
  }

  /**
   * The PUD step of a walk: READ_ONCE of the VMA's mm's PUD entry into wPage/wTag (false when
   * none), with no lock and no assertion. hugetlb_walk() asserts first; GUP-fast
   * (gup_fast_pud_range) calls this directly. Two Atomics loads (the VMA's PUD index, the PUD
   * entry); the instrumentation is out of line, so this inlines into every walker.
   */
  pudWalk(site: Site, vma: number): boolean {
    const mm = this.vmaMmOf[vma]!;
    const pudIndex = Atomics.load(this.mem, this.vmaPudAt[vma]!);
    if (this.instrumentWalks) this.cpu.point(PT_WALK_PUD);
    const e = Atomics.load(this.mem, this.rootEnt[mm]! + pudIndex);
    this.wMm = mm;
    this.wPudIndex = pudIndex;
    if (e === 0) return false;
    this.wPage = ptrPage(e);
    this.wTag = ptrTag(e);
    if (this.instrumentWalks) this.walkEvent(site);
    return true;
  }

  /** The walk's trace event and its reference timing (instrumented walks: every run's). */
  private walkEvent(site: Site): void {
    // A timed walk's clock read also dates the trace: one performance.now() (~50-80 ns), not two.
    const t = this.refHold.start();
    if (t !== 0) this.cpu.trace.stamp(t);
    this.cpu.emit(KEv.walk, this.siteId(site), this.wPage);
  }

  /**
   * The site's id, through a one-entry cache: a walk and its dereferences name the same site, and
   * comparing two interned strings is one pointer compare where the Map lookup hashes (~15 ns).
   */
  private siteId(site: Site): number {
    if (site !== this.lastSite) {
      this.lastSid = siteId(site);
      this.lastSite = site;
    }
    return this.lastSid;
  }

  /** Is the walked page still linked from the walked mm's PUD entry, with the same generation? */
  private stillLinked(): boolean {
    const s = this.s;
    const e = s.ld(this.rootEnt[this.wMm]! + this.wPudIndex);
    return e !== 0 && ptrPage(e) === this.wPage && ptrTag(e) === this.wTag;
  }

  /**
   * KASAN check of a dereference of the walked page (`access` of slot `slot`, value read `value`):
   * classifies it, counts the outcome for the site, reports a violation when the mode forbids
   * it. Returns the outcome; an operation abandons its work on anything but ok / stale-read.
   */
  check(site: Site, access: number, slot: number, value: number): number {
    const page = this.wPage;
    const pool = this.pool;
    const state = pool.state(page);
    const gen = pool.gen(page) & GEN_MASK;
    let oc: number;
    if (gen !== this.wTag) oc = state === PageState.live ? Oc['use-after-reuse'] : Oc['use-after-free'];
    else if (state === PageState.free || value === POISON) oc = Oc['use-after-free'];
    else if (state === PageState.pendingFree || !this.stillLinked()) {
      oc = access === Access.read ? Oc['stale-read'] : access === Access.lock ? Oc['stale-lock'] : Oc['stale-write'];
    } else oc = Oc.ok;
    return this.report(site, oc, access, slot, value);
  }

  /**
   * GUP-fast's check at try_grab_folio: the walk is lockless and its own PUD entry may be gone
   * (a grab through a table still ours, or still shared, linearizes before the unshare); what is
   * forbidden is a freed or reused page, or a table whose role is now another mm's own.
   */
  checkLockless(site: Site, access: number, slot: number, value: number): number {
    const page = this.wPage;
    const state = this.pool.state(page);
    const gen = this.pool.gen(page) & GEN_MASK;
    let oc: number;
    if (gen !== this.wTag) oc = state === PageState.live ? Oc['use-after-reuse'] : Oc['use-after-free'];
    else if (state === PageState.free || value === POISON) oc = Oc['use-after-free'];
    else {
      const r = this.roles.role(page);
      oc = roleKind(r) === RoleKind.private && roleOwner(r) !== this.wMm ? Oc['foreign-table'] : Oc.ok;
    }
    return this.report(site, oc, access, slot, value);
  }

  /** Count a classified dereference for its site and report it when the mode forbids it. */
  private report(site: Site, oc: number, access: number, slot: number, value: number): number {
    const page = this.wPage;
    const gen = this.pool.gen(page) & GEN_MASK;
    const sid = this.siteId(site);
    this.count(outcomeField(sid, oc));
    const rh = this.refHold.field();
    if (rh >= 0) this.count(rh);
    if (oc !== Oc.ok) {
      // A bad dereference is what a reader of the splat orders everything else by: its own clock.
      this.cpu.trace.refresh();
      this.cpu.emit(KEv.deref, sid, oc);
    }
    if (forbidden(this.mode, oc)) {
      this.violation(oc, site, page, gen, access, this.wMm, this.wPudIndex, slot, value);
    }
    return oc;
  }

  /**
   * An outcome found by a check that is not a dereference of a walked page (the split's check of
   * the table under the halves): counted at `site`, reported when the mode forbids it.
   */
  siteOutcome(site: Site, oc: number, page: number, access: number, mm: number, pudIndex: number, slot: number, value: number): void {
    const sid = siteId(site);
    this.count(outcomeField(sid, oc));
    if (oc !== Oc.ok) {
      this.cpu.trace.refresh();
      this.cpu.emit(KEv.deref, sid, oc);
    }
    if (forbidden(this.mode, oc)) this.violation(oc, site, page, this.pool.gen(page) & GEN_MASK, access, mm, pudIndex, slot, value);
  }

  violation(kind: number, site: Site | null, page: number, gen: number, access: number, mm: number, pudIndex: number, slot: number, value: number): void {
    this.count(C.VIOLATIONS);
    // Only this CPU writes its counters: the first violation's time is kept, never overwritten.
    const first = this.ctr0 + C.FIRST_VIOLATION_US;
    if (Atomics.load(this.mem, first) === 0) Atomics.store(this.mem, first, Math.min(0x7fffffff, Math.round((performance.now() - this.t0) * 1000) + 1));
    this.cpu.trace.refresh();
    this.cpu.emit(TraceEv.violation, kind, page);
    const pool = this.pool;
    recordViolation(
      this.arena,
      this.cpu.cpuId,
      {
        kind,
        site: site === null ? -1 : siteId(site),
        op: this.op,
        page,
        tag: this.wTag,
        gen,
        state: page >= 0 ? pool.state(page) : -1,
        level: page >= 0 ? pool.get(page, PageHdr.LEVEL) : 0,
        owner: page >= 0 ? pool.get(page, PageHdr.OWNER) : -1,
        mm,
        pudIndex,
        slot,
        value,
        access,
        roles: page >= 0 && this.pool.get(page, PageHdr.LEVEL) === PageLevel.pmd ? this.roles.recent(page) : undefined,
      },
      this.t0,
    );
    if (this.stopOnViolation && (this.stopAtSites === undefined || (site !== null && this.stopAtSites.includes(site)))) {
      requestStop(this.arena);
    }
  }

  // ---- freeing page-table pages ----
  /** put_page on a PMD page: drop one reference; the last one frees it per the mode (tlb_remove_table). */
  putTable(page: number): void {
    const old = Atomics.sub(this.mem, this.pool.hdr(page) + PageHdr.REFCOUNT, 1);
    if (old === 1) this.freeTable(page);
  }

  freeTable(page: number): void {
    this.count(C.TABLE_FREES);
    this.cpu.emit(KEv.tableFree, page, this.pool.gen(page));
    switch (this.mode.tableFree) {
      case 'immediate':
        this.releaseTable(page);
        break;
      case 'rcu':
        // MMU_GATHER_RCU_TABLE_FREE: the page stays intact until a grace period has passed.
        this.pool.markPendingFree(page);
        this.rcu.callRcu(RCU_FREE_TABLE, page);
        break;
      case 'ipi':
        // No RCU table free: tlb_remove_table_sync_one() IPIs every CPU; IRQ-off walkers hold it off.
        this.pool.markPendingFree(page);
        this.broadcast(IpiKind.tlbFlush);
        this.cpu.point(Pt['ipi-wait']);
        this.releaseTable(page);
        break;
    }
  }

  /** The actual free: poison, bump the generation, back to the pool. A double free is a violation, not a crash. */
  releaseTable(page: number): void {
    if (this.pool.state(page) === PageState.free) {
      this.violation(Oc['use-after-free'], null, page, this.pool.gen(page) & GEN_MASK, Access.write, -1, -1, 0, 0);
      return;
    }
    this.setRole(page, RoleKind.free, -1);
    this.pool.free(this.cpu, page);
  }

  /** A page-table page changes role (roles.ts): recorded with the time, traced. */
  setRole(page: number, kind: number, owner: number): void {
    this.roles.set(page, kind, owner, Math.round((performance.now() - this.t0) * 1000));
    this.cpu.emit(KEv.role, page, roleWord(kind, owner));
  }

  /** An entry was cleared or a PUD entry unshared: the mmu_gather must flush (versions only). */
  tlbDirty(): void {
    if (this.mode.mmuGather) this.tlbPending = true;
  }

  /**
   * flush_hugetlb_tlb_range / tlb_flush_mmu_tlbonly of the gathered range: on x86 an IPI to the
   * other CPUs that each acknowledges only with interrupts enabled (so it also waits for IRQ-off
   * GUP-fast); on arm64 a broadcast TLBI that interrupts nobody.
   */
  tlbFlush(): void {
    this.tlbPending = false;
    this.count(C.TLB_FLUSHES);
    const ipi = this.mode.arch === 'x86';
    this.cpu.emit(KEv.tlbFlush, ipi ? 1 : 0, 0);
    if (ipi) this.broadcast(IpiKind.tlbFlush);
  }

  /** tlb_finish_mmu outside i_mmap_rwsem (free_pgtables): flush what is gathered. */
  tlbFinish(): void {
    if (this.tlbPending) this.tlbFlush();
  }

  /**
   * What every unshare path does just before i_mmap_unlock_write: flush the TLB when it unmapped
   * or unshared anything (a4a118f2eead; 8ce720d5bd91's huge_pmd_unshare_flush), then the roles
   * of the tables it left with one user change (commitRoles; in the gather kernels, after the IPI).
   */
  beforeIMmapRelease(): void {
    if (this.tlbPending) this.tlbFlush();
    this.commitRoles();
  }

  /** An IPI broadcast to every other CPU (of this world), waiting for each acknowledgement, counted (and its wait timed) for this op. */
  private broadcast(kind: number): void {
    const waitUs = this.irq.ipiBroadcast(kind);
    this.broadcasts++;
    this.broadcastWaitUs += waitUs;
    this.count(C.IPI_SENT + this.op, this.irq.peerCount);
    this.count(C.IPI_BROADCASTS + this.op);
    this.count(C.IPI_WAIT_US + this.op, Math.round(waitUs));
  }

  /** huge_pmd_unshare / free_pgtables left `page` with one user: its role changes at commitRoles. */
  tableNowExclusive(page: number): void {
    this.nowExclusive.push(page);
    if (!this.mode.unshare.iMmapWrite) this.commitRoles(); // nothing the last user must wait for
  }

  /**
   * Called by the unshare paths just before they release i_mmap_rwsem (write): the tables they
   * left with one user become that user's own. In the gather kernels (8ce720d5bd91) this is where
   * huge_pmd_unshare_flush syncs with GUP-fast: one IPI when any table became exclusive.
   */
  commitRoles(): void {
    const n = this.nowExclusive.length;
    if (n === 0) return;
    if (this.mode.unshareSync === 'gather') this.tlbRemoveTableSyncOne(n);
    for (const page of this.nowExclusive) {
      if (this.pool.state(page) !== PageState.live || this.pool.get(page, PageHdr.REFCOUNT) !== 1) continue;
      const user = this.soleUser(page);
      if (user >= 0) this.setRole(page, RoleKind.private, user);
    }
    this.nowExclusive.length = 0;
  }

  /** The mm whose PUD entry still points at a once-shared page (its file's VMAs), or -1. */
  private soleUser(page: number): number {
    const r = this.roles.role(page);
    if (roleKind(r) !== RoleKind.shared) return -1;
    const file = roleOwner(r);
    const n = this.s.fileVmaCount(file);
    for (let i = 0; i < n; i++) {
      const v = this.s.fileVma(file, i);
      const e = Atomics.load(this.mem, this.pudEntryAt(v));
      if (e !== 0 && ptrPage(e) === page) return this.vmaMmOf[v]!;
    }
    return -1;
  }

  /**
   * tlb_remove_table_sync_one(): smp_call_function to every other CPU, waiting for each to
   * acknowledge — which a CPU does only with interrupts enabled, so every GUP-fast that was
   * walking with IRQs off has finished. `tables` > 0: the gather's count of tables made exclusive.
   */
  tlbRemoveTableSyncOne(tables = -1): void {
    this.cpu.emit(KEv.syncOne, tables, 0);
    this.broadcast(IpiKind.callFunction);
    this.count(C.SYNC_ONE);
  }

  allocPmd(mm: number): number {
    const page = this.pool.alloc(this.cpu, PageLevel.pmd, mm);
    if (page >= 0) {
      this.count(C.PMD_ALLOCS);
      this.cpu.emit(KEv.pmdAlloc, mm, page);
      this.setRole(page, RoleKind.private, mm);
    }
    return page;
  }

  /** Word index of the PUD entry covering a VMA in its mm. */
  pudEntryAt(vma: number): number {
    return this.rootEnt[this.vmaMmOf[vma]!]! + this.s.vmaPudIndex(vma);
  }

  siteInfo(site: Site): (typeof SITE_INFO)[Site] {
    return SITE_INFO[site];
  }
}
