/**
 * Shrinking a failing controlled schedule: fewer operations, fewer preemptions, fewer CPUs,
 * while it still fails. The algorithm is independent of how a candidate is run: the caller
 * passes `test`, which runs a candidate under the replay scheduler and says whether it still
 * hits the same kind of violation — and returns the schedule it actually followed, which
 * becomes the canonical form of the candidate (a removed switch can shift everything after it).
 *
 * Passes, repeated until a round changes nothing or the budget is spent:
 *  1. operations: per CPU, halve its op count, then step down one at a time;
 *  2. CPUs: give a CPU zero operations; drop the highest CPU entirely when it has none;
 *  3. preemptions: delete one run of the schedule (largest first, then from the end), letting
 *     the non-preemptive default fill the gap.
 */

export interface ShrinkCandidate {
  cpus: number;
  opsPerCpu: number[];
  steps: Array<[number, number]>;
}

export interface ShrinkTry {
  fails: boolean;
  /** The schedule the run followed, up to and including the violation step. */
  steps?: Array<[number, number]> | undefined;
  /** Operations each CPU had started by the violation (an upper bound that still fails). */
  opsUsed?: number[] | undefined;
  preemptions?: number | undefined;
}

export interface ShrinkBudget {
  maxRuns: number;
  maxMs: number;
}

export interface ShrinkResult {
  best: ShrinkCandidate;
  runs: number;
  accepted: number;
  elapsedMs: number;
  /** Stopped by the budget rather than by a round without progress. */
  budgetHit: boolean;
}

/** Size order: fewer CPUs, then fewer ops, then fewer switches, then fewer steps. */
export function candidateSize(c: ShrinkCandidate): [number, number, number, number] {
  const active = c.opsPerCpu.filter((o) => o > 0).length;
  return [c.cpus + active, sum(c.opsPerCpu), c.steps.length, c.steps.reduce((a, [, n]) => a + n, 0)];
}

function smaller(a: ShrinkCandidate, b: ShrinkCandidate): boolean {
  const x = candidateSize(a);
  const y = candidateSize(b);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! < y[i]!;
  return false;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Merge adjacent runs of the same CPU and drop empty runs. */
export function normalizeSteps(steps: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [c, n] of steps) {
    if (n <= 0) continue;
    const last = out[out.length - 1];
    if (last && last[0] === c) last[1] += n;
    else out.push([c, n]);
  }
  return out;
}

export async function shrinkSchedule(
  start: ShrinkCandidate,
  test: (c: ShrinkCandidate) => Promise<ShrinkTry>,
  budget: ShrinkBudget,
): Promise<ShrinkResult> {
  const t0 = performance.now();
  let best: ShrinkCandidate = { cpus: start.cpus, opsPerCpu: [...start.opsPerCpu], steps: normalizeSteps(start.steps) };
  let runs = 0;
  let accepted = 0;
  let budgetHit = false;
  const out = (): boolean => {
    if (runs >= budget.maxRuns || performance.now() - t0 > budget.maxMs) budgetHit = true;
    return budgetHit;
  };
  /** Run a candidate; on failure-preserved adopt it (canonicalised). */
  const attempt = async (c: ShrinkCandidate): Promise<boolean> => {
    if (out()) return false;
    runs++;
    const r = await test(c);
    if (!r.fails) return false;
    const next: ShrinkCandidate = {
      cpus: c.cpus,
      opsPerCpu: r.opsUsed ? c.opsPerCpu.map((o, i) => Math.min(o, r.opsUsed![i] ?? o)) : c.opsPerCpu,
      steps: normalizeSteps(r.steps ?? c.steps),
    };
    if (!smaller(next, best)) return false;
    best = next;
    accepted++;
    return true;
  };

  // Adopt the canonical form of the start (ops used up to the violation, steps up to it).
  await attempt(best);

  for (let round = 0; round < 8 && !out(); round++) {
    let progress = false;
    // 1. operations
    for (let c = 0; c < best.cpus && !out(); c++) {
      for (;;) {
        const o = best.opsPerCpu[c]!;
        if (o <= 1) break;
        const half = best.opsPerCpu.map((v, i) => (i === c ? Math.floor(o / 2) : v));
        if (await attempt({ ...best, opsPerCpu: half })) {
          progress = true;
          continue;
        }
        break;
      }
      for (let tries = 0; tries < 8 && !out(); tries++) {
        const o = best.opsPerCpu[c]!;
        if (o <= 1) break;
        if (!(await attempt({ ...best, opsPerCpu: best.opsPerCpu.map((v, i) => (i === c ? o - 1 : v)) }))) break;
        progress = true;
      }
    }
    // 2. CPUs
    for (let c = best.cpus - 1; c >= 0 && !out(); c--) {
      if (best.opsPerCpu[c]! > 0) {
        const zero = best.opsPerCpu.map((v, i) => (i === c ? 0 : v));
        if (await attempt({ ...best, opsPerCpu: zero, steps: normalizeSteps(best.steps.filter(([x]) => x !== c)) })) progress = true;
      }
      if (c === best.cpus - 1 && best.cpus > 1 && best.opsPerCpu[c] === 0) {
        const fewer: ShrinkCandidate = {
          cpus: best.cpus - 1,
          opsPerCpu: best.opsPerCpu.slice(0, -1),
          steps: normalizeSteps(best.steps.filter(([x]) => x !== c)),
        };
        if (await attempt(fewer)) progress = true;
      }
    }
    // 3. preemptions: try deleting runs, biggest first, then every run from the end.
    const order = best.steps.map((_, i) => i);
    order.sort((a, b) => best.steps[b]![1] - best.steps[a]![1]);
    const tried = new Set<string>();
    for (const i of [...order.slice(0, 8), ...order.map((_, j) => best.steps.length - 1 - j)]) {
      if (out()) break;
      if (i < 0 || i >= best.steps.length) continue;
      const steps = normalizeSteps(best.steps.filter((_, j) => j !== i));
      const key = JSON.stringify(steps);
      if (tried.has(key)) continue;
      tried.add(key);
      if (await attempt({ ...best, steps })) progress = true;
    }
    if (!progress) break;
  }
  return { best, runs, accepted, elapsedMs: performance.now() - t0, budgetHit };
}
