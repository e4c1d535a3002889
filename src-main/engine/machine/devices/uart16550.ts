// The 16550A UART as COM1 (0x3F8–0x3FF, IRQ4): what the guest writes to THR is the run's serial
// output. Owns the register file (RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR, the divisor
// latch), the interrupt logic, and the captured output.
//
// Modeled on QEMU's hw/char/serial.c with a backend that accepts every byte at once, which is
// what `-serial stdio` / `-nographic` give a guest (MACHINE.md: match QEMU's visible output):
// - Transmission is instantaneous: a THR write clears THRE/TEMT, the byte goes out, and THRE/TEMT
//   are set again before the OUT completes, so LSR always reads 0x60 to a polling driver.
// - THRE interrupt (16550 datasheet, "Interrupt Identification Register"): pending while THR is
//   empty and IER bit 1 is set; reading IIR while it is the reported source clears it, writing
//   THR clears it and the instant transmit sets it again (the line drops and rises: a fresh edge
//   for the edge-triggered PIC, so interrupt-driven output works). Setting IER bit 1 while THR is
//   empty makes it pending (QEMU and Bochs do; Windows relies on it).
// - IIR bits 7–6 read 11 when FIFOs are enabled (FCR bit 0), as a 16550A. IIR priority order:
//   line status, character timeout, received data, THRE, modem status.
// - Nothing is ever received from outside. Loopback (MCR bit 4) is modeled as QEMU does: a byte
//   written to THR is not output but received (into the 16-byte FIFO, or RBR), MSR reflects MCR's
//   outputs — so the OSDev-wiki style "write 0xAE in loopback and read it back" probe passes.
//   The character-timeout interrupt (4 character times after the last byte below the FIFO
//   trigger level) needs wall-clock-like timing and is not modeled.
// - Reset state as QEMU's serial_reset: IER 0, IIR 0x01, LCR 0, MCR 0x08 (OUT2), LSR 0x60,
//   MSR 0xB0 (DCD, DSR, CTS), divisor 12 (9600 baud), SCR 0, FIFOs off. OUT2 does not gate the
//   IRQ (QEMU does not model that PC-board detail either).
// - Wide accesses are split into byte accesses (QEMU's impl.max_access_size = 1; unaligned ones
//   are allowed): `out 0x3f8, ax` writes THR then IER, `in eax, 0x3f9` reads IER, IIR, LCR, MCR.
//   The bytes of an access that runs past the last port (`in ax, 0x3ff`) read 0xFF and writes
//   to them are ignored; QEMU 7.2 aborts on that access (an assertion in serial_ioport_read).
// - The captured output is capped (16 MiB by default) to protect the host's memory: bytes past
//   the cap are counted in `droppedBytes` and not kept; `onOutput` still sees every byte.

import { encodeBytes, readBytewise, StateReader, writeBytewise } from '../bus';
import { type InterruptLine, type PortDevice, type PortRange, type PortSize } from '../interfaces';

export const COM1_BASE = 0x3f8;
export const DEFAULT_OUTPUT_LIMIT = 16 * 1024 * 1024;

const LCR_DLAB = 0x80;
const IER_RDI = 0x01;
const IER_THRI = 0x02;
const IER_RLSI = 0x04;
const IER_MSI = 0x08;
const IIR_NO_INT = 0x01;
const IIR_ID = 0x06;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_FE = 0xc0;
const MCR_LOOP = 0x10;
const MCR_OUT2 = 0x08;
const MSR_DCD = 0x80;
const MSR_DSR = 0x20;
const MSR_CTS = 0x10;
const MSR_ANY_DELTA = 0x0f;
const LSR_TEMT = 0x40;
const LSR_THRE = 0x20;
const LSR_BI = 0x10;
const LSR_OE = 0x02;
const LSR_DR = 0x01;
const LSR_INT_ANY = 0x1e;
const FCR_FE = 0x01;
const FCR_RFR = 0x02;
const FCR_XFR = 0x04;
const FIFO_LENGTH = 16;
/** receive FIFO trigger levels by FCR bits 7–6 (16550A) */
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

export interface Uart16550Options {
  /** first of the 8 ports (default COM1, 0x3F8) */
  readonly base?: number;
  /** most output bytes kept (default 16 MiB) */
  readonly outputLimit?: number;
}

interface UartState {
  divisor: number;
  rbr: number;
  ier: number;
  iir: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  fcr: number;
  thrIpending: boolean;
  rxFifo: number[];
}

export class Uart16550 implements PortDevice {
  readonly name: string;
  readonly ports: readonly PortRange[];
  /** called with every byte the guest transmits (also those past the capture limit) */
  onOutput: ((byte: number) => void) | undefined;

  private readonly base: number;
  private readonly outputLimit: number;
  private out = new Uint8Array(4096);
  private outLength = 0;
  private dropped = 0;

  private divisor = 0x0c;
  private rbr = 0;
  private ier = 0;
  private iir = IIR_NO_INT;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private lsr = LSR_TEMT | LSR_THRE;
  private msr = MSR_DCD | MSR_DSR | MSR_CTS;
  private scr = 0;
  private fcr = 0;
  private thrIpending = false;
  private rxFifo: number[] = [];

