// The multiboot 1 loader, as `qemu-system-i386 -kernel` does it (QEMU 7.2: hw/i386/multiboot.c
// and its option ROM pc-bios/optionrom/multiboot_dma.bin). It owns: finding and checking the
// multiboot header (Multiboot 0.6.96 §3.1), the a.out-kludge load layout, the bytes QEMU
// leaves in guest memory (kernel, zeroed bss, the command line and boot loader name after
// it, the multiboot information structure, the memory map, the option ROM's GDT) and the CPU
// state at the kernel's first instruction.
//
// Every constant below was read off real QEMU 7.2 boots of test/fixtures/kernels/boot-probe.asm
// (and `info registers` at the entry point), not taken from the spec alone: where QEMU and the
// spec disagree, the kernel sees what QEMU does. Where QEMU would boot an image into a state
// that depends on firmware we do not model (a kernel below 1 MiB, beyond RAM, entry outside
// the image), this loader refuses it with a MultibootError instead.

import { type PhysicalMemoryAccess } from './interfaces';

/** The header magic (Multiboot §3.1.1). */
export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** What the loader leaves in EAX (Multiboot §3.2). */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** QEMU scans the first 8192 bytes, stopping where a 48-byte header would no longer fit. */
export const MULTIBOOT_SEARCH_BYTES = 8192;
const LAST_HEADER_OFFSET = MULTIBOOT_SEARCH_BYTES - 48 - 4; // QEMU: for (i = 0; i < 8192 - 48; i += 4)

/** Header flag bits (Multiboot §3.1.2). */
export const MB_FLAG_PAGE_ALIGN = 1 << 0;
export const MB_FLAG_MEMORY_INFO = 1 << 1;
export const MB_FLAG_VIDEO_MODE = 1 << 2;
export const MB_FLAG_AOUT_KLUDGE = 1 << 16;

/** Where QEMU puts things (hw/i386/multiboot.c: MULTIBOOT_STRUCT_ADDR 0x9000). */
export const MULTIBOOT_MMAP_ADDRESS = 0x9000;
export const MULTIBOOT_INFO_ADDRESS = 0x9500;
export const MULTIBOOT_INFO_SIZE = 88;
/** The option ROM's GDT, as SeaBIOS maps multiboot_dma.bin (measured). */
export const MULTIBOOT_GDT_BASE = 0xcb2b8;
export const MULTIBOOT_GDT_LIMIT = 0x27;
/** The SeaBIOS stack the option ROM runs on and jumps from (measured). */
export const MULTIBOOT_ENTRY_ESP = 0x6f08;
/** The boot loader name QEMU reports (hw/i386/multiboot.c: bootloader_name). */
export const MULTIBOOT_LOADER_NAME = 'qemu';

/** Information-structure flags QEMU sets: mem, boot_device, cmdline, mods, mmap, loader name. */
export const MULTIBOOT_INFO_FLAGS = 0x24f;
/** boot_device: QEMU's constant "no BIOS drive, no partitions" (hw/i386/multiboot.c). */
export const MULTIBOOT_BOOT_DEVICE = 0x8000ffff;

/** Everything below 1 MiB belongs to QEMU's boot path (stack, MBI, EBDA, option ROM, BIOS). */
const LOW_MEMORY_END = 0x100000;
/** SeaBIOS keeps the top 128 KiB of RAM for its tables and marks it reserved in the map. */
const HIGH_TABLES_SIZE = 0x20000;
/** The 256 KiB BIOS ROM mapped below 4 GiB, listed reserved in the map. */
const BIOS_ROM_BASE = 0xfffc0000;
const BIOS_ROM_SIZE = 0x40000;
/** At and above 3.5 GiB QEMU's pc machine splits RAM around the PCI hole; not modelled. */
export const MULTIBOOT_MAX_MEMORY = 0xe0000000;
/** Below this SeaBIOS lays the map out differently (measured: 1200 KiB has no reserved top). */
export const MULTIBOOT_MIN_MEMORY = 2 * 1024 * 1024;
const PAGE_SIZE = 4096;

