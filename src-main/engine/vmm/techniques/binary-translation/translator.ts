// The binary translator (lecture §6): reads a translation unit of guest kernel code — at most
// 12 instructions, or up to and including a control-flow instruction — and compiles it into a
// compiled code fragment of real x86, encoded by the project's own encoder:
// - innocuous instructions are copied IDENT (byte for byte);
// - control flow is rewritten, because the code moved: a direct jump or branch jumps to its
//   target's fragment, or, while that is not translated yet, to an exit stub (an "open" jump,
//   filled in later); a call pushes the guest's return address and jumps; indirect jumps,
//   calls and returns go through a lookup callout;
// - sensitive instructions become inline safe sequences on the virtual CPU's flags in the
//   monitor's data page (cli, sti, pushfd, popfd, reading CS), or callouts into the hypervisor
//   (CR and descriptor-table access, I/O, hlt, iret, segment loads, …), which emulates them.
// A unit ends at a page boundary too, so a fragment reads one guest page (and the bytes of a
// last instruction that runs over into the next).

import { type DecodedInstruction, SEG_CS } from '../../../isa/decoder';
import { type AsmOperand, encode, type EncodePrefixes } from '../../../isa/encoder';
import { formatInstruction } from '../../../isa/disasm';
import { registerNamed } from '../../../isa/registers';
import { type IsaVariant, privilegeOn } from '../../../isa/types';
import {
  type Callout,
  FALL_THROUGH_BYTES,
  GATE_ESP1,
  GATE_SS1,
  GUEST_TSS,
  type JumpSite,
  PENDING_HOOK,
  type Placement,
  RETURN_TAGS,
  RETURN_TARGET,
  RETURN_TARGETS,
  SCRATCH0,
  SCRATCH1,
  type Treatment,
  type TranslatedInstruction,
  VIRTUAL_IF,
  VIRTUAL_IOPL,
  type CompiledCodeFragment,
} from './translation-cache';

/** the lecture's translation-unit limit */
export const UNIT_MAX_INSTRUCTIONS = 12;
/** the vector of the `int` a fragment's callout executes; the hypervisor knows its callouts by
 *  their address in the cache, so a guest's own `int 0xF7` is still the guest's */
export const CALLOUT_VECTOR = 0xf7;

/** One guest instruction read for translation. */
export interface GuestInstruction {
  readonly eip: number;
  /** undefined: the bytes do not decode (the callout raises the guest's #UD or #GP) */
  readonly insn: DecodedInstruction | undefined;
  readonly bytes: readonly number[];
  readonly pieces: readonly { readonly phys: number; readonly length: number }[];
}

/** How the hypervisor reads guest code: null when the bytes at `eip` cannot be read (the
 *  guest's tables do not map them: that fault is the guest's, taken when it runs there). */
export type GuestCodeReader = (eip: number) => GuestInstruction | null;

export interface TranslationUnit {
  readonly start: number;
  readonly instructions: readonly GuestInstruction[];
  /** where execution goes after the last instruction when the unit does not end in a jump */
  readonly fallThrough: number | undefined;
}

/** The translator's tally, for RunResult.binaryTranslation. */
export interface TranslatorStatistics {
  units: number;
  guestInstructions: number;
  ident: number;
  controlFlow: number;
  inline: number;
  callout: number;
}

type Plan =
  | 'ident'
  | 'jump'
  | 'branch'
  | 'loop'
  | 'call'
  | 'cli'
  | 'sti'
  | 'pushfd'
  | 'popfd'
  | 'read-cs'
  | 'lookup'
  | 'return'
  | 'indirect'
  | 'iret'
  | 'emulate'
  | 'adaptive';

const ENDS_UNIT: ReadonlySet<Plan> = new Set([
  'jump',
  'branch',
  'loop',
  'call',
  'lookup',
  'return',
  'indirect',
  'iret',
  'emulate',
  'adaptive',
]);

