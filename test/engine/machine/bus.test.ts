// The port bus: registration and overlap errors, routing with access sizes as QEMU does it, the
// all-ones unassigned ports, and snapshots of the devices on it.
import { describe, expect, it } from 'vitest';
import {
  decodeBytes,
  encodeBytes,
  PortBus,
  StateReader,
} from '../../../src-main/engine/machine/bus';
import {
  type PortDevice,
  type PortRange,
  type PortSize,
} from '../../../src-main/engine/machine/interfaces';

/** A device with one byte register per port that records every access. */
class Regs implements PortDevice {
  readonly ports: readonly PortRange[];
  readonly log: string[] = [];
  regs = new Map<number, number>();
  constructor(
    readonly name: string,
    ...ranges: [number, number][]
  ) {
    this.ports = ranges.map(([first, last]) => ({ first, last }));
  }
  read(port: number, size: PortSize): number {
    this.log.push(`r${size}@${port.toString(16)}`);
    let v = 0;
    for (let i = 0; i < size; i++) v |= (this.regs.get(port + i) ?? 0) << (8 * i);
    return v;
  }
  write(port: number, size: PortSize, value: number): void {
    this.log.push(`w${size}@${port.toString(16)}=${value.toString(16)}`);
    for (let i = 0; i < size; i++) this.regs.set(port + i, (value >>> (8 * i)) & 0xff);
  }
  save(): unknown {
    return { regs: [...this.regs] };
  }
  restore(state: unknown): void {
    const r = new StateReader(state, this.name);
    const pairs = r.array('regs');
    const m = new Map<number, number>();
    for (const p of pairs) {
      if (
        !Array.isArray(p) ||
        p.length !== 2 ||
        typeof p[0] !== 'number' ||
        typeof p[1] !== 'number'
      ) {
        throw new Error(`${this.name}: bad register pair`);
      }
      m.set(p[0], p[1]);
    }
    this.regs = m;
  }
}

describe('PortBus registration', () => {
  it('rejects overlapping ranges, naming both devices', () => {
    const bus = new PortBus();
    bus.register(new Regs('pic', [0x20, 0x21]));
    expect(() => bus.register(new Regs('intruder', [0x10, 0x20]))).toThrow(
      /"intruder".*0x0010–0x0020.*"pic" \(0x0020–0x0021\) at port 0x0020/,
    );
    // the failed registration claimed nothing
    expect(bus.deviceAt(0x10)).toBeUndefined();
    expect(bus.devices().map((d) => d.name)).toEqual(['pic']);
  });

  it('rejects duplicate names, bad ranges and self-overlap', () => {
    const bus = new PortBus();
    bus.register(new Regs('a', [0x10, 0x11]));
    expect(() => bus.register(new Regs('a', [0x30, 0x31]))).toThrow(/already on the port bus/);
    expect(() => bus.register(new Regs('b', [0x40, 0x3f]))).toThrow(/invalid port range/);
    expect(() => bus.register(new Regs('c', [0xffff, 0x10000]))).toThrow(/invalid port range/);
    expect(() => bus.register(new Regs('d', [0x50, 0x53], [0x52, 0x55]))).toThrow(
      /overlapping port ranges/,
    );
    expect(() => bus.register(new Regs('e'))).toThrow(/declares no ports/);
  });

  it('routes each port to its device, including devices with several ranges', () => {
    const bus = new PortBus();
    const pic = new Regs('pic', [0x20, 0x21], [0xa0, 0xa1]);
    const other = new Regs('other', [0x22, 0x22]);
    bus.register(pic);
    bus.register(other);
    bus.write(0xa1, 1, 0x5a);
    bus.write(0x22, 1, 0x77);
    expect(bus.read(0xa1, 1)).toBe(0x5a);
    expect(bus.read(0x22, 1)).toBe(0x77);
    expect(bus.deviceAt(0xa0)).toBe(pic);
    expect(bus.deviceAt(0x22)).toBe(other);
  });
});

