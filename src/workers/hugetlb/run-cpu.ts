/**
 * One CPU's life in a stress run: attach the arena, wait at the start barrier, then run
 * operations drawn from the scenario's weights with this CPU's seeded stream until the op budget
 * is spent or a stop is requested. Every operation's arguments are drawn before it runs, so the
 * operation stream depends on (seed, CPU) only — never on timing.
 *
 * With several worlds a CPU works only on its own world's processes, files and VMAs (CPU c in
 * world c mod worlds): it draws exactly as with one world, within the world's ids, so with one
 * world the ids, and everything after them, are what they always were.
 */
import { schedSince, threadSched, type ThreadSched } from '../thread-sched.js';
import { Arena, type ArenaConfig } from '../../shared-mem/layout.js';
import { CpuField, CpuState } from '../../shared-mem/cpu-block.js';
import { Ctl, StopState, requestStop } from '../../shared-mem/ctl.js';
import { TraceEv } from '../../shared-mem/trace.js';
import { RunAborted } from '../../locks/ctx.js';
import { barrierWait } from '../../locks/barrier.js';
import { Cpu, type WidenConfig, type Waiter } from '../cpu.js';
import { Kernel } from './kernel.js';
import type { ModeTable } from './modes.js';
import { scenarioByName } from './scenarios.js';
import { OPS, Op } from './ops-list.js';
import { C, counterAt } from './stats.js';
import { Pt } from './points.js';
import { type ModelShape, modelShape, vmaId, worldFile, worldMm, worldOfCpu, worldOfMm, worldVma } from './setup.js';
import { opFault, opFaultSwapEntry } from './fault.js';
import { opExit, opMadviseDontneed, opMprotect, opMunmap, opTruncate } from './unshare.js';
import { opVmaSplit } from './split.js';
import { opFork } from './fork.js';
import { opRmapUnshare } from './rmap-unshare.js';
import { opMremap } from './mremap.js';
import { opGupFast } from './gup-fast.js';
import { OpLatencyClock } from './op-latency.js';
import { opFollowPage, opGupSlow, opPtlUnderWalker, opRmapWalk, opUffdMustWait, opVmaMapsPage, opWalkRange } from './walkers.js';

/** Faults planted on purpose to prove the engine's crash and stall handling. */
export type PlantedFault = 'crash' | 'stall';

export interface CpuTask {
  buffer: SharedArrayBuffer;
  arena: ArenaConfig;
  cpu: number;
  seed: number;
  /** The resolved protection mode (a built-in table or a design file's): workers need no registry. */
  mode: ModeTable;
  scenario: string;
  /**
   * Operations for this CPU, or null to run until stopped (a --duration run). 0 is zero
   * operations: with --ops below the CPU count some CPUs get no share, and must not run forever.
   */
  ops: number | null;
  widen?: WidenConfig | undefined;
  lockstat: boolean;
  stopOnViolation: boolean;
  /** With stopOnViolation: stop only at a violation at one of these sites. */
  stopAtSites?: readonly string[] | undefined;
  plant?: PlantedFault | undefined;
  /** Run start as an epoch time (performance.timeOrigin + now) so every CPU's trace shares one clock. */
  startEpochMs?: number | undefined;
  /** A controlled scheduler's waiter, when one runs this CPU (sched/). */
  waiter?: Waiter | undefined;
  /**
   * Indices (0-based) in this CPU's operation stream that are drawn but not run — shrinking a
   * failing schedule drops operations this way while every other keeps its arguments.
   */
  skip?: readonly number[] | undefined;
  /** Run a full GC in the worker before starting (a reused worker: the previous runs' arenas are garbage). */
  collect?: boolean | undefined;
  /** Time 1 operation in this many into the per-op-kind latency histograms (op-latency.ts); 0 = off; default OP_LATENCY_EVERY. */
  opLatencyEvery?: number | undefined;
}