export type MultibootErrorReason =
  /** no magic with a matching checksum at a 4-byte aligned offset in the first 8 KiB */
  | 'no-header'
  /** the magic is there, but no checksum makes magic + flags + checksum zero */
  | 'bad-checksum'
  /** "HdrS" at 0x202: QEMU boots it with the Linux boot protocol, never as multiboot */
  | 'linux-kernel'
  /** flag bit 16 clear: the image would be loaded as ELF */
  | 'elf-not-supported'
  /** the image ends inside the header's address fields */
  | 'truncated-header'
  /** header_addr < load_addr (QEMU: "invalid load_addr address") */
  | 'load-addr'
  /** header_addr − load_addr exceeds the header's file offset (QEMU: "invalid header_addr address") */
  | 'header-addr'
  /** load_end_addr < load_addr (QEMU: "invalid load_end_addr address") */
  | 'load-end-addr'
  /** load_addr + load size passes 4 GiB (QEMU: "kernel does not fit in address space") */
  | 'address-overflow'
  /** bss_end_addr < load_end_addr (QEMU: "invalid bss_end_addr address") */
  | 'bss-end-addr'
  /** the file is shorter than the range the header asks to load (QEMU: "fread() failed") */
  | 'truncated-image'
  /** entry_addr outside the loaded bytes (QEMU would jump there anyway) */
  | 'entry-outside-image'
  /** part of what QEMU places in memory would land below 1 MiB */
  | 'below-1mib'
  /** part of what QEMU places in memory would land beyond the RAM the memory map offers */
  | 'beyond-ram'
  /** a memory size QEMU's memory map cannot be reproduced for */
  | 'memory-size'
  /** the command line contains a NUL */
  | 'bad-cmdline';

/** A kernel image (or load request) this loader refuses, with the reason as a code. */
export class MultibootError extends Error {
  override readonly name = 'MultibootError';
  constructor(
    readonly reason: MultibootErrorReason,
    message: string,
  ) {
    super(message);
  }
}

/** The multiboot header of an a.out-kludge image and the load layout it implies. */
export interface MultibootHeader {
  /** file offset of the magic */
  readonly offset: number;
  readonly flags: number;
  readonly checksum: number;
  readonly headerAddr: number;
  readonly loadAddr: number;
  /** as written: 0 means "to the end of the file" */
  readonly loadEndAddr: number;
  /** as written: 0 means "no bss" */
  readonly bssEndAddr: number;
  readonly entryAddr: number;
  /** file offset of the first byte loaded at loadAddr: offset − (headerAddr − loadAddr) */
  readonly fileOffset: number;
  /** bytes copied from the file to loadAddr */
  readonly loadSize: number;
  /** bytes zeroed after them, up to bssEndAddr */
  readonly bssSize: number;
  /** header flags QEMU accepts but ignores (unknown required bits, video mode) */
  readonly warnings: readonly string[];
}

/** A hidden descriptor cache, as QEMU holds it at the kernel's entry (`info registers`). */
export interface SegmentCache {
  readonly selector: number;
  readonly base: number;
  /** byte-granular limit (G already applied) */
  readonly limit: number;
  /** access byte: P, DPL, S, type */
  readonly access: number;
  /** flags nibble: G, D/B, L, AVL */
  readonly flags: number;
}

export interface TableRegister {
  readonly base: number;
  readonly limit: number;
}

/** The CPU state at the kernel's first instruction. */
export interface MultibootEntryState {
  readonly eip: number;
  readonly eax: number;
  readonly ebx: number;
  readonly ecx: number;
  readonly edx: number;
  readonly esi: number;
  readonly edi: number;
  readonly ebp: number;
  readonly esp: number;
  readonly eflags: number;
  readonly cr0: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: TableRegister;
  readonly idtr: TableRegister;
  readonly segments: {
    readonly cs: SegmentCache;
    readonly ds: SegmentCache;
    readonly es: SegmentCache;
    readonly fs: SegmentCache;
    readonly gs: SegmentCache;
    readonly ss: SegmentCache;
  };
  /** QEMU's reset values, untouched by SeaBIOS and the option ROM */
  readonly ldtr: SegmentCache;
  readonly tr: SegmentCache;
}

/** One entry of the multiboot memory map (Multiboot §3.3, mmap_*): type 1 available, 2 reserved. */
export interface MemoryMapEntry {
  readonly base: number;
  readonly length: number;
  readonly type: 1 | 2;
}

export interface MultibootLoadOptions {
  /** the whole string the kernel sees: see multibootCommandLine */
  readonly cmdline: string;
  /** RAM size the memory map describes */
  readonly memoryBytes: number;
}

const hex = (n: number): string => `0x${n.toString(16)}`;