describe('PortBus accesses', () => {
  it('reads all ones of the access size from unassigned ports and ignores writes', () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0x1234, 4)).toBe(0xffffffff);
    expect(bus.read(0xfffc, 4)).toBe(0xffffffff);
    expect(() => bus.write(0x1234, 4, 0xdeadbeef)).not.toThrow();
  });

  it('reads 0 for an unaligned wide access to an unassigned port, as QEMU does', () => {
    const bus = new PortBus();
    expect(bus.read(0x1235, 2)).toBe(0);
    expect(bus.read(0x1236, 4)).toBe(0);
    expect(bus.read(0xffff, 2)).toBe(0);
  });

  it('passes a wide access inside one device with its size, masked', () => {
    const bus = new PortBus();
    const d = new Regs('d', [0x40, 0x47]);
    bus.register(d);
    bus.write(0x40, 4, 0x1_2345_6789);
    bus.write(0x44, 2, 0xabcdef);
    expect(d.log).toEqual(['w4@40=23456789', 'w2@44=cdef']);
    expect(bus.read(0x40, 4)).toBe(0x23456789);
    expect(bus.read(0x44, 2)).toBe(0xcdef);
    expect(bus.read(0x43, 1)).toBe(0x23);
  });

  it('gives the whole access to the device owning its first port, as QEMU does', () => {
    const bus = new PortBus();
    const a = new Regs('a', [0x20, 0x21]);
    const b = new Regs('b', [0x22, 0x22]);
    bus.register(a);
    bus.register(b);
    bus.read(0x21, 4);
    bus.write(0x21, 2, 0xaabb);
    expect(a.log).toEqual(['r4@21', 'w2@21=aabb']);
    expect(b.log).toEqual([]);
    // an access starting on an unassigned port reaches nobody, even if it runs into a device
    expect(bus.read(0x1c, 4)).toBe(0xffffffff);
    bus.write(0x1e, 4, 0);
    expect(a.log.length).toBe(2);
  });

  it('rejects ports outside 0..0xffff', () => {
    const bus = new PortBus();
    expect(() => bus.read(0x10000, 1)).toThrow(RangeError);
    expect(() => bus.write(-1, 1, 0)).toThrow(RangeError);
  });
});

describe('PortBus snapshots', () => {
  it('saves JSON-serialisable state and restores it into fresh devices', () => {
    const bus = new PortBus();
    const a = new Regs('a', [0x10, 0x11]);
    bus.register(a);
    bus.write(0x10, 2, 0xbeef);
    const snap = JSON.parse(JSON.stringify(bus.save())) as unknown;
    const bus2 = new PortBus();
    bus2.register(new Regs('a', [0x10, 0x11]));
    bus2.restore(snap);
    expect(bus2.read(0x10, 2)).toBe(0xbeef);
  });

  it('rejects a snapshot of a different device set', () => {
    const bus = new PortBus();
    bus.register(new Regs('a', [0x10, 0x11]));
    expect(() => bus.restore({ devices: [{ name: 'b', state: {} }] })).toThrow(
      /names devices \[b\].*\[a\]/,
    );
    expect(() => bus.restore({ devices: 'x' })).toThrow(/"devices" must be an array/);
    expect(() => bus.restore(null)).toThrow(/must be an object/);
  });

  it('rolls back devices already restored when a later one rejects its state', () => {
    const bus = new PortBus();
    const a = new Regs('a', [0x10, 0x10]);
    const b = new Regs('b', [0x11, 0x11]);
    bus.register(a);
    bus.register(b);
    bus.write(0x10, 1, 1);
    const good = bus.save();
    bus.write(0x10, 1, 2);
    const bad = { devices: [good.devices[0], { name: 'b', state: { regs: [[1]] } }] };
    expect(() => bus.restore(bad)).toThrow(/bad register pair/);
    expect(bus.read(0x10, 1)).toBe(2);
  });
});

describe('state helpers', () => {
  it('base64 round-trips any length and rejects garbage', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100, 7000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
      expect(decodeBytes(encodeBytes(bytes))).toEqual(bytes);
    }
    expect(encodeBytes(new TextEncoder().encode('hello'))).toBe('aGVsbG8=');
    expect(decodeBytes('aGVsbG8')).toBeUndefined();
    expect(decodeBytes('aG=sbG8=')).toBeUndefined();
    expect(decodeBytes('aGV$bG8=')).toBeUndefined();
  });

  it('StateReader names the device and the field', () => {
    const r = new StateReader({ x: 300, b: 1 }, 'widget');
    expect(() => r.int('x', 0, 255)).toThrow(
      'widget state: "x" must be an integer in 0..255, not 300',
    );
    expect(() => r.bool('b')).toThrow('widget state: "b" must be a boolean, not 1');
    expect(() => r.int('missing', 0, 1)).toThrow(/"missing" .* not missing/);
  });
});