export interface CpuResult {
  cpu: number;
  ops: number;
  status: 'ok' | 'aborted' | 'crashed';
  error?: string;
  /** This worker thread's time on a core and waiting for one over its op loop (thread-sched.ts); null without /proc. */
  sched?: ThreadSched | null;
}

export function runCpu(task: CpuTask): CpuResult {
  const arena = Arena.attach(task.buffer, task.arena);
  const mode = task.mode;
  const sc = scenarioByName(task.scenario);
  if (!sc) throw new RangeError(`unknown scenario '${task.scenario}'`);
  const t0 = task.startEpochMs !== undefined ? task.startEpochMs - performance.timeOrigin : performance.now();
  const cpu = new Cpu(arena, task.cpu, { seed: task.seed, widen: task.widen, waiter: task.waiter, t0, widenCountAt: counterAt(arena, task.cpu, C.WIDENED) });
  const k = new Kernel(cpu, { mode, lockstat: task.lockstat, stopOnViolation: task.stopOnViolation, stopAtSites: task.stopAtSites, t0 });
  const shape = modelShape(arena);
  const E = arena.config.entriesPerPage;
  const hotSlots = Math.min(E, sc.hotSlots ?? E);
  const nVma = shape.mms * shape.files;
  const world = worldOfCpu(shape, task.cpu);
  // The scenario's kept parent is a process of this CPU's world.
  const forkParent = sc.forkParent === undefined ? undefined : worldMm(shape, world, sc.forkParent);
  // Cumulative weights over OPS.
  const cum: number[] = [];
  let total = 0;
  for (const o of OPS) {
    total += sc.weights[o.name] ?? 0;
    cum.push(total);
  }
  let done = 0;
  /** This CPU stops for good: its state says so, then it goes offline for IPIs (irq.ts). */
  const stopCpu = (state: number): void => {
    cpu.setState(state);
    k.irq.offline();
  };
  const lat = task.opLatencyEvery === 0 ? undefined : new OpLatencyClock(arena, task.cpu, task.opLatencyEvery);
  const skip = task.skip !== undefined && task.skip.length > 0 ? new Set(task.skip) : undefined;
  try {
    barrierWait(cpu, arena.base('ctl') + Ctl.ARRIVED, arena.config.cpus);
    cpu.setState(CpuState.running);
    const sched0 = threadSched();
    while ((task.ops === null || done < task.ops) && !cpu.stopRequested()) {
      // Seven draws per operation, whatever it is: the stream never depends on timing.
      const r = cpu.rng;
      const pick = r.below(total);
      const vma = worldVma(shape, world, r.below(nVma));
      const slot = r.below(hotSlots);
      const file = worldFile(shape, world, r.below(shape.files));
      const from = r.below(E);
      const len = 1 + r.below(Math.max(1, E >> 2));
      const flag = r.below(2);
      let op = 0;
      while (cum[op]! <= pick) op++;
      if (skip !== undefined && skip.has(done)) {
        done++;
        continue;
      }
      k.op = op;
      cpu.setField(CpuField.CUR_OP, op + 1);
      cpu.emit(TraceEv.opStart, op, vma);
      if (task.plant !== undefined && task.cpu === 0 && done === 100) plant(cpu, k, task.plant);
      lat?.start();
      runOp(k, op, vma, slot, file, Math.min(from, E - 1), Math.min(E, from + len), len, flag === 1, shape, forkParent);
      lat?.stop(op);
      cpu.emit(TraceEv.opEnd, op, 0);
      cpu.setField(CpuField.CUR_OP, 0);
      k.count(C.OPS + op);
      cpu.opDone();
      done++;
      cpu.point(Pt['op-gap']);
    }
    // Drain this CPU's deferred frees so the end state is quiescent.
    k.rcu.rcuBarrier();
    k.locks.flush();
    const sched = schedSince(sched0, threadSched());
    stopCpu(CpuState.done);
    return { cpu: task.cpu, ops: done, status: 'ok', sched };
  } catch (e) {
    k.locks.releaseAll();
    k.locks.flush();
    if (e instanceof RunAborted) {
      stopCpu(CpuState.done);
      return { cpu: task.cpu, ops: done, status: 'aborted' };
    }
    stopCpu(CpuState.crashed);
    requestStop(arena, StopState.abort);
    const err = e instanceof Error ? `${e.name}: ${e.message}\n${e.stack ?? ''}` : String(e);
    return { cpu: task.cpu, ops: done, status: 'crashed', error: err };
  }
}

