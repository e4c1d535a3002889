// What the classifier executes: for each opcode-table form, the concrete instruction bytes of
// a few encodings (register or memory r/m, the segment or control register in ModRM.reg, 16-
// and 32-bit operand size, with and without rep), and the operand scenarios — the
// non-privileged starting state (registers, data and stack contents) a run begins from. The
// bytes are built from the form's own opcode and operand kinds and checked by decoding them
// back, so every decodable form is reached without a list of instructions.
//
// Scenarios put selectors everywhere an instruction may take one (AX, every word of the data
// page and of the stack), naming descriptors of the states' GDT and LDT: segment loads, lar/
// lsl/verr/verw, far transfers and iret then do real work whichever register or memory word
// they read. Two scenarios hold whole iret / far-return frames that go back to ring 3.

import { decodeBytes, type DecodedInstruction } from '../isa/decoder';
import { type InstructionForm } from '../isa/types';
import { CODE, DATA, MEMORY_OPERAND, SELECTOR, STACK, STACK_POINTER } from './states';

/** A non-privileged starting state: the same in every machine state a probe runs in. */
export interface Scenario {
  readonly name: string;
  readonly eax: number;
  readonly ecx: number;
  readonly edx: number;
  /** CF PF AF ZF SF OF */
  readonly arithFlags: number;
  /** dwords from ESP upwards, repeated over the stack page */
  readonly stack: readonly number[];
  /** dwords from the memory operand upwards, repeated over the data page */
  readonly data: readonly number[];
  /** the selector of a far-pointer immediate (jmp/call ptr16:32) */
  readonly selector: number;
}

const pair = (w: number): number => (w | (w << 16)) >>> 0;

/** A selector in AX, in every word of memory and of the stack, and in far-pointer immediates. */
function selectorScenario(name: string, selector: number): Scenario {
  return {
    name,
    eax: selector,
    ecx: 3,
    edx: 0,
    arithFlags: 0,
    stack: [pair(selector)],
    data: [pair(selector)],
    selector,
  };
}

const RETURN_EIP = CODE + 0x40;
const FLAGS_IMAGE = 0x3202; // IF and IOPL 3: what popf/iret may or may not change

export const SCENARIOS: readonly Scenario[] = [
  selectorScenario('operands 0x10', SELECTOR.programData),
  selectorScenario('operands 0x20', SELECTOR.kernelData),
  selectorScenario('operands 0x18', SELECTOR.kernelCode),
  selectorScenario('operands 0x2b', SELECTOR.userCode | 3),
  selectorScenario('operands 0x33', SELECTOR.userData | 3),
  selectorScenario('operands 0x07', SELECTOR.ldtData),
  selectorScenario('operands 0x40', SELECTOR.ldt),
  selectorScenario('operands 0x50', SELECTOR.tssB),
  {
    ...selectorScenario('operands 0x3202, ecx 0x174', FLAGS_IMAGE),
    ecx: 0x174,
    arithFlags: 0x8d5,
  },
  {
    ...selectorScenario('iret frame to ring 3', SELECTOR.userCode | 3),
    stack: [RETURN_EIP, SELECTOR.userCode | 3, FLAGS_IMAGE, STACK_POINTER, SELECTOR.userData | 3],
    // bound's limits around ECX, so it does not always raise #BR
    data: [0, 0x3000],
  },
  {
    ...selectorScenario('far-return frame to ring 3', SELECTOR.userData | 3),
    stack: [RETURN_EIP, SELECTOR.userCode | 3, STACK_POINTER, SELECTOR.userData | 3],
    data: [RETURN_EIP, SELECTOR.userCode | 3],
  },
];

/** The scenarios 16-bit encodings run with (a subset: the operand size rarely matters here). */
const SCENARIOS_16 = [0, 3, 8, 9];

/** A page of dwords: `pattern` repeated, with pattern[0] at byte `anchor` of the page. */
function patternPage(pattern: readonly number[], anchor: number): Uint8Array {
  const page = new Uint8Array(0x1000);
  const view = new DataView(page.buffer);
  const first = anchor >>> 2;
  const n = pattern.length;
  for (let i = 0; i < 0x400; i++) {
    view.setUint32(i * 4, pattern[(((i - first) % n) + n) % n]!, true);
  }
  return page;
}

/** The data and stack pages of each scenario, built once. */
export const SCENARIO_PAGES: readonly { readonly data: Uint8Array; readonly stack: Uint8Array }[] =
  SCENARIOS.map((s) => ({
    data: patternPage(s.data, MEMORY_OPERAND - DATA),
    stack: patternPage(s.stack, STACK_POINTER - STACK),
  }));

