// The one opcode table of the IA-32 subset (MACHINE.md). Every instruction form — its encoding,
// operands, the privilege check the executor performs on each ISA variant, its control-flow
// kind and cost class — is written here once. The decoder, executor dispatch, disassembler,
// encoder (assembler) and the Popek–Goldberg classifier are all derived from FORMS; none of
// them keeps its own list of instructions.
//
// Order matters to the encoder: among encodings of equal length it takes the first, which is
// how NASM breaks ties (r/m,reg before reg,r/m).
//
// Opcode facts: Intel SDM vol. 2, appendix A (opcode map) and the instruction pages.

import {
  CONDITIONS,
  type CostClass,
  type FlowKind,
  type InstructionForm,
  type OperandSpec,
  type PrivilegeCheck,
  type RepeatKind,
  type SemanticOp,
} from './types';

interface FormOptions {
  ext?: number;
  modrmByte?: number;
  op?: SemanticOp;
  cond?: number;
  sub?: number;
  privilege?: PrivilegeCheck;
  strict?: PrivilegeCheck;
  flow?: FlowKind;
  cost?: CostClass;
  repeat?: RepeatKind;
  aliases?: readonly string[];
  sized?: Partial<Record<16 | 32, string>>;
  /** the operand size follows 0x66 even though no operand is `v`-sized (pushf, movsd, push sreg…) */
  sizeFollowsPrefix?: boolean;
  encodable?: boolean;
  encodableSizes?: readonly (16 | 32)[];
  decodable?: boolean;
}

/**
 * Operand shorthand, one word per operand:
 * rm8 rm16 rm32 rmv · r8 r16 r32 rv · rr16 rr32 rrv (rm field, register only) ·
 * m m8 m16 m32 mv mfar mdesc (rm field, memory only) · o8 o32 ov (+r in opcode) ·
 * i8 i16 iv · s8 · rel8 relv · moffs8 moffsv · sreg creg · al ax eAX cl dx es cs ss ds fs gs ·
 * 1 · farptr
 */
function operand(word: string): OperandSpec {
  const sized = /^(rm|rr|r|m|o|i|moffs|rel)(8|16|32|v)$/.exec(word);
  if (sized) {
    const size = sized[2] === 'v' ? 'v' : (Number(sized[2]) as 8 | 16 | 32);
    const kind = {
      rm: 'rm',
      rr: 'rmreg',
      r: 'reg',
      m: 'mem',
      o: 'opreg',
      i: 'imm',
      moffs: 'moffs',
      rel: 'rel',
    } as const;
    return { kind: kind[sized[1] as keyof typeof kind], size };
  }
  switch (word) {
    case 'm':
      return { kind: 'mem', size: 'none' };
    case 'mfar':
      return { kind: 'mem', size: 'far' };
    case 'mdesc':
      return { kind: 'mem', size: 'desc' };
    case 's8':
      return { kind: 'simm8', size: 'v' };
    case 'sreg':
      return { kind: 'sreg', size: 16 };
    case 'creg':
      return { kind: 'creg', size: 32 };
    case 'al':
    case 'cl':
      return { kind: 'fixed', size: 8, reg: word };
    case 'ax':
    case 'dx':
      return { kind: 'fixed', size: 16, reg: word };
    case 'eAX':
      return { kind: 'fixed', size: 'v', reg: 'eAX' };
    case 'es':
    case 'cs':
    case 'ss':
    case 'ds':
    case 'fs':
    case 'gs':
      return { kind: 'fixed', size: 16, reg: word };
    case '1':
      return { kind: 'one', size: 8 };
    case 'farptr':
      return { kind: 'farptr', size: 'v' };
  }
  throw new Error(`opcode table: unknown operand shorthand '${word}'`);
}

const forms: InstructionForm[] = [];