/** What becomes of a guest kernel instruction. */
export function planFor(insn: DecodedInstruction | undefined, isa: IsaVariant): Plan {
  if (!insn) return 'emulate';
  const f = insn.form;
  switch (f.flow) {
    case 'jump':
      return 'jump';
    case 'branch':
      if (insn.operandSize !== 32) return 'emulate';
      return f.op === 'jcc' ? 'branch' : 'loop';
    case 'call':
      return insn.operandSize === 32 ? 'call' : 'emulate';
    case 'return':
      // a near `ret` (no immediate, 32-bit): looked up inline in the return-target cache
      return insn.operandSize === 32 && f.operands.length === 0 ? 'return' : 'lookup';
    case 'jump-indirect':
    case 'call-indirect':
      // a near one through a 32-bit operand: looked up inline
      return insn.operandSize === 32 ? 'indirect' : 'lookup';
    case 'iret':
      // to user mode a real iretd does at CPL 1 what the guest's does at 0 (classic IA-32)
      return insn.operandSize === 32 && isa === 'classic' ? 'iret' : 'emulate';
    case 'far':
    case 'interrupt':
    case 'halt':
      return 'emulate';
    case 'none':
      break;
  }
  // the strict ISA's checks name every sensitive instruction (Popek–Goldberg): those, and
  // nothing else, are not copied
  if (privilegeOn(f, 'strict') === 'none') return 'ident';
  switch (f.op) {
    case 'cli':
      return 'cli';
    case 'sti':
      return 'sti';
    // the inline sequences use the real pushfd/popfd, which trap at CPL 1 on the strict ISA
    case 'pushf':
      return insn.operandSize === 32 && isa === 'classic' ? 'pushfd' : 'emulate';
    case 'popf':
      return insn.operandSize === 32 && isa === 'classic' ? 'popfd' : 'emulate';
    case 'mov-from-sreg':
      if (insn.reg === SEG_CS) return insn.mem === null ? 'read-cs' : 'emulate';
      // DS, ES, SS, FS and GS hold the guest's own selectors: copied where reading them does
      // not trap (classic); the strict ISA traps every such read at CPL 1
      return isa === 'classic' ? 'ident' : 'emulate';
    default:
      return 'emulate';
  }
}

const TREATMENT: Record<Plan, Treatment> = {
  ident: 'ident',
  jump: 'control-flow',
  branch: 'control-flow',
  loop: 'control-flow',
  call: 'control-flow',
  lookup: 'control-flow',
  return: 'control-flow',
  indirect: 'control-flow',
  iret: 'inline',
  cli: 'inline',
  sti: 'inline',
  pushfd: 'inline',
  popfd: 'inline',
  'read-cs': 'inline',
  emulate: 'callout',
  adaptive: 'callout',
};

/**
 * What becomes of the guest instruction at `eip`: as planFor says, unless adaptive translation
 * has made it a callout (a copied instruction that kept writing protected pages: emulated by
 * the hypervisor from a callout, it costs no trap).
 */
export function planAt(gi: GuestInstruction, isa: IsaVariant, context: TranslationContext): Plan {
  const plan = planFor(gi.insn, isa);
  if (plan === 'ident' && context.adaptive.has(gi.eip)) return 'adaptive';
  // the inline sequences reach the monitor's data page with DS: flat addresses only
  if (!context.flatData) {
    if (plan === 'cli' || plan === 'sti' || plan === 'pushfd' || plan === 'popfd') return 'emulate';
    if (plan === 'iret') return 'emulate';
    // the target cache too: the lookup callout finds the target instead
    if (plan === 'return' || plan === 'indirect') return 'lookup';
  }
  return plan;
}

/** What else decides a translation than the guest's bytes and the ISA. */
export interface TranslationContext {
  /** guest instructions adaptive translation has made callouts */
  readonly adaptive: ReadonlySet<number>;
  /** the guest kernel's DS has base 0 (else cli, sti, pushfd, popfd and iret are callouts,
   *  and returns and indirect jumps are looked up by the callout, not inline) */
  readonly flatData: boolean;
}

