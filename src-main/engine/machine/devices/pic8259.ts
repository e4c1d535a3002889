// The PC's pair of 8259A programmable interrupt controllers: master at 0x20–0x21 (IRQ0–7),
// slave at 0xA0–0xA1 (IRQ8–15) cascaded into the master's IR2. Owns IRR/ISR/IMR, the ICW1–ICW4
// initialisation sequence, OCW1–OCW3, priority resolution, the INTA cycle the CPU runs
// (`acknowledge`), and the InterruptLines devices raise.
//
// Behaviour follows the Intel 8259A datasheet (231468) as QEMU's hw/intc/i8259.c implements
// it, since MACHINE.md says to match QEMU where it is visible:
// - Edge-triggered only: a request sets IRR on a low→high transition of its line (datasheet
//   "Edge and Level Triggered Modes"); a line is a level, so raising an already-high line does
//   nothing (until ICW1 clears the edge memory). LTIM (ICW1 bit 3) is ignored, as QEMU logs it unimplemented; ELCR (0x4D0/0x4D1)
//   is not on this machine.
// - The slave's INT output is the master's IR2 input (datasheet "Cascade Mode"): a slave
//   request reaches the CPU as a rising edge on master IR2, so slave priorities sit at IR2's
//   place in the master's order.
// - Fully nested mode: lowest IRQ number wins; a request is passed on only if it outranks every
//   in-service level. Rotation (OCW2 R bit) and special mask mode work as in QEMU;
//   special fully nested mode (ICW4 SFNM) only changes the master's priority computation.
// - Spurious interrupts: an INTA with nothing left to serve yields IR7's vector without setting
//   ISR (datasheet: "the 8259A will issue an IR7 vector"); for the slave this is IRQ15's vector
//   and the master's IR2 is still put in service, so the guest must EOI the master only.
// - Reset state: no BIOS runs on this machine (MACHINE.md), so the chips are as QEMU's
//   pic_reset leaves them before firmware: IMR = 0 (nothing masked), IRR = ISR = 0, vector
//   base 0, not in an initialisation sequence, IRR selected for reads. (On QEMU the guest sees
//   SeaBIOS's setup instead: bases 0x08/0x70, IMRs 0xb8/0x8e.) Kernels always run ICW1–4 before
//   enabling interrupts; one that does not would get IRQ0 as vector 0 here.
// - Wide accesses as QEMU handles them (see `read` below): `out 0x20, ax` writes the command
//   port with the low byte, then the data port with the high byte; `in ax, 0x21` reads 0.

import { isUnaligned, readBytewise, StateReader, writeBytewise } from '../bus';
import {
  type InterruptController,
  type InterruptLine,
  type PortDevice,
  type PortRange,
  type PortSize,
} from '../interfaces';

/** One 8259A. Method names and state follow QEMU's PICCommonState. */
class Chip {
  irr = 0;
  imr = 0;
  isr = 0;
  /** the line levels last seen, for edge detection */
  lastIrr = 0;
  /** rotation: the IR with priority 0 is (0 + priorityAdd) & 7 */
  priorityAdd = 0;
  irqBase = 0;
  /** OCW3 RR/RIS: read ISR (true) or IRR (false) at the even port */
  readIsr = false;
  poll = false;
  specialMask = false;
  /** 0: operational; 1: expecting ICW2; 2: ICW3; 3: ICW4 */
  initState = 0;
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  init4 = false;
  singleMode = false;

  constructor(
    readonly master: boolean,
    /** the chip's INT output */
    private readonly output: (level: boolean) => void,
  ) {}

  /** ICW1 (datasheet "Initialization Command Words"): IMR, ISR, IRR edge sense cleared. */
  resetForInit(): void {
    this.lastIrr = 0;
    this.irr = 0;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.irqBase = 0;
    this.readIsr = false;
    this.poll = false;
    this.specialMask = false;
    this.initState = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.init4 = false;
    this.singleMode = false;
  }

  /** Priority (0 = highest) of the best request in `mask`, or 8 when none. */
  private priority(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IR the chip wants to signal, or -1. */
  pending(): number {
    const p = this.priority(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.specialFullyNested && this.master) inService &= ~(1 << 2);
    return p < this.priority(inService) ? (p + this.priorityAdd) & 7 : -1;
  }

  update(): void {
    this.output(this.pending() >= 0);
  }

  setIrq(irq: number, level: boolean): void {
    const mask = 1 << irq;
    if (level) {
      if ((this.lastIrr & mask) === 0) this.irr |= mask;
      this.lastIrr |= mask;
    } else {
      this.lastIrr &= ~mask;
    }
    this.update();
  }

  /** The INTA cycle for `irq`: in service (unless AEOI), request consumed. */
  intack(irq: number): void {
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= 1 << irq;
    }
    this.irr &= ~(1 << irq);
    this.update();
  }

