/**
 * IRQ/IPI walker lock: unit checks in this thread, then the rcutorture-style checker with real
 * workers whose readers disable interrupts while an updater retires objects through TLB
 * shootdowns. Also: concurrent shootdowns do not deadlock, and a CPU waiting with interrupts
 * disabled on a lock held by the IPI sender is reported, not hung on.
 */
import { describe, expect, it } from 'vitest';
import { Arena, defaultArenaConfig } from '../src/shared-mem/layout.js';
import { CpuState } from '../src/shared-mem/cpu-block.js';
import { Cpu } from '../src/workers/cpu.js';
import { Irq, IrqError, readIpiStats } from '../src/locks/irq.js';
import { type TortureOptions, type TortureResult, runTorture } from '../src/workers/tasks/rcutorture.js';

async function torture(o: TortureOptions): Promise<TortureResult> {
  const r = await runTorture(o);
  console.log(r.lines.join('\n'));
  return r;
}

describe('irq (unit, one thread)', () => {
  it('nests disable/enable and save/restore; acknowledges only with interrupts enabled', () => {
    const arena = Arena.create(defaultArenaConfig(2));
    const c0 = new Cpu(arena, 0, { seed: 1 });
    const c1 = new Cpu(arena, 1, { seed: 1 });
    c0.setState(CpuState.running);
    c1.setState(CpuState.idle);
    const i0 = new Irq(c0);
    const i1 = new Irq(c1);
    let flushes = 0;
    i0.onIpi(0, () => flushes++);
    i0.localIrqDisable();
    const f = i0.localIrqSave();
    expect(f).toBe(1);
    expect(i0.irqsDisabled).toBe(true);
    // CPU 1 broadcasts while CPU 0 is "running" with IRQs off: CPU 1 would wait, so send from
    // an idle-target setup instead and check the pending request by hand.
    c0.setState(CpuState.idle);
    i1.tlbShootdown(); // CPU 0 idle: counts as acknowledged, returns at once
    c0.setState(CpuState.running);
    c0.poll();
    expect(flushes).toBe(0); // interrupts disabled: not delivered
    i0.localIrqRestore(f);
    expect(i0.irqsDisabled).toBe(true);
    expect(flushes).toBe(0);
    i0.localIrqEnable();
    expect(i0.irqsDisabled).toBe(false);
    expect(flushes).toBe(1); // delivered at enable
    expect(() => i0.localIrqEnable()).toThrow(IrqError);
    i0.localIrqDisable();
    expect(() => i0.tlbShootdown()).toThrow(/interrupts disabled/);
    i0.localIrqEnable();
    const s = readIpiStats(arena);
    expect(s.sent).toBe(1);
    expect(s.acks).toBe(1);
    expect(s.shootdowns).toBe(1);
  });
});

describe('ipi torture (real workers)', () => {
  it('correct shootdown, 2 CPUs: zero violations over 10^6 IRQ-disabled sections', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, durationMs: 20_000, minReads: 1_000_000 });
    expect(r.reads).toBeGreaterThanOrEqual(1_000_000);
    expect(r.updates).toBeGreaterThan(1000);
    expect(r.violations).toBe(0);
    expect(r.success).toBe(true);
    expect(r.ipi.acks).toBeGreaterThan(0);
  });

  it('two CPUs shooting down at once, 6 CPUs: no deadlock, zero violations', async () => {
    const r = await torture({ flavor: 'irq', cpus: 6, updaters: 2, durationMs: 20_000, minReads: 1_000_000, minMs: 1500, seed: 5 });
    expect(r.reads).toBeGreaterThanOrEqual(1_000_000);
    expect(r.updates).toBeGreaterThan(100);
    expect(r.violations).toBe(0);
    expect(r.ipi.deadlocks).toBe(0);
    expect(r.success).toBe(true);
  });

  it('a target asleep in a wait round is woken to acknowledge, not waited out', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, scenario: 'sleeping-target', durationMs: 15_000 });
    expect(r.updates).toBe(200);
    expect(r.errors).toEqual([]);
    expect(r.ipi.p50Us).toBeLessThanOrEqual(8192);
  });

  it('busted shootdown that does not wait is caught within seconds', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, durationMs: 10_000, busted: 'shootdown-no-wait', stopOnViolation: true });
    expect(r.violations).toBeGreaterThan(0);
    expect(r.success).toBe(false);
    expect(r.firstViolationMs).toBeLessThan(10_000);
  });

  it('busted shootdown that stops waiting for CPUs with IRQs off: caught by readers that stay IRQ-off across a poll', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, durationMs: 10_000, busted: 'shootdown-skips-irq-off', stopOnViolation: true });
    expect(r.violations).toBeGreaterThan(0);
    expect(r.success).toBe(false);
    expect(r.firstViolationMs).toBeGreaterThanOrEqual(0);
    expect(r.firstViolationMs).toBeLessThan(10_000);
  });

  it('the same bug is invisible to readers that never poll inside a section (why they do)', async () => {
    // IRQ_OFF is published at the first poll with interrupts off: without one, the busted sender
    // never sees a CPU with IRQs off and behaves exactly like the correct one.
    const r = await torture({ flavor: 'irq', cpus: 2, durationMs: 10_000, minReads: 300_000, busted: 'shootdown-skips-irq-off', readerPolls: false });
    expect(r.reads).toBeGreaterThanOrEqual(300_000);
    expect(r.updates).toBeGreaterThan(100);
    expect(r.violations).toBe(0);
  });

  it('a CPU waiting with IRQs off on a lock the sender holds: deadlock reported, naming both', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, scenario: 'ipi-deadlock-chain', durationMs: 5000 });
    expect(r.terminated).toBe(false);
    expect(r.ipi.deadlocks).toBe(1);
    expect(r.ipi.lastDeadlock).toMatchObject({ sender: 0, target: 1 });
    expect(r.errors.join('\n')).toMatch(/IpiDeadlock: IPI deadlock: cpu 0 waits for cpu 1/);
    expect(r.elapsedMs).toBeLessThan(3000);
  });

  it('the same with an untracked lock: reported after the deadlock threshold', async () => {
    const r = await torture({ flavor: 'irq', cpus: 2, scenario: 'ipi-deadlock-timeout', deadlockMs: 300, durationMs: 5000 });
    expect(r.terminated).toBe(false);
    expect(r.ipi.lastDeadlock).toMatchObject({ sender: 0, target: 1 });
    expect(r.errors.join('\n')).toMatch(/suspected/);
  });
});