const DEFAULT_CONTEXT: TranslationContext = { adaptive: new Set(), flatData: true };

/** Read a translation unit starting at `start`; null when its first instruction cannot be read. */
export function readUnit(
  start: number,
  read: GuestCodeReader,
  isa: IsaVariant,
  context: TranslationContext = DEFAULT_CONTEXT,
): TranslationUnit | null {
  const instructions: GuestInstruction[] = [];
  let eip = start >>> 0;
  let fallThrough: number | undefined;
  for (let n = 0; ; n++) {
    if (n === UNIT_MAX_INSTRUCTIONS || (n > 0 && eip >>> 12 !== start >>> 12)) {
      fallThrough = eip;
      break;
    }
    const gi = read(eip);
    if (!gi) {
      if (n === 0) return null;
      fallThrough = eip;
      break;
    }
    if (!gi.insn && n > 0) {
      // undecodable: its own unit raises the fault when execution gets there
      fallThrough = eip;
      break;
    }
    instructions.push(gi);
    const plan = planAt(gi, isa, context);
    const next = (eip + (gi.insn?.length ?? 1)) >>> 0;
    if (ENDS_UNIT.has(plan)) {
      if (plan === 'branch' || plan === 'loop') fallThrough = next;
      break;
    }
    eip = next;
  }
  return { start: start >>> 0, instructions, fallThrough };
}

// ---- encoding ---------------------------------------------------------------------------------
const reg = (name: string): AsmOperand => ({ type: 'reg', reg: registerNamed(name)! });
const imm = (value: number, size?: 8 | 16 | 32): AsmOperand => ({
  type: 'imm',
  value: { value, relocatable: false },
  ...(size ? { size, strict: true } : {}),
});
const target = (value: number): AsmOperand => ({
  type: 'imm',
  value: { value, relocatable: true },
  distance: 'near',
});
const abs = (disp: number): AsmOperand => ({
  type: 'mem',
  size: 32,
  scale: 1,
  disp: { value: disp | 0, relocatable: false },
});
const at = (base: string, disp = 0): AsmOperand => ({
  type: 'mem',
  size: 32,
  base: registerNamed(base)!.index,
  scale: 1,
  disp: { value: disp, relocatable: false },
});
const scaled = (index: string, disp: number): AsmOperand => ({
  type: 'mem',
  size: 32,
  index: registerNamed(index)!.index,
  scale: 4,
  disp: { value: disp | 0, relocatable: false },
});
const sum = (base: string, index: string, disp: number): AsmOperand => ({
  type: 'mem',
  base: registerNamed(base)!.index,
  ...(index === 'none' ? {} : { index: registerNamed(index)!.index }),
  scale: 1,
  disp: { value: disp, relocatable: false },
});

/**
 * `mov eax, r/m32` with the operand of an indirect jmp/call (FF /4, FF /2): its segment
 * override, opcode 8B and the same ModRM with reg = 0, SIB and displacement.
 */
function loadTargetIntoEax(gi: GuestInstruction, insn: DecodedInstruction): number[] {
  const prefixes = gi.bytes.slice(0, insn.prefixes.count);
  const rest = gi.bytes.slice(insn.prefixes.count);
  if (rest[0] !== 0xff) throw new Error('an indirect jmp or call is FF /2 or FF /4');
  return [...prefixes, 0x8b, rest[1]! & 0xc7, ...rest.slice(2)];
}

/** The encoded bytes of a callout (`int CALLOUT_VECTOR`) and of a fall-through exit (the
 *  callout padded to the size of the jmp rel32 it is patched into). */
