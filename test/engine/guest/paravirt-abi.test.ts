// The para-virtual ABI cannot drift: the committed .inc is the generator's output, it assembles
// to the same bytes with our assembler and nasm (every constant and macro used), the data is
// self-consistent (unique numbers, non-overlapping fields), and docs/paravirt-abi.md's tables say
// what the data says.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assemble } from '../../../src-main/engine/asm/assembler';
import { FileSourceProvider } from '../../../src-main/host/source-files';
import {
  ABI_INCLUDE_PATH,
  abiConstants,
  generateAbiInclude,
} from '../../../src-main/engine/guest/gen-abi';
import {
  ARG_REGISTERS,
  ASM_MACROS,
  ERRNO,
  EVENT_VECTOR_BASE,
  EVTCHN,
  type FieldSpec,
  HYPERCALL,
  HYPERCALLS,
  hypercallByNumber,
  IRET_FRAME,
  MMU_UPDATE,
  MMU_UPDATE_SIZE,
  NR_EVENT_CHANNELS,
  SELECTORS,
  SHARED_INFO,
  SHARED_INFO_ADDRESS,
  SHARED_INFO_FIELDS,
  SHARED_INFO_SIZE,
  TRAP_INFO,
  TRAP_INFO_SIZE,
  UPCALL_FRAME,
  VMCALL_BYTES,
} from '../../../src-main/engine/guest/paravirt-abi';
import { nasm } from '../../helpers/nasm';

const ROOT = path.resolve(__dirname, '../../..');
const GUEST_DIR = path.join(ROOT, 'src-main/engine/guest');
const DOC = readFileSync(path.join(ROOT, 'docs/paravirt-abi.md'), 'utf8');

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A source that `dd`s every constant in file order, then expands every macro (HYPERCALL once
 * per hypercall). The .inc is included twice: its guard must make that harmless. */
function probeSource(): { text: string; values: number[] } {
  const constants = abiConstants().flatMap((s) => s.constants);
  const lines = ['%include "paravirt-abi.inc"', '%include "paravirt-abi.inc"', 'bits 32'];
  lines.push('org 0x100000', ...constants.map((k) => `dd ${k.name}`));
  for (const m of ASM_MACROS) {
    if (m.params === 0) lines.push(m.name);
    else lines.push(...HYPERCALLS.map((h) => `${m.name} ${h.name}`));
  }
  return { text: lines.join('\n') + '\n', values: constants.map((k) => k.value) };
}

/** The rows of the first markdown table under the heading that starts with `heading`. */
function docTable(heading: string): string[][] {
  const start = DOC.split('\n').findIndex((l) => /^#+ /.test(l) && l.includes(heading));
  expect(start, `heading "${heading}" in the doc`).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of DOC.split('\n').slice(start + 1)) {
    if (/^#+ /.test(line)) break;
    if (line.startsWith('| `')) {
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim().replace(/^`(.*)`$/, '$1')),
      );
    } else if (rows.length > 0 && !line.startsWith('|')) break;
  }
  expect(rows.length, `a table under "${heading}"`).toBeGreaterThan(0);
  return rows;
}

const num = (cell: string): number => Number(cell);

