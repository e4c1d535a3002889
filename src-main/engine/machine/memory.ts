// Guest-physical RAM: one Uint8Array from address 0, little-endian accessors, and the
// code-page watch that keeps the CPU's decoded-instruction cache coherent with writes
// (self-modifying code, a loader writing over old code).

import { type PhysicalMemoryAccess } from './interfaces';

export const PAGE_SHIFT = 12;
/** Code is tracked in 64-byte lines, so data sharing a page with code does not evict it. */
export const LINE_SHIFT = 6;

export class PhysicalMemory implements PhysicalMemoryAccess {
  readonly bytes: Uint8Array;
  readonly size: number;
  /** 1 for pages the CPU holds decoded instructions of */
  readonly codePages: Uint8Array;
  /** 1 for 64-byte lines that hold bytes of a decoded instruction */
  readonly codeLines: Uint8Array;
  /** called with a page number when a watched page is written */
  onCodeWrite: (page: number) => void = () => {};

  constructor(size: number) {
    if (
      !Number.isInteger(size) ||
      size < 1 << 20 ||
      size > 3 * 1024 * 1024 * 1024 ||
      size % 4096 !== 0
    ) {
      throw new RangeError(
        `memory size must be a multiple of 4 KiB between 1 MiB and 3 GiB, not ${size}`,
      );
    }
    this.size = size;
    this.bytes = new Uint8Array(size);
    this.codePages = new Uint8Array(size >>> PAGE_SHIFT);
    this.codeLines = new Uint8Array(size >>> LINE_SHIFT);
  }

  /** A write to [addr, addr+len) touched decoded code: tell the CPU. */
  private checkCode(addr: number, len: number): void {
    const lines = this.codeLines;
    if (lines[addr >>> LINE_SHIFT] || lines[(addr + len - 1) >>> LINE_SHIFT]) {
      this.onCodeWrite(addr >>> PAGE_SHIFT);
    }
  }

  // Reads beyond RAM see an unassigned bus: all ones, as on a PC.
  read8(addr: number): number {
    return addr < this.size ? this.bytes[addr]! : 0xff;
  }
  read16(addr: number): number {
    if (addr + 1 >= this.size) return this.read8(addr) | (this.read8(addr + 1) << 8);
    const b = this.bytes;
    return b[addr]! | (b[addr + 1]! << 8);
  }
  read32(addr: number): number {
    if (addr + 3 >= this.size) {
      return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
    }
    const b = this.bytes;
    return (b[addr]! | (b[addr + 1]! << 8) | (b[addr + 2]! << 16) | (b[addr + 3]! << 24)) >>> 0;
  }

  // Writes beyond RAM are dropped.
  write8(addr: number, value: number): void {
    if (addr >= this.size) return;
    if (this.codePages[addr >>> PAGE_SHIFT]) this.checkCode(addr, 1);
    this.bytes[addr] = value;
  }
  write16(addr: number, value: number): void {
    if (addr + 1 >= this.size || (addr & 0xfff) === 0xfff) {
      this.write8(addr, value & 0xff);
      this.write8(addr + 1, (value >>> 8) & 0xff);
      return;
    }
    if (this.codePages[addr >>> PAGE_SHIFT]) this.checkCode(addr, 2);
    this.bytes[addr] = value;
    this.bytes[addr + 1] = value >>> 8;
  }
  write32(addr: number, value: number): void {
    if (addr + 3 >= this.size || (addr & 0xfff) > 0xffc) {
      this.write16(addr, value & 0xffff);
      this.write16(addr + 2, (value >>> 16) & 0xffff);
      return;
    }
    if (this.codePages[addr >>> PAGE_SHIFT]) this.checkCode(addr, 4);
    const b = this.bytes;
    b[addr] = value;
    b[addr + 1] = value >>> 8;
    b[addr + 2] = value >>> 16;
    b[addr + 3] = value >>> 24;
  }

  load(addr: number, data: Uint8Array): void {
    if (addr < 0 || addr + data.length > this.size) {
      throw new RangeError(
        `cannot load ${data.length} bytes at 0x${addr.toString(16)}: RAM ends at 0x${this.size.toString(16)}`,
      );
    }
    for (let p = addr >>> PAGE_SHIFT; p <= (addr + data.length - 1) >>> PAGE_SHIFT; p++) {
      if (this.codePages[p]) this.onCodeWrite(p);
    }
    this.bytes.set(data, addr);
  }
}
