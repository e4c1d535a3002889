// The Popek–Goldberg classifier: everything below is derived by executing the forms of the
// opcode table on the real executor, so these tests check the derivation against the
// literature (Robin & Irvine 2000 for the Pentium, the lecture §4.1–4.4), that the verdict
// follows the privilege checks the table gives the interpreter (a modified copy of FORMS),
// the result's shape, its coverage of every form, and its speed.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Classification,
  classify,
  type InstructionClassification,
} from '../../../src-main/engine/classify/classifier';
import { FORMS } from '../../../src-main/engine/isa/table';
import { type InstructionForm } from '../../../src-main/engine/isa/types';

let classic: Classification;
let strict: Classification;
let seconds = 0;

beforeAll(() => {
  const start = performance.now();
  classic = classify({ isa: 'classic' });
  strict = classify({ isa: 'strict' });
  seconds = (performance.now() - start) / 1000;
}, 60_000);

function entry(c: Classification, form: string): InstructionClassification {
  const found = c.instructions.find((i) => i.form === form);
  if (!found) throw new Error(`no form '${form}' in the classification`);
  return found;
}

const sensitive = (i: InstructionClassification): boolean =>
  i.controlSensitive || i.behaviorSensitive;
const isViolator = (c: Classification, form: string): boolean =>
  c.violators.some((v) => v.form === form);

describe('classic IA-32', () => {
  it('is not virtualizable by trap-and-emulate', () => {
    expect(classic.isa).toBe('classic');
    expect(classic.virtualizable).toBe(false);
    expect(classic.violators.length).toBeGreaterThan(0);
  });

  it("finds every one of Robin & Irvine's sensitive unprivileged Pentium instructions", () => {
    // Robin & Irvine (2000) list: SGDT SIDT SLDT SMSW PUSHF POPF LAR LSL VERR VERW POP sreg
    // PUSH sreg CALL far JMP far RET far STR MOV sreg, and INT n. INT n is left out here: it
    // raises a software interrupt through the IDT, i.e. control goes to the supervisor — it
    // "traps" in the sense that matters to a trap-and-emulate monitor (checked below).
    const expected: [string, RegExp][] = [
      ['SGDT', /^sgdt /],
      ['SIDT', /^sidt /],
      ['SLDT', /^sldt /],
      ['SMSW', /^smsw /],
      ['PUSHF', /^pushfw\/pushfd$/],
      ['POPF', /^popfw\/popfd$/],
      ['LAR', /^lar /],
      ['LSL', /^lsl /],
      ['VERR', /^verr /],
      ['VERW', /^verw /],
      ['POP sreg', /^pop (es|ss|ds|fs|gs)$/],
      ['PUSH sreg', /^push (cs|ss)$/],
      ['CALL far', /^call (ptr16:16\/32|m16:16\/32)$/],
      ['JMP far', /^jmp (ptr16:16\/32|m16:16\/32)$/],
      ['RET far', /^retf( imm16)?$/],
      ['STR', /^str /],
      ['MOV sreg (load)', /^mov sreg, /],
      ['MOV sreg (store)', /^mov (r16\/32|m16), sreg$/],
    ];
    const forms = classic.violators.map((v) => v.form);
    for (const [name, pattern] of expected) {
      expect(
        forms.some((f) => pattern.test(f)),
        `${name} among the violators`,
      ).toBe(true);
    }
    // every form of these that takes a segment register in ModRM is sensitive and untrapped
    for (const form of ['mov r16/32, sreg', 'mov m16, sreg', 'mov sreg, r/m16', 'push cs']) {
      expect(isViolator(classic, form), form).toBe(true);
    }
    // also beyond Robin & Irvine's list: iret (popf's IF problem) and the far-pointer loads
    for (const form of ['iretw/iretd', 'lds r16/32, m16:16/32', 'lss r16/32, m16:16/32']) {
      expect(isViolator(classic, form), form).toBe(true);
    }
  });

  it('says why: the lecture examples show up in the evidence', () => {
    const pushf = entry(classic, 'pushfw/pushfd');
    expect(pushf.behaviorSensitive).toBe(true);
    expect(pushf.evidence.join('\n')).toMatch(/'IF=0'.*0x202 vs 0x2|0x2 vs 0x202/);
    const popf = entry(classic, 'popfw/popfd');
    expect(popf.controlSensitive).toBe(true);
    expect(popf.traps).toBe(false);
    expect(popf.evidence.join('\n')).toMatch(/CPL 0 in '[^']+': IF 1→0/);
    // mov r, cs reveals the CPL
    expect(entry(classic, 'mov r16/32, sreg').evidence.join('\n')).toMatch(
      /CPL 0 vs CPL [13] in 'base': eax 0x8 vs 0x[9b]/,
    );
    // sgdt reveals where the GDT really is
    expect(entry(classic, 'sgdt m16&32').evidence.join('\n')).toMatch(/moved GDT/);
  });

  it('privileged instructions trap and are not violators', () => {
    for (const form of ['mov creg, r32', 'lgdt m16&32', 'cli', 'hlt', 'lidt m16&32', 'ltr r/m16']) {
      const i = entry(classic, form);
      expect(i.privileged, form).toBe(true);
      expect(i.traps, form).toBe(true);
      expect(sensitive(i), form).toBe(true);
      expect(isViolator(classic, form), form).toBe(false);
      expect(i.evidence.join('\n'), form).toMatch(
        /CPL 1 and 3: #GP\(0\), CPL 0: (completes|halts)/,
      );
    }
    // mov to CR0 changes the paging mode: control-sensitive
    expect(entry(classic, 'mov creg, r32').evidence.join('\n')).toMatch(/cr0 0x80000011→/);
    // iret at CPL 0 with a frame to ring 3 changes the mode
    expect(entry(classic, 'iretw/iretd').evidence.join('\n')).toMatch(/CPL 0 in '[^']+': cpl 0→3/);
  });

  it('int n, int3 and ud2 always reach the supervisor; none of them is privileged', () => {
    for (const form of ['int imm8', 'int3', 'ud2']) {
      const i = entry(classic, form);
      expect(i.traps, form).toBe(true);
      expect(i.privileged, form).toBe(false);
      expect(isViolator(classic, form), form).toBe(false);
    }
  });

  it('ordinary instructions are innocuous, relocation and moved tables notwithstanding', () => {
    for (const form of [
      'add r/m16/32, r16/32',
      'mov r16/32, r/m16/32',
      'mov r/m16/32, imm16/32',
      'jmp rel8',
      'jmp rel16/32',
      'push r16/32',
      'call rel16/32',
      'ret',
      'movsb',
      'div r/m16/32',
      'cpuid',
      'rdtsc',
      'arpl r/m16, r16',
      'lahf',
      // the selector of DS/ES/FS/GS carries no privileged state (unlike CS's and SS's RPL)
      'push ds',
    ]) {
      const i = entry(classic, form);
      expect(sensitive(i), `${form}: ${i.evidence.join(' | ')}`).toBe(false);
      expect(i.privileged, form).toBe(false);
      expect(i.traps, form).toBe(false);
    }
  });

  it('covers every form of the table (assembler-only orders as the form they encode as)', () => {
    expect(classic.uncovered).toEqual([]);
    expect(classic.instructions.map((i) => i.form).sort()).toHaveLength(FORMS.length);
    expect(new Set(classic.instructions.map((i) => i.form)).size).toBe(FORMS.length);
    const alias = entry(classic, 'mov sreg, r32');
    expect(alias.evidence[0]).toMatch(
      /assembler-only operand order: the same bytes as 'mov sreg, r\/m16'/,
    );
  });
});

