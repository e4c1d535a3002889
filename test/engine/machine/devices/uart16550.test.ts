// The 16550A as COM1: reset values, THR capture and its limit, DLAB and the divisor latch,
// FIFO bits in IIR, the THRE interrupt, loopback, and snapshots.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../../src-main/engine/machine/bus';
import { Uart16550 } from '../../../../src-main/engine/machine/devices/uart16550';
import { RecordingLine as Line } from '../../../helpers/interrupt-line';

const THR = 0x3f8;
const IER = 0x3f9;
const IIR = 0x3fa;
const FCR = 0x3fa;
const LCR = 0x3fb;
const MCR = 0x3fc;
const LSR = 0x3fd;
const MSR = 0x3fe;
const SCR = 0x3ff;

function setup(outputLimit?: number): { uart: Uart16550; line: Line; bus: PortBus } {
  const line = new Line();
  const uart = new Uart16550(line, outputLimit === undefined ? {} : { outputLimit });
  const bus = new PortBus();
  bus.register(uart);
  return { uart, line, bus };
}

const text = (u: Uint8Array): string => new TextDecoder().decode(u);

describe('16550 registers', () => {
  it('resets as QEMU does', () => {
    const { bus, uart } = setup();
    expect(uart.ports).toEqual([{ first: 0x3f8, last: 0x3ff }]);
    expect([IER, IIR, LCR, MCR, LSR, MSR, SCR].map((p) => bus.read(p, 1))).toEqual([
      0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00,
    ]);
    expect(bus.read(THR, 1)).toBe(0); // nothing received
  });

  it('captures THR writes as the serial output and reports them to onOutput', () => {
    const { bus, uart } = setup();
    const seen: number[] = [];
    uart.onOutput = (b) => seen.push(b);
    for (const c of new TextEncoder().encode('hi\n')) {
      expect(bus.read(LSR, 1) & 0x20).toBe(0x20); // THR empty: polling drivers go on
      bus.write(THR, 1, c);
    }
    expect(text(uart.output())).toBe('hi\n');
    expect(seen).toEqual([0x68, 0x69, 0x0a]);
    expect(bus.read(LSR, 1)).toBe(0x60);
  });

  it('maps DLL/DLM at +0/+1 while LCR.DLAB is set', () => {
    const { bus, uart } = setup();
    bus.write(IER, 1, 0x05);
    bus.write(LCR, 1, 0x83);
    expect(bus.read(THR, 1)).toBe(0x0c); // divisor 12 after reset
    expect(bus.read(IER, 1)).toBe(0x00);
    bus.write(THR, 1, 0x01); // 115200 baud
    bus.write(IER, 1, 0x00);
    expect(bus.read(THR, 1) | (bus.read(IER, 1) << 8)).toBe(1);
    expect(uart.output().length).toBe(0);
    bus.write(LCR, 1, 0x03);
    expect(bus.read(LCR, 1)).toBe(0x03);
    expect(bus.read(IER, 1)).toBe(0x05);
  });

  it('keeps the scratch register and MCR (5 bits)', () => {
    const { bus } = setup();
    bus.write(SCR, 1, 0x5a);
    bus.write(MCR, 1, 0xff & ~0x10);
    expect(bus.read(SCR, 1)).toBe(0x5a);
    expect(bus.read(MCR, 1)).toBe(0x0f);
  });

  it('shows FIFO enable in IIR bits 7–6 and keeps only the sticky FCR bits', () => {
    const { bus, uart } = setup();
    bus.write(FCR, 1, 0xc7);
    expect(bus.read(IIR, 1)).toBe(0xc1);
    expect(uart.save().fcr).toBe(0xc1);
    bus.write(FCR, 1, 0x00);
    expect(bus.read(IIR, 1)).toBe(0x01);
  });

  it('splits wide accesses into bytes, unaligned ones too', () => {
    const { bus, uart } = setup();
    bus.write(THR, 2, 0x0241);
    expect(text(uart.output())).toBe('A');
    expect(bus.read(IER, 1)).toBe(0x02);
    bus.write(IER, 1, 0);
    expect(bus.read(IER, 4)).toBe(0x08_00_01_00); // IER, IIR, LCR, MCR
    bus.write(MSR, 2, 0x7700); // MSR is read-only; SCR takes 0x77
    expect(bus.read(SCR, 1)).toBe(0x77);
  });

  it('reads 0xFF for bytes past its last port (QEMU 7.2 aborts there)', () => {
    const { bus } = setup();
    bus.write(SCR, 1, 0x5a);
    expect(bus.read(SCR, 2)).toBe(0xff5a);
    expect(() => bus.write(SCR, 4, 0x12345678)).not.toThrow();
    expect(bus.read(SCR, 1)).toBe(0x78);
  });
});

describe('16550 THRE interrupt', () => {
  it('raises IRQ when IER.THRI is set with THR empty; reading IIR clears it', () => {
    const { bus, line } = setup();
    bus.write(IER, 1, 0x02);
    expect(line.level).toBe(true);
    expect(bus.read(IIR, 1)).toBe(0x02);
    expect(line.level).toBe(false);
    expect(bus.read(IIR, 1)).toBe(0x01);
  });

  it('gives a fresh edge after every THR write (instant transmit refills THRE)', () => {
    const { bus, line, uart } = setup();
    bus.write(IER, 1, 0x02);
    bus.read(IIR, 1);
    for (let i = 1; i <= 3; i++) {
      bus.write(THR, 1, 0x30 + i);
      expect(line.rises).toBe(1 + i);
      expect(bus.read(IIR, 1)).toBe(0x02);
    }
    expect(text(uart.output())).toBe('123');
    bus.write(THR, 1, 0x21);
    bus.write(IER, 1, 0x00); // disabling the interrupt drops the line
    expect(line.level).toBe(false);
    expect(bus.read(IIR, 1)).toBe(0x01);
  });

  it('re-arms THRE when the FIFOs are reset with IER.THRI on', () => {
    const { bus, line } = setup();
    bus.write(IER, 1, 0x02);
    bus.read(IIR, 1);
    bus.write(FCR, 1, 0x07);
    expect(line.level).toBe(true);
    expect(bus.read(IIR, 1)).toBe(0xc2);
  });
});