function runOp(
  k: Kernel, op: number, vma: number, slot: number, file: number, from: number, to: number, len: number,
  flag: boolean, shape: ModelShape, forkParent: number | undefined,
): void {
  switch (op) {
    case Op.fault: return opFault(k, vma, slot);
    case Op.munmap: {
      const mm = k.s.vmaMm(vma);
      return opMunmap(k, mm === forkParent ? vmaId(shape, otherMm(shape, mm, from), k.s.vmaFile(vma)) : vma);
    }
    case Op.exit: {
      const mm = k.s.vmaMm(vma) === forkParent ? otherMm(shape, k.s.vmaMm(vma), from) : k.s.vmaMm(vma);
      return opExit(k, mm, vmasOf(shape, mm));
    }
    case Op.fork: {
      // The parent is the scenario's kept parent or the VMA's process; the child takes another slot (its process exits).
      const parent = forkParent ?? k.s.vmaMm(vma);
      const child = otherMm(shape, parent, from);
      return opFork(k, parent, child, vmasOf(shape, parent), vmasOf(shape, child));
    }
    case Op['rmap-unshare']: return opRmapUnshare(k, file, slot);
    case Op.mremap: return opMremap(k, vma);
    case Op['madvise-dontneed']: return opMadviseDontneed(k, vma, from, to);
    case Op.truncate: return opTruncate(k, file, from, to);
    case Op.mprotect: return opMprotect(k, vma);
    case Op['vma-split']: return opVmaSplit(k, vma, Math.max(1, from));
    case Op['uffd-must-wait']: return opUffdMustWait(k, vma, slot);
    case Op['follow-page']: return opFollowPage(k, vma, slot);
    case Op['gup-slow']: return opGupSlow(k, vma, slot, flag);
    case Op['vma-maps-page']: return opVmaMapsPage(k, file, slot);
    case Op['walk-range']: return opWalkRange(k, vma, from, Math.min(len, 8));
    case Op['rmap-walk']: return opRmapWalk(k, file, slot);
    case Op['fault-swap-entry']: return opFaultSwapEntry(k, vma, slot);
    case Op['ptl-under-walker']: return opPtlUnderWalker(k, vma, slot);
    case Op['gup-fast']: return opGupFast(k, vma, slot);
    default: throw new RangeError(`no such operation ${op}`);
  }
}

/** Another slot of mm's world than `mm`, drawn from `from` (a fork's child; what exit/munmap take instead of a kept parent). */
function otherMm(shape: ModelShape, mm: number, from: number): number {
  const m0 = worldMm(shape, worldOfMm(shape, mm), 0);
  return m0 + ((mm - m0 + 1 + (from % (shape.mms - 1))) % shape.mms);
}

/** The mapping of every file (of its world) in process `mm`. */
function vmasOf(shape: ModelShape, mm: number): number[] {
  const w = worldOfMm(shape, mm);
  return Array.from({ length: shape.files }, (_, f) => vmaId(shape, mm, worldFile(shape, w, f)));
}

/** Planted faults: a thrown error (exit 3 path) or a CPU that stops making progress holding a lock (exit 4 path). */
function plant(cpu: Cpu, k: Kernel, what: PlantedFault): void {
  if (what === 'crash') throw new Error('planted crash (--plant crash)');
  k.mmapWrite(0);
  for (;;) {
    if (cpu.aborted()) throw new RunAborted('planted stall aborted');
    Atomics.wait(cpu.mem, cpu.arena.base('scratch'), 0, 5);
  }
}