const u32 = (b: Uint8Array, at: number): number =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

const pageAlign = (n: number): number => Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;

/**
 * The command line QEMU builds: g_strdup_printf("%s %s", kernel_filename, kernel_cmdline), so
 * the kernel path exactly as given, a space, then the -append text — the space is there even
 * without -append (measured: `-kernel k.bin` gives "k.bin ").
 */
export function multibootCommandLine(kernelPath: string, append = ''): string {
  return `${kernelPath} ${append}`;
}

/**
 * Find and check the multiboot header, as QEMU 7.2's load_multiboot does, and work out the
 * a.out-kludge layout. Throws MultibootError (and nothing else) for any image it refuses.
 */
export function parseMultibootHeader(image: Uint8Array): MultibootHeader {
  // QEMU's x86_load_linux looks for the Linux setup header first: "HdrS" at 0x202 makes it a
  // Linux kernel even when a multiboot header follows.
  if (image.length >= 0x206 && u32(image, 0x202) === 0x53726448) {
    throw new MultibootError(
      'linux-kernel',
      'this is a Linux kernel ("HdrS" at offset 0x202): QEMU boots it with the Linux boot protocol, not as multiboot',
    );
  }

  // Multiboot §3.1: the header is 32-bit aligned within the first 8192 bytes. QEMU takes the
  // first magic whose checksum matches and skips those that do not.
  let offset = -1;
  let badChecksumAt = -1;
  let truncatedAt = -1;
  const last = Math.min(LAST_HEADER_OFFSET, image.length - 4);
  for (let i = 0; i <= last; i += 4) {
    if (u32(image, i) !== MULTIBOOT_HEADER_MAGIC) continue;
    if (i + 12 > image.length) {
      if (truncatedAt < 0) truncatedAt = i;
      continue;
    }
    if ((MULTIBOOT_HEADER_MAGIC + u32(image, i + 4) + u32(image, i + 8)) >>> 0 === 0) {
      offset = i;
      break;
    }
    if (badChecksumAt < 0) badChecksumAt = i;
  }
  if (offset < 0) {
    if (badChecksumAt >= 0) {
      const flags = u32(image, badChecksumAt + 4);
      throw new MultibootError(
        'bad-checksum',
        `multiboot header at offset ${hex(badChecksumAt)} has a bad checksum: ${hex(u32(image, badChecksumAt + 8))}, ` +
          `expected ${hex(-(MULTIBOOT_HEADER_MAGIC + flags) >>> 0)} (magic + flags + checksum must be 0)`,
      );
    }
    if (truncatedAt >= 0) {
      throw new MultibootError(
        'truncated-header',
        `the image ends inside the multiboot header at offset ${hex(truncatedAt)} (${image.length} bytes)`,
      );
    }
    throw new MultibootError(
      'no-header',
      image.length === 0
        ? 'the kernel image is empty'
        : `no multiboot header (magic 0x1badb002 with a valid checksum at a 4-byte aligned offset) in the first ${MULTIBOOT_SEARCH_BYTES} bytes (up to offset ${hex(LAST_HEADER_OFFSET)}, as QEMU searches)`,
    );
  }

  const flags = u32(image, offset + 4);
  const checksum = u32(image, offset + 8);
  if ((flags & MB_FLAG_AOUT_KLUDGE) === 0) {
    throw new MultibootError(
      'elf-not-supported',
      'ELF multiboot images are not supported yet; use the a.out kludge (flag bit 16)',
    );
  }
  if (offset + 32 > image.length) {
    throw new MultibootError(
      'truncated-header',
      `the image ends inside the multiboot header's address fields (header at ${hex(offset)}, ${image.length} bytes)`,
    );
  }

  // Multiboot §3.1.2: a loader "must fail" on required bits 0–15 it does not understand. QEMU
  // does not: it only warns about bit 2 (video mode) and boots anyway. We do what QEMU does.
  const warnings: string[] = [];
  if (flags & MB_FLAG_VIDEO_MODE) {
    warnings.push(
      'flag bit 2 (video mode) is set: QEMU ignores it ("multiboot knows VBE. we don\'t") and sets no video fields',
    );
  }
  const unknown = flags & 0xfff8;
  if (unknown !== 0) {
    warnings.push(
      `header flag bits ${hex(unknown)} are not defined by Multiboot 0.6.96; QEMU ignores them and boots anyway`,
    );
  }

  // The a.out kludge (Multiboot §3.1.3), with QEMU's checks in QEMU's order.
  const headerAddr = u32(image, offset + 12);
  const loadAddr = u32(image, offset + 16);
  const loadEndAddr = u32(image, offset + 20);
  const bssEndAddr = u32(image, offset + 24);
  const entryAddr = u32(image, offset + 28);
  if (headerAddr < loadAddr) {
    throw new MultibootError(
      'load-addr',
      `header_addr ${hex(headerAddr)} is below load_addr ${hex(loadAddr)} (QEMU: "invalid load_addr address")`,
    );
  }
  if (headerAddr - loadAddr > offset) {
    throw new MultibootError(
      'header-addr',
      `header_addr − load_addr = ${hex(headerAddr - loadAddr)} puts load_addr before the start of the file ` +
        `(the header is at file offset ${hex(offset)}; QEMU: "invalid header_addr address")`,
    );
  }
  const fileOffset = offset - (headerAddr - loadAddr);
  let loadSize: number;
  if (loadEndAddr !== 0) {
    if (loadEndAddr < loadAddr) {
      throw new MultibootError(
        'load-end-addr',
        `load_end_addr ${hex(loadEndAddr)} is below load_addr ${hex(loadAddr)} (QEMU: "invalid load_end_addr address")`,
      );
    }
    loadSize = loadEndAddr - loadAddr;
  } else {
    // load_end_addr 0: load the rest of the file (Multiboot §3.1.3).
    loadSize = image.length - fileOffset;
  }
  if (loadSize > 0xffffffff - loadAddr) {
    throw new MultibootError(
      'address-overflow',
      `${hex(loadSize)} bytes at load_addr ${hex(loadAddr)} pass the 4 GiB boundary (QEMU: "kernel does not fit in address space")`,
    );
  }
  let bssSize = 0;
  if (bssEndAddr !== 0) {
    if (bssEndAddr < loadAddr + loadSize) {
      throw new MultibootError(
        'bss-end-addr',
        `bss_end_addr ${hex(bssEndAddr)} is below the end of the loaded image ${hex(loadAddr + loadSize)} (QEMU: "invalid bss_end_addr address")`,
      );
    }
    bssSize = bssEndAddr - (loadAddr + loadSize);
  }
  if (fileOffset + loadSize > image.length) {
    throw new MultibootError(
      'truncated-image',
      `the header asks for ${hex(loadSize)} bytes from file offset ${hex(fileOffset)}, but the image has only ` +
        `${hex(image.length - fileOffset)} there (${image.length} bytes; QEMU: "fread() failed")`,
    );
  }
  // QEMU jumps to entry_addr whatever it is; outside the loaded bytes it runs zeros or bss,
  // which only a broken header asks for.
  if (entryAddr < loadAddr || entryAddr >= loadAddr + loadSize) {
    throw new MultibootError(
      'entry-outside-image',
      `entry_addr ${hex(entryAddr)} is outside the loaded image ${hex(loadAddr)}–${hex(loadAddr + loadSize)}`,
    );
  }
  return {
    offset,
    flags,
    checksum,
    headerAddr,
    loadAddr,
    loadEndAddr,
    bssEndAddr,
    entryAddr,
    fileOffset,
    loadSize,
    bssSize,
    warnings,
  };
}