describe('16550 loopback', () => {
  it('passes the OSDev-wiki probe: a byte sent in loopback is received, not output', () => {
    const { bus, uart } = setup();
    bus.write(IER, 1, 0x00);
    bus.write(LCR, 1, 0x80);
    bus.write(THR, 1, 0x03);
    bus.write(IER, 1, 0x00);
    bus.write(LCR, 1, 0x03);
    bus.write(FCR, 1, 0xc7);
    bus.write(MCR, 1, 0x0b);
    bus.write(MCR, 1, 0x1e); // loopback
    bus.write(THR, 1, 0xae);
    expect(bus.read(LSR, 1) & 0x01).toBe(0x01);
    expect(bus.read(THR, 1)).toBe(0xae);
    expect(bus.read(LSR, 1)).toBe(0x60);
    bus.write(MCR, 1, 0x0f);
    bus.write(THR, 1, 0x41);
    expect(text(uart.output())).toBe('A');
  });

  it('reflects MCR outputs in MSR and reports overruns without a FIFO', () => {
    const { bus, line } = setup();
    bus.write(MCR, 1, 0x10 | 0x01 | 0x08); // loop, DTR, OUT2
    expect(bus.read(MSR, 1)).toBe(0x20 | 0x80); // DSR, DCD
    bus.write(IER, 1, 0x05); // received data + line status interrupts
    bus.write(THR, 1, 1);
    expect(bus.read(IIR, 1)).toBe(0x04);
    bus.write(THR, 1, 2);
    expect(line.level).toBe(true);
    expect(bus.read(IIR, 1)).toBe(0x06); // overrun outranks data
    expect(bus.read(LSR, 1) & 0x03).toBe(0x03);
    expect(bus.read(IIR, 1)).toBe(0x04); // reading LSR cleared OE
    expect(bus.read(THR, 1)).toBe(2);
    expect(line.level).toBe(false);
  });
});

describe('16550 output limit', () => {
  it('keeps at most the limit and counts what it dropped', () => {
    const { bus, uart } = setup(4);
    const seen: number[] = [];
    uart.onOutput = (b) => seen.push(b);
    for (const c of new TextEncoder().encode('abcdef')) bus.write(THR, 1, c);
    expect(text(uart.output())).toBe('abcd');
    expect(uart.droppedBytes).toBe(2);
    expect(seen.length).toBe(6);
  });

  it('grows its buffer past the initial size', () => {
    const { bus, uart } = setup();
    for (let i = 0; i < 10_000; i++) bus.write(THR, 1, i & 0xff);
    const out = uart.output();
    expect(out.length).toBe(10_000);
    expect(out[9_999]).toBe(9_999 & 0xff);
  });
});

describe('16550 snapshots', () => {
  it('restores into a fresh UART and continues identically, output included', () => {
    const a = setup();
    a.bus.write(LCR, 1, 0x83);
    a.bus.write(THR, 1, 0x01);
    a.bus.write(LCR, 1, 0x03);
    a.bus.write(FCR, 1, 0xc7);
    a.bus.write(SCR, 1, 0x99);
    for (const c of new TextEncoder().encode('before ')) a.bus.write(THR, 1, c);
    a.bus.write(MCR, 1, 0x1b);
    a.bus.write(THR, 1, 0x11); // in the receive FIFO
    a.bus.write(THR, 1, 0x22);
    a.bus.write(MCR, 1, 0x0b);
    a.bus.write(IER, 1, 0x02);
    const snap = JSON.parse(JSON.stringify(a.uart.save())) as unknown;

    const b = setup();
    b.uart.restore(snap);
    b.line.level = a.line.level;
    b.line.rises = a.line.rises;
    expect(b.uart.save()).toEqual(a.uart.save());
    const run = (s: typeof a): (number | string)[] => {
      const seen: (number | string)[] = [
        s.bus.read(IIR, 1),
        s.bus.read(THR, 1),
        s.bus.read(LSR, 1),
      ];
      for (const c of new TextEncoder().encode('after')) s.bus.write(THR, 1, c);
      seen.push(s.bus.read(THR, 1), s.bus.read(LSR, 1), s.bus.read(SCR, 1), s.line.rises);
      seen.push(text(s.uart.output()));
      return seen;
    };
    expect(run(b)).toEqual(run(a));
    expect(text(b.uart.output())).toBe('before after');
  });

  it('rejects malformed states and keeps its own', () => {
    const { uart, bus } = setup();
    bus.write(THR, 1, 0x41);
    const good = uart.save();
    expect(() => uart.restore({ ...good, ier: 0x10 })).toThrow(
      /uart16550 \(COM1\) state: "ier" must be an integer in 0..15/,
    );
    expect(() => uart.restore({ ...good, output: '!!' })).toThrow(/"output" must be base64 text/);
    expect(() => uart.restore({ ...good, rxFifo: new Array(17).fill(0) })).toThrow(/"rxFifo"/);
    expect(() => uart.restore({ ...good, fcr: 0x02 })).toThrow(/bits a 16550 does not keep/);
    expect(() => setup(0).uart.restore(good)).toThrow(/at most 0 bytes/);
    expect(uart.save()).toEqual(good);
  });
});
