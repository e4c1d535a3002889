// VMX non-root operation of the CPU, in isolation: the two-dimensional walk of nested paging
// (its references counted one by one, the TLB caching linear → host-physical, a write the
// nested table forbids an EPT violation), CR0/CR4 read shadows, and instruction exits after
// the instruction's own privilege check.
import { describe, expect, it } from 'vitest';
import { CR0_PE, CR0_PG, CR0_WP } from '../../../src-main/engine/machine/cpu';
import { createMachine } from '../../../src-main/engine/machine/machine';
import { EptViolation, InstructionExit } from '../../../src-main/engine/machine/vmx';
import { FORMS } from '../../../src-main/engine/isa/table';

const GUEST = 4 << 20;
const ROOT = GUEST; // the nested directory: first page above the guest's RAM
const P = 1;
const W = 2;

/** A 4 MiB guest whose linear 0x400000 maps to guest-physical 0x3000 and linear 0x401000 to
 *  guest-physical 0x400000 (beyond its RAM); the nested table maps RAM to itself and the rest
 *  read-only to one host page. */
function nestedMachine() {
  const m = createMachine({ memoryBytes: GUEST, hypervisorBytes: 1 << 20 });
  const mem = m.memory;
  mem.write32(0x1000 + 1 * 4, 0x2000 | P | W); // PDE 1 → table at 0x2000
  mem.write32(0x2000 + 0 * 4, 0x3000 | P | W); // 0x400000 → 0x3000
  mem.write32(0x2000 + 1 * 4, 0x400000 | P | W); // 0x401000 → 0x400000 (beyond RAM)
  mem.write32(ROOT + 0, (ROOT + 0x1000) | P | W);
  mem.write32(ROOT + 4, (ROOT + 0x2000) | P | W);
  for (let i = 0; i < 1024; i++) {
    mem.write32(ROOT + 0x1000 + i * 4, (i << 12) | P | W);
    mem.write32(ROOT + 0x2000 + i * 4, (ROOT + 0x3000) | P); // read-only "unassigned"
  }
  mem.write32(ROOT + 0x3000, 0xffffffff);
  const cpu = m.cpu;
  cpu.nested = { root: ROOT };
  cpu.cr3 = 0x1000;
  cpu.cr0 = (CR0_PE | CR0_PG) >>> 0;
  cpu.flushTlb();
  return { m, cpu };
}

describe('nested paging', () => {
  it('walks n·m + n + m = 8 entries on a 2-level miss, none on a hit', () => {
    const { cpu } = nestedMachine();
    expect(cpu.translate(0x400010, false, false)).toBe(0x3010);
    expect(cpu.pageWalks).toBe(1);
    expect(cpu.nestedReferences).toBe(6); // + the guest's own 2 = 8
    expect(cpu.translate(0x400020, true, false)).toBe(0x3020);
    expect(cpu.nestedReferences).toBe(6 + 8 - 2); // the write re-walks to set the dirty bit
  });

  it('walks only the nested table (m = 2) while the guest has paging off', () => {
    const { cpu } = nestedMachine();
    cpu.cr0 = CR0_PE;
    cpu.flushTlb();
    expect(cpu.translate(0x5004, false, false)).toBe(0x5004);
    expect(cpu.pageWalks).toBe(0);
    expect(cpu.nestedReferences).toBe(2);
  });

  it('reads beyond RAM from the hypervisor-chosen page; a write there is an EPT violation', () => {
    const { cpu } = nestedMachine();
    expect(cpu.read32(0x401000)).toBe(0xffffffff);
    let thrown: unknown;
    try {
      cpu.write32(0x401000, 1);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(EptViolation);
    expect((thrown as EptViolation).guestPhysical).toBe(0x400000);
    expect((thrown as EptViolation).write).toBe(true);
  });

  it('never reaches host memory the nested table does not map', () => {
    const { cpu } = nestedMachine();
    // guest-physical 0x400000 is host 0x400000 without nesting: the nested directory itself
    expect(cpu.peekPhysical(0x401000)).toBe(ROOT + 0x3000);
  });
});

describe('CR0/CR4 read shadows', () => {
  it('show the guest its own value in the bits the hypervisor owns; writes keep them', () => {
    const m = createMachine({ memoryBytes: GUEST });
    const cpu = m.cpu;
    cpu.cr0 = (CR0_PE | CR0_PG | CR0_WP | 0x10) >>> 0;
    cpu.cr0GuestHostMask = (CR0_PG | CR0_WP) >>> 0;
    cpu.cr0ReadShadow = CR0_PE | 0x10;
    expect(cpu.visibleCr0).toBe(CR0_PE | 0x10);
  });
});

describe('instruction exits', () => {
  it('exit after the privilege check, before the instruction runs', () => {
    const m = createMachine({ memoryBytes: GUEST });
    const cpu = m.cpu;
    // cpuid; hlt at 0x1000
    m.memory.load(0x1000, Uint8Array.from([0x0f, 0xa2, 0xf4]));
    cpu.eip = 0x1000;
    const exits: string[] = [];
    cpu.vmx = {
      exits: () => true,
      instructionExit: (e: InstructionExit) => {
        exits.push(e.insn.form.mnemonic);
        cpu.eip = cpu.insnStart + e.insn.length; // the hypervisor skips it
        if (e.insn.form.mnemonic === 'hlt') cpu.halted = true;
      },
      eptViolation: () => {
        throw new Error('no EPT here');
      },
    };
    m.interpreter.setExiting(
      FORMS.filter((f) => f.op === 'cpuid' || f.op === 'hlt').map((f) => f.id),
    );
    cpu.regs[0] = 0;
    m.interpreter.runBatch(1e9, 100);
    expect(exits).toEqual(['cpuid', 'hlt']);
    // cpuid did not run: EAX is as it was
    expect(cpu.regs[0]).toBe(0);
  });
});
