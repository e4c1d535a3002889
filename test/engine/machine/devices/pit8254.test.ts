// The 8254 PIT: counter loading and reading, latch and read-back, IRQ0 edges for modes 0/2/3 on
// exactly the cycles the integer arithmetic promises, the reset state, and snapshots.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../../src-main/engine/machine/bus';
import { Pic8259 } from '../../../../src-main/engine/machine/devices/pic8259';
import { PIT_HZ, Pit8254 } from '../../../../src-main/engine/machine/devices/pit8254';
import { type ModeledClock } from '../../../../src-main/engine/machine/interfaces';
import { RecordingLine as Line } from '../../../helpers/interrupt-line';

class Clock implements ModeledClock {
  cycles = 0;
  constructor(readonly frequencyHz = 1_000_000_000) {}
}

/** The first cycle at which `t` ticks have elapsed since a load at `load` (BigInt reference). */
function cycleOf(load: number, t: number, f = 1_000_000_000): number {
  const num = BigInt(t) * BigInt(f);
  const pit = BigInt(PIT_HZ);
  return load + Number((num + pit - 1n) / pit);
}
function ticksAt(load: number, cycle: number, f = 1_000_000_000): number {
  return Number((BigInt(cycle - load) * BigInt(PIT_HZ)) / BigInt(f));
}

function setup(f?: number): { clock: Clock; line: Line; pit: Pit8254; bus: PortBus } {
  const clock = new Clock(f);
  const line = new Line();
  const pit = new Pit8254(clock, line);
  const bus = new PortBus();
  bus.register(pit);
  return { clock, line, pit, bus };
}

/** Program channel 0 with `control` (access mode lo/hi) and a 16-bit count at the clock's now. */
function program(bus: PortBus, control: number, count: number): void {
  bus.write(0x43, 1, control);
  bus.write(0x40, 1, count & 0xff);
  bus.write(0x40, 1, (count >>> 8) & 0xff);
}

function readCount(bus: PortBus): number {
  const lo = bus.read(0x40, 1);
  return lo | (bus.read(0x40, 1) << 8);
}

describe('8254 reset state', () => {
  it('runs channel 0 in mode 3 with count 65536 from cycle 0, IRQ0 first rising at 65536 ticks', () => {
    const { line, pit } = setup();
    const first = cycleOf(0, 65536);
    expect(first).toBe(54_925_402); // 65536 / 1193182 s at 1 GHz, rounded up
    expect(pit.nextEventAt()).toBe(first);
    pit.advanceTo(first - 1);
    expect(line.rises).toBe(0);
    pit.advanceTo(first);
    expect(line.rises).toBe(1);
    expect(line.level).toBe(true);
    pit.advanceTo(cycleOf(0, 65536 + 32768) - 1);
    expect(line.level).toBe(true);
    pit.advanceTo(cycleOf(0, 65536 + 32768));
    expect(line.level).toBe(false);
    expect(pit.nextEventAt()).toBe(cycleOf(0, 2 * 65536));
  });

  it('rejects a clock it cannot count exactly', () => {
    for (const f of [0, 1.5, 1e10, NaN]) {
      expect(() => new Pit8254(new Clock(f), new Line())).toThrow(RangeError);
    }
  });
});

