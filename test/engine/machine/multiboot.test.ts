// The multiboot loader against what QEMU 7.2's -kernel really does. The QEMU facts are literal
// expected values here (read off boots of test/fixtures/kernels/boot-probe.asm); the last
// suites boot the probe and the bad images on qemu-system-i386 to check that QEMU still says
// exactly that, and that our loader leaves the state QEMU leaves for other configurations too.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { type PhysicalMemoryAccess } from '../../../src-main/engine/machine/interfaces';
import { PhysicalMemory } from '../../../src-main/engine/machine/memory';
import {
  loadMultiboot,
  MultibootError,
  type MultibootEntryState,
  type MultibootErrorReason,
  type MultibootHeader,
  multibootCommandLine,
  multibootMemoryMap,
  parseMultibootHeader,
} from '../../../src-main/engine/machine/multiboot';
import { nasm } from '../../helpers/nasm';
import { qemuAvailable, type QemuResult, qemuRunImage } from '../../helpers/qemu';

const KERNELS = path.resolve(__dirname, '../../fixtures/kernels');
const PROBE_SOURCE = readFileSync(path.join(KERNELS, 'boot-probe.asm'), 'utf8');
const MiB = 1024 * 1024;

function probe(defines: [string, string][] = []): Uint8Array {
  return assemble(PROBE_SOURCE, { file: 'boot-probe.asm', defines }).bytes;
}

/**
 * What `qemu-system-i386 -kernel k.bin -m 64 -append "workload=syscall n=5"` prints for the
 * probe (QEMU 7.2.22, Debian 1:7.2+dfsg-7+deb12u18; identical on every boot).
 */
const QEMU_PROBE_M64 = `VMWB boot probe 1
EAX=2BADB002 EBX=00009500 ECX=00100020 EDX=00000511
ESI=00000000 EDI=00001000 EBP=00000000 ESP=00006F08
EFLAGS=00000006 CR0=00000011 CR2=00000000 CR3=00000000 CR4=00000000
CS=0008 DS=0010 ES=0010 FS=0010 GS=0010 SS=0010 LDTR=0000 TR=0000
GDTR=000CB2B8/0027 IDTR=00000000/03FF
SEL=0008 LAR=00C09A00 LSL=FFFFFFFF
SEL=0010 LAR=00C09300 LSL=FFFFFFFF
SEL=0018 LAR=00009E00 LSL=0000FFFF
SEL=0020 LAR=00009200 LSL=0000FFFF
GDT
  000CB2B8: 00 00 00 00 00 00 00 00 FF FF 00 00 00 9A CF 00
  000CB2C8: FF FF 00 00 00 93 CF 00 FF FF 00 00 00 9E 00 00
  000CB2D8: FF FF 00 00 00 92 00 00
MBI
  00009500: 4F 02 00 00 7F 02 00 00 80 FB 00 00 FF FF 00 80
  00009510: 00 30 10 00 00 00 00 00 00 30 10 00 00 00 00 00
  00009520: 00 00 00 00 00 00 00 00 00 00 00 00 90 00 00 00
  00009530: 00 90 00 00 00 00 00 00 00 00 00 00 00 00 00 00
  00009540: 1B 30 10 00 00 00 00 00 00 00 00 00 00 00 00 00
  00009550: 00 00 00 00 00 00 00 00
CMDLINE "k.bin workload=syscall n=5"
  00103000: 6B 2E 62 69 6E 20 77 6F 72 6B 6C 6F 61 64 3D 73
  00103010: 79 73 63 61 6C 6C 20 6E 3D 35 00
LOADER "qemu"
  0010301B: 71 65 6D 75 00
MMAP
  00009000: 14 00 00 00 00 00 00 00 00 00 00 00 00 FC 09 00
  00009010: 00 00 00 00 01 00 00 00 14 00 00 00 00 FC 09 00
  00009020: 00 00 00 00 00 04 00 00 00 00 00 00 02 00 00 00
  00009030: 14 00 00 00 00 00 0F 00 00 00 00 00 00 00 01 00
  00009040: 00 00 00 00 02 00 00 00 14 00 00 00 00 00 10 00
  00009050: 00 00 00 00 00 00 EE 03 00 00 00 00 01 00 00 00
  00009060: 14 00 00 00 00 00 FE 03 00 00 00 00 00 00 02 00
  00009070: 00 00 00 00 02 00 00 00 14 00 00 00 00 00 FC FF
  00009080: 00 00 00 00 00 00 04 00 00 00 00 00 02 00 00 00
BASE=0000000000000000 LEN=000000000009FC00 TYPE=00000001
BASE=000000000009FC00 LEN=0000000000000400 TYPE=00000002
BASE=00000000000F0000 LEN=0000000000010000 TYPE=00000002
BASE=0000000000100000 LEN=0000000003EE0000 TYPE=00000001
BASE=0000000003FE0000 LEN=0000000000020000 TYPE=00000002
BASE=00000000FFFC0000 LEN=0000000000040000 TYPE=00000002
BSS=00000000 A20=1
END
`;

