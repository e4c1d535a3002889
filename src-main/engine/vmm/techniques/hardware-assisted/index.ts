// `hardware-assisted` and `hardware-assisted-npt` (TECHNIQUES.md, beyond the lecture's three:
// the extensions its closing section motivates): the unmodified guest kernel runs at its own
// CPL 0 in VMX non-root operation; the hypervisor sees only the exits its control structure
// selects. Memory is virtualized with shadow page tables (cr3 and page-fault exits) or with a
// nested page table walked by the CPU (two-dimensional walks, no paging exits).

import { type Technique } from '../../technique';
import { HYPERVISOR_BYTES } from '../../hypervisor-memory';
import { NestedPagingVmx, ShadowPagingVmx } from './hypervisor';

export const hardwareAssistedTechnique: Technique = {
  id: 'hardware-assisted',
  name: 'Hardware-assisted (shadow paging)',
  summary:
    'VT-x style: the guest kernel runs at its own CPL 0 in non-root mode; I/O, hlt, cpuid, CR3 loads, invlpg, page faults and interrupts exit; memory through shadow page tables',
  reference:
    'TECHNIQUES.md "hardware-assisted"; lecture §4.4 (architectures "have added virtualization extensions"); Adams & Agesen 2006',
  kernelBuild: 'native',
  hypervisorMemoryBytes: HYPERVISOR_BYTES,
  boot({ machine, kernel, cmdline, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    const hypervisor = new ShadowPagingVmx(machine, meter);
    hypervisor.boot();
    return { run: (limits) => machine.run(limits) };
  },
};

export const hardwareAssistedNptTechnique: Technique = {
  id: 'hardware-assisted-npt',
  name: 'Hardware-assisted (nested paging)',
  summary:
    'VT-x with nested paging (EPT): the guest owns its page tables, CR3 and page faults; every TLB miss walks its tables through the hypervisor’s nested table (n·m + n + m references); I/O, hlt, cpuid and interrupts exit',
  reference:
    'TECHNIQUES.md "hardware-assisted"; Intel SDM 3C ch. 28 (EPT); Bhargava et al., ASPLOS 2008 (two-dimensional page walks)',
  kernelBuild: 'native',
  hypervisorMemoryBytes: HYPERVISOR_BYTES,
  boot({ machine, kernel, cmdline, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    const hypervisor = new NestedPagingVmx(machine, meter);
    hypervisor.boot();
    return { run: (limits) => machine.run(limits) };
  },
};