describe('8254 mode 2 (rate generator)', () => {
  it('pulses IRQ0 once per period, on the first cycle of tick k·N', () => {
    const { clock, line, pit, bus } = setup();
    clock.cycles = 1000;
    program(bus, 0x34, 1193);
    expect(line.level).toBe(false);
    expect(line.rises).toBe(0);
    for (let k = 1; k <= 5; k++) {
      const edge = cycleOf(1000, k * 1193);
      expect(pit.nextEventAt()).toBe(edge);
      pit.advanceTo(edge - 1);
      expect(line.rises).toBe(k - 1);
      pit.advanceTo(edge);
      expect(line.rises).toBe(k);
      pit.advanceTo(edge + 1000); // more than one tick later the pulse is over
      expect(line.level).toBe(false);
    }
  });

  it('latches one request however many periods were skipped', () => {
    const { clock, line, pit, bus } = setup();
    program(bus, 0x34, 100);
    clock.cycles = cycleOf(0, 1050);
    pit.advanceTo(clock.cycles);
    expect(line.rises).toBe(1);
    expect(pit.nextEventAt()).toBe(cycleOf(0, 1100));
  });

  it('counts N … 1 and reloads', () => {
    const { clock, bus } = setup();
    program(bus, 0x34, 1000);
    for (const [d, want] of [
      [0, 1000],
      [1, 999],
      [250, 750],
      [999, 1],
      [1000, 1000],
      [1999, 1],
    ] as const) {
      clock.cycles = cycleOf(0, d);
      expect(readCount(bus), `d=${d}`).toBe(want);
    }
  });
});

describe('8254 mode 3 (square wave)', () => {
  it('drives IRQ0 high at the load, low after ⌈N/2⌉ ticks, high again each period', () => {
    const { clock, line, pit, bus } = setup();
    clock.cycles = 5;
    program(bus, 0x36, 101);
    expect(line.level).toBe(true);
    expect(line.rises).toBe(1); // QEMU drives OUT(0) = high at the load
    pit.advanceTo(cycleOf(5, 51) - 1);
    expect(line.level).toBe(true);
    pit.advanceTo(cycleOf(5, 51));
    expect(line.level).toBe(false);
    expect(pit.nextEventAt()).toBe(cycleOf(5, 101));
    pit.advanceTo(cycleOf(5, 101));
    expect(line.rises).toBe(2);
    expect(line.level).toBe(true);
  });

  it('counts down by two, twice per period', () => {
    const { clock, bus } = setup();
    program(bus, 0x36, 1000);
    for (const [d, want] of [
      [0, 1000],
      [1, 998],
      [250, 500],
      [499, 2],
      [500, 1000],
      [750, 500],
    ] as const) {
      clock.cycles = cycleOf(0, d);
      expect(readCount(bus), `d=${d}`).toBe(want);
    }
  });
});

describe('8254 mode 0 (interrupt on terminal count)', () => {
  it('raises IRQ0 once at N and then schedules nothing', () => {
    const { clock, line, pit, bus } = setup();
    clock.cycles = 77;
    program(bus, 0x30, 500);
    expect(line.level).toBe(false);
    const edge = cycleOf(77, 500);
    expect(pit.nextEventAt()).toBe(edge);
    pit.advanceTo(edge - 1);
    expect(line.rises).toBe(0);
    pit.advanceTo(edge);
    expect(line.rises).toBe(1);
    expect(pit.nextEventAt()).toBe(Infinity);
    pit.advanceTo(cycleOf(77, 550));
    expect(line.level).toBe(true);
    // the counter wraps past zero and keeps going
    clock.cycles = cycleOf(77, 600);
    expect(readCount(bus)).toBe(0x10000 - 100);
  });

  it('restarts on a new count: OUT low until the new terminal count', () => {
    const { clock, line, pit, bus } = setup();
    program(bus, 0x30, 10);
    pit.advanceTo(cycleOf(0, 10));
    expect(line.level).toBe(true);
    clock.cycles = cycleOf(0, 20);
    program(bus, 0x30, 10);
    expect(line.level).toBe(false);
    pit.advanceTo(cycleOf(clock.cycles, 10));
    expect(line.rises).toBe(2);
  });
});

