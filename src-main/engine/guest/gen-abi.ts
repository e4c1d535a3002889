// Renders the para-virtual ABI (paravirt-abi.ts) as the guest's NASM include, paravirt-abi.inc.
// It owns the NASM names of every ABI constant and the text of the generated file; the data
// itself lives only in paravirt-abi.ts. Plain `equ` constants (our assembler has no `struc` yet)
// and a few %macro sequences; an include guard because NASM refuses to redefine an `equ`.
// scripts/gen-abi.ts writes the file; a test fails if the committed copy differs from this output.

import {
  ASM_MACROS,
  ERRNO,
  EVENT_VECTOR_BASE,
  EVTCHN,
  EXCEPTIONS_WITH_ERROR_CODE,
  FAST_TRAP_VECTOR,
  FEATURE_NATIVE_USER_IRET,
  type FieldSpec,
  GUEST_KERNEL_CPL,
  GUEST_USER_CPL,
  HYPERCALLS,
  IRET_FRAME,
  KERNEL_LOAD_ADDRESS,
  MMU_NORMAL_PT_UPDATE,
  MMU_UPDATE,
  MMU_UPDATE_FLUSH_TLB,
  MMU_UPDATE_SIZE,
  NR_EVENT_CHANNELS,
  PARAVIRT_ABI_VERSION,
  PV_OK,
  SELECTORS,
  SHARED_INFO_ADDRESS,
  SHARED_INFO_FIELDS,
  SHARED_INFO_SIZE,
  TRAP_INFO,
  TRAP_INFO_DPL_MASK,
  TRAP_INFO_MASK_EVENTS,
  TRAP_INFO_SIZE,
  TRAP_TABLE_MAX_ENTRIES,
  UPCALL_FRAME,
} from './paravirt-abi';

/** Where the generated file lives and where it comes from, relative to the repository root. */
export const ABI_INCLUDE_PATH = 'src-main/engine/guest/paravirt-abi.inc';
export const ABI_SOURCE_PATH = 'src-main/engine/guest/paravirt-abi.ts';

export interface AbiConstant {
  readonly name: string;
  readonly value: number;
  readonly comment: string;
}

export interface AbiSection {
  readonly title: string;
  readonly constants: readonly AbiConstant[];
}

const c = (name: string, value: number, comment: string): AbiConstant => ({
  name,
  value,
  comment,
});

function fieldConstants(prefix: string, fields: readonly FieldSpec[]): AbiConstant[] {
  return fields.flatMap((f) => [
    c(`${prefix}_${f.name}`, f.offset, f.meaning),
    c(`${prefix}_${f.name}_size`, f.size, ''),
  ]);
}

/** Every constant the .inc defines, grouped as the file shows them (the test `dd`s each one). */
export function abiConstants(): readonly AbiSection[] {
  return [
    {
      title: 'Version, privilege levels, the hypercall instruction',
      constants: [
        c('PARAVIRT_ABI_VERSION', PARAVIRT_ABI_VERSION, 'shared_info.abi_version holds this'),
        c('GUEST_KERNEL_CPL', GUEST_KERNEL_CPL, 'the guest kernel runs in ring 1'),
        c('GUEST_USER_CPL', GUEST_USER_CPL, ''),
      ],
    },
    {
      title: 'Hypercall numbers: EAX = number; args EBX, ECX, EDX, ESI, EDI; result in EAX',
      constants: HYPERCALLS.map((h) =>
        c(
          `HYPERVISOR_${h.name}`,
          h.number,
          (h.args.length > 0
            ? h.args.map((a) => `${a.reg.toUpperCase()}=${a.name}`).join(' ')
            : 'no args') + `; replaces: ${h.replaces}`,
        ),
      ),
    },
    {
      title: 'Return codes: 0 = OK, errors are returned negated (cmp eax, -PV_EINVAL)',
      constants: [
        c('PV_OK', PV_OK, ''),
        ...Object.values(ERRNO).map((e) => c(`PV_${e.name}`, e.value, e.meaning)),
      ],
    },
    {
      title: 'Flat selectors of the hypervisor-owned GDT (no lgdt in the PARAVIRT build)',
      constants: Object.entries(SELECTORS).map(([name, value]) => c(name, value, '')),
    },
    {
      title: 'The shared-info page (supervisor-only; virtual = guest-physical address)',
      constants: [
        c('KERNEL_LOAD_ADDRESS', KERNEL_LOAD_ADDRESS, 'assumed by the layout below'),
        c('SHARED_INFO_ADDRESS', SHARED_INFO_ADDRESS, 'the page just below the kernel'),
        c('SHARED_INFO_SIZE', SHARED_INFO_SIZE, ''),
        ...fieldConstants('SHARED_INFO', SHARED_INFO_FIELDS),
        c(
          'FEATURE_NATIVE_USER_IRET',
          FEATURE_NATIVE_USER_IRET,
          'features: iret from CPL 1 to CPL 3 does not trap (classic ISA)',
        ),
      ],
    },
    {
      title: 'Events: channel n is delivered through trap-table vector EVENT_VECTOR_BASE + n',
      constants: [
        c('EVENT_VECTOR_BASE', EVENT_VECTOR_BASE, 'as a native kernel remaps the PIC'),
        c('NR_EVENT_CHANNELS', NR_EVENT_CHANNELS, ''),
        ...Object.values(EVTCHN).flatMap((e) => [
          c(`EVTCHN_${e.name}`, e.channel, e.meaning),
          c(`EVTCHN_${e.name}_VECTOR`, EVENT_VECTOR_BASE + e.channel, ''),
        ]),
        ...UPCALL_FRAME.map((s) => c(`UPCALL_FRAME_${s.name}`, s.offset, s.meaning)),
        ...IRET_FRAME.map((s) => c(`IRET_FRAME_${s.name}`, s.offset, '')),
        c(
          'EXCEPTION_ERROR_CODE_MASK',
          EXCEPTIONS_WITH_ERROR_CODE.reduce((m, v) => m | (1 << v), 0),
          'bit v: vector v pushes an error code',
        ),
      ],
    },
    {
      title: 'Trap table: trap_info entries, ended by an entry whose address is 0',
      constants: [
        ...fieldConstants('TRAP_INFO', Object.values(TRAP_INFO)),
        c('TRAP_INFO_SIZE', TRAP_INFO_SIZE, ''),
        c('TRAP_TABLE_MAX_ENTRIES', TRAP_TABLE_MAX_ENTRIES, ''),
        c('TRAP_INFO_DPL_MASK', TRAP_INFO_DPL_MASK, 'flags: who may use int n'),
        c('TRAP_INFO_MASK_EVENTS', TRAP_INFO_MASK_EVENTS, 'flags: interrupt-gate semantics'),
        c('FAST_TRAP_VECTOR', FAST_TRAP_VECTOR, 'DPL 3, no masking: user int 0x80 goes direct'),
      ],
    },
    {
      title: 'mmu_update request entries {ptr, val}',
      constants: [
        ...fieldConstants('MMU_UPDATE', Object.values(MMU_UPDATE)),
        c('MMU_UPDATE_SIZE', MMU_UPDATE_SIZE, ''),
        c('MMU_NORMAL_PT_UPDATE', MMU_NORMAL_PT_UPDATE, ''),
        c('MMU_UPDATE_FLUSH_TLB', MMU_UPDATE_FLUSH_TLB, 'EDX flag'),
      ],
    },
  ];
}

