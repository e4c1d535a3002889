// The I/O port bus: which device answers which of the 65,536 ports, routing IN/OUT to it, the
// behaviour of ports nobody answers, and snapshots of every device on it. Also the plumbing the
// devices share: byte-wise access splitting, and reading a saved state back with validation (a
// snapshot is untrusted input until checked).
//
// Access sizes follow QEMU's memory core (softmmu/memory.c), checked against qemu-system-i386
// 7.2 with a probe kernel:
// - The device owning the *first* port of an access gets the whole access with its size, even
//   when it runs past the device's last port; the device applies its own rules (each device
//   module documents them: QEMU's 8259/8254 refuse unaligned wide accesses and split aligned
//   ones into bytes at region offsets, so `in eax, 0x20` reads IRR, IMR, IMR, IMR; the 16550
//   allows unaligned ones; isa-debug-exit takes 1–4 bytes whole).
// - Ports nobody answers: an aligned access reads all ones of its size (0xFF / 0xFFFF /
//   0xFFFFFFFF), as on a PC; writes are ignored. An unaligned wide access (port not a multiple
//   of its size) reads 0: QEMU refuses it as invalid ("reason: unaligned") and returns 0.

import { type PortDevice, type PortSize, type Stateful } from './interfaces';

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff] as const;

function hex(n: number, digits = 4): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}

export class PortBus implements Stateful {
  /** index + 1 of the device answering each port; 0 = unassigned */
  private readonly owner = new Uint16Array(0x10000);
  private readonly list: PortDevice[] = [];

  /** Attach a device to the ports it declares; rejects overlaps (naming both devices). */
  register(device: PortDevice): void {
    if (this.list.some((d) => d.name === device.name)) {
      throw new Error(`a device named "${device.name}" is already on the port bus`);
    }
    if (device.ports.length === 0) throw new Error(`device "${device.name}" declares no ports`);
    const ranges = device.ports.map((r) => ({ first: r.first, last: r.last }));
    for (const r of ranges) {
      if (
        !Number.isInteger(r.first) ||
        !Number.isInteger(r.last) ||
        r.first < 0 ||
        r.last > 0xffff ||
        r.first > r.last
      ) {
        throw new RangeError(
          `device "${device.name}" declares an invalid port range ${r.first}–${r.last}`,
        );
      }
    }
    ranges.forEach((a, i) =>
      ranges.slice(i + 1).forEach((b) => {
        if (a.first <= b.last && b.first <= a.last) {
          throw new Error(
            `device "${device.name}" declares overlapping port ranges ${hex(a.first)}–${hex(a.last)} and ${hex(b.first)}–${hex(b.last)}`,
          );
        }
      }),
    );
    for (const r of ranges) {
      for (let p = r.first; p <= r.last; p++) {
        const taken = this.owner[p]!;
        if (taken === 0) continue;
        const other = this.list[taken - 1]!;
        const theirs = other.ports.find((o) => o.first <= p && p <= o.last)!;
        throw new Error(
          `cannot register "${device.name}": its ports ${hex(r.first)}–${hex(r.last)} overlap ` +
            `"${other.name}" (${hex(theirs.first)}–${hex(theirs.last)}) at port ${hex(p)}`,
        );
      }
    }
    this.list.push(device);
    const index = this.list.length;
    for (const r of ranges) this.owner.fill(index, r.first, r.last + 1);
  }

  /** The devices in registration order. */
  devices(): readonly PortDevice[] {
    return this.list;
  }

  /** The device answering `port`, if any. */
  deviceAt(port: number): PortDevice | undefined {
    const i = this.owner[port];
    return i ? this.list[i - 1] : undefined;
  }

  /** IN of `size` bytes at `port`: the value, masked to the size. */
  read(port: number, size: PortSize): number {
    checkPort(port);
    const index = this.owner[port]!;
    if (index === 0) return port & (size - 1) ? 0 : SIZE_MASK[size];
    const v = this.list[index - 1]!.read(port, size);
    return size === 4 ? v >>> 0 : v & SIZE_MASK[size];
  }

  /** OUT of `size` bytes of `value` (masked to the size) at `port`. */
  write(port: number, size: PortSize, value: number): void {
    checkPort(port);
    const index = this.owner[port]!;
    if (index === 0) return;
    this.list[index - 1]!.write(port, size, size === 4 ? value >>> 0 : value & SIZE_MASK[size]);
  }

  /** Every device's state, by name, in registration order (plain JSON data). */
  save(): { devices: { name: string; state: unknown }[] } {
    return { devices: this.list.map((d) => ({ name: d.name, state: d.save() })) };
  }

  /**
   * Restore every device. The snapshot must name exactly the devices on this bus. If a device
   * rejects its state, the devices already restored are put back, so a failed restore changes
   * nothing.
   */
  restore(state: unknown): void {
    const s = new StateReader(state, 'port bus');
    const entries = s.array('devices').map((e, i) => {
      const r = new StateReader(e, `port bus device #${i}`);
      return { name: r.string('name'), state: r.raw('state') };
    });
    const names = entries.map((e) => e.name);
    const expected = this.list.map((d) => d.name);
    if (names.length !== expected.length || expected.some((n) => !names.includes(n))) {
      throw new Error(
        `port bus snapshot names devices [${names.join(', ')}], this bus has [${expected.join(', ')}]`,
      );
    }
    const before = this.save();
    const done: PortDevice[] = [];
    try {
      for (const e of entries) {
        const device = this.list.find((d) => d.name === e.name)!;
        device.restore(e.state);
        done.push(device);
      }
    } catch (err) {
      for (const d of done) d.restore(before.devices.find((b) => b.name === d.name)!.state);
      throw err;
    }
  }
}