describe('8254 control word, access modes, latches', () => {
  it('loads LSB-only and MSB-only counts, and 0 as 65536', () => {
    const { pit, bus } = setup();
    bus.write(0x43, 1, 0x14); // ch0, LSB only, mode 2
    bus.write(0x40, 1, 100);
    expect(pit.nextEventAt()).toBe(cycleOf(0, 100));
    bus.write(0x43, 1, 0x24); // MSB only
    bus.write(0x40, 1, 0x02);
    expect(pit.nextEventAt()).toBe(cycleOf(0, 0x200));
    expect(bus.read(0x40, 1)).toBe(0x02); // MSB of 0x200
    program(bus, 0x34, 0);
    expect(pit.nextEventAt()).toBe(cycleOf(0, 65536));
    expect(pit.inspect()[0]!.reload).toBe(65536);
  });

  it('freezes the count on a latch command until both bytes are read', () => {
    const { clock, bus } = setup();
    program(bus, 0x34, 1000);
    clock.cycles = cycleOf(0, 100);
    bus.write(0x43, 1, 0x00); // latch counter 0
    clock.cycles = cycleOf(0, 300);
    bus.write(0x43, 1, 0x00); // ignored: already latched
    expect(bus.read(0x40, 1)).toBe(900 & 0xff);
    clock.cycles = cycleOf(0, 400);
    expect(bus.read(0x40, 1)).toBe(900 >>> 8);
    expect(readCount(bus)).toBe(600); // live again
  });

  it('answers the read-back command with status then count', () => {
    const { clock, bus } = setup();
    program(bus, 0x34, 1000);
    clock.cycles = cycleOf(0, 10);
    bus.write(0x43, 1, 0xc2); // read back count and status of counter 0
    expect(bus.read(0x40, 1)).toBe(0x34); // OUT 0, lo/hi, mode 2, binary
    expect(readCount(bus)).toBe(990);
    program(bus, 0x36, 1000);
    bus.write(0x43, 1, 0xe2); // status only
    expect(bus.read(0x40, 1)).toBe(0x80 | 0x36);
  });

  it('reads 0 from the control port and splits wide accesses', () => {
    const { pit, bus } = setup();
    expect(bus.read(0x43, 1)).toBe(0);
    bus.write(0x43, 1, 0x34);
    // as QEMU splits it: 0xa9 to port 0x40 (ch0's low byte), 0x04 to port 0x41 (ch1's count)
    bus.write(0x40, 2, 0x04a9);
    const [c0, c1] = pit.inspect();
    expect(c0!.reload).toBe(65536); // still waiting for its high byte
    expect(c1!.reload).toBe(4);
    bus.write(0x40, 1, 0x04);
    expect(pit.inspect()[0]!.reload).toBe(0x04a9);
    // unaligned wide accesses are refused (QEMU): read 0, write dropped
    expect(bus.read(0x41, 2)).toBe(0);
    bus.write(0x43, 2, 0x3030);
    expect(pit.inspect()[0]!.mode).toBe(2);
  });

  it('counts channels 1 and 2 without touching IRQ0', () => {
    const { clock, line, bus } = setup();
    bus.write(0x43, 1, 0xb4); // ch2, lo/hi, mode 2
    bus.write(0x42, 1, 50);
    bus.write(0x42, 1, 0);
    clock.cycles = cycleOf(0, 20);
    expect(bus.read(0x42, 1) | (bus.read(0x42, 1) << 8)).toBe(30);
    expect(line.rises).toBe(0);
  });
});

describe('8254 exact time arithmetic', () => {
  for (const f of [1_000_000_000, 3_000_000_000, 2_999_999_999, 1_193_182, 7_000_000_000]) {
    it(`matches the BigInt reference far into a run at ${f} Hz`, () => {
      const { clock, pit, bus } = setup(f);
      program(bus, 0x34, 3);
      for (const c of [12345, 1e12 + 7, 4e15 + 3, 9e15 + 11]) {
        clock.cycles = c;
        pit.advanceTo(c);
        const d = ticksAt(0, c, f);
        expect(pit.nextEventAt(), `cycle ${c}`).toBe(cycleOf(0, (Math.floor(d / 3) + 1) * 3, f));
        expect(readCount(bus)).toBe(3 - (d % 3));
      }
    });
  }

  it('puts 20,000 consecutive edges on the reference cycles', () => {
    const { line, pit, bus } = setup();
    program(bus, 0x34, 7);
    for (let k = 1; k <= 20_000; k++) {
      const edge = pit.nextEventAt();
      expect(edge).toBe(cycleOf(0, 7 * k));
      pit.advanceTo(edge);
    }
    expect(line.rises).toBe(20_000);
  });
});