function def(
  mnemonic: string,
  opcode: readonly number[],
  operandWords: string,
  options: FormOptions = {},
): void {
  const operands = operandWords === '' ? [] : operandWords.split(',').map(operand);
  const hasModrm =
    options.ext !== undefined ||
    options.modrmByte !== undefined ||
    operands.some((o) => ['reg', 'rm', 'rmreg', 'mem', 'sreg', 'creg'].includes(o.kind));
  const sizeFollowsPrefix =
    options.sizeFollowsPrefix ??
    (operands.some((o) => o.size === 'v' || o.size === 'far') || options.sized !== undefined);
  forms.push({
    id: forms.length,
    mnemonic,
    aliases: options.aliases ?? [],
    ...(options.sized ? { sizedMnemonics: options.sized } : {}),
    opcode,
    ...(options.ext !== undefined ? { ext: options.ext } : {}),
    ...(options.modrmByte !== undefined ? { modrmByte: options.modrmByte } : {}),
    hasModrm,
    operands,
    sizeFollowsPrefix,
    op: options.op ?? mnemonic,
    ...(options.cond !== undefined ? { cond: options.cond } : {}),
    ...(options.sub !== undefined ? { sub: options.sub } : {}),
    privilege: options.privilege ?? 'none',
    ...(options.strict !== undefined ? { strictPrivilege: options.strict } : {}),
    flow: options.flow ?? 'none',
    cost: options.cost ?? 'alu',
    ...(options.repeat ? { repeat: options.repeat } : {}),
    encodable: options.encodable ?? true,
    ...(options.encodableSizes ? { encodableSizes: options.encodableSizes } : {}),
    decodable: options.decodable ?? true,
  });
}

// Sensitive-but-unprivileged on classic IA-32 (Robin & Irvine, 2000): on the strict variant
// every one of them raises #GP(0) at CPL > 0.
const SENSITIVE = { strict: 'cpl0' } as const;

// ---- data movement -------------------------------------------------------------------------
def('mov', [0x88], 'rm8,r8', { cost: 'memory' });
def('mov', [0x89], 'rmv,rv', { cost: 'memory' });
def('mov', [0x8a], 'r8,rm8', { cost: 'memory' });
def('mov', [0x8b], 'rv,rmv', { cost: 'memory' });
def('mov', [0x8c], 'rrv,sreg', { op: 'mov-from-sreg', ...SENSITIVE });
def('mov', [0x8c], 'm16,sreg', { op: 'mov-from-sreg', cost: 'memory', ...SENSITIVE });
def('mov', [0x8e], 'sreg,rm16', { op: 'mov-to-sreg', cost: 'system', ...SENSITIVE });
def('mov', [0x8e], 'sreg,rr32', {
  op: 'mov-to-sreg',
  cost: 'system',
  decodable: false,
  ...SENSITIVE,
});
def('mov', [0xa0], 'al,moffs8', { op: 'mov-moffs', cost: 'memory' });
def('mov', [0xa1], 'eAX,moffsv', { op: 'mov-moffs', cost: 'memory' });
def('mov', [0xa2], 'moffs8,al', { op: 'mov-moffs', cost: 'memory' });
def('mov', [0xa3], 'moffsv,eAX', { op: 'mov-moffs', cost: 'memory' });
def('mov', [0xb0], 'o8,i8');
def('mov', [0xb8], 'ov,iv');
def('mov', [0xc6], 'rm8,i8', { ext: 0, cost: 'memory' });
def('mov', [0xc7], 'rmv,iv', { ext: 0, cost: 'memory' });
def('mov', [0x0f, 0x20], 'rr32,creg', { op: 'mov-from-cr', privilege: 'cpl0', cost: 'system' });
def('mov', [0x0f, 0x22], 'creg,rr32', { op: 'mov-to-cr', privilege: 'cpl0', cost: 'serializing' });
def('movzx', [0x0f, 0xb6], 'rv,rm8');
def('movzx', [0x0f, 0xb7], 'r32,rm16');
def('movsx', [0x0f, 0xbe], 'rv,rm8');
def('movsx', [0x0f, 0xbf], 'r32,rm16');
def('lea', [0x8d], 'rv,m');
def('xchg', [0x90], 'eAX,ov', { op: 'xchg' });
def('xchg', [0x90], 'ov,eAX', { op: 'xchg', decodable: false });
// NASM writes `xchg r, r` with the first register in ModRM.reg: the reg,r/m order comes first.
def('xchg', [0x86], 'r8,rm8', { cost: 'memory', decodable: false });
def('xchg', [0x86], 'rm8,r8', { cost: 'memory' });
def('xchg', [0x87], 'rv,rmv', { cost: 'memory', decodable: false });
def('xchg', [0x87], 'rmv,rv', { cost: 'memory' });
def('xadd', [0x0f, 0xc0], 'rm8,r8');
def('xadd', [0x0f, 0xc1], 'rmv,rv');
def('cmpxchg', [0x0f, 0xb0], 'rm8,r8');
def('cmpxchg', [0x0f, 0xb1], 'rmv,rv');
def('bswap', [0x0f, 0xc8], 'o32');

