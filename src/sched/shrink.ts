/**
 * Shrinking a failing controlled schedule: fewer operations, fewer preemptions, fewer CPUs,
 * while it still fails. The algorithm is independent of how a candidate is run: the caller
 * passes `test`, which runs a candidate under the replay scheduler and says whether it still
 * hits the same kind of violation — and returns the schedule it actually followed, which
 * becomes the canonical form of the candidate (a removed switch can shift everything after it).
 *
 * Passes, repeated until a round changes nothing or the budget is spent:
 *  1. operations: per CPU, halve its op count, then step down one at a time; then drop single
 *     operations from the middle of its stream (delta debugging over chunks: the dropped ones
 *     are drawn but not run, so every other keeps its arguments);
 *  2. CPUs: give a CPU zero operations; drop the highest CPU entirely when it has none;
 *  3. preemptions: delete one run of the schedule (largest first, then from the end), letting
 *     the non-preemptive default fill the gap.
 */

export interface ShrinkCandidate {
  cpus: number;
  opsPerCpu: number[];
  /** Per CPU: indices of its operation stream drawn but not run. */
  skip: number[][];
  steps: Array<[number, number]>;
}

export interface ShrinkTry {
  fails: boolean;
  /** The schedule the run followed, up to and including the violation step. */
  steps?: Array<[number, number]> | undefined;
  /** Operations each CPU had started by the violation (an upper bound that still fails). */
  opsUsed?: number[] | undefined;
  preemptions?: number | undefined;
  /**
   * Per step of `steps`: the deciding CPU and the index (among the operations that ran on it)
   * of the operation it was in, -1 between operations. Lets the op-dropping pass remove the
   * steps of a dropped operation too, so the switches around it stay where they were.
   */
  owners?: Array<[number, number]> | undefined;
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
  /**
   * What stopped it before a round without progress: 'runs' (maxRuns: deterministic, the same
   * shrunk schedule on any machine) or 'time' (maxMs, a safety net: the result then depends on
   * this machine's speed); false when it converged.
   */
  budgetHit: false | 'runs' | 'time';
}

/** Size order: fewer CPUs, then fewer ops, then fewer switches, then fewer steps. */
export function candidateSize(c: ShrinkCandidate): [number, number, number, number] {
  const live = liveOps(c);
  const active = live.filter((o) => o.length > 0).length;
  return [c.cpus + active, sum(live.map((o) => o.length)), c.steps.length, c.steps.reduce((a, [, n]) => a + n, 0)];
}

/** Per CPU: the operation indices that run. */
export function liveOps(c: ShrinkCandidate): number[][] {
  return c.opsPerCpu.map((n, cpu) => {
    const sk = new Set(c.skip[cpu] ?? []);
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (!sk.has(i)) out.push(i);
    return out;
  });
}

/** The schedule without the decisions CPU c made inside its live operations [from, to). */
function dropSteps(steps: ReadonlyArray<readonly [number, number]>, owners: ReadonlyArray<readonly [number, number]>, c: number, from: number, to: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let i = 0;
  for (const [cpu, n] of steps) {
    for (let k = 0; k < n; k++, i++) {
      const o = owners[i];
      if (o && o[0] === c && o[1] >= from && o[1] < to) continue;
      const last = out[out.length - 1];
      if (last && last[0] === cpu) last[1]++;
      else out.push([cpu, 1]);
    }
  }
  return out;
}

function skipsFor(n: number, keep: readonly number[]): number[] {
  const k = new Set(keep);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (!k.has(i)) out.push(i);
  return out;
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
  let best: ShrinkCandidate = { cpus: start.cpus, opsPerCpu: [...start.opsPerCpu], skip: start.skip.map((x) => [...x]), steps: normalizeSteps(start.steps) };
  let runs = 0;
  let accepted = 0;
  let owners: Array<[number, number]> | undefined;
  let budgetHit: ShrinkResult['budgetHit'] = false;
  const out = (): boolean => {
    if (budgetHit === false) {
      if (runs >= budget.maxRuns) budgetHit = 'runs';
      else if (performance.now() - t0 > budget.maxMs) budgetHit = 'time';
    }
    return budgetHit !== false;
  };
  /** Run a candidate; on failure-preserved adopt it (canonicalised). */
  const attempt = async (c: ShrinkCandidate): Promise<boolean> => {
    if (out()) return false;
    runs++;
    const r = await test(c);
    if (!r.fails) return false;
    const opsPerCpu = r.opsUsed ? c.opsPerCpu.map((o, i) => Math.min(o, r.opsUsed![i] ?? o)) : c.opsPerCpu;
    const next: ShrinkCandidate = {
      cpus: c.cpus,
      opsPerCpu,
      skip: c.skip.map((sk, i) => sk.filter((x) => x < opsPerCpu[i]!)),
      steps: normalizeSteps(r.steps ?? c.steps),
    };
    if (!smaller(next, best)) return false;
    best = next;
    owners = r.owners;
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
    // 1b. drop operations from the middle of each stream (ddmin over chunks)
    for (let c = 0; c < best.cpus && !out(); c++) {
      let live = liveOps(best)[c]!;
      for (let chunk = Math.ceil(live.length / 2); chunk >= 1 && !out(); chunk = chunk === 1 ? 0 : Math.ceil(chunk / 2)) {
        for (let at = 0; at < live.length && !out(); ) {
          const keep = [...live.slice(0, at), ...live.slice(at + chunk)];
          const skip = best.skip.map((sk, i) => (i === c ? skipsFor(best.opsPerCpu[c]!, keep) : sk));
          const steps = owners ? dropSteps(best.steps, owners, c, at, at + chunk) : best.steps;
          if (keep.length > 0 && ((await attempt({ ...best, skip, steps })) || (owners !== undefined && (await attempt({ ...best, skip }))))) {
            progress = true;
            live = liveOps(best)[c]!;
          } else at += chunk;
        }
      }
    }
    // 2. CPUs
    for (let c = best.cpus - 1; c >= 0 && !out(); c--) {
      if (best.opsPerCpu[c]! > 0) {
        const zero = best.opsPerCpu.map((v, i) => (i === c ? 0 : v));
        const skip = best.skip.map((sk, i) => (i === c ? [] : sk));
        if (await attempt({ ...best, opsPerCpu: zero, skip, steps: normalizeSteps(best.steps.filter(([x]) => x !== c)) })) progress = true;
      }
      if (c === best.cpus - 1 && best.cpus > 1 && best.opsPerCpu[c] === 0) {
        const fewer: ShrinkCandidate = {
          cpus: best.cpus - 1,
          opsPerCpu: best.opsPerCpu.slice(0, -1),
          skip: best.skip.slice(0, -1),
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