/**
 * How the values that depend on RAM scale, read off QEMU boots of the probe with -m SIZE:
 * mem_upper (KiB), EDX, and the two map entries that move (available from 1 MiB; the top
 * 128 KiB SeaBIOS reserves). The other four map entries never change.
 */
const QEMU_RAM_SCALING: [string, number, number, number, number, number][] = [
  // -m,    RAM bytes,   mem_upper, EDX,        1 MiB entry length, reserved top base
  ['2', 2 * MiB, 0x380, 0x00000511, 0x000e0000, 0x001e0000],
  ['2500k', 0x272000, 0x548, 0x00000511, 0x00152000, 0x00252000], // QEMU rounds -m up to 8 KiB
  ['4097k', 0x402000, 0xb88, 0x00000511, 0x002e2000, 0x003e2000],
  ['16', 16 * MiB, 0x3b80, 0x00000511, 0x00ee0000, 0x00fe0000],
  ['32', 32 * MiB, 0x7b80, 0x00000511, 0x01ee0000, 0x01fe0000],
  ['64', 64 * MiB, 0xfb80, 0x00000511, 0x03ee0000, 0x03fe0000],
  ['100', 100 * MiB, 0x18b80, 0x00010511, 0x062e0000, 0x063e0000],
  ['128', 128 * MiB, 0x1fb80, 0x00010511, 0x07ee0000, 0x07fe0000],
  ['256', 256 * MiB, 0x3fb80, 0x00030511, 0x0fee0000, 0x0ffe0000],
  ['1024', 1024 * MiB, 0xffb80, 0x000f0511, 0x3fee0000, 0x3ffe0000],
  ['2047', 2047 * MiB, 0x1ff780, 0x001f0511, 0x7fde0000, 0x7fee0000],
  ['3583', 3583 * MiB, 0x37f780, 0x00370511, 0xdfde0000, 0xdfee0000],
];

/** What QEMU 7.2 prints (and exits 1 with) for the images it refuses. */
const QEMU_REFUSALS: [string, MultibootErrorReason, string][] = [
  ['header_addr < load_addr', 'load-addr', 'invalid load_addr address'],
  ['header_addr − load_addr > header offset', 'header-addr', 'invalid header_addr address'],
  ['load_end_addr < load_addr', 'load-end-addr', 'invalid load_end_addr address'],
  ['bss_end_addr < load_end_addr', 'bss-end-addr', 'invalid bss_end_addr address'],
  ['load range past 4 GiB', 'address-overflow', 'kernel does not fit in address space'],
  ['file shorter than the load range', 'truncated-image', 'fread() failed'],
  ['flag bit 16 clear, not ELF', 'elf-not-supported', 'Error while loading elf kernel'],
  // With no valid checksum QEMU falls back to the Linux boot protocol, which refuses a
  // 64-byte file.
  ['bad checksum', 'bad-checksum', 'qemu: invalid kernel header'],
];

// ------------------------------------------------------------------ helpers

interface ImageSpec {
  headerAddr?: number;
  loadAddr?: number;
  loadEnd?: number;
  bssEnd?: number;
  entry?: number;
  flags?: number;
  checksum?: number;
  size?: number;
  offset?: number;
}

/**
 * A minimal a.out-kludge image: the header at `offset`, then `mov al, 42; out 0xf4, al; hlt`.
 * Defaults: everything at 1 MiB, the whole 64-byte file loaded, entry just after the header.
 */
function image(spec: ImageSpec = {}): Uint8Array {
  const offset = spec.offset ?? 0;
  const flags = spec.flags ?? 0x10000;
  const size = spec.size ?? 64;
  const bytes = new Uint8Array(Math.max(size, offset + 32 + 8));
  const view = new DataView(bytes.buffer);
  const fields = [
    0x1badb002,
    flags,
    spec.checksum ?? -(0x1badb002 + flags) >>> 0,
    spec.headerAddr ?? 0x100000 + offset,
    spec.loadAddr ?? 0x100000,
    spec.loadEnd ?? 0,
    spec.bssEnd ?? 0,
    spec.entry ?? 0x100000 + offset + 32,
  ];
  fields.forEach((v, i) => view.setUint32(offset + 4 * i, v >>> 0, true));
  bytes.set([0xb0, 0x2a, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd], offset + 32);
  return bytes.subarray(0, size);
}