// ---- arithmetic and logic ------------------------------------------------------------------
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
ALU.forEach((name, sub) => {
  const base = sub * 8;
  const o = { op: 'alu', sub };
  def(name, [base + 0], 'rm8,r8', o);
  def(name, [base + 1], 'rmv,rv', o);
  def(name, [base + 2], 'r8,rm8', o);
  def(name, [base + 3], 'rv,rmv', o);
  def(name, [base + 4], 'al,i8', o);
  // NASM prefers the sign-extended imm8 form when it ties with the accumulator form (16-bit).
  def(name, [0x83], 'rmv,s8', { ...o, ext: sub });
  def(name, [base + 5], 'eAX,iv', o);
  def(name, [0x80], 'rm8,i8', { ...o, ext: sub });
  def(name, [0x81], 'rmv,iv', { ...o, ext: sub });
  // 82 /n is an undocumented alias of 80 /n in 32-bit mode that NASM never emits.
  def(name, [0x82], 'rm8,i8', { ...o, ext: sub, encodable: false });
});
def('test', [0x84], 'rm8,r8');
def('test', [0x85], 'rmv,rv');
def('test', [0x84], 'r8,rm8', { decodable: false });
def('test', [0x85], 'rv,rmv', { decodable: false });
def('test', [0xa8], 'al,i8');
def('test', [0xa9], 'eAX,iv');
def('test', [0xf6], 'rm8,i8', { ext: 0 });
def('test', [0xf7], 'rmv,iv', { ext: 0 });
def('test', [0xf6], 'rm8,i8', { ext: 1, encodable: false });
def('test', [0xf7], 'rmv,iv', { ext: 1, encodable: false });
def('inc', [0x40], 'ov');
def('dec', [0x48], 'ov');
def('inc', [0xfe], 'rm8', { ext: 0 });
def('dec', [0xfe], 'rm8', { ext: 1 });
def('inc', [0xff], 'rmv', { ext: 0 });
def('dec', [0xff], 'rmv', { ext: 1 });
for (const [name, ext, cost] of [
  ['not', 2, 'alu'],
  ['neg', 3, 'alu'],
  ['mul', 4, 'mul'],
  ['imul', 5, 'mul'],
  ['div', 6, 'div'],
  ['idiv', 7, 'div'],
] as const) {
  def(name, [0xf6], 'rm8', { ext, cost });
  def(name, [0xf7], 'rmv', { ext, cost });
}
def('imul', [0x0f, 0xaf], 'rv,rmv', { op: 'imul2', cost: 'mul' });
def('imul', [0x6b], 'rv,rmv,s8', { op: 'imul3', cost: 'mul' });
def('imul', [0x69], 'rv,rmv,iv', { op: 'imul3', cost: 'mul' });
// `imul r, imm` is NASM shorthand for `imul r, r, imm` (the register is both operands).
def('imul', [0x6b], 'rv,s8', { op: 'imul3', cost: 'mul', decodable: false });
def('imul', [0x69], 'rv,iv', { op: 'imul3', cost: 'mul', decodable: false });
def('cwde', [0x98], '', { op: 'cbw', sized: { 16: 'cbw', 32: 'cwde' } });
def('cdq', [0x99], '', { op: 'cwd', sized: { 16: 'cwd', 32: 'cdq' } });

