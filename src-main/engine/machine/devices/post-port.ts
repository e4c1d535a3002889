// Port 0x80, the PC's POST-code port: firmware writes progress codes there, and kernels use an
// access to it as a short I/O delay — or, in the Adams & Agesen nanobenchmark, as the cheapest
// instruction that must leave the guest. Owns the last code written and how many writes came.
// What an access costs is the CPU's business (it counts a modeled I/O access), not this device's.
//
// QEMU (hw/i386/pc.c, ioport80): writes are ignored and reads return all ones; nothing
// remembers the value. We remember it for the UI but read all ones like QEMU, so guests see
// the same thing on both.

import { StateReader } from '../bus';
import { type PortDevice, type PortRange, type PortSize } from '../interfaces';

export const POST_PORT = 0x80;

export class PostPort implements PortDevice {
  readonly name = 'post-port';
  readonly ports: readonly PortRange[] = [{ first: POST_PORT, last: POST_PORT }];
  private last = 0;
  private writes = 0;

  /** The last byte written (0 before any write). */
  get lastValue(): number {
    return this.last;
  }

  /** How many writes the port has seen. */
  get writeCount(): number {
    return this.writes;
  }

  read(_port: number, size: PortSize): number {
    return size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
  }

  // A wider OUT is QEMU's two or four ignored byte writes; the low byte is the one at 0x80.
  write(_port: number, _size: PortSize, value: number): void {
    this.last = value & 0xff;
    this.writes++;
  }

  save(): { lastValue: number; writeCount: number } {
    return { lastValue: this.last, writeCount: this.writes };
  }

  restore(state: unknown): void {
    const r = new StateReader(state, this.name);
    const last = r.int('lastValue', 0, 0xff);
    const writes = r.int('writeCount', 0, Number.MAX_SAFE_INTEGER);
    this.last = last;
    this.writes = writes;
  }
}