  write(a0: number, val: number): void {
    if (a0 === 0) {
      if (val & 0x10) {
        // ICW1
        this.resetForInit();
        this.update();
        this.initState = 1;
        this.init4 = (val & 1) !== 0;
        this.singleMode = (val & 2) !== 0;
      } else if (val & 0x08) {
        // OCW3: poll, read-register select (only when RR is set), special mask (only when ESMM)
        if (val & 0x04) this.poll = true;
        if (val & 0x02) this.readIsr = (val & 1) !== 0;
        if (val & 0x40) this.specialMask = (val & 0x20) !== 0;
      } else {
        // OCW2: R SL EOI in bits 7–5, level in bits 2–0
        const cmd = val >>> 5;
        switch (cmd) {
          case 0: // rotate in AEOI mode: clear
          case 4: // rotate in AEOI mode: set
            this.rotateOnAutoEoi = cmd === 4;
            break;
          case 1: // non-specific EOI
          case 5: {
            // rotate on non-specific EOI
            const p = this.priority(this.isr);
            if (p !== 8) {
              const irq = (p + this.priorityAdd) & 7;
              this.isr &= ~(1 << irq);
              if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
              this.update();
            }
            break;
          }
          case 3: // specific EOI
            this.isr &= ~(1 << (val & 7));
            this.update();
            break;
          case 6: // set priority
            this.priorityAdd = (val + 1) & 7;
            this.update();
            break;
          case 7: // rotate on specific EOI
            this.isr &= ~(1 << (val & 7));
            this.priorityAdd = ((val & 7) + 1) & 7;
            this.update();
            break;
          default: // 2: no operation
            break;
        }
      }
      return;
    }
    switch (this.initState) {
      case 0: // OCW1
        this.imr = val;
        this.update();
        break;
      case 1: // ICW2: T7–T3 of the vector
        this.irqBase = val & 0xf8;
        this.initState = this.singleMode ? (this.init4 ? 3 : 0) : 2;
        break;
      case 2: // ICW3: cascade wiring, fixed on a PC
        this.initState = this.init4 ? 3 : 0;
        break;
      default: // ICW4: SFNM (bit 4), AEOI (bit 1); µPM, BUF, M/S do not matter here
        this.specialFullyNested = (val & 0x10) !== 0;
        this.autoEoi = (val & 0x02) !== 0;
        this.initState = 0;
        break;
    }
  }

  read(a0: number): number {
    if (this.poll) {
      // Poll command (datasheet "The Poll Command"): acts as INTA; I bit 7 + W2–W0.
      this.poll = false;
      const irq = this.pending();
      if (irq < 0) return 0;
      this.intack(irq);
      return irq | 0x80;
    }
    if (a0 === 0) return this.readIsr ? this.isr : this.irr;
    return this.imr;
  }

  save(): ChipState {
    return {
      irr: this.irr,
      imr: this.imr,
      isr: this.isr,
      lastIrr: this.lastIrr,
      priorityAdd: this.priorityAdd,
      irqBase: this.irqBase,
      readIsr: this.readIsr,
      poll: this.poll,
      specialMask: this.specialMask,
      initState: this.initState,
      autoEoi: this.autoEoi,
      rotateOnAutoEoi: this.rotateOnAutoEoi,
      specialFullyNested: this.specialFullyNested,
      init4: this.init4,
      singleMode: this.singleMode,
    };
  }

  static parse(r: StateReader): ChipState {
    const irqBase = r.int('irqBase', 0, 0xff);
    if (irqBase & 7)
      throw new Error(`8259A state: "irqBase" must be a multiple of 8, not ${irqBase}`);
    return {
      irr: r.int('irr', 0, 0xff),
      imr: r.int('imr', 0, 0xff),
      isr: r.int('isr', 0, 0xff),
      lastIrr: r.int('lastIrr', 0, 0xff),
      priorityAdd: r.int('priorityAdd', 0, 7),
      irqBase,
      readIsr: r.bool('readIsr'),
      poll: r.bool('poll'),
      specialMask: r.bool('specialMask'),
      initState: r.int('initState', 0, 3),
      autoEoi: r.bool('autoEoi'),
      rotateOnAutoEoi: r.bool('rotateOnAutoEoi'),
      specialFullyNested: r.bool('specialFullyNested'),
      init4: r.bool('init4'),
      singleMode: r.bool('singleMode'),
    };
  }

  load(s: ChipState): void {
    Object.assign(this, s);
  }
}

interface ChipState {
  irr: number;
  imr: number;
  isr: number;
  lastIrr: number;
  priorityAdd: number;
  irqBase: number;
  readIsr: boolean;
  poll: boolean;
  specialMask: boolean;
  initState: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  init4: boolean;
  singleMode: boolean;
}

/** What one chip's registers look like from outside (for the UI and tests). */
export interface PicChipView {
  readonly irr: number;
  readonly isr: number;
  readonly imr: number;
  readonly vectorBase: number;
  /** still inside an ICW1–ICW4 sequence */
  readonly initialising: boolean;
}

export const MASTER_PORTS: PortRange = { first: 0x20, last: 0x21 };
export const SLAVE_PORTS: PortRange = { first: 0xa0, last: 0xa1 };
/** the master's input the slave's INT drives */
export const CASCADE_IRQ = 2;

