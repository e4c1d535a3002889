// `trap-and-emulate` (TECHNIQUES.md, lecture §4): the unmodified guest kernel runs
// deprivileged — at CPL 1, its user code at CPL 3 — and every sensitive thing it does that
// traps is emulated by the hypervisor against a VirtualCpu, with shadow page tables for its
// memory. On classic x86 the sensitive instructions that do not trap make it fail visibly;
// on the strict ISA every one traps and the guest behaves as on bare hardware.

import { type Technique } from '../../technique';
import { HYPERVISOR_BYTES } from '../../hypervisor-memory';
import { TrapAndEmulateHypervisor } from './hypervisor';

export const trapAndEmulateTechnique: Technique = {
  id: 'trap-and-emulate',
  name: 'Trap-and-emulate',
  summary:
    'the guest kernel runs deprivileged at CPL 1; every trap is emulated against a virtual CPU, memory through shadow page tables',
  reference: 'TECHNIQUES.md "trap-and-emulate"; lecture §4 (Popek & Goldberg, the popf problem)',
  kernelBuild: 'native',
  hypervisorMemoryBytes: HYPERVISOR_BYTES,
  boot({ machine, kernel, cmdline, isa, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    const hypervisor = new TrapAndEmulateHypervisor(machine, meter, isa);
    hypervisor.boot();
    return {
      run: (limits) => machine.run(limits),
      silentSensitive: () => hypervisor.watch?.result() ?? null,
    };
  },
};
