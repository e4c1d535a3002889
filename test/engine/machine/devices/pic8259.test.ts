// The 8259A pair: initialisation, masking, priorities, EOI, cascade, spurious interrupts, reads of
// IRR/ISR/IMR, and snapshots.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../../src-main/engine/machine/bus';
import { Pic8259 } from '../../../../src-main/engine/machine/devices/pic8259';

/** The usual PC initialisation: master vectors at `m`, slave at `s`, 8086 mode, normal EOI. */
function setup(opts: { m?: number; s?: number; icw4?: number } = {}): {
  pic: Pic8259;
  bus: PortBus;
} {
  const pic = new Pic8259();
  const bus = new PortBus();
  bus.register(pic);
  const icw4 = opts.icw4 ?? 0x01;
  bus.write(0x20, 1, 0x11); // ICW1: edge, cascade, ICW4 needed
  bus.write(0xa0, 1, 0x11);
  bus.write(0x21, 1, opts.m ?? 0x20); // ICW2
  bus.write(0xa1, 1, opts.s ?? 0x28);
  bus.write(0x21, 1, 0x04); // ICW3: slave on IR2
  bus.write(0xa1, 1, 0x02); // ICW3: slave identity 2
  bus.write(0x21, 1, icw4); // ICW4
  bus.write(0xa1, 1, icw4);
  return { pic, bus };
}

function pulse(pic: Pic8259, irq: number): void {
  pic.line(irq).raise();
  pic.line(irq).lower();
}

const EOI = 0x20;
const READ_IRR = 0x0a;
const READ_ISR = 0x0b;