export class Pic8259 implements PortDevice, InterruptController {
  readonly name = 'pic8259';
  readonly ports: readonly PortRange[] = [MASTER_PORTS, SLAVE_PORTS];
  private readonly master: Chip;
  private readonly slave: Chip;
  /** the master's INT output: the CPU's INTR pin */
  private intr = false;
  private readonly lines: InterruptLine[] = [];

  constructor() {
    this.master = new Chip(true, (level) => {
      this.intr = level;
    });
    this.slave = new Chip(false, (level) => this.master.setIrq(CASCADE_IRQ, level));
    for (let irq = 0; irq < 16; irq++) {
      const chip = irq < 8 ? this.master : this.slave;
      const pin = irq & 7;
      this.lines.push({
        raise: () => chip.setIrq(pin, true),
        lower: () => chip.setIrq(pin, false),
      });
    }
  }

  /**
   * The request line of ISA IRQ `irq` (0–15). IRQ2 is the cascade input, driven by the slave
   * (on a PC the ISA bus's IRQ2 pin is wired to IRQ9), so it is not handed out.
   */
  line(irq: number): InterruptLine {
    if (!Number.isInteger(irq) || irq < 0 || irq > 15)
      throw new RangeError(`no IRQ ${irq} on the 8259A pair (0–15)`);
    if (irq === CASCADE_IRQ)
      throw new RangeError('IRQ2 is the cascade from the slave 8259A; use IRQ9');
    return this.lines[irq]!;
  }

  hasInterrupt(): boolean {
    return this.intr;
  }

  /** the IRQ line (0–15) of the last acknowledged request (7 or 15 when spurious) */
  lastIrq = -1;

  /** INTA: the vector of the best pending request, now in service (QEMU's pic_read_irq). */
  acknowledge(): number {
    const m = this.master;
    const irq = m.pending();
    if (irq < 0) {
      this.lastIrq = 7;
      return m.irqBase + 7; // spurious IRQ7: ISR untouched
    }
    let vector: number;
    if (irq === CASCADE_IRQ) {
      const irq2 = this.slave.pending();
      if (irq2 >= 0) {
        this.slave.intack(irq2);
        vector = this.slave.irqBase + irq2;
        this.lastIrq = 8 + irq2;
      } else {
        vector = this.slave.irqBase + 7; // spurious IRQ15
        this.lastIrq = 15;
      }
    } else {
      vector = m.irqBase + irq;
      this.lastIrq = irq;
    }
    m.intack(irq);
    return vector;
  }

  /** Whether `irq` (0–15) is masked on the way to the CPU (its own IMR bit, or IR2 for the slave). */
  isMasked(irq: number): boolean {
    if (irq < 8) return (this.master.imr & (1 << irq)) !== 0;
    return (
      (this.slave.imr & (1 << (irq & 7))) !== 0 || (this.master.imr & (1 << CASCADE_IRQ)) !== 0
    );
  }

  inspect(): { master: PicChipView; slave: PicChipView } {
    const view = (c: Chip): PicChipView => ({
      irr: c.irr,
      isr: c.isr,
      imr: c.imr,
      vectorBase: c.irqBase,
      initialising: c.initState !== 0,
    });
    return { master: view(this.master), slave: view(this.slave) };
  }

  // Wide accesses as QEMU's memory core gives them to i8259 (no `valid.unaligned`,
  // `impl.max_access_size = 1`): unaligned ones are refused (read 0, write dropped); aligned ones
  // become byte accesses at offsets from the chip's base, and QEMU's handler treats every offset
  // but 0 as the odd port, so `in eax, 0x20` reads IRR, IMR, IMR, IMR.
  read(port: number, size: PortSize): number {
    const [chip, offset] = this.decode(port);
    if (size === 1) return chip.read(offset);
    if (isUnaligned(offset, size)) return 0;
    return readBytewise(offset, size, (o) => chip.read(o === 0 ? 0 : 1));
  }

  write(port: number, size: PortSize, value: number): void {
    const [chip, offset] = this.decode(port);
    if (size === 1) {
      chip.write(offset, value & 0xff);
    } else if (!isUnaligned(offset, size)) {
      writeBytewise(offset, size, value, (o, b) => chip.write(o === 0 ? 0 : 1, b));
    }
  }

  private decode(port: number): [Chip, number] {
    if (port >= MASTER_PORTS.first && port <= MASTER_PORTS.last)
      return [this.master, port - MASTER_PORTS.first];
    if (port >= SLAVE_PORTS.first && port <= SLAVE_PORTS.last)
      return [this.slave, port - SLAVE_PORTS.first];
    throw new RangeError(`port 0x${port.toString(16)} is not an 8259A port`);
  }

  save(): { master: ChipState; slave: ChipState } {
    return { master: this.master.save(), slave: this.slave.save() };
  }

  restore(state: unknown): void {
    const r = new StateReader(state, 'pic8259');
    const master = Chip.parse(r.object('master'));
    const slave = Chip.parse(r.object('slave'));
    this.master.load(master);
    this.slave.load(slave);
    // INT outputs are functions of the registers: recompute without touching edge state.
    this.intr = this.master.pending() >= 0;
  }
}