export const CALLOUT_BYTES: readonly number[] = encode('int', [imm(CALLOUT_VECTOR)], 0).bytes;
const NOP: readonly number[] = encode('nop', [], 0).bytes;
export const FALL_THROUGH_EXIT: readonly number[] = [
  ...CALLOUT_BYTES,
  ...Array.from({ length: FALL_THROUGH_BYTES - CALLOUT_BYTES.length }, () => NOP[0]!),
];

/** A compiled fragment, ready for TranslationCache.install. */
export interface CompiledUnit {
  readonly bytes: number[];
  readonly instructions: TranslatedInstruction[];
  readonly sites: JumpSite[];
  readonly fallThrough: JumpSite | undefined;
  readonly callouts: [number, Callout][];
  readonly stubCode: [number, readonly number[], number][];
  readonly owners: [number, number, number, boolean][];
  /** sites already translated that the new fragment's jumps go to: link once installed */
  readonly chains: [JumpSite, CompiledCodeFragment][];
}

/** How many exit stubs a unit needs and an upper bound of its fragment's size. */
export function unitNeeds(
  unit: TranslationUnit,
  isa: IsaVariant,
  context: TranslationContext = DEFAULT_CONTEXT,
): { bytes: number; stubs: number } {
  let bytes = FALL_THROUGH_BYTES + 16;
  let stubs = 0;
  for (const gi of unit.instructions) {
    const p = planAt(gi, isa, context);
    bytes += Math.max(gi.bytes.length, 1) + 64;
    if (p === 'jump' || p === 'branch' || p === 'loop' || p === 'call') stubs++;
  }
  return { bytes, stubs };
}

/**
 * Compile a unit at its placement. `fragment` is filled in by the cache when installed; the
 * sites and callouts refer to it through `self`.
 */
