// `paravirt` (TECHNIQUES.md, lecture §5, Xen): the guest cooperates. Its `-D PARAVIRT` build
// of the same kernel source runs at CPL 1 and, instead of executing the sensitive instructions
// that classic x86 does not let a hypervisor see, calls the para-API (docs/paravirt-abi.md):
// hypercalls for what the hypervisor must check (page tables, the trap table, the kernel
// stack, devices) and plain stores to the shared-info page for the virtual interrupt mask.

import { HYPERVISOR_BYTES } from '../../hypervisor-memory';
import { type Technique } from '../../technique';
import { ParavirtHypervisor } from './hypervisor';

export const paravirtTechnique: Technique = {
  id: 'paravirt',
  name: 'Para-virtualization',
  summary:
    'the para-virtual build of the kernel runs at CPL 1 and calls the hypervisor (hypercalls, a shared-info page) instead of sensitive instructions',
  reference: 'TECHNIQUES.md "paravirt"; lecture §5 (Xen); docs/paravirt-abi.md',
  kernelBuild: 'paravirt',
  hypervisorMemoryBytes: HYPERVISOR_BYTES,
  boot({ machine, kernel, cmdline, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    const hypervisor = new ParavirtHypervisor(machine, meter);
    hypervisor.boot();
    return {
      run: (limits) => machine.run(limits),
      paravirt: () => JSON.parse(JSON.stringify(hypervisor.stats)) as typeof hypervisor.stats,
    };
  },
};
