/**
 * RCU CPU stall detection (the kernel's kernel/rcu/tree_stall.h), run by one main-thread
 * watchdog over the reader words: no timestamp is ever taken on the read side.
 */
import type { Arena } from '../shared-mem/layout.js';
import { CPU_WORDS } from '../shared-mem/layout.js';
import { CpuField, CpuState } from '../shared-mem/cpu-block.js';
import { ACTIVE, GP_STEP, RcuCpu, RcuG, WAIT, rcuCpuLine, rcuCtrAt } from './rcu-words.js';

export const RCU_STALL_DEFAULT_MS = 2000;

export function setRcuStallThreshold(arena: Arena, ms: number): void {
  Atomics.store(arena.mem, arena.base('rcu') + RcuG.STALL_MS, Math.max(1, Math.round(ms)));
}

export interface RcuStall {
  cpu: number;
  /** At least this long inside one read-side section. */
  ms: number;
  /** True the first time this section is reported. */
  first: boolean;
}

/**
 * RCU CPU stall detector, called periodically by ONE main-thread watchdog with any monotonic
 * millisecond clock (the same clock at every call). No timestamp is taken on the read side:
 * the watchdog remembers each CPU's reader word and when it first saw it; if the word's
 * snapshot equals the current epoch it bumps GP (harmless: epochs only need to grow), so any
 * new section on that CPU would carry a different word. The same word seen again therefore
 * means the same section, at least (now - first sighting) long. The threshold is checked
 * against a time lower bound, so a slow watchdog reports late, never falsely.
 */
export function findRcuStalls(arena: Arena, nowMs: number): RcuStall[] {
  const m = arena.mem;
  const base = arena.base('rcu');
  const cpuBase = arena.base('cpu');
  const threshold = Atomics.load(m, base + RcuG.STALL_MS) || RCU_STALL_DEFAULT_MS;
  const now = Math.floor(nowMs) | 0;
  const out: RcuStall[] = [];
  for (let r = 0; r < arena.config.cpus; r++) {
    const line = rcuCpuLine(base, r);
    const v = Atomics.load(m, line + RcuCpu.CTR) & ~WAIT;
    const s = Atomics.load(m, cpuBase + r * CPU_WORDS + CpuField.STATE);
    if (v === 0 || s === CpuState.done || s === CpuState.crashed) {
      Atomics.store(m, line + RcuCpu.WD_CTR, 0);
      continue;
    }
    if (Atomics.load(m, line + RcuCpu.WD_CTR) !== v) {
      Atomics.store(m, line + RcuCpu.WD_CTR, v);
      Atomics.store(m, line + RcuCpu.WD_SINCE, now);
      Atomics.store(m, line + RcuCpu.WD_STALLED, 0);
      const g = v & ~3;
      Atomics.compareExchange(m, base + RcuG.GP, g, g + GP_STEP);
      continue;
    }
    const ms = (now - Atomics.load(m, line + RcuCpu.WD_SINCE)) | 0;
    if (ms < threshold) continue;
    const first = Atomics.exchange(m, line + RcuCpu.WD_STALLED, 1) === 0;
    if (first) {
      Atomics.add(m, base + RcuG.STALLS, 1);
      Atomics.store(m, base + RcuG.LAST_STALL_CPU, r);
      Atomics.store(m, base + RcuG.LAST_STALL_MS, ms);
    }
    out.push({ cpu: r, ms, first });
  }
  return out;
}

/** Kernel-style text for a stall ("rcu: INFO: rcu detected stall on CPU n"). */
export function formatRcuStall(s: RcuStall): string {
  return `rcu: INFO: rcu detected stall: CPU ${s.cpu} inside one RCU read-side critical section for >= ${s.ms} ms`;
}

/**
 * For watchdogs and stall reports: does CPU `cpu` hold grace periods up right now — inside a
 * read-side section, or out of it without having reported the quiescent state yet (that happens
 * at its next poll once a grace period has started)?
 */
export function rcuHoldsGp(arena: Arena, cpu: number): boolean {
  return (Atomics.load(arena.mem, rcuCtrAt(arena, cpu)) & ACTIVE) !== 0;
}
