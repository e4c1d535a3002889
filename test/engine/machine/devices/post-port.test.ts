// Port 0x80: remembers the last POST code and counts writes; reads all ones like QEMU.
import { describe, expect, it } from 'vitest';
import { PortBus } from '../../../../src-main/engine/machine/bus';
import { PostPort } from '../../../../src-main/engine/machine/devices/post-port';

describe('POST port 0x80', () => {
  it('remembers the last byte written and counts writes', () => {
    const post = new PostPort();
    const bus = new PortBus();
    bus.register(post);
    expect(post.lastValue).toBe(0);
    bus.write(0x80, 1, 0x12);
    bus.write(0x80, 1, 0x34);
    expect(post.lastValue).toBe(0x34);
    expect(post.writeCount).toBe(2);
    // a wider OUT reaches the port as its low byte; the other bytes fall on unassigned ports
    bus.write(0x80, 4, 0xaabbccdd);
    expect(post.lastValue).toBe(0xdd);
    expect(post.writeCount).toBe(3);
  });

  it('reads all ones, as QEMU ioport80 does', () => {
    const bus = new PortBus();
    bus.register(new PostPort());
    bus.write(0x80, 1, 0x55);
    expect(bus.read(0x80, 1)).toBe(0xff);
    expect(bus.read(0x80, 2)).toBe(0xffff);
    expect(bus.read(0x80, 4)).toBe(0xffffffff);
  });

  it('restores into a fresh port, and rejects malformed states', () => {
    const post = new PostPort();
    post.write(0x80, 1, 0x99);
    const copy = new PostPort();
    copy.restore(JSON.parse(JSON.stringify(post.save())) as unknown);
    expect([copy.lastValue, copy.writeCount]).toEqual([0x99, 1]);
    copy.write(0x80, 1, 1);
    expect(copy.writeCount).toBe(2);
    expect(() => copy.restore({ lastValue: 256, writeCount: 0 })).toThrow(
      /post-port state: "lastValue"/,
    );
    expect(() => copy.restore({ lastValue: 1 })).toThrow(/"writeCount" must be an integer/);
    expect([copy.lastValue, copy.writeCount]).toEqual([1, 2]);
  });
});