function checkPort(port: number): void {
  if (!(port >= 0 && port <= 0xffff && Number.isInteger(port))) {
    throw new RangeError(`I/O port ${port} is outside 0–0xffff`);
  }
}

/**
 * Whether a wide access is unaligned relative to the start of the device's port block. QEMU
 * refuses those for devices that do not declare `valid.unaligned` (reads give 0, writes are
 * dropped).
 */
export function isUnaligned(offset: number, size: PortSize): boolean {
  return (offset & (size - 1)) !== 0;
}

/**
 * An access of `size` bytes as byte reads at consecutive ports, little-endian: what QEMU does
 * for a device whose registers are bytes (`impl.max_access_size = 1`).
 */
export function readBytewise(
  port: number,
  size: PortSize,
  read8: (port: number) => number,
): number {
  let v = 0;
  for (let i = 0; i < size; i++) v |= (read8(port + i) & 0xff) << (8 * i);
  return v >>> 0;
}

/** An access of `size` bytes as byte writes at consecutive ports, little-endian. */
export function writeBytewise(
  port: number,
  size: PortSize,
  value: number,
  write8: (port: number, byte: number) => void,
): void {
  for (let i = 0; i < size; i++) write8(port + i, (value >>> (8 * i)) & 0xff);
}

// ---- saved-state validation ----------------------------------------------------------------

/**
 * Reads fields out of a saved state, throwing a clear Error naming the device and the field when
 * the state is malformed. Devices read every field first and assign only after, so a rejected
 * state leaves the device untouched.
 */
export class StateReader {
  private readonly record: Readonly<Record<string, unknown>>;

  constructor(
    state: unknown,
    private readonly what: string,
  ) {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      throw new Error(`${what} state must be an object, not ${describe(state)}`);
    }
    this.record = state as Record<string, unknown>;
  }

  private fail(key: string, wanted: string, got: unknown): never {
    throw new Error(`${this.what} state: "${key}" must be ${wanted}, not ${describe(got)}`);
  }

  raw(key: string): unknown {
    if (!(key in this.record)) this.fail(key, 'present', undefined);
    return this.record[key];
  }

  int(key: string, min: number, max: number): number {
    const v = this.record[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(key, `an integer in ${min}..${max}`, v);
    }
    return v;
  }

  bool(key: string): boolean {
    const v = this.record[key];
    if (typeof v !== 'boolean') this.fail(key, 'a boolean', v);
    return v;
  }

  string(key: string): string {
    const v = this.record[key];
    if (typeof v !== 'string') this.fail(key, 'a string', v);
    return v;
  }

  array(key: string, maxLength = Number.MAX_SAFE_INTEGER): unknown[] {
    const v = this.record[key];
    if (!Array.isArray(v) || v.length > maxLength)
      this.fail(key, `an array of at most ${maxLength} items`, v);
    return v as unknown[];
  }

  intArray(key: string, min: number, max: number, maxLength: number): number[] {
    const a = this.array(key, maxLength);
    a.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
        this.fail(`${key}[${i}]`, `an integer in ${min}..${max}`, v);
      }
    });
    return a as number[];
  }

  /** Bytes saved with `encodeBytes` (base64). */
  bytes(key: string, maxLength: number): Uint8Array {
    const s = this.string(key);
    const b = decodeBytes(s);
    if (b === undefined) this.fail(key, 'base64 text', s.length > 40 ? s.slice(0, 40) + '…' : s);
    if (b.length > maxLength) this.fail(key, `at most ${maxLength} bytes`, `${b.length} bytes`);
    return b;
  }

  object(key: string): StateReader {
    return new StateReader(this.record[key], `${this.what} "${key}"`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (v === null || typeof v !== 'object') return String(v);
  return 'an object';
}

// Base64 for byte arrays in saved states (Node's Buffer and the DOM's btoa are not available to
// the engine).
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
const B64_CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) {
  B64_CODES[i] = B64.charCodeAt(i);
  B64_INDEX[B64.charCodeAt(i)] = i;
}

export function encodeBytes(bytes: Uint8Array): string {
  const codes = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    codes[o++] = B64_CODES[(n >>> 18) & 63]!;
    codes[o++] = B64_CODES[(n >>> 12) & 63]!;
    codes[o++] = i + 1 < bytes.length ? B64_CODES[(n >>> 6) & 63]! : 61; // '='
    codes[o++] = i + 2 < bytes.length ? B64_CODES[n & 63]! : 61;
  }
  const parts: string[] = [];
  // fromCharCode.apply on typed-array slices: spreading a typed array is ~25× slower.
  for (let i = 0; i < codes.length; i += 0x2000) {
    parts.push(
      String.fromCharCode.apply(null, codes.subarray(i, i + 0x2000) as unknown as number[]),
    );
  }
  return parts.join('');
}

/** The bytes of base64 text, or undefined when it is not canonical base64. */
export function decodeBytes(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const c = text.charCodeAt(i + j);
      const last = i + 4 === text.length;
      if (c === 61 /* = */ && last && j >= 4 - pad) {
        n <<= 6;
        continue;
      }
      const d = c < 128 ? B64_INDEX[c]! : -1;
      if (d < 0) return undefined;
      n = (n << 6) | d;
    }
    out[o++] = (n >>> 16) & 0xff;
    if (o < out.length) out[o++] = (n >>> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}
