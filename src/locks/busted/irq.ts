/**
 * BUSTED TLB-shootdown flavours on purpose, each breaking one property the IPI torture must
 * catch. Subclasses of the real Irq (locks/irq.ts), so its hot path carries no flag for them.
 */
import type { CpuCtx } from '../ctx.js';
import { Irq, irqOffShown } from '../irq.js';

/** The shootdown sends its IPIs and returns without waiting for any acknowledgement. */
export class IrqShootdownNoWait extends Irq {
  protected override waitAcks(): void {}
}

/**
 * The shootdown stops waiting for a CPU once it shows interrupts disabled (as if such a CPU
 * could not be using the old tables) — the very CPU fast-GUP's IRQ-off walker is. It waits
 * correctly for every CPU that keeps interrupts enabled, so only a reader that stays IRQ-off
 * across a poll while a sender waits (IRQ_OFF is published at the first poll) can expose it.
 */
export class IrqShootdownSkipsIrqOff extends Irq {
  protected override exempt(t: number, s: number): boolean {
    return super.exempt(t, s) || irqOffShown(this.ctx.arena, t);
  }
}

export const IRQ_BUSTED = {
  'shootdown-no-wait': IrqShootdownNoWait,
  'shootdown-skips-irq-off': IrqShootdownSkipsIrqOff,
} as const satisfies Record<string, new (ctx: CpuCtx) => Irq>;
export type IrqBusted = keyof typeof IRQ_BUSTED;