describe('8259A reset state and initialisation', () => {
  it('starts as QEMU resets it: nothing masked, vector base 0, IRR readable', () => {
    const pic = new Pic8259();
    expect(pic.inspect().master).toEqual({
      irr: 0,
      isr: 0,
      imr: 0,
      vectorBase: 0,
      initialising: false,
    });
    expect(pic.read(0x21, 1)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
    pic.line(0).raise();
    expect(pic.read(0x20, 1)).toBe(0x01); // IRR
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0);
  });

  it('takes ICW1–ICW4 and sets the vector bases (low 3 bits of ICW2 ignored)', () => {
    const { pic } = setup({ m: 0x27, s: 0x70 });
    const v = pic.inspect();
    expect(v.master.vectorBase).toBe(0x20);
    expect(v.slave.vectorBase).toBe(0x70);
    expect(v.master.initialising).toBe(false);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('skips ICW3 in single mode and ICW4 when ICW1 does not ask for it', () => {
    const pic = new Pic8259();
    pic.write(0x20, 1, 0x12); // single, no ICW4
    pic.write(0x21, 1, 0x40);
    expect(pic.inspect().master.initialising).toBe(false);
    pic.write(0x21, 1, 0xfe); // now OCW1
    expect(pic.read(0x21, 1)).toBe(0xfe);
  });

  it('ICW1 clears IMR, ISR, IRR and the edge memory', () => {
    const { pic, bus } = setup();
    bus.write(0x21, 1, 0xf0);
    pic.line(0).raise();
    pic.acknowledge();
    pic.line(1).raise(); // still high through the re-initialisation
    bus.write(0x20, 1, 0x11);
    expect(pic.inspect().master).toMatchObject({ irr: 0, isr: 0, imr: 0, initialising: true });
    bus.write(0x21, 1, 0x20);
    bus.write(0x21, 1, 0x04);
    bus.write(0x21, 1, 0x01);
    // The edge sense was reset: the next raise() of the high line is a new request.
    pic.line(1).raise();
    expect(pic.acknowledge()).toBe(0x21);
  });
});

describe('8259A requests, masking and EOI', () => {
  it('is edge-triggered: a line must go low before it requests again', () => {
    const { pic, bus } = setup();
    pic.line(3).raise();
    expect(pic.acknowledge()).toBe(0x23);
    bus.write(0x20, 1, EOI);
    pic.line(3).raise(); // still high: no new edge
    expect(pic.hasInterrupt()).toBe(false);
    pic.line(3).lower();
    pic.line(3).raise();
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('keeps a masked request in IRR and delivers it when unmasked', () => {
    const { pic, bus } = setup();
    bus.write(0x21, 1, 0x01);
    expect(bus.read(0x21, 1)).toBe(0x01);
    pulse(pic, 0);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, READ_IRR);
    expect(bus.read(0x20, 1)).toBe(0x01);
    expect(pic.isMasked(0)).toBe(true);
    bus.write(0x21, 1, 0x00);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('moves a request from IRR to ISR on INTA and clears ISR on EOI', () => {
    const { pic, bus } = setup();
    pulse(pic, 5);
    expect(pic.acknowledge()).toBe(0x25);
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0x20);
    bus.write(0x20, 1, READ_IRR);
    expect(bus.read(0x20, 1)).toBe(0x00);
    bus.write(0x20, 1, READ_ISR);
    bus.write(0x20, 1, EOI);
    expect(bus.read(0x20, 1)).toBe(0x00);
  });

  it('resolves priority: lower IRQ first, nesting only above the level in service', () => {
    const { pic, bus } = setup();
    pulse(pic, 3);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21); // IRQ1 beats IRQ3
    expect(pic.hasInterrupt()).toBe(false); // IRQ3 waits: IRQ1 in service
    pulse(pic, 0);
    expect(pic.hasInterrupt()).toBe(true); // IRQ0 outranks IRQ1: nests
    expect(pic.acknowledge()).toBe(0x20);
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0x03);
    bus.write(0x20, 1, EOI); // non-specific EOI: clears the highest, IRQ0
    expect(bus.read(0x20, 1)).toBe(0x02);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('clears the named level on a specific EOI', () => {
    const { pic, bus } = setup();
    pulse(pic, 4);
    pic.acknowledge();
    pulse(pic, 3); // IRQ3 nests above IRQ4
    pic.acknowledge();
    bus.write(0x20, 1, 0x60 | 4); // specific EOI for IRQ4
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0x08);
  });

  it('never sets ISR in auto-EOI mode', () => {
    const { pic, bus } = setup({ icw4: 0x03 });
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0);
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('rotates priorities on "rotate on non-specific EOI"', () => {
    const { pic, bus } = setup();
    pulse(pic, 0);
    pic.acknowledge();
    bus.write(0x20, 1, 0xa0); // rotate on non-specific EOI: IRQ0 becomes lowest
    pulse(pic, 0);
    pulse(pic, 7);
    expect(pic.acknowledge()).toBe(0x27);
  });

  it('answers the poll command with the pending level and acknowledges it', () => {
    const { pic, bus } = setup();
    pulse(pic, 6);
    bus.write(0x20, 1, 0x0c); // OCW3 poll
    expect(bus.read(0x20, 1)).toBe(0x86);
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0x40);
    bus.write(0x20, 1, 0x0c);
    expect(bus.read(0x21, 1)).toBe(0x00); // nothing pending
  });

  it('gives IR7 (ISR untouched) on an INTA with nothing to serve', () => {
    const { pic, bus } = setup();
    expect(pic.acknowledge()).toBe(0x27);
    bus.write(0x20, 1, READ_ISR);
    expect(bus.read(0x20, 1)).toBe(0);
  });

  it('splits aligned wide accesses at region offsets and refuses unaligned ones, as QEMU', () => {
    const { pic, bus } = setup();
    bus.write(0x21, 1, 0xa5);
    pulse(pic, 3);
    expect(bus.read(0x20, 2)).toBe(0xa5_08); // IRR | IMR << 8
    expect(bus.read(0x20, 4)).toBe(0xa5_a5_a5_08); // offsets 2 and 3 act as the odd port
    expect(bus.read(0x21, 2)).toBe(0); // unaligned
    bus.write(0x21, 2, 0x3311); // unaligned: dropped
    expect(bus.read(0x21, 1)).toBe(0xa5);
    bus.write(0xa0, 2, 0x3c_0b); // OCW3 read ISR, then IMR 0x3c
    expect(pic.inspect().slave.imr).toBe(0x3c);
    bus.write(0x20, 4, 0x77_66_55_0a); // OCW3 read IRR, then IMR 0x55, 0x66, 0x77
    expect(bus.read(0x21, 1)).toBe(0x77);
  });

  it('refuses IRQ2 (the cascade) and out-of-range lines', () => {
    const pic = new Pic8259();
    expect(() => pic.line(2)).toThrow(/cascade/);
    expect(() => pic.line(16)).toThrow(RangeError);
  });
});

describe('8259A cascade', () => {
  it('delivers slave IRQs through master IR2 with both ISRs set', () => {
    const { pic, bus } = setup();
    pulse(pic, 12);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2c);
    expect(pic.inspect().master.isr).toBe(0x04);
    expect(pic.inspect().slave.isr).toBe(0x10);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(pic.inspect().master.isr).toBe(0);
    expect(pic.inspect().slave.isr).toBe(0);
  });

  it('ranks slave IRQs at IR2: IRQ1 > IRQ8–15 > IRQ3', () => {
    const { pic, bus } = setup();
    pulse(pic, 3);
    pulse(pic, 9);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x29);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it('serves a second slave request after the slave and master EOIs', () => {
    const { pic, bus } = setup();
    pulse(pic, 10);
    pulse(pic, 8);
    expect(pic.acknowledge()).toBe(0x28);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x2a);
  });

  it('masks the whole slave with master IMR bit 2', () => {
    const { pic, bus } = setup();
    bus.write(0x21, 1, 0x04);
    pulse(pic, 14);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.isMasked(14)).toBe(true);
    bus.write(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x2e);
  });

  it('gives IRQ15 on a slave spurious interrupt, with master IR2 in service', () => {
    const { pic, bus } = setup();
    pulse(pic, 11);
    bus.write(0xa1, 1, 0x08); // the slave request is masked before INTA
    expect(pic.hasInterrupt()).toBe(true); // master IR2 edge already latched
    expect(pic.acknowledge()).toBe(0x2f);
    expect(pic.inspect().slave.isr).toBe(0);
    expect(pic.inspect().master.isr).toBe(0x04);
  });
});

describe('8259A snapshots', () => {
  it('restores into a fresh pair and continues identically', () => {
    const { pic, bus } = setup();
    bus.write(0x21, 1, 0x10);
    pulse(pic, 3);
    pulse(pic, 4); // masked, in IRR
    pulse(pic, 9);
    pic.acknowledge(); // IRQ9, via IR2, outranks IRQ3
    pic.line(6).raise(); // high line: edge memory matters
    bus.write(0x20, 1, READ_ISR);
    const snap = JSON.parse(JSON.stringify(pic.save())) as unknown;

    const copy = new Pic8259();
    const bus2 = new PortBus();
    bus2.register(copy);
    copy.restore(snap);
    expect(copy.save()).toEqual(pic.save());
    expect(copy.hasInterrupt()).toBe(pic.hasInterrupt());
    const script = (p: Pic8259, b: PortBus): number[] => {
      const seen: number[] = [b.read(0x20, 1)];
      p.line(6).raise(); // no edge in either
      b.write(0xa0, 1, EOI);
      b.write(0x20, 1, EOI);
      seen.push(p.acknowledge());
      b.write(0x20, 1, EOI);
      b.write(0x21, 1, 0);
      seen.push(p.acknowledge());
      b.write(0x20, 1, EOI);
      seen.push(p.acknowledge(), Number(p.hasInterrupt()));
      return seen;
    };
    expect(script(copy, bus2)).toEqual(script(pic, bus));
  });

  it('rejects malformed states with a clear error and stays unchanged', () => {
    const pic = new Pic8259();
    const good = pic.save();
    expect(() => pic.restore({ master: good.master })).toThrow(
      /pic8259 "slave" state must be an object/,
    );
    expect(() => pic.restore({ ...good, master: { ...good.master, imr: 256 } })).toThrow(
      /"imr" must be an integer in 0..255/,
    );
    expect(() => pic.restore({ ...good, slave: { ...good.slave, irqBase: 0x29 } })).toThrow(
      /multiple of 8/,
    );
    expect(() => pic.restore({ ...good, master: { ...good.master, poll: 1 } })).toThrow(
      /"poll" must be a boolean/,
    );
    expect(pic.save()).toEqual(good);
  });
});