export function compileUnit(
  unit: TranslationUnit,
  placement: Placement,
  virtualCs: number,
  isa: IsaVariant,
  lookup: (guestEip: number) => CompiledCodeFragment | undefined,
  self: { fragment: CompiledCodeFragment | undefined },
  context: TranslationContext = DEFAULT_CONTEXT,
): CompiledUnit {
  const start = placement.start;
  const bytes: number[] = [];
  const instructions: TranslatedInstruction[] = [];
  const sites: JumpSite[] = [];
  const callouts: [number, Callout][] = [];
  const stubCode: [number, readonly number[], number][] = [];
  const owners: [number, number, number, boolean][] = [];
  const chains: [JumpSite, CompiledCodeFragment][] = [];
  let stubIndex = 0;
  let fallThroughSite: JumpSite | undefined;
  const here = (): number => start + bytes.length;
  const emit = (mnemonic: string, ops: readonly AsmOperand[], prefixes?: EncodePrefixes): void => {
    bytes.push(...encode(mnemonic, ops, here(), prefixes).bytes);
  };
  const from = (): CompiledCodeFragment => {
    if (!self.fragment) throw new Error('a site used before its fragment was installed');
    return self.fragment;
  };

  /** an open jump to `guest`: through a new stub, or chained to its fragment at once */
  const jumpSite = (guestTarget: number, relAt: number): void => {
    const stub = placement.stubs[stubIndex++];
    if (stub === undefined)
      throw new Error('the translator used more exit stubs than it asked for');
    const site: JumpSite = {
      get from() {
        return from();
      },
      target: guestTarget,
      kind: 'jump',
      relAt,
      stub,
      linked: undefined,
      elided: false,
    };
    sites.push(site);
    stubCode.push([stub, CALLOUT_BYTES, guestTarget]);
    callouts.push([stub, { kind: 'exit', site }]);
    const known = lookup(guestTarget);
    if (known) chains.push([site, known]);
  };
  /** a rel32 jump instruction to `guestTarget`'s stub; returns nothing, records the site */
  const openJump = (mnemonic: string, guestTarget: number): void => {
    const stub = placement.stubs[stubIndex];
    emit(mnemonic, [target(stub ?? here())]);
    jumpSite(guestTarget, here() - 4);
  };
  const pendingCheck = (): void => {
    emit('call', [abs(PENDING_HOOK)]);
  };
  /**
   * The guest target in EAX (the guest's EAX saved in SCRATCH0) looked up in the target cache:
   * lea sums the entry's negated tag with the target and jecxz takes the hit, so no flag
   * changes; on a hit the fragment's address is left in RETURN_TARGET and EAX, ECX are the
   * guest's again; a miss restores them and is the lookup callout `name`.
   */
  const targetCacheLookup = (guestEip: number, name: string): void => {
    emit('mov', [abs(SCRATCH1), reg('ecx')]);
    emit('movzx', [reg('ecx'), reg('al')]);
    emit('mov', [reg('ecx'), scaled('ecx', RETURN_TAGS)]);
    emit('lea', [reg('ecx'), sum('ecx', 'eax', 0)]);
    const jecxzAt = bytes.length;
    emit('jecxz', [{ type: 'imm', value: { value: here() + 2, relocatable: false } }]);
    emit('mov', [reg('ecx'), abs(SCRATCH1)]);
    emit('mov', [reg('eax'), abs(SCRATCH0)]);
    callouts.push([here(), { kind: 'emulate', guestEip, name }]);
    bytes.push(...CALLOUT_BYTES);
    bytes[jecxzAt + 1] = bytes.length - (jecxzAt + 2);
    emit('movzx', [reg('ecx'), reg('al')]);
    emit('mov', [reg('ecx'), scaled('ecx', RETURN_TARGETS)]);
    emit('mov', [abs(RETURN_TARGET), reg('ecx')]);
    emit('mov', [reg('ecx'), abs(SCRATCH1)]);
    emit('mov', [reg('eax'), abs(SCRATCH0)]);
  };

  const list = unit.instructions;
  let pendingAfterNext = false;
  for (let k = 0; k < list.length; k++) {
    const gi = list[k]!;
    const insn = gi.insn;
    const plan = planAt(gi, isa, context);
    const next = (gi.eip + (insn?.length ?? 1)) >>> 0;
    const offset = bytes.length;
    let mark = 0;
    if (pendingAfterNext && ENDS_UNIT.has(plan)) {
      // the sti's one-instruction shadow ends in a jump or a callout: check before it
      const o = bytes.length;
      pendingCheck();
      owners.push([start + o, bytes.length - o, gi.eip, false]);
      pendingAfterNext = false;
    }
    const body = bytes.length;
    switch (plan) {
      case 'ident':
        bytes.push(...gi.bytes);
        break;
      case 'jump':
        openJump('jmp', (next + insn!.imm) >>> 0);
        break;
      case 'branch':
        openJump(insn!.form.mnemonic, (next + insn!.imm) >>> 0);
        break;
      case 'loop': {
        // loop/jecxz reach only rel8: take the branch to a jmp rel32 just past a short jump
        // over it (`loop .t / jmp .f / .t: jmp target / .f:`)
        const code = [...gi.bytes];
        code[code.length - 1] = 2;
        bytes.push(...code);
        emit('jmp', [
          { type: 'imm', value: { value: here() + 7, relocatable: false }, distance: 'short' },
        ]);
        openJump('jmp', (next + insn!.imm) >>> 0);
        break;
      }
      case 'call':
        emit('push', [imm(next, 32)]);
        openJump('jmp', (next + insn!.imm) >>> 0);
        break;
      case 'cli':
        emit('mov', [abs(VIRTUAL_IF), imm(0, 32)]);
        break;
      case 'sti':
        emit('mov', [abs(VIRTUAL_IF), imm(0x200, 32)]);
        pendingAfterNext = true;
        break;
      case 'pushfd':
        // the real flags with the virtual IF and IOPL in place of the real ones (IF is always
        // 1 and IOPL 0 while the guest kernel runs), computed with lea so no flag changes
        emit('pushfd', []);
        emit('mov', [abs(SCRATCH0), reg('eax')]);
        emit('mov', [abs(SCRATCH1), reg('ecx')]);
        emit('mov', [reg('eax'), at('esp')]);
        emit('mov', [reg('ecx'), abs(VIRTUAL_IF)]);
        emit('lea', [reg('eax'), sum('eax', 'ecx', -0x200)]);
        emit('mov', [reg('ecx'), abs(VIRTUAL_IOPL)]);
        emit('lea', [reg('eax'), sum('eax', 'ecx', 0)]);
        emit('mov', [at('esp'), reg('eax')]);
        emit('mov', [reg('ecx'), abs(SCRATCH1)]);
        emit('mov', [reg('eax'), abs(SCRATCH0)]);
        break;
      case 'popfd':
        // IF and IOPL from the guest's image go to the virtual flags; the real popfd takes the
        // rest (at CPL 1 it leaves the real IF and IOPL alone) and restores the flags the
        // sequence used
        emit('mov', [abs(SCRATCH0), reg('eax')]);
        emit('mov', [reg('eax'), at('esp')]);
        emit('and', [reg('eax'), imm(0x200)]);
        emit('mov', [abs(VIRTUAL_IF), reg('eax')]);
        emit('mov', [reg('eax'), at('esp')]);
        emit('and', [reg('eax'), imm(0x3000)]);
        emit('mov', [abs(VIRTUAL_IOPL), reg('eax')]);
        emit('mov', [reg('eax'), abs(SCRATCH0)]);
        emit('popfd', []);
        break;
      case 'read-cs': {
        const size = insn!.operandSize;
        const names32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
        const names16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
        const r = (size === 32 ? names32 : names16)[insn!.rm]!;
        emit('mov', [reg(r), imm(virtualCs & 0xfffc, size)]);
        break;
      }
      case 'indirect': {
        // the target into EAX by the same operand (`mov eax, r/m32`: the guest's ModRM, SIB and
        // displacement with opcode 8B and reg = EAX), then found in the target cache; a call
        // pushes the guest's return address last, once nothing can fault before it
        const call = insn!.form.flow === 'call-indirect';
        emit('mov', [abs(SCRATCH0), reg('eax')]);
        bytes.push(...loadTargetIntoEax(gi, insn!));
        targetCacheLookup(gi.eip, call ? 'lookup:call' : 'lookup:jmp');
        if (call) emit('push', [imm(next, 32)]);
        emit('jmp', [abs(RETURN_TARGET)]);
        break;
      }
      case 'return': {
        // the return-target cache (the monitor's read-only page: 256 guest return addresses,
        // negated, and their fragments, indexed by the address's low byte), without touching
        // the flags or the stack below ESP; a miss is the lookup callout, which fills the entry
        emit('mov', [abs(SCRATCH0), reg('eax')]);
        emit('mov', [reg('eax'), at('esp')]);
        targetCacheLookup(gi.eip, 'lookup:ret');
        emit('lea', [reg('esp'), sum('esp', 'none', 4)]);
        emit('jmp', [abs(RETURN_TARGET)]);
        break;
      }
      case 'iret': {
        // a return to ring 3 (the frame's CS has RPL 3) is a real iretd, after the frame's
        // IF and IOPL are made the virtual ones (at CPL 1 the real iretd keeps the real IF and
        // IOPL); any other iret is the callout. The flags the test uses are the frame's to set
        emit('mov', [abs(SCRATCH0), reg('eax')]);
        emit('mov', [reg('eax'), at('esp', 4)]);
        emit('and', [reg('eax'), imm(3)]);
        emit('cmp', [reg('eax'), imm(3)]);
        emit('mov', [reg('eax'), abs(SCRATCH0)]);
        const jneAt = bytes.length;
        emit('jne', [{ type: 'imm', value: { value: here() + 2, relocatable: false } }]);
        emit('mov', [reg('eax'), at('esp', 8)]);
        emit('and', [reg('eax'), imm(0x200)]);
        emit('mov', [abs(VIRTUAL_IF), reg('eax')]);
        emit('mov', [reg('eax'), at('esp', 8)]);
        emit('and', [reg('eax'), imm(0x3000)]);
        emit('mov', [abs(VIRTUAL_IOPL), reg('eax')]);
        // the stack of the direct gates for user code's software interrupts: the guest's
        // TSS.SS0:ESP0 as it is now (the kernel sets them before returning, as on hardware)
        emit('mov', [reg('eax'), abs(GUEST_TSS)]);
        emit('test', [reg('eax'), reg('eax')]);
        const jzAt = bytes.length;
        emit('jz', [{ type: 'imm', value: { value: here() + 2, relocatable: false } }]);
        emit('mov', [reg('eax'), at('eax', 4)]);
        emit('mov', [abs(GATE_ESP1), reg('eax')]);
        emit('mov', [reg('eax'), abs(GUEST_TSS)]);
        emit('mov', [reg('eax'), at('eax', 8)]);
        emit('and', [reg('eax'), imm(0xffff)]);
        emit('mov', [abs(GATE_SS1), reg('eax')]);
        bytes[jzAt + 1] = bytes.length - (jzAt + 2);
        emit('mov', [reg('eax'), abs(SCRATCH0)]);
        emit('iretd', []);
        bytes[jneAt + 1] = bytes.length - (jneAt + 2);
        callouts.push([here(), { kind: 'emulate', guestEip: gi.eip, name: 'emulate' }]);
        bytes.push(...CALLOUT_BYTES);
        break;
      }
      case 'lookup':
      case 'adaptive':
      case 'emulate': {
        const name =
          plan === 'adaptive'
            ? 'adaptive'
            : plan === 'lookup'
              ? `lookup:${insn!.form.flow === 'return' ? 'ret' : insn!.form.flow === 'call-indirect' ? 'call' : 'jmp'}`
              : 'emulate';
        callouts.push([here(), { kind: 'emulate', guestEip: gi.eip, name }]);
        bytes.push(...CALLOUT_BYTES);
        break;
      }
    }
    mark = bytes.length - body;
    // the instruction's translation belongs to it; an interrupt may come at its first byte
    owners.push([start + body, mark, gi.eip, true]);
    if (plan === 'popfd' || (pendingAfterNext && plan !== 'sti')) {
      const o = bytes.length;
      pendingCheck();
      owners.push([start + o, bytes.length - o, next, false]);
      pendingAfterNext = false;
    }
    instructions.push({
      guestEip: gi.eip,
      guestLength: insn?.length ?? gi.bytes.length,
      tcOffset: offset,
      tcLength: bytes.length - offset,
      treatment: TREATMENT[plan],
      text: insn ? formatInstruction(insn, gi.eip) : '(undecodable)',
    });
  }
  if (unit.fallThrough !== undefined) {
    if (pendingAfterNext) {
      const o = bytes.length;
      pendingCheck();
      owners.push([start + o, bytes.length - o, unit.fallThrough, false]);
    }
    const exitAt = here();
    const site: JumpSite = {
      get from() {
        return from();
      },
      target: unit.fallThrough,
      kind: 'fall-through',
      relAt: exitAt + 1,
      stub: exitAt,
      linked: undefined,
      elided: false,
    };
    bytes.push(...FALL_THROUGH_EXIT);
    owners.push([exitAt, FALL_THROUGH_BYTES, unit.fallThrough, true]);
    callouts.push([exitAt, { kind: 'exit', site }]);
    fallThroughSite = site;
    const known = lookup(unit.fallThrough);
    if (known) chains.push([site, known]);
  }
  // a fragment is never shorter than an exit, which invalidation may write over its start
  while (bytes.length < FALL_THROUGH_BYTES) bytes.push(NOP[0]!);
  return {
    bytes,
    instructions,
    sites,
    fallThrough: fallThroughSite,
    callouts,
    stubCode,
    owners,
    chains,
  };
}