describe('strict ISA', () => {
  it('is virtualizable: every sensitive form traps at CPL 1 and 3', () => {
    expect(strict.isa).toBe('strict');
    expect(strict.violators).toEqual([]);
    expect(strict.virtualizable).toBe(true);
    expect(strict.uncovered).toEqual([]);
    for (const i of strict.instructions) if (sensitive(i)) expect(i.traps, i.form).toBe(true);
  });

  it("classic's violators are privileged there", () => {
    for (const v of classic.violators) {
      const i = entry(strict, v.form);
      expect(i.traps, v.form).toBe(true);
      expect(i.privileged, v.form).toBe(true);
    }
  });
});

describe('the verdict follows the privilege checks of the table given', () => {
  const withCheck = (
    test: (f: InstructionForm) => boolean,
    change: Partial<InstructionForm>,
  ): InstructionForm[] => FORMS.map((f) => (test(f) ? { ...f, ...change } : f));

  it('classic with sidt made privileged: sidt traps, the other violators stay', () => {
    const forms = withCheck((f) => f.mnemonic === 'sidt', { privilege: 'cpl0' });
    const c = classify({ isa: 'classic', forms });
    const sidt = entry(c, 'sidt m16&32');
    expect(sidt.traps).toBe(true);
    expect(sidt.privileged).toBe(true);
    expect(c.virtualizable).toBe(false);
    expect(c.violators).toEqual(classic.violators.filter((v) => v.form !== 'sidt m16&32'));
  }, 30_000);

  it('strict with pushf left unchecked: pushf is the one violator', () => {
    const forms = withCheck((f) => f.op === 'pushf', { strictPrivilege: 'none' });
    const c = classify({ isa: 'strict', forms });
    expect(c.virtualizable).toBe(false);
    expect(c.violators).toEqual([{ mnemonic: 'pushfd', form: 'pushfw/pushfd' }]);
  }, 30_000);

  it('some forms alone, deterministically', () => {
    const some = FORMS.filter((f) => ['str', 'lsl', 'bswap'].includes(f.mnemonic));
    const once = classify({ isa: 'classic', forms: some });
    expect(once.instructions.map((i) => i.mnemonic)).toEqual(some.map((f) => f.mnemonic));
    expect(classify({ isa: 'classic', forms: some })).toEqual(once);
    // the same findings as within the whole table
    for (const i of once.instructions) expect(i).toEqual(entry(classic, i.form));
  });
});

describe('result shape and speed', () => {
  it('has exactly the documented JSON shape', () => {
    const json = JSON.parse(JSON.stringify(classic)) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual([
      'isa',
      'virtualizable',
      'instructions',
      'violators',
      'uncovered',
    ]);
    for (const i of json['instructions'] as Record<string, unknown>[]) {
      expect(Object.keys(i)).toEqual([
        'mnemonic',
        'form',
        'traps',
        'privileged',
        'controlSensitive',
        'behaviorSensitive',
        'evidence',
      ]);
      expect(typeof i['mnemonic']).toBe('string');
      expect(typeof i['form']).toBe('string');
      for (const k of ['traps', 'privileged', 'controlSensitive', 'behaviorSensitive'])
        expect(typeof i[k]).toBe('boolean');
      const evidence = i['evidence'] as unknown[];
      expect(evidence.length).toBeGreaterThan(0);
      for (const e of evidence) expect(typeof e).toBe('string');
    }
    for (const v of json['violators'] as Record<string, unknown>[])
      expect(Object.keys(v)).toEqual(['mnemonic', 'form']);
  });

  it('classifies both ISAs in a few seconds', () => {
    expect(seconds).toBeLessThan(15);
  });
});
