// `binary-translation` (TECHNIQUES.md, lecture §6, VMware): the unmodified guest kernel is
// rewritten on the fly, one translation unit at a time, into compiled code fragments in a
// translation cache outside the guest's memory; the CPU runs those at CPL 1 and never the
// kernel's own code. Innocuous instructions are copied unchanged, control flow is rewritten and
// chained, sensitive instructions become inline safe sequences or callouts into the
// hypervisor. Guest user code runs directly. Memory is virtualized with shadow page tables.

import { type Technique } from '../../technique';
import { HYPERVISOR_BYTES } from '../../hypervisor-memory';
import { BinaryTranslationHypervisor } from './hypervisor';

export const binaryTranslationTechnique: Technique = {
  id: 'binary-translation',
  name: 'Binary translation',
  summary:
    'the guest kernel is translated on the fly into a translation cache: innocuous code copied, control flow chained, sensitive instructions inline or as callouts; user code runs directly',
  reference: 'TECHNIQUES.md "binary-translation"; lecture §6 (VMware; Adams & Agesen 2006)',
  kernelBuild: 'native',
  hypervisorMemoryBytes: HYPERVISOR_BYTES,
  boot({ machine, kernel, cmdline, isa, meter }) {
    machine.loadKernel(kernel.image, cmdline);
    const hypervisor = new BinaryTranslationHypervisor(machine, meter, isa);
    hypervisor.boot();
    return {
      run: (limits) => machine.run(limits),
      binaryTranslation: () => hypervisor.metrics(),
      translationCache: () => hypervisor.tc.dump(),
    };
  },
};