describe('paravirt-abi.inc', () => {
  it('is the generator’s output (run npm run gen:abi after changing the data)', () => {
    const committed = readFileSync(path.join(ROOT, ABI_INCLUDE_PATH), 'utf8');
    expect(committed).toBe(generateAbiInclude());
  });

  it('says it is generated, from where, and how to regenerate', () => {
    const head = generateAbiInclude().split('\n').slice(0, 4).join('\n');
    expect(head).toContain('GENERATED');
    expect(head).toContain('src-main/engine/guest/paravirt-abi.ts');
    expect(head).toContain('npm run gen:abi');
  });

  it('assembles to the same bytes with our assembler and nasm, every constant and macro used', () => {
    const { text, values } = probeSource();
    const file = path.join(GUEST_DIR, 'abi-probe.asm');
    const ours = assemble(text, { file, provider: new FileSourceProvider([], GUEST_DIR) });
    const ref = nasm(text, { args: ['-I', GUEST_DIR + '/'] });
    expect(ref.ok, ref.stderr).toBe(true);
    expect(hex(ours.bytes)).toBe(hex(ref.bytes));

    const view = new DataView(ours.bytes.buffer, ours.bytes.byteOffset, ours.bytes.byteLength);
    expect(values.map((_, i) => view.getUint32(i * 4, true))).toEqual(values);

    // the macros: HYPERCALL is mov eax, imm32 + vmcall; PV_CLI is a byte store to the mask
    const code = hex(ours.bytes.subarray(values.length * 4));
    const vmcall = hex(Uint8Array.from(VMCALL_BYTES));
    const maskAddr = SHARED_INFO_ADDRESS + SHARED_INFO.evtchn_upcall_mask.offset;
    const le32 = (n: number): string => hex(Uint8Array.from([n, n >> 8, n >> 16, n >>> 24]));
    expect(code).toContain(`c605${le32(maskAddr)}01`); // mov byte [mask], 1
    expect(code).toContain(`c605${le32(maskAddr)}00`); // mov byte [mask], 0
    for (const h of HYPERCALLS) expect(code).toContain(`b8${le32(h.number)}${vmcall}`);
  });

  it('defines each name once', () => {
    const names = abiConstants().flatMap((s) => s.constants.map((k) => k.name));
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('the ABI data', () => {
  it('numbers the hypercalls 0..n-1, each once, keyed by name', () => {
    expect(HYPERCALLS.map((h) => h.number)).toEqual(HYPERCALLS.map((_, i) => i));
    for (const [key, h] of Object.entries(HYPERCALL)) expect(h.name).toBe(key);
    for (const h of HYPERCALLS) expect(hypercallByNumber(h.number)).toBe(h);
    expect(hypercallByNumber(HYPERCALLS.length)).toBeUndefined();
  });

  it('passes arguments in EBX, ECX, EDX, ESI, EDI order', () => {
    for (const h of HYPERCALLS) {
      expect(h.args.map((a) => a.reg)).toEqual(ARG_REGISTERS.slice(0, h.args.length));
    }
  });

  it('has the hypercalls the para-virtual kernel needs', () => {
    expect(Object.keys(HYPERCALL).sort()).toEqual(
      [
        'block',
        'console_write',
        'invlpg',
        'io_in',
        'io_out',
        'iret',
        'mmu_update',
        'set_cr3',
        'set_timer',
        'set_trap_table',
        'stack_switch',
        'yield',
      ].sort(),
    );
  });

  it('has distinct positive error codes', () => {
    const values = Object.values(ERRNO).map((e) => e.value);
    expect(new Set(values).size).toBe(values.length);
    for (const v of values) expect(v).toBeGreaterThan(0);
  });

  const layouts: ReadonlyArray<readonly [string, readonly FieldSpec[], number]> = [
    ['shared_info', SHARED_INFO_FIELDS, SHARED_INFO_SIZE],
    ['trap_info', Object.values(TRAP_INFO), TRAP_INFO_SIZE],
    ['mmu_update', Object.values(MMU_UPDATE), MMU_UPDATE_SIZE],
  ];
  for (const [name, fields, size] of layouts) {
    it(`lays ${name} out without overlaps, naturally aligned, inside ${size} bytes`, () => {
      const sorted = [...fields].sort((a, b) => a.offset - b.offset);
      for (const [i, f] of sorted.entries()) {
        expect(f.offset % Math.min(f.size, 4), f.name).toBe(0);
        expect(f.offset + f.size, f.name).toBeLessThanOrEqual(size);
        const next = sorted[i + 1];
        if (next !== undefined) expect(f.offset + f.size, f.name).toBeLessThanOrEqual(next.offset);
      }
    });
  }

  it('puts shared_info on a page of its own below the kernel', () => {
    expect(SHARED_INFO_ADDRESS % 4096).toBe(0);
    expect(SHARED_INFO_ADDRESS + SHARED_INFO_SIZE).toBeLessThanOrEqual(0x100000);
    expect(SHARED_INFO.evtchn_upcall_mask.size).toBe(1);
    expect(SHARED_INFO.evtchn_upcall_pending.size).toBe(1);
  });

  it('fits event channels in evtchn_pending and their vectors below the system-call vector', () => {
    expect(NR_EVENT_CHANNELS).toBeLessThanOrEqual(SHARED_INFO.evtchn_pending.size * 8);
    for (const e of Object.values(EVTCHN)) expect(e.channel).toBeLessThan(NR_EVENT_CHANNELS);
    expect(EVENT_VECTOR_BASE).toBeGreaterThanOrEqual(32); // above the exceptions
    expect(EVENT_VECTOR_BASE + NR_EVENT_CHANNELS).toBeLessThanOrEqual(0x80);
  });

  it('lays the iret frame out as the upcall frame with EAX on top', () => {
    expect(UPCALL_FRAME.map((s) => s.offset)).toEqual([0, 4, 8, 12, 16]);
    expect(IRET_FRAME.map((s) => s.name)).toEqual(['eax', ...UPCALL_FRAME.map((s) => s.name)]);
    expect(IRET_FRAME.map((s) => s.offset)).toEqual([0, 4, 8, 12, 16, 20]);
  });

  it('gives the guest kernel RPL 1 selectors and user RPL 3 ones', () => {
    expect(SELECTORS.FLAT_KERNEL_CS & 3).toBe(1);
    expect(SELECTORS.FLAT_KERNEL_SS & 3).toBe(1);
    expect(SELECTORS.FLAT_USER_CS & 3).toBe(3);
    expect(SELECTORS.FLAT_USER_SS & 3).toBe(3);
  });

  it('is usable as TypeScript constants', () => {
    const n: 2 = HYPERCALL.mmu_update.number; // a literal type: a switch over numbers is checked
    expect(n).toBe(2);
    expect(SHARED_INFO.evtchn_upcall_mask.offset).toBe(1);
    expect(TRAP_INFO.address.offset).toBe(4);
  });
});

describe('docs/paravirt-abi.md matches the data', () => {
  it('hypercall table: names, numbers and argument registers', () => {
    const rows = docTable('Hypercalls');
    expect(rows.map((r) => r[0])).toEqual(HYPERCALLS.map((h) => h.name));
    for (const [name, number, ebx, ecx, edx] of rows) {
      const h = HYPERCALL[name as keyof typeof HYPERCALL];
      expect(num(number ?? ''), name).toBe(h.number);
      const arg = (reg: string): string => h.args.find((a) => a.reg === reg)?.name ?? '—';
      expect([ebx, ecx, edx], name).toEqual([arg('ebx'), arg('ecx'), arg('edx')]);
      expect(
        h.args.every((a) => ['ebx', 'ecx', 'edx'].includes(a.reg)),
        name,
      ).toBe(true);
    }
  });

  it('return-code table', () => {
    const rows = docTable('Return codes');
    expect(rows.map(([n, v]) => [n, num(v ?? '')])).toEqual(
      Object.values(ERRNO).map((e) => [e.name, e.value]),
    );
  });

  it('shared-info table', () => {
    const rows = docTable('The shared-info page');
    expect(rows.map(([n, o, s, w]) => [n, num(o ?? ''), num(s ?? ''), w])).toEqual(
      SHARED_INFO_FIELDS.map((f) => [f.name, f.offset, f.size, f.writer]),
    );
    expect(DOC).toContain(`0x${SHARED_INFO_ADDRESS.toString(16).toUpperCase().padStart(8, '0')}`);
  });

  it('trap_info, mmu_update, upcall-frame and selector tables', () => {
    const fields = (heading: string) =>
      docTable(heading).map(([n, o, s]) => [n, num(o ?? ''), num(s ?? '')]);
    expect(fields('The trap table')).toEqual(
      Object.values(TRAP_INFO).map((f) => [f.name, f.offset, f.size]),
    );
    expect(fields('mmu_update entries')).toEqual(
      Object.values(MMU_UPDATE).map((f) => [f.name, f.offset, f.size]),
    );
    expect(docTable('Event delivery').map(([n, o]) => [n, num(o ?? '')])).toEqual(
      UPCALL_FRAME.map((s) => [s.name, s.offset]),
    );
    expect(docTable('Machine model').map(([n, v]) => [n, num(v ?? '')])).toEqual(
      Object.entries(SELECTORS),
    );
  });

  it('shows the canonical expansions exactly as the macros define them', () => {
    for (const m of ASM_MACROS.filter((x) => x.name !== 'HYPERCALL')) {
      for (const line of m.body) expect(DOC, `${m.name}: ${line}`).toContain(line);
    }
  });
});