function errorOf(fn: () => unknown): MultibootError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MultibootError) return e;
    throw new Error(`expected a MultibootError, got ${String(e)}`);
  }
  throw new Error('expected a MultibootError, nothing was thrown');
}

/** A trivial sparse RAM, so that multi-GiB machines cost nothing. */
class SparseMemory implements PhysicalMemoryAccess {
  readonly pages = new Map<number, Uint8Array>();
  constructor(readonly size: number) {}
  private page(addr: number): Uint8Array {
    if (addr < 0 || addr >= this.size) throw new RangeError(`write beyond RAM at ${addr}`);
    let p = this.pages.get(addr >>> 12);
    if (!p) this.pages.set(addr >>> 12, (p = new Uint8Array(4096)));
    return p;
  }
  read8(addr: number): number {
    return this.pages.get(addr >>> 12)?.[addr & 0xfff] ?? 0;
  }
  read16(addr: number): number {
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }
  read32(addr: number): number {
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) >>> 0;
  }
  write8(addr: number, value: number): void {
    this.page(addr)[addr & 0xfff] = value;
  }
  write16(addr: number, value: number): void {
    this.write8(addr, value & 0xff);
    this.write8(addr + 1, value >>> 8);
  }
  write32(addr: number, value: number): void {
    this.write16(addr, value & 0xffff);
    this.write16(addr + 2, value >>> 16);
  }
  load(addr: number, bytes: Uint8Array): void {
    bytes.forEach((b, i) => this.write8(addr + i, b));
  }
}

const h = (n: number, digits: number): string =>
  (n >>> 0).toString(16).toUpperCase().padStart(digits, '0');

/**
 * What boot-probe.asm prints when it starts from `state` with `memory` as the loader left it:
 * the probe's output computed from our loader, to compare with QEMU's.
 */
function probeReport(
  memory: PhysicalMemoryAccess,
  state: MultibootEntryState,
  header: MultibootHeader,
): string {
  const out: string[] = ['VMWB boot probe 1\n'];
  const dump = (at: number, n: number): void => {
    for (let line = 0; line < n; line += 16) {
      const bytes: string[] = [];
      for (let i = line; i < Math.min(n, line + 16); i++) bytes.push(h(memory.read8(at + i), 2));
      out.push(`  ${h(at + line, 8)}: ${bytes.join(' ')}\n`);
    }
  };
  const str = (at: number): string => {
    let s = '';
    for (let c = memory.read8(at); c !== 0; c = memory.read8(++at)) s += String.fromCharCode(c);
    return s;
  };
  const s = state;
  const g = s.segments;
  out.push(`EAX=${h(s.eax, 8)} EBX=${h(s.ebx, 8)} ECX=${h(s.ecx, 8)} EDX=${h(s.edx, 8)}\n`);
  out.push(`ESI=${h(s.esi, 8)} EDI=${h(s.edi, 8)} EBP=${h(s.ebp, 8)} ESP=${h(s.esp, 8)}\n`);
  out.push(
    `EFLAGS=${h(s.eflags, 8)} CR0=${h(s.cr0, 8)} CR2=${h(s.cr2, 8)} CR3=${h(s.cr3, 8)} CR4=${h(s.cr4, 8)}\n`,
  );
  out.push(
    `CS=${h(g.cs.selector, 4)} DS=${h(g.ds.selector, 4)} ES=${h(g.es.selector, 4)} FS=${h(g.fs.selector, 4)} ` +
      `GS=${h(g.gs.selector, 4)} SS=${h(g.ss.selector, 4)} LDTR=${h(s.ldtr.selector, 4)} TR=${h(s.tr.selector, 4)}\n`,
  );
  out.push(
    `GDTR=${h(s.gdtr.base, 8)}/${h(s.gdtr.limit, 4)} IDTR=${h(s.idtr.base, 8)}/${h(s.idtr.limit, 4)}\n`,
  );
  for (let sel = 8; sel < 0x28; sel += 8) {
    const low = memory.read32(s.gdtr.base + sel);
    const high = memory.read32(s.gdtr.base + sel + 4);
    let limit = (low & 0xffff) | (high & 0xf0000);
    if (high & 0x800000) limit = (limit << 12) | 0xfff;
    out.push(`SEL=${h(sel, 4)} LAR=${h(high & 0x00f0ff00, 8)} LSL=${h(limit, 8)}\n`);
  }
  out.push('GDT\n');
  dump(s.gdtr.base, s.gdtr.limit + 1);
  const mbi = s.ebx;
  out.push('MBI\n');
  dump(mbi, 88);
  const cmdline = memory.read32(mbi + 16);
  out.push(`CMDLINE "${str(cmdline)}"\n`);
  dump(cmdline, str(cmdline).length + 1);
  const loader = memory.read32(mbi + 64);
  out.push(`LOADER "${str(loader)}"\n`);
  dump(loader, str(loader).length + 1);
  const mmapLength = memory.read32(mbi + 44);
  const mmapAddr = memory.read32(mbi + 48);
  out.push('MMAP\n');
  dump(mmapAddr, mmapLength);
  for (let at = mmapAddr; at < mmapAddr + mmapLength; at += memory.read32(at) + 4) {
    const r = (o: number): string => h(memory.read32(at + o), 8);
    out.push(`BASE=${r(8)}${r(4)} LEN=${r(16)}${r(12)} TYPE=${r(20)}\n`);
  }
  let bss = 0;
  const loadEnd = header.loadAddr + header.loadSize;
  for (let at = loadEnd; at < loadEnd + header.bssSize; at += 4) bss |= memory.read32(at);
  out.push(`BSS=${h(bss, 8)} A20=1\n`, 'END\n');
  return out.join('');
}

