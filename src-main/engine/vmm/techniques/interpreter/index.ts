// `interpreter` (TECHNIQUES.md; lecture §6: software virtualization "has generally been too slow
// because the instructions were literally interpreted in software"): no guest
// instruction is executed by the hardware. The hypervisor is a software CPU: it fetches each
// guest instruction through its software TLB, decodes it, dispatches on it and performs it on
// the virtual CPU's registers, which hold all of the guest's privileged state (CPL 0, IF,
// CR0–CR4, IDTR…) as plain data, so every sensitive instruction behaves as on bare hardware
// on either ISA and nothing ever traps. Its cost is per instruction (the interpreter's
// dispatch on top of the operation itself), a TLB miss is a page walk in software, and an
// event is delivered by software reading the guest's IDT and building its frame
// (RunMeter.interpretEveryInstruction). The guest's RAM is all it can address: there is no
// hypervisor region for it to reach.

import { type Technique } from '../../technique';

export const interpreterTechnique: Technique = {
  id: 'interpreter',
  name: 'Interpreter',
  summary:
    'pure software emulation: every guest instruction is fetched, decoded and executed by the hypervisor on a virtual CPU; no direct execution, nothing traps',
  reference:
    'TECHNIQUES.md "interpreter"; lecture §6 ("too slow because the instructions were literally interpreted in software")',
  kernelBuild: 'native',
  boot({ machine, kernel, cmdline, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    meter.interpretEveryInstruction();
    return { run: (limits) => machine.run(limits) };
  },
};