// ---- shifts, rotates, bits -----------------------------------------------------------------
const SHIFTS: readonly (readonly [string, number, readonly string[]])[] = [
  ['rol', 0, []],
  ['ror', 1, []],
  ['rcl', 2, []],
  ['rcr', 3, []],
  ['shl', 4, ['sal']],
  ['shr', 5, []],
  ['sar', 7, []],
];
for (const [name, sub, aliases] of SHIFTS) {
  const o = { op: 'shift', sub, ext: sub, aliases };
  def(name, [0xd0], 'rm8,1', o);
  def(name, [0xd1], 'rmv,1', o);
  def(name, [0xd2], 'rm8,cl', o);
  def(name, [0xd3], 'rmv,cl', o);
  def(name, [0xc0], 'rm8,i8', o);
  def(name, [0xc1], 'rmv,i8', o);
}
// /6 is an undocumented alias of shl (SDM: "SAL/SHL"); hardware and QEMU execute it.
def('shl', [0xd0], 'rm8,1', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shl', [0xd1], 'rmv,1', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shl', [0xd2], 'rm8,cl', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shl', [0xd3], 'rmv,cl', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shl', [0xc0], 'rm8,i8', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shl', [0xc1], 'rmv,i8', { op: 'shift', sub: 4, ext: 6, encodable: false });
def('shld', [0x0f, 0xa4], 'rmv,rv,i8', { op: 'shld' });
def('shld', [0x0f, 0xa5], 'rmv,rv,cl', { op: 'shld' });
def('shrd', [0x0f, 0xac], 'rmv,rv,i8', { op: 'shrd' });
def('shrd', [0x0f, 0xad], 'rmv,rv,cl', { op: 'shrd' });
for (const [name, sub] of [
  ['bt', 0],
  ['bts', 1],
  ['btr', 2],
  ['btc', 3],
] as const) {
  def(name, [0x0f, 0xa3 + sub * 8], 'rmv,rv', { op: 'bt', sub });
  def(name, [0x0f, 0xba], 'rmv,i8', { op: 'bt', sub, ext: 4 + sub });
}
def('bsf', [0x0f, 0xbc], 'rv,rmv');
def('bsr', [0x0f, 0xbd], 'rv,rmv');
CONDITIONS.forEach(([name, ...aliases], cond) => {
  def(`set${name}`, [0x0f, 0x90 + cond], 'rm8', {
    op: 'setcc',
    cond,
    aliases: aliases.map((a) => `set${a}`),
  });
});
CONDITIONS.forEach(([name, ...aliases], cond) => {
  def(`cmov${name}`, [0x0f, 0x40 + cond], 'rv,rmv', {
    op: 'cmovcc',
    cond,
    aliases: aliases.map((a) => `cmov${a}`),
  });
});

// ---- stack ---------------------------------------------------------------------------------
const STACK = { cost: 'stack' } as const;
def('push', [0x50], 'ov', STACK);
def('push', [0x6a], 's8', { ...STACK, op: 'push-imm' });
def('push', [0x68], 'iv', { ...STACK, op: 'push-imm' });
def('push', [0xff], 'rmv', { ...STACK, ext: 6 });
def('pop', [0x58], 'ov', STACK);
def('pop', [0x8f], 'rmv', { ...STACK, ext: 0 });
for (const [sreg, push, pop] of [
  ['es', [0x06], [0x07]],
  ['cs', [0x0e], undefined],
  ['ss', [0x16], [0x17]],
  ['ds', [0x1e], [0x1f]],
  ['fs', [0x0f, 0xa0], [0x0f, 0xa1]],
  ['gs', [0x0f, 0xa8], [0x0f, 0xa9]],
] as const) {
  def('push', push, sreg, { op: 'push-sreg', sizeFollowsPrefix: true, ...STACK, ...SENSITIVE });
  if (pop) {
    def('pop', pop, sreg, {
      op: 'pop-sreg',
      sizeFollowsPrefix: true,
      cost: 'system',
      ...SENSITIVE,
    });
  }
}
def('pushad', [0x60], '', {
  op: 'pusha',
  aliases: ['pusha'],
  sized: { 16: 'pushaw', 32: 'pushad' },
  ...STACK,
});
def('popad', [0x61], '', {
  op: 'popa',
  aliases: ['popa'],
  sized: { 16: 'popaw', 32: 'popad' },
  ...STACK,
});
def('pushfd', [0x9c], '', {
  op: 'pushf',
  aliases: ['pushf'],
  sized: { 16: 'pushfw', 32: 'pushfd' },
  ...STACK,
  ...SENSITIVE,
});
def('popfd', [0x9d], '', {
  op: 'popf',
  aliases: ['popf'],
  sized: { 16: 'popfw', 32: 'popfd' },
  ...STACK,
  ...SENSITIVE,
});
def('lahf', [0x9f], '');
def('sahf', [0x9e], '');
def('enter', [0xc8], 'i16,i8', STACK);
def('leave', [0xc9], '', STACK);

// ---- control transfer ----------------------------------------------------------------------
const BRANCH = { cost: 'branch' } as const;
def('jmp', [0xeb], 'rel8', { ...BRANCH, flow: 'jump' });
def('jmp', [0xe9], 'relv', { ...BRANCH, flow: 'jump' });
def('jmp', [0xff], 'rmv', { ...BRANCH, ext: 4, op: 'jmp-indirect', flow: 'jump-indirect' });
def('jmp', [0xea], 'farptr', { cost: 'system', op: 'jmp-far', flow: 'far', ...SENSITIVE });
def('jmp', [0xff], 'mfar', { cost: 'system', ext: 5, op: 'jmp-far', flow: 'far', ...SENSITIVE });
CONDITIONS.forEach(([name, ...aliases], cond) => {
  const o = {
    ...BRANCH,
    op: 'jcc',
    cond,
    flow: 'branch',
    aliases: aliases.map((a) => `j${a}`),
  } as const;
  def(`j${name}`, [0x70 + cond], 'rel8', o);
  def(`j${name}`, [0x0f, 0x80 + cond], 'relv', { ...o, encodableSizes: [32] });
});
def('jecxz', [0xe3], 'rel8', { ...BRANCH, flow: 'branch' });
def('loop', [0xe2], 'rel8', { ...BRANCH, flow: 'branch' });
def('loope', [0xe1], 'rel8', { ...BRANCH, flow: 'branch', aliases: ['loopz'] });
def('loopne', [0xe0], 'rel8', { ...BRANCH, flow: 'branch', aliases: ['loopnz'] });
def('call', [0xe8], 'relv', { ...BRANCH, flow: 'call' });
def('call', [0xff], 'rmv', { ...BRANCH, ext: 2, op: 'call-indirect', flow: 'call-indirect' });
def('call', [0x9a], 'farptr', { cost: 'system', op: 'call-far', flow: 'far', ...SENSITIVE });
def('call', [0xff], 'mfar', { cost: 'system', ext: 3, op: 'call-far', flow: 'far', ...SENSITIVE });
def('ret', [0xc3], '', { ...BRANCH, flow: 'return' });
def('ret', [0xc2], 'i16', { ...BRANCH, flow: 'return' });
def('retf', [0xcb], '', { cost: 'system', flow: 'far', sizeFollowsPrefix: true, ...SENSITIVE });
def('retf', [0xca], 'i16', { cost: 'system', flow: 'far', sizeFollowsPrefix: true, ...SENSITIVE });
def('int3', [0xcc], '', { cost: 'system', op: 'int3', flow: 'interrupt' });
def('int', [0xcd], 'i8', { cost: 'system', flow: 'interrupt' });
def('into', [0xce], '', { cost: 'system', flow: 'interrupt' });
def('iretd', [0xcf], '', {
  cost: 'system',
  op: 'iret',
  aliases: ['iret'],
  sized: { 16: 'iretw', 32: 'iretd' },
  flow: 'iret',
  ...SENSITIVE,
});
def('bound', [0x62], 'rv,m', { cost: 'system', flow: 'interrupt' });
def('ud2', [0x0f, 0x0b], '', { cost: 'system', flow: 'interrupt' });

// ---- flags ---------------------------------------------------------------------------------
def('clc', [0xf8], '');
def('stc', [0xf9], '');
def('cmc', [0xf5], '');
def('cld', [0xfc], '');
def('std', [0xfd], '');
def('cli', [0xfa], '', { privilege: 'iopl' });
def('sti', [0xfb], '', { privilege: 'iopl' });

// ---- string instructions -------------------------------------------------------------------
for (const [name, byteOp, repeat] of [
  ['movs', 0xa4, 'rep'],
  ['cmps', 0xa6, 'repcc'],
  ['stos', 0xaa, 'rep'],
  ['lods', 0xac, 'rep'],
  ['scas', 0xae, 'repcc'],
] as const) {
  const o = { op: name, cost: 'string', repeat } as const;
  def(`${name}b`, [byteOp], '', o);
  def(`${name}d`, [byteOp + 1], '', { ...o, sized: { 16: `${name}w`, 32: `${name}d` } });
}

// ---- port I/O (IOPL, then the TSS I/O permission bitmap) -----------------------------------
const IO = { privilege: 'io', cost: 'io' } as const;
def('in', [0xe4], 'al,i8', IO);
def('in', [0xe5], 'eAX,i8', IO);
def('in', [0xec], 'al,dx', IO);
def('in', [0xed], 'eAX,dx', IO);
def('out', [0xe6], 'i8,al', IO);
def('out', [0xe7], 'i8,eAX', IO);
def('out', [0xee], 'dx,al', IO);
def('out', [0xef], 'dx,eAX', IO);
def('insb', [0x6c], '', { ...IO, op: 'ins', repeat: 'rep' });
def('insd', [0x6d], '', { ...IO, op: 'ins', repeat: 'rep', sized: { 16: 'insw', 32: 'insd' } });
def('outsb', [0x6e], '', { ...IO, op: 'outs', repeat: 'rep' });
def('outsd', [0x6f], '', { ...IO, op: 'outs', repeat: 'rep', sized: { 16: 'outsw', 32: 'outsd' } });

// ---- segment loads through far pointers ----------------------------------------------------
for (const [name, opcode] of [
  ['les', [0xc4]],
  ['lds', [0xc5]],
  ['lss', [0x0f, 0xb2]],
  ['lfs', [0x0f, 0xb4]],
  ['lgs', [0x0f, 0xb5]],
] as const) {
  def(name, opcode, 'rv,mfar', { op: 'load-far-pointer', cost: 'system', ...SENSITIVE });
}

// ---- system instructions -------------------------------------------------------------------
const PRIV = { privilege: 'cpl0', cost: 'system' } as const;
def('sldt', [0x0f, 0x00], 'rrv', { ext: 0, cost: 'system', ...SENSITIVE });
def('sldt', [0x0f, 0x00], 'm16', { ext: 0, cost: 'system', ...SENSITIVE });
def('str', [0x0f, 0x00], 'rrv', { ext: 1, cost: 'system', ...SENSITIVE });
def('str', [0x0f, 0x00], 'm16', { ext: 1, cost: 'system', ...SENSITIVE });
def('lldt', [0x0f, 0x00], 'rm16', { ext: 2, ...PRIV });
def('ltr', [0x0f, 0x00], 'rm16', { ext: 3, ...PRIV });
def('verr', [0x0f, 0x00], 'rm16', { ext: 4, cost: 'system', ...SENSITIVE });
def('verw', [0x0f, 0x00], 'rm16', { ext: 5, cost: 'system', ...SENSITIVE });
def('sgdt', [0x0f, 0x01], 'mdesc', { ext: 0, cost: 'system', ...SENSITIVE });
def('sidt', [0x0f, 0x01], 'mdesc', { ext: 1, cost: 'system', ...SENSITIVE });
def('lgdt', [0x0f, 0x01], 'mdesc', { ext: 2, ...PRIV, cost: 'serializing' });
def('lidt', [0x0f, 0x01], 'mdesc', { ext: 3, ...PRIV, cost: 'serializing' });
def('smsw', [0x0f, 0x01], 'rrv', { ext: 4, cost: 'system', ...SENSITIVE });
def('smsw', [0x0f, 0x01], 'm16', { ext: 4, cost: 'system', ...SENSITIVE });
def('lmsw', [0x0f, 0x01], 'rm16', { ext: 6, ...PRIV, cost: 'serializing' });
def('invlpg', [0x0f, 0x01], 'm', { ext: 7, ...PRIV, cost: 'serializing' });
// VMCALL (SDM vol. 2, VMX instructions): #UD outside VMX non-root operation, as on this CPU.
def('vmcall', [0x0f, 0x01], '', { modrmByte: 0xc1, cost: 'serializing' });
def('lar', [0x0f, 0x02], 'rv,rm16', { cost: 'system', ...SENSITIVE });
def('lar', [0x0f, 0x02], 'rv,rr32', { cost: 'system', decodable: false, ...SENSITIVE });
def('lsl', [0x0f, 0x03], 'rv,rm16', { cost: 'system', ...SENSITIVE });
def('lsl', [0x0f, 0x03], 'rv,rr32', { cost: 'system', decodable: false, ...SENSITIVE });
def('arpl', [0x63], 'rm16,r16', { cost: 'system' });
def('clts', [0x0f, 0x06], '', PRIV);
def('invd', [0x0f, 0x08], '', { ...PRIV, cost: 'serializing' });
def('wbinvd', [0x0f, 0x09], '', { ...PRIV, cost: 'serializing' });
def('hlt', [0xf4], '', { ...PRIV, flow: 'halt' });
def('cpuid', [0x0f, 0xa2], '', { cost: 'serializing' });
def('rdtsc', [0x0f, 0x31], '', { cost: 'system' });
def('rdmsr', [0x0f, 0x32], '', PRIV);
def('wrmsr', [0x0f, 0x30], '', { ...PRIV, cost: 'serializing' });
def('nop', [0x90], '');

/** Every instruction form of the IA-32 subset, in encoder preference order. */
export const FORMS: readonly InstructionForm[] = forms;

/** Prefix bytes the decoder and assembler understand. */
export const PREFIX = {
  operandSize: 0x66,
  addressSize: 0x67,
  lock: 0xf0,
  repne: 0xf2,
  rep: 0xf3,
  segment: { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 },
} as const;

/** Segment-override prefix bytes by segment register number (es cs ss ds fs gs). */
export const SEGMENT_PREFIXES: readonly number[] = [
  PREFIX.segment.es,
  PREFIX.segment.cs,
  PREFIX.segment.ss,
  PREFIX.segment.ds,
  PREFIX.segment.fs,
  PREFIX.segment.gs,
];

const byMnemonic = new Map<string, InstructionForm[]>();
for (const form of FORMS) {
  const names = new Set([
    form.mnemonic,
    ...form.aliases,
    ...Object.values(form.sizedMnemonics ?? {}),
  ]);
  for (const name of names) {
    const list = byMnemonic.get(name) ?? [];
    list.push(form);
    byMnemonic.set(name, list);
  }
}

/** The forms a mnemonic (or alias, or sized spelling) may assemble to, in preference order. */
export function formsFor(mnemonic: string): readonly InstructionForm[] {
  return byMnemonic.get(mnemonic.toLowerCase()) ?? [];
}

/** Every mnemonic, alias and sized spelling the assembler accepts. */
export function allMnemonics(): readonly string[] {
  return [...byMnemonic.keys()];
}