// ------------------------------------------------------------------ header parsing

describe('parseMultibootHeader', () => {
  it('reads the probe kernel, assembled by our assembler exactly as nasm does', () => {
    const bytes = probe();
    const ref = nasm(PROBE_SOURCE);
    expect(ref.ok).toBe(true);
    expect(Buffer.from(bytes).equals(Buffer.from(ref.bytes))).toBe(true);
    const header = parseMultibootHeader(bytes);
    expect(header).toEqual({
      offset: 0,
      flags: 0x10000,
      checksum: -(0x1badb002 + 0x10000) >>> 0,
      headerAddr: 0x100000,
      loadAddr: 0x100000,
      loadEndAddr: 0x100000 + bytes.length,
      bssEndAddr: 0x100000 + bytes.length + 0x2000,
      entryAddr: 0x100020,
      fileOffset: 0,
      loadSize: bytes.length,
      bssSize: 0x2000,
      warnings: [],
    });
  });

  it('loads from header offset − (header_addr − load_addr) and to the end of the file when load_end_addr is 0', () => {
    const bytes = probe([
      ['PAD', '0x104'],
      ['BSS_SIZE', '0x10000'],
    ]);
    const header = parseMultibootHeader(bytes);
    expect(header.offset).toBe(0x104);
    expect(header.headerAddr - header.loadAddr).toBe(0x104);
    expect(header.fileOffset).toBe(0);
    expect(header.bssSize).toBe(0x10000);

    // header at 0x40 in the file, load_addr = header_addr − 0x10: the first 0x30 bytes stay out
    const late = image({
      offset: 0x40,
      headerAddr: 0x100010,
      loadAddr: 0x100000,
      entry: 0x100030,
      size: 0x80,
    });
    const h2 = parseMultibootHeader(late);
    expect(h2).toMatchObject({ offset: 0x40, fileOffset: 0x30, loadSize: 0x50, bssSize: 0 });
  });

  it('finds a header as late as offset 8140, as QEMU does, but not at 8144', () => {
    const at8140 = image({ offset: 8140, size: 8200 });
    expect(parseMultibootHeader(at8140).offset).toBe(8140);
    const at8144 = image({ offset: 8144, size: 8200 });
    const e = errorOf(() => parseMultibootHeader(at8144));
    expect(e.reason).toBe('no-header');
    expect(e.message).toMatch(/no multiboot header .* first 8192 bytes/);
  });

  it('skips a magic with a bad checksum and takes the next good one', () => {
    const bytes = new Uint8Array(128);
    bytes.set(image({ checksum: 0 }).subarray(0, 12), 0);
    bytes.set(image({ offset: 16, size: 128 }).subarray(16), 16);
    expect(parseMultibootHeader(bytes).offset).toBe(16);
  });

  it('follows QEMU for flags: bit 2 and unknown required bits are accepted with a warning', () => {
    expect(parseMultibootHeader(image({ flags: 0x10003 })).warnings).toEqual([]);
    const vbe = parseMultibootHeader(image({ flags: 0x10004 }));
    expect(vbe.warnings).toEqual([expect.stringMatching(/bit 2 \(video mode\).*QEMU ignores it/)]);
    const unknown = parseMultibootHeader(image({ flags: 0x1fff8 }));
    expect(unknown.warnings).toEqual([expect.stringMatching(/bits 0xfff8 are not defined/)]);
  });

  const cases: [string, () => Uint8Array, MultibootErrorReason, RegExp][] = [
    ['an empty file', () => new Uint8Array(0), 'no-header', /the kernel image is empty/],
    [
      'random bytes',
      () => {
        const b = new Uint8Array(10000);
        let x = 12345;
        for (let i = 0; i < b.length; i++) b[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
        return b;
      },
      'no-header',
      /no multiboot header/,
    ],
    ['zeros', () => new Uint8Array(16384), 'no-header', /no multiboot header/],
    [
      'a misaligned magic',
      () => {
        const b = new Uint8Array(64);
        b.set(image().subarray(0, 32), 2);
        return b;
      },
      'no-header',
      /4-byte aligned/,
    ],
    [
      'a bad checksum',
      () => image({ checksum: 0x12345678 }),
      'bad-checksum',
      /header at offset 0x0 has a bad checksum: 0x12345678, expected 0xe4514ffe/,
    ],
    [
      'a header past 8 KiB',
      () => image({ offset: 8192, size: 8300 }),
      'no-header',
      /first 8192 bytes/,
    ],
    [
      'a magic in the last bytes of the file',
      () => image().subarray(0, 8),
      'truncated-header',
      /ends inside the multiboot header at offset 0x0/,
    ],
    [
      'a header cut inside the address fields',
      () => image().subarray(0, 20),
      'truncated-header',
      /ends inside the multiboot header's address fields/,
    ],
    [
      'an ELF header (flag bit 16 clear)',
      () => image({ flags: 0x3 }),
      'elf-not-supported',
      /^ELF multiboot images are not supported yet; use the a\.out kludge \(flag bit 16\)$/,
    ],
    [
      'a Linux setup header',
      () => {
        const b = image({ size: 0x400 });
        b.set([0x48, 0x64, 0x72, 0x53], 0x202);
        return b;
      },
      'linux-kernel',
      /"HdrS" at offset 0x202/,
    ],
    [
      'header_addr below load_addr',
      () => image({ loadAddr: 0x100010 }),
      'load-addr',
      /header_addr 0x100000 is below load_addr 0x100010 \(QEMU: "invalid load_addr address"\)/,
    ],
    [
      'load_addr before the start of the file',
      () => image({ headerAddr: 0x100010 }),
      'header-addr',
      /invalid header_addr address/,
    ],
    [
      'load_end_addr below load_addr',
      () => image({ loadEnd: 0xfffff }),
      'load-end-addr',
      /load_end_addr 0xfffff is below load_addr 0x100000/,
    ],
    [
      'bss_end_addr below load_end_addr',
      () => image({ loadEnd: 0x100040, bssEnd: 0x100020 }),
      'bss-end-addr',
      /bss_end_addr 0x100020 is below the end of the loaded image 0x100040/,
    ],
    [
      'a load range past 4 GiB',
      () => image({ headerAddr: 0xffffffe0, loadAddr: 0xffffffe0, entry: 0xffffffe0 }),
      'address-overflow',
      /kernel does not fit in address space/,
    ],
    [
      'a truncated image',
      () => image({ loadEnd: 0x100100 }),
      'truncated-image',
      /asks for 0x100 bytes from file offset 0x0, but the image has only 0x40 there \(64 bytes; QEMU: "fread\(\) failed"\)/,
    ],
    [
      'an entry in the bss',
      () => image({ bssEnd: 0x101000, entry: 0x100800 }),
      'entry-outside-image',
      /entry_addr 0x100800 is outside the loaded image 0x100000–0x100040/,
    ],
    [
      'an entry below load_addr',
      () => image({ entry: 0xffff0 }),
      'entry-outside-image',
      /entry_addr 0xffff0/,
    ],
  ];
  for (const [what, make, reason, message] of cases) {
    it(`refuses ${what}: ${reason}`, () => {
      const e = errorOf(() => parseMultibootHeader(make()));
      expect(e).toBeInstanceOf(MultibootError);
      expect(e.name).toBe('MultibootError');
      expect(e.reason).toBe(reason);
      expect(e.message).toMatch(message);
    });
  }

  it('never throws anything but MultibootError, whatever the bytes', () => {
    const base = probe();
    let x = 0xc0ffee;
    const rnd = (n: number): number => ((x = (x * 1664525 + 1013904223) >>> 0) >>> 8) % n;
    const memory = new SparseMemory(64 * MiB);
    for (let round = 0; round < 3000; round++) {
      const bytes = base.slice(0, 1 + rnd(base.length + 64));
      for (let k = rnd(4); k >= 0; k--) bytes[rnd(Math.min(bytes.length, 40))] = rnd(256);
      if (rnd(2)) {
        // keep the checksum valid so the address checks are reached
        const view = new DataView(bytes.buffer);
        if (bytes.length >= 12)
          view.setUint32(8, -(0x1badb002 + view.getUint32(4, true)) >>> 0, true);
      }
      try {
        loadMultiboot(memory, bytes, { cmdline: 'k.bin', memoryBytes: 64 * MiB });
      } catch (e) {
        if (!(e instanceof MultibootError)) throw e;
      }
    }
  });
});

// ------------------------------------------------------------------ loading

describe('loadMultiboot', () => {
  const cmdline = multibootCommandLine('k.bin', 'workload=syscall n=5');

  it('builds the command line as QEMU does: path, a space, the -append text', () => {
    expect(cmdline).toBe('k.bin workload=syscall n=5');
    expect(multibootCommandLine('k.bin')).toBe('k.bin ');
    expect(multibootCommandLine('./k.bin', '  a  b ')).toBe('./k.bin   a  b ');
  });

  it('leaves the entry state QEMU 7.2 leaves (-m 64)', () => {
    const memory = new PhysicalMemory(64 * MiB);
    const state = loadMultiboot(memory, probe(), { cmdline, memoryBytes: 64 * MiB });
    const flatData = { base: 0, limit: 0xffffffff, access: 0x93, flags: 0xc, selector: 0x10 };
    // `info registers` at the probe's first instruction, QEMU 7.2 -m 64:
    //   CS =0008 00000000 ffffffff 00cf9a00   DS/ES/FS/GS/SS =0010 00000000 ffffffff 00cf9300
    //   LDT=0000 00000000 0000ffff 00008200   TR =0000 00000000 0000ffff 00008b00
    expect(state).toEqual({
      eip: 0x100020,
      eax: 0x2badb002,
      ebx: 0x9500,
      ecx: 0x100020,
      edx: 0x511,
      esi: 0,
      edi: 0x1000,
      ebp: 0,
      esp: 0x6f08,
      eflags: 0x6,
      cr0: 0x11,
      cr2: 0,
      cr3: 0,
      cr4: 0,
      gdtr: { base: 0xcb2b8, limit: 0x27 },
      idtr: { base: 0, limit: 0x3ff },
      segments: {
        cs: { selector: 0x08, base: 0, limit: 0xffffffff, access: 0x9a, flags: 0xc },
        ds: flatData,
        es: flatData,
        fs: flatData,
        gs: flatData,
        ss: flatData,
      },
      ldtr: { selector: 0, base: 0, limit: 0xffff, access: 0x82, flags: 0 },
      tr: { selector: 0, base: 0, limit: 0xffff, access: 0x8b, flags: 0 },
    });
  });

  it('leaves in memory exactly what the probe saw on QEMU (-m 64, -append)', () => {
    const bytes = probe();
    const memory = new PhysicalMemory(64 * MiB);
    const state = loadMultiboot(memory, bytes, { cmdline, memoryBytes: 64 * MiB });
    expect(probeReport(memory, state, parseMultibootHeader(bytes))).toBe(QEMU_PROBE_M64);
    // the kernel bytes themselves, and zeros from the bss to the command line page
    expect(memory.bytes.subarray(0x100000, 0x100000 + bytes.length)).toEqual(bytes);
    expect(memory.bytes.subarray(0x100000 + bytes.length, 0x103000).every((b) => b === 0)).toBe(
      true,
    );
    expect(memory.bytes.subarray(0x103020, 0x104000).every((b) => b === 0)).toBe(true);
  });

  it('keeps the byte-for-byte fixture for the machine in step with the QEMU facts', () => {
    expect(readFileSync(path.join(KERNELS, 'boot-probe.qemu-m64.txt'), 'latin1')).toBe(
      QEMU_PROBE_M64,
    );
  });

  it('overwrites stale bss and padding with zeros', () => {
    const memory = new PhysicalMemory(64 * MiB);
    memory.bytes.fill(0xaa, 0x100000, 0x110000);
    const bytes = probe();
    const state = loadMultiboot(memory, bytes, { cmdline, memoryBytes: 64 * MiB });
    expect(probeReport(memory, state, parseMultibootHeader(bytes))).toBe(QEMU_PROBE_M64);
    expect(memory.bytes.subarray(0x103020, 0x104000).every((b) => b === 0)).toBe(true);
  });

  it('scales mem_upper, EDX and the memory map with RAM as QEMU does', () => {
    const bytes = probe();
    for (const [m, ram, memUpper, edx, upperLength, reservedBase] of QEMU_RAM_SCALING) {
      const memory = new SparseMemory(ram);
      const state = loadMultiboot(memory, bytes, { cmdline, memoryBytes: ram });
      expect({
        m,
        memLower: memory.read32(0x9504),
        memUpper: memory.read32(0x9508),
        edx: state.edx,
      }).toEqual({
        m,
        memLower: 639,
        memUpper,
        edx,
      });
      expect(multibootMemoryMap(ram)).toEqual([
        { base: 0, length: 0x9fc00, type: 1 },
        { base: 0x9fc00, length: 0x400, type: 2 },
        { base: 0xf0000, length: 0x10000, type: 2 },
        { base: 0x100000, length: upperLength, type: 1 },
        { base: reservedBase, length: 0x20000, type: 2 },
        { base: 0xfffc0000, length: 0x40000, type: 2 },
      ]);
    }
  });

  it('places the command line and loader name after the page-aligned kernel + bss, EDI = bswap(load_addr)', () => {
    // measured: PAD=0x104 BSS_SIZE=0x10000 → cmdline at 0x111000; LOAD_ADDR=0x200000 → EDI 0x2000
    const padded = probe([
      ['PAD', '0x104'],
      ['BSS_SIZE', '0x10000'],
    ]);
    const memory = new SparseMemory(64 * MiB);
    const s1 = loadMultiboot(memory, padded, {
      cmdline: 'k3.bin workload=syscall n=5',
      memoryBytes: 64 * MiB,
    });
    expect([s1.eip, s1.ecx, s1.edi]).toEqual([0x100124, 0x100124, 0x1000]);
    expect([memory.read32(0x9510), memory.read32(0x9518), memory.read32(0x9540)]).toEqual([
      0x111000, 0x111000, 0x11101c,
    ]);
    const high = probe([['LOAD_ADDR', '0x200000']]);
    const s2 = loadMultiboot(new SparseMemory(64 * MiB), high, {
      cmdline: 'k2.bin workload=syscall n=5',
      memoryBytes: 64 * MiB,
    });
    expect([s2.eip, s2.ecx, s2.edi]).toEqual([0x200020, 0x200020, 0x2000]);
  });

  it('encodes the command line as UTF-8 bytes, as QEMU passes argv', () => {
    const memory = new SparseMemory(64 * MiB);
    loadMultiboot(memory, probe(), { cmdline: 'k.bin é€😀', memoryBytes: 64 * MiB });
    const at = memory.read32(0x9510);
    const bytes = Array.from({ length: 16 }, (_, i) => memory.read8(at + i));
    expect(bytes).toEqual([
      0x6b, 0x2e, 0x62, 0x69, 0x6e, 0x20, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0,
    ]);
    expect(memory.read32(0x9540)).toBe(at + 16);
  });

  const ram = 64 * MiB;
  const loadCases: [string, () => Uint8Array, number, string, MultibootErrorReason, RegExp][] = [
    [
      'a kernel below 1 MiB (QEMU boots it, clobbering its own boot data)',
      () => image({ headerAddr: 0x10000, loadAddr: 0x10000, entry: 0x10020 }),
      ram,
      'k.bin',
      'below-1mib',
      /load_addr 0x10000 is below 1 MiB/,
    ],
    [
      'a kernel beyond RAM (QEMU hangs)',
      () => image({ headerAddr: 0x8000000, loadAddr: 0x8000000, entry: 0x8000020 }),
      ram,
      'k.bin',
      'beyond-ram',
      /the kernel image \(0x8000000–0x8000040\) does not fit .* ends at 0x3fe0000/,
    ],
    [
      'a kernel in the reserved top 128 KiB',
      () => image({ headerAddr: 0x3ff0000, loadAddr: 0x3ff0000, entry: 0x3ff0020 }),
      ram,
      'k.bin',
      'beyond-ram',
      /the kernel image/,
    ],
    [
      'a bss beyond RAM (QEMU drops those writes)',
      () => image({ bssEnd: 0x8000000 }),
      ram,
      'k.bin',
      'beyond-ram',
      /its bss \(0x100040–0x8000000\)/,
    ],
    [
      'a bss ending where the command line page would not fit',
      () => image({ bssEnd: 0x3fe0000 }),
      ram,
      'k.bin',
      'beyond-ram',
      /the command line and boot loader name QEMU places after the kernel \(0x3fe0000–0x3fe1000\)/,
    ],
    [
      'too little memory',
      () => image(),
      1 * MiB,
      'k.bin',
      'memory-size',
      /multiple of 4 KiB from 2 MiB/,
    ],
    ['memory at the PCI hole split', () => image(), 0xe0000000, 'k.bin', 'memory-size', /3\.5 GiB/],
    [
      'odd memory sizes',
      () => image(),
      64 * MiB + 100,
      'k.bin',
      'memory-size',
      /multiple of 4 KiB/,
    ],
    ['a NUL in the command line', () => image(), ram, 'k.bin a\0b', 'bad-cmdline', /NUL/],
  ];
  for (const [what, make, memoryBytes, cmd, reason, message] of loadCases) {
    it(`refuses ${what}: ${reason}`, () => {
      const memory = new SparseMemory(Math.max(memoryBytes, 2 * MiB));
      const e = errorOf(() => loadMultiboot(memory, make(), { cmdline: cmd, memoryBytes }));
      expect(e.reason).toBe(reason);
      expect(e.message).toMatch(message);
      expect(memory.pages.size).toBe(0); // refused before writing anything
    });
  }

  it('accepts a kernel whose page-aligned end is exactly the end of available RAM', () => {
    const memory = new PhysicalMemory(64 * MiB);
    // bss to 0x3fdf000, command line page 0x3fdf000–0x3fe0000
    expect(() =>
      loadMultiboot(memory, image({ bssEnd: 0x3fdf000 }), {
        cmdline: 'k.bin',
        memoryBytes: 64 * MiB,
      }),
    ).not.toThrow();
  });
});

// ------------------------------------------------------------------ against QEMU itself

/** Boot `kernel` as ./NAME (so the command line starts with NAME) with -kernel. */
function boot(kernel: Uint8Array, name: string, memory: string, append?: string): QemuResult {
  return qemuRunImage(kernel, name, {
    memory,
    timeoutMs: 30_000,
    ...(append !== undefined ? { append } : {}),
  });
}

describe('against qemu-system-i386', () => {
  it('is installed (.ci/run installs qemu-system-x86)', () => {
    expect(qemuAvailable()).toBe(true);
  });

  it('prints what the test expects for the probe (-m 64 -append "workload=syscall n=5")', () => {
    const run = boot(probe(), 'k.bin', '64', 'workload=syscall n=5');
    expect(run.status).toBe(1); // isa-debug-exit: (0 << 1) | 1
    expect(run.serial.toString('latin1')).toBe(QEMU_PROBE_M64);
  });

  it('agrees with our loader for other RAM sizes, command lines and load layouts', () => {
    const configs: [string, Uint8Array, string, string | undefined, string][] = [
      ['k.bin', probe(), '128', undefined, multibootCommandLine('k.bin')],
      ['k.bin', probe(), '2', 'x', multibootCommandLine('k.bin', 'x')],
      ['kernel.bin', probe(), '3000', '  a  b ', multibootCommandLine('kernel.bin', '  a  b ')],
      ['k2.bin', probe([['LOAD_ADDR', '0x200000']]), '32', 'n=1', 'k2.bin n=1'],
      [
        'k3.bin',
        probe([
          ['PAD', '0x104'],
          ['BSS_SIZE', '0x10000'],
        ]),
        '4097k',
        'workload=syscall n=5',
        'k3.bin workload=syscall n=5',
      ],
    ];
    const runs = configs.map(([name, bytes, m, append]) => boot(bytes, name, m, append));
    configs.forEach(([, bytes, m, , cmd], i) => {
      const ramBytes = m.endsWith('k')
        ? Math.ceil((parseInt(m) * 1024) / 8192) * 8192
        : parseInt(m) * MiB;
      const memory = new SparseMemory(ramBytes);
      const state = loadMultiboot(memory, bytes, { cmdline: cmd, memoryBytes: ramBytes });
      expect({ m, status: runs[i]!.status }).toEqual({ m, status: 1 });
      expect(runs[i]!.serial.toString('latin1')).toBe(
        probeReport(memory, state, parseMultibootHeader(bytes)),
      );
    });
  });

  it("refuses the images QEMU refuses, with QEMU's reasons", () => {
    const images: Uint8Array[] = [
      image({ loadAddr: 0x100010 }),
      image({ headerAddr: 0x100010 }),
      image({ loadEnd: 0xfffff }),
      image({ loadEnd: 0x100040, bssEnd: 0x100020 }),
      image({ headerAddr: 0xffffffe0, loadAddr: 0xffffffe0, entry: 0xffffffe0 }),
      image({ loadEnd: 0x100100 }),
      image({ flags: 0 }),
      image({ checksum: 0 }),
    ];
    const runs = images.map((b) => boot(b, 'k.bin', '64'));
    QEMU_REFUSALS.forEach(([what, reason, qemuSays], i) => {
      expect({ what, status: runs[i]!.status }).toEqual({ what, status: 1 });
      expect(runs[i]!.stderr).toContain(qemuSays);
      expect(errorOf(() => parseMultibootHeader(images[i]!)).reason).toBe(reason);
    });
  });

  it('boots what we accept with a warning (video mode, unknown flag bits), as QEMU does', () => {
    const images = [
      image({ flags: 0x10004 }),
      image({ flags: 0x1fff8 }),
      image({ offset: 8140, size: 8200 }),
    ];
    const runs = images.map((b) => boot(b, 'k.bin', '64'));
    expect(runs.map((r) => r.status)).toEqual([85, 85, 85]); // exit value 42: (42 << 1) | 1
    expect(runs[0]!.stderr).toContain("multiboot knows VBE. we don't");
    for (const b of images)
      expect(() =>
        loadMultiboot(new SparseMemory(64 * MiB), b, { cmdline: 'k.bin ', memoryBytes: 64 * MiB }),
      ).not.toThrow();
  });
});