describe('8254 with the 8259A', () => {
  it('delivers IRQ0 as vector 0x20 once per period, one pending while unacknowledged', () => {
    const clock = new Clock();
    const pic = new Pic8259();
    const pit = new Pit8254(clock, pic.line(0));
    const bus = new PortBus();
    bus.register(pic);
    bus.register(pit);
    for (const [p, v] of [
      [0x20, 0x11],
      [0x21, 0x20],
      [0x21, 0x04],
      [0x21, 0x01],
    ] as const) {
      bus.write(p, 1, v);
    }
    program(bus, 0x34, 11932); // ~100 Hz
    for (let k = 0; k < 3; k++) {
      clock.cycles = pit.nextEventAt();
      pit.advanceTo(clock.cycles);
      expect(pic.hasInterrupt()).toBe(true);
      expect(pic.acknowledge()).toBe(0x20);
      bus.write(0x20, 1, 0x20);
    }
    // no EOI: the next tick waits in IRR and is delivered after the EOI
    clock.cycles = pit.nextEventAt();
    pit.advanceTo(clock.cycles);
    pic.acknowledge();
    clock.cycles = pit.nextEventAt();
    pit.advanceTo(clock.cycles);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, 0x20);
    expect(pic.acknowledge()).toBe(0x20);
  });
});

describe('8254 snapshots', () => {
  it('restores into a fresh PIT and continues identically', () => {
    const a = setup();
    a.clock.cycles = 123_456;
    program(a.bus, 0x36, 2000);
    a.bus.write(0x43, 1, 0xb0); // ch2 lo/hi mode 0: leave its write half done
    a.bus.write(0x42, 1, 0x10);
    a.clock.cycles = cycleOf(123_456, 700);
    a.pit.advanceTo(a.clock.cycles);
    a.bus.write(0x43, 1, 0x00); // latch ch0, read one byte of it
    a.bus.read(0x40, 1);
    const snap = JSON.parse(JSON.stringify(a.pit.save())) as unknown;

    const b = setup();
    b.clock.cycles = a.clock.cycles;
    b.line.level = a.line.level;
    b.line.rises = a.line.rises;
    b.pit.restore(snap);
    expect(b.pit.save()).toEqual(a.pit.save());
    expect(b.pit.nextEventAt()).toBe(a.pit.nextEventAt());

    const run = (s: typeof a): number[] => {
      const seen: number[] = [s.bus.read(0x40, 1)]; // the latched MSB
      s.bus.write(0x42, 1, 0x00); // completes ch2's count
      for (let k = 0; k < 4; k++) {
        s.clock.cycles = s.pit.nextEventAt();
        s.pit.advanceTo(s.clock.cycles);
        s.clock.cycles += 500_000;
        s.pit.advanceTo(s.clock.cycles);
        seen.push(s.clock.cycles, s.line.rises, Number(s.line.level), readCount(s.bus));
      }
      seen.push(s.bus.read(0x42, 1));
      return seen;
    };
    expect(run(b)).toEqual(run(a));
  });

  it('rejects a state from another clock or a malformed one', () => {
    const { pit } = setup();
    const good = pit.save();
    expect(() => new Pit8254(new Clock(2e9), new Line()).restore(good)).toThrow(
      /saved with a 1000000000 Hz clock/,
    );
    expect(() => pit.restore({ ...good, channels: good.channels.slice(1) })).toThrow(/3 counters/);
    expect(() =>
      pit.restore({
        ...good,
        channels: [{ ...good.channels[0], count: 0 }, good.channels[1], good.channels[2]],
      }),
    ).toThrow(/pit8254 counter 0 state: "count" must be an integer in 1..65536/);
    expect(() => pit.restore('x')).toThrow(/must be an object/);
    expect(pit.save()).toEqual(good);
  });
});