function checkMemorySize(memoryBytes: number): void {
  if (
    !Number.isInteger(memoryBytes) ||
    memoryBytes < MULTIBOOT_MIN_MEMORY ||
    memoryBytes >= MULTIBOOT_MAX_MEMORY ||
    memoryBytes % PAGE_SIZE !== 0
  ) {
    throw new MultibootError(
      'memory-size',
      `memory size ${memoryBytes} is not supported: it must be a multiple of 4 KiB from 2 MiB up to, not including, 3.5 GiB ` +
        '(QEMU rounds -m up to 8 KiB and splits RAM around the PCI hole from 3.5 GiB)',
    );
  }
}

/**
 * The memory map QEMU 7.2 + SeaBIOS hand over (int 15h e820, copied by the option ROM), for
 * RAM sizes from 2 MiB to below 3.5 GiB: conventional memory up to the 1 KiB EBDA, the BIOS
 * area at 0xf0000, RAM from 1 MiB up to the 128 KiB SeaBIOS keeps at the top, the BIOS ROM.
 * The VGA/option-ROM hole 0xa0000–0xeffff is not listed at all.
 */
export function multibootMemoryMap(memoryBytes: number): MemoryMapEntry[] {
  checkMemorySize(memoryBytes);
  return [
    { base: 0, length: 0x9fc00, type: 1 },
    { base: 0x9fc00, length: 0x400, type: 2 },
    { base: 0xf0000, length: 0x10000, type: 2 },
    { base: LOW_MEMORY_END, length: memoryBytes - LOW_MEMORY_END - HIGH_TABLES_SIZE, type: 1 },
    { base: memoryBytes - HIGH_TABLES_SIZE, length: HIGH_TABLES_SIZE, type: 2 },
    { base: BIOS_ROM_BASE, length: BIOS_ROM_SIZE, type: 2 },
  ];
}