/** Registers in the ModRM fields: r/m is EAX (the selector), reg and +r are ECX. */
const RM_REGISTER = 0;
const REG_REGISTER = 1;

/** One encoding of a form. */
export interface Probe {
  readonly form: InstructionForm;
  readonly operandSize: 16 | 32;
  readonly rep: boolean;
  /** the r/m operand is memory (else EAX) */
  readonly memory: boolean;
  /** segment or control register number in ModRM.reg, when the form has one */
  readonly regField: number | undefined;
  /** indices into SCENARIOS */
  readonly scenarios: readonly number[];
}

/** Every encoding the classifier runs a form in. */
export function probesFor(form: InstructionForm): Probe[] {
  const rm = form.operands.find((o) => o.kind === 'rm' || o.kind === 'rmreg' || o.kind === 'mem');
  const creg = form.operands.some((o) => o.kind === 'creg');
  const memories =
    !form.hasModrm || form.modrmByte !== undefined || creg || rm === undefined
      ? [false]
      : rm.kind === 'rm'
        ? [false, true]
        : [rm.kind === 'mem'];
  const sregAt = form.operands.findIndex((o) => o.kind === 'sreg');
  // loads: DS and SS (CS cannot be loaded); reads: CS and SS carry the CPL, DS does not
  const regFields: (number | undefined)[] =
    sregAt === 0 ? [3, 2] : sregAt > 0 ? [1, 2, 3] : creg ? [0, 2, 3, 4] : [undefined];
  const sizes: (16 | 32)[] = form.sizeFollowsPrefix ? [32, 16] : [32];
  const reps = form.repeat ? [false, true] : [false];
  const all = SCENARIOS.map((_, i) => i);
  const probes: Probe[] = [];
  for (const operandSize of sizes)
    for (const rep of reps)
      for (const memory of memories)
        for (const regField of regFields)
          probes.push({
            form,
            operandSize,
            rep,
            memory,
            regField,
            scenarios: operandSize === 16 ? SCENARIOS_16 : all,
          });
  return probes;
}

const IMM8 = 0x21;
const IMM_SECOND = 1;
const IMM16 = 8;
const IMM32 = 0x12345678;
const SIMM8 = 0xfd;
const REL8 = 0x10;
const RELV = 0x20;

/** The instruction bytes of `probe` under `scenario` (only far-pointer immediates depend on it). */
export function probeBytes(probe: Probe, scenario: Scenario): number[] {
  const { form, operandSize } = probe;
  const out: number[] = [];
  const le = (value: number, bytes: number): void => {
    for (let i = 0; i < bytes; i++) out.push((value >>> (8 * i)) & 0xff);
  };
  if (operandSize === 16) out.push(0x66);
  if (probe.rep) out.push(0xf3);
  const opcode = [...form.opcode];
  if (form.operands.some((o) => o.kind === 'opreg')) opcode[opcode.length - 1]! += REG_REGISTER;
  out.push(...opcode);
  if (form.hasModrm) {
    if (form.modrmByte !== undefined) out.push(form.modrmByte);
    else {
      const reg = form.ext ?? probe.regField ?? REG_REGISTER;
      if (probe.memory) {
        out.push((reg << 3) | 5);
        le(MEMORY_OPERAND, 4);
      } else out.push(0xc0 | (reg << 3) | RM_REGISTER);
    }
  }
  let immediates = 0;
  const v = operandSize / 8;
  for (const o of form.operands) {
    switch (o.kind) {
      case 'imm': {
        const size = o.size === 'v' ? operandSize : (o.size as number);
        const value =
          immediates++ > 0 ? IMM_SECOND : size === 8 ? IMM8 : size === 16 ? IMM16 : IMM32;
        le(value, size / 8);
        break;
      }
      case 'simm8':
        le(SIMM8, 1);
        break;
      case 'rel':
        if (o.size === 8) le(REL8, 1);
        else le(RELV, v);
        break;
      case 'moffs':
        le(MEMORY_OPERAND, 4);
        break;
      case 'farptr':
        le(RETURN_EIP, v);
        le(scenario.selector, 2);
        break;
      default:
        break;
    }
  }
  return out;
}

/** Decode a probe's bytes: the instruction, or why they do not decode. */
export function decodeProbe(
  probe: Probe,
): { ok: true; insn: DecodedInstruction } | { ok: false; reason: string } {
  const result = decodeBytes(new Uint8Array(probeBytes(probe, SCENARIOS[0]!)));
  return result.ok ? { ok: true, insn: result.insn } : { ok: false, reason: result.reason };
}
