// isa-debug-exit at 0xF4–0xF7: a write of any width asks the machine to stop with that value.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../../src-main/engine/machine/bus';
import { DebugExit } from '../../../../src-main/engine/machine/devices/debug-exit';

function setup(): { codes: number[]; bus: PortBus; dev: DebugExit } {
  const codes: number[] = [];
  const dev = new DebugExit({ requestExit: (c) => codes.push(c) });
  const bus = new PortBus();
  bus.register(dev);
  return { codes, bus, dev };
}

describe('isa-debug-exit', () => {
  it('occupies 0xF4–0xF7 as QEMU with iobase=0xf4,iosize=4', () => {
    expect(setup().dev.ports).toEqual([{ first: 0xf4, last: 0xf7 }]);
  });

  it('requests an exit with the value written, at its full width', () => {
    const { codes, bus } = setup();
    bus.write(0xf4, 1, 0x2a);
    bus.write(0xf4, 2, 0x1234);
    bus.write(0xf4, 4, 0xdeadbeef);
    bus.write(0xf6, 1, 3);
    expect(codes).toEqual([0x2a, 0x1234, 0xdeadbeef, 3]);
  });

  it('drops unaligned wide writes, as QEMU does (the run goes on)', () => {
    const { codes, bus } = setup();
    bus.write(0xf5, 2, 0x0101);
    bus.write(0xf6, 4, 0x02020202);
    bus.write(0xf7, 2, 0x0303);
    expect(codes).toEqual([]);
    bus.write(0xf6, 2, 0x0404);
    expect(codes).toEqual([0x0404]);
  });

  it('reads 0 as QEMU does, and requests nothing on a read', () => {
    const { codes, bus } = setup();
    expect(bus.read(0xf4, 1)).toBe(0);
    expect(bus.read(0xf4, 4)).toBe(0);
    expect(codes).toEqual([]);
  });

  it('saves an empty state and validates what it restores', () => {
    const { dev } = setup();
    expect(JSON.parse(JSON.stringify(dev.save()))).toEqual({});
    expect(() => dev.restore({})).not.toThrow();
    expect(() => dev.restore(7)).toThrow(/isa-debug-exit state must be an object/);
  });
});