  constructor(
    private readonly irq?: InterruptLine,
    options: Uart16550Options = {},
  ) {
    const base = options.base ?? COM1_BASE;
    if (!Number.isInteger(base) || base < 0 || base > 0xfff8 || base % 8 !== 0) {
      throw new RangeError(`16550 base port must be a multiple of 8 up to 0xfff8, not ${base}`);
    }
    const limit = options.outputLimit ?? DEFAULT_OUTPUT_LIMIT;
    if (!Number.isInteger(limit) || limit < 0)
      throw new RangeError(`output limit must be a byte count, not ${limit}`);
    this.base = base;
    this.outputLimit = limit;
    this.name = base === COM1_BASE ? 'uart16550 (COM1)' : `uart16550 @0x${base.toString(16)}`;
    this.ports = [{ first: base, last: base + 7 }];
  }

  /** The captured serial output (a copy). */
  output(): Uint8Array {
    return this.out.slice(0, this.outLength);
  }

  /** Bytes captured so far. */
  get outputLength(): number {
    return this.outLength;
  }

  /** The bytes captured from `offset` on (for streaming the output while a run goes on). */
  outputSince(offset: number): Uint8Array {
    return this.out.slice(Math.min(offset, this.outLength), this.outLength);
  }

  /**
   * Bytes a hypervisor's console writes for its guest (the para-virtual console_write): the
   * same output stream as transmitted bytes, with no register or interrupt involved.
   */
  writeConsole(bytes: Uint8Array): void {
    for (const b of bytes) this.emit(b);
  }

  /** Bytes transmitted past the capture limit, not kept. */
  get droppedBytes(): number {
    return this.dropped;
  }

  // ---- interrupt logic (QEMU's serial_update_irq) ------------------------------------------------

  private updateIrq(): void {
    let id = IIR_NO_INT;
    const rxTrigger = TRIGGER_LEVELS[this.fcr >>> 6]!;
    if (this.ier & IER_RLSI && this.lsr & LSR_INT_ANY) {
      id = IIR_RLSI;
    } else if (
      this.ier & IER_RDI &&
      this.lsr & LSR_DR &&
      (!(this.fcr & FCR_FE) || this.rxFifo.length >= rxTrigger)
    ) {
      id = IIR_RDI;
    } else if (this.ier & IER_THRI && this.thrIpending) {
      id = IIR_THRI;
    } else if (this.ier & IER_MSI && this.msr & MSR_ANY_DELTA) {
      id = IIR_MSI;
    }
    this.iir = id | (this.iir & 0xf0);
    if (!this.irq) return;
    if (id !== IIR_NO_INT) this.irq.raise();
    else this.irq.lower();
  }

  // ---- transmit and receive ----------------------------------------------------------------------

  private transmit(byte: number): void {
    this.thrIpending = false;
    this.lsr &= ~(LSR_THRE | LSR_TEMT);
    this.updateIrq();
    // The backend takes the byte at once: the holding register is empty again.
    this.lsr |= LSR_THRE;
    if (!this.thrIpending) {
      this.thrIpending = true;
      this.updateIrq();
    }
    if (this.mcr & MCR_LOOP) this.receive(byte);
    else this.emit(byte);
    this.lsr |= LSR_TEMT;
  }

  private emit(byte: number): void {
    if (this.outLength < this.outputLimit) {
      if (this.outLength === this.out.length) {
        const bigger = new Uint8Array(Math.min(this.out.length * 2, Math.max(this.outputLimit, 1)));
        bigger.set(this.out);
        this.out = bigger;
      }
      this.out[this.outLength++] = byte;
    } else {
      this.dropped++;
    }
    this.onOutput?.(byte);
  }

  private receive(byte: number): void {
    if (this.fcr & FCR_FE) {
      // Receive overruns do not overwrite the FIFO (16550 datasheet, LSR bit 1).
      if (this.rxFifo.length < FIFO_LENGTH) this.rxFifo.push(byte);
      else this.lsr |= LSR_OE;
    } else {
      if (this.lsr & LSR_DR) this.lsr |= LSR_OE;
      this.rbr = byte;
    }
    this.lsr |= LSR_DR;
    this.updateIrq();
  }

  // ---- registers ---------------------------------------------------------------------------------