function hex(n: number): string {
  const digits = n > 0xffff ? 8 : n > 0xff ? 4 : 2;
  return '0x' + n.toString(16).toUpperCase().padStart(digits, '0');
}

/** The data's prose is written for the doc; the .inc stays 7-bit ASCII for any assembler. */
const ASCII: ReadonlyArray<readonly [RegExp, string]> = [
  [/[\u2018\u2019]/g, "'"],
  [/\u2260/g, '!='],
  [/[\u2013\u2014]/g, '-'],
  [/\u2026/g, '...'],
  [/\u2192/g, '->'],
];

function ascii(text: string): string {
  return ASCII.reduce((t, [re, to]) => t.replace(re, to), text);
}

/** paravirt-abi.inc, exactly as committed. */
export function generateAbiInclude(): string {
  const out: string[] = [
    '; paravirt-abi.inc: the para-virtual ABI for the guest kernel. GENERATED, DO NOT EDIT.',
    `; Generated from ${ABI_SOURCE_PATH} (the ABI as data) by ${ABI_SOURCE_PATH.replace('paravirt-abi.ts', 'gen-abi.ts')}.`,
    '; Regenerate with `npm run gen:abi` (tsx scripts/gen-abi.ts); explained in docs/paravirt-abi.md.',
    '; test/engine/guest/paravirt-abi.test.ts fails when this file and the data disagree.',
    '',
    '%ifndef PARAVIRT_ABI_INC',
    '%define PARAVIRT_ABI_INC',
  ];
  for (const section of abiConstants()) {
    out.push('', `; ${section.title}`);
    const width = Math.max(...section.constants.map((k) => k.name.length));
    for (const k of section.constants) {
      const line = `${k.name.padEnd(width)} equ ${hex(k.value)}`;
      out.push(k.comment === '' ? line : `${line} ; ${ascii(k.comment)}`);
    }
  }
  out.push(
    '',
    '; Canonical sequences: the PARAVIRT build writes these where the native one has the',
  );
  out.push('; sensitive instruction.');
  for (const m of ASM_MACROS) {
    const replaces = m.replaces === '—' ? '' : ` Replaces: ${m.replaces}.`;
    out.push('', `; ${m.name}: ${ascii(m.summary)}.${replaces}`);
    out.push(`%macro ${m.name} ${m.params}`);
    for (const line of m.body) out.push(line.endsWith(':') ? line : `    ${line}`);
    out.push('%endmacro');
  }
  out.push('', '%endif ; PARAVIRT_ABI_INC', '');
  const text = out.join('\n');
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(text)) throw new Error('paravirt-abi.inc would contain non-ASCII text');
  return text;
}