/** The option ROM's GDT (pc-bios/optionrom/multiboot.S) as it is in memory at entry. */
const GDT_BYTES = [
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], // null
  [0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00], // 0x08 flat 32-bit code (never marked accessed: ljmp does not)
  [0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00], // 0x10 flat 32-bit data, accessed by the DS/SS loads
  [0xff, 0xff, 0x00, 0x00, 0x00, 0x9e, 0x00, 0x00], // 0x18 16-bit conforming code, 64 KiB
  [0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0x00, 0x00], // 0x20 16-bit data, 64 KiB
].flat();

/** UTF-8, by hand: the engine has no TextEncoder in its library types. QEMU passes argv bytes. */
function utf8(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    let c = ch.codePointAt(0)!;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else {
      out.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 0x3f),
        0x80 | ((c >> 6) & 0x3f),
        0x80 | (c & 0x3f),
      );
    }
  }
  return out;
}

const flatCode = (selector: number): SegmentCache => ({
  selector,
  base: 0,
  limit: 0xffffffff,
  access: 0x9a,
  flags: 0xc,
});
const flatData = (selector: number): SegmentCache => ({
  selector,
  base: 0,
  limit: 0xffffffff,
  access: 0x93,
  flags: 0xc,
});

const bswap32 = (n: number): number =>
  (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;

/**
 * Load `image` into `memory` as QEMU's -kernel does, build the multiboot information, and
 * return the CPU state at the kernel's entry. Throws MultibootError for images it refuses.
 */
export function loadMultiboot(
  memory: PhysicalMemoryAccess,
  image: Uint8Array,
  options: MultibootLoadOptions,
): MultibootEntryState {
  const header = parseMultibootHeader(image);
  const { memoryBytes } = options;
  const mmap = multibootMemoryMap(memoryBytes);
  if (memoryBytes > memory.size) {
    throw new MultibootError(
      'memory-size',
      `memory size ${hex(memoryBytes)} is larger than the RAM given (${hex(memory.size)})`,
    );
  }
  if (options.cmdline.includes('\0')) {
    throw new MultibootError('bad-cmdline', 'the command line cannot contain a NUL character');
  }

  // QEMU's buffer (mb_buf): the kernel and its bss, padded to a page, then the command line
  // and the boot loader name, padded to a page; all of it goes to load_addr.
  const cmdline = utf8(options.cmdline);
  const loader = utf8(MULTIBOOT_LOADER_NAME);
  const kernelSize = header.loadSize + header.bssSize;
  const cmdlineOffset = pageAlign(kernelSize); // = offset_mbinfo: no module structs before it
  const loaderOffset = cmdlineOffset + cmdline.length + 1;
  const bufferSize = pageAlign(loaderOffset + loader.length + 1);
  const start = header.loadAddr;
  const availableEnd = memoryBytes - HIGH_TABLES_SIZE;
  if (start < LOW_MEMORY_END) {
    throw new MultibootError(
      'below-1mib',
      `load_addr ${hex(start)} is below 1 MiB, where QEMU's boot path keeps its stack (0x6f08), the multiboot ` +
        `information (0x9000–0x9557), the EBDA, its option ROM and GDT (0xcb2b8) and the BIOS; load the kernel at 1 MiB or above`,
    );
  }
  const pieces: [string, number, number][] = [
    ['the kernel image', start, start + header.loadSize],
    ['its bss', start + header.loadSize, start + kernelSize],
    [
      'the command line and boot loader name QEMU places after the kernel',
      start + cmdlineOffset,
      start + bufferSize,
    ],
  ];
  for (const [what, from, to] of pieces) {
    if (to > availableEnd) {
      throw new MultibootError(
        'beyond-ram',
        `${what} (${hex(from)}–${hex(to)}) does not fit in the RAM the memory map offers above 1 MiB, which ends at ` +
          `${hex(availableEnd)} (RAM ${hex(memoryBytes)}; its top 128 KiB are reserved, as QEMU's SeaBIOS does)`,
      );
    }
  }

  // The information structure (Multiboot §3.3) as QEMU fills it, then what the option ROM
  // adds: mem_lower from int 12h, the e820 map, mem_upper from that map.
  const memLower = 0x9fc00 >>> 10; // 639: conventional memory up to the EBDA
  const memUpper = (availableEnd - LOW_MEMORY_END) >>> 10; // contiguous RAM from 1 MiB
  const mbi = MULTIBOOT_INFO_ADDRESS;
  for (let i = 0; i < MULTIBOOT_INFO_SIZE; i += 4) memory.write32(mbi + i, 0);
  memory.write32(mbi + 0, MULTIBOOT_INFO_FLAGS);
  memory.write32(mbi + 4, memLower);
  memory.write32(mbi + 8, memUpper);
  memory.write32(mbi + 12, MULTIBOOT_BOOT_DEVICE);
  memory.write32(mbi + 16, start + cmdlineOffset);
  memory.write32(mbi + 20, 0); // mods_count
  memory.write32(mbi + 24, start + cmdlineOffset); // mods_addr: where module structs would be
  memory.write32(mbi + 44, mmap.length * 24);
  memory.write32(mbi + 48, MULTIBOOT_MMAP_ADDRESS);
  memory.write32(mbi + 64, start + loaderOffset);
  let at = MULTIBOOT_MMAP_ADDRESS;
  for (const entry of mmap) {
    memory.write32(at, 20); // size of the rest of the entry
    memory.write32(at + 4, entry.base);
    memory.write32(at + 8, 0);
    memory.write32(at + 12, entry.length);
    memory.write32(at + 16, 0);
    memory.write32(at + 20, entry.type);
    at += 24;
  }

  for (let i = 0; i < GDT_BYTES.length; i++) memory.write8(MULTIBOOT_GDT_BASE + i, GDT_BYTES[i]!);

  // The kernel buffer. QEMU's padding comes from g_realloc and is not guaranteed zero; ours is.
  const buffer = new Uint8Array(bufferSize);
  buffer.set(image.subarray(header.fileOffset, header.fileOffset + header.loadSize), 0);
  buffer.set(cmdline, cmdlineOffset);
  buffer.set(loader, loaderOffset);
  memory.load(start, buffer);

  // Registers: EAX/EBX per Multiboot §3.2; the rest are what the option ROM leaves behind:
  // ECX held the entry address it jumped through; EDI the load address, byte-swapped by its
  // fw_cfg DMA macro; EDX 0x511 (the fw_cfg data port, loaded as DX only) over the upper half
  // of mem_upper, its last 32-bit value. EFLAGS and the rest are constant (measured).
  return {
    eip: header.entryAddr,
    eax: MULTIBOOT_BOOTLOADER_MAGIC,
    ebx: MULTIBOOT_INFO_ADDRESS,
    ecx: header.entryAddr,
    edx: ((memUpper & 0xffff0000) | 0x511) >>> 0,
    esi: 0,
    edi: bswap32(start),
    ebp: 0,
    esp: MULTIBOOT_ENTRY_ESP,
    eflags: 0x6,
    cr0: 0x11, // PE from the option ROM's `mov cr0, 1`; ET reads as 1 (hardwired since the 486)
    cr2: 0,
    cr3: 0,
    cr4: 0,
    gdtr: { base: MULTIBOOT_GDT_BASE, limit: MULTIBOOT_GDT_LIMIT },
    idtr: { base: 0, limit: 0x3ff }, // the real-mode IVT, left as it was
    segments: {
      cs: flatCode(0x08),
      ds: flatData(0x10),
      es: flatData(0x10),
      fs: flatData(0x10),
      gs: flatData(0x10),
      ss: flatData(0x10),
    },
    ldtr: { selector: 0, base: 0, limit: 0xffff, access: 0x82, flags: 0 },
    tr: { selector: 0, base: 0, limit: 0xffff, access: 0x8b, flags: 0 },
  };
}