  read(port: number, size: PortSize): number {
    if (size !== 1) return readBytewise(port, size, (p) => this.read(p, 1));
    const offset = port - this.base;
    if (offset > 7) return 0xff; // past the UART: see the header
    switch (offset) {
      case 0: {
        if (this.lcr & LCR_DLAB) return this.divisor & 0xff;
        let v: number;
        if (this.fcr & FCR_FE) {
          v = this.rxFifo.shift() ?? 0;
          if (this.rxFifo.length === 0) this.lsr &= ~(LSR_DR | LSR_BI);
        } else {
          v = this.rbr;
          this.lsr &= ~(LSR_DR | LSR_BI);
        }
        this.updateIrq();
        return v;
      }
      case 1:
        return this.lcr & LCR_DLAB ? this.divisor >>> 8 : this.ier;
      case 2: {
        const v = this.iir;
        if ((v & IIR_ID) === IIR_THRI) {
          this.thrIpending = false;
          this.updateIrq();
        }
        return v;
      }
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5: {
        const v = this.lsr;
        if (this.lsr & (LSR_BI | LSR_OE)) {
          this.lsr &= ~(LSR_BI | LSR_OE);
          this.updateIrq();
        }
        return v;
      }
      case 6:
        if (this.mcr & MCR_LOOP) {
          // Loopback: DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD.
          return ((this.mcr & 0x0c) << 4) | ((this.mcr & 0x02) << 3) | ((this.mcr & 0x01) << 5);
        }
        return this.msr;
      default:
        return this.scr;
    }
  }

  write(port: number, size: PortSize, value: number): void {
    if (size !== 1) {
      writeBytewise(port, size, value, (p, b) => this.write(p, 1, b));
      return;
    }
    const val = value & 0xff;
    const offset = port - this.base;
    switch (offset) {
      case 0:
        if (this.lcr & LCR_DLAB) this.divisor = (this.divisor & 0xff00) | val;
        else this.transmit(val);
        break;
      case 1: {
        if (this.lcr & LCR_DLAB) {
          this.divisor = (this.divisor & 0x00ff) | (val << 8);
          break;
        }
        const changed = (this.ier ^ val) & 0x0f;
        this.ier = val & 0x0f;
        if (changed & IER_THRI)
          this.thrIpending = (this.ier & IER_THRI) !== 0 && (this.lsr & LSR_THRE) !== 0;
        if (changed) this.updateIrq();
        break;
      }
      case 2: {
        let v = val;
        // Toggling FIFO enable flushes both FIFOs.
        if ((v ^ this.fcr) & FCR_FE) v |= FCR_XFR | FCR_RFR;
        if (v & FCR_RFR) {
          this.lsr &= ~(LSR_DR | LSR_BI);
          this.rxFifo = [];
        }
        if (v & FCR_XFR) {
          this.lsr |= LSR_THRE;
          this.thrIpending = true;
        }
        // Only FIFO enable, DMA mode and the trigger level stick (QEMU keeps bits 7, 6, 3, 0).
        this.fcr = v & 0xc9;
        this.iir = this.fcr & FCR_FE ? this.iir | IIR_FE : this.iir & ~IIR_FE;
        this.updateIrq();
        break;
      }
      case 3:
        this.lcr = val;
        break;
      case 4:
        this.mcr = val & 0x1f;
        break;
      case 7:
        this.scr = val;
        break;
      default: // LSR and MSR are read-only; offsets past the UART: see the header
        break;
    }
  }

  // ---- snapshots ---------------------------------------------------------------------------------

  save(): UartState & { output: string; dropped: number } {
    return {
      divisor: this.divisor,
      rbr: this.rbr,
      ier: this.ier,
      iir: this.iir,
      lcr: this.lcr,
      mcr: this.mcr,
      lsr: this.lsr,
      msr: this.msr,
      scr: this.scr,
      fcr: this.fcr,
      thrIpending: this.thrIpending,
      rxFifo: [...this.rxFifo],
      output: encodeBytes(this.out.subarray(0, this.outLength)),
      dropped: this.dropped,
    };
  }

  restore(state: unknown): void {
    const r = new StateReader(state, this.name);
    const s: UartState = {
      divisor: r.int('divisor', 0, 0xffff),
      rbr: r.int('rbr', 0, 0xff),
      ier: r.int('ier', 0, 0x0f),
      iir: r.int('iir', 0, 0xff),
      lcr: r.int('lcr', 0, 0xff),
      mcr: r.int('mcr', 0, 0x1f),
      lsr: r.int('lsr', 0, 0xff),
      msr: r.int('msr', 0, 0xff),
      scr: r.int('scr', 0, 0xff),
      fcr: r.int('fcr', 0, 0xff),
      thrIpending: r.bool('thrIpending'),
      rxFifo: r.intArray('rxFifo', 0, 0xff, FIFO_LENGTH),
    };
    if (s.fcr & ~0xc9)
      throw new Error(
        `${this.name} state: "fcr" has bits a 16550 does not keep (0x${s.fcr.toString(16)})`,
      );
    const output = r.bytes('output', this.outputLimit);
    const dropped = r.int('dropped', 0, Number.MAX_SAFE_INTEGER);
    this.divisor = s.divisor;
    this.rbr = s.rbr;
    this.ier = s.ier;
    this.iir = s.iir;
    this.lcr = s.lcr;
    this.mcr = s.mcr;
    this.lsr = s.lsr;
    this.msr = s.msr;
    this.scr = s.scr;
    this.fcr = s.fcr;
    this.thrIpending = s.thrIpending;
    this.rxFifo = [...s.rxFifo];
    this.out = new Uint8Array(Math.max(4096, output.length));
    this.out.set(output);
    this.outLength = output.length;
    this.dropped = dropped;
  }
}
