// `native` — the bare machine (TECHNIQUES.md): the kernel runs at CPL 0 on the simulated PC
// with nothing between it and the hardware. No hypervisor, so no traps; every event goes
// straight through the guest's own IDT. The baseline of every ratio and the reference every
// other technique's output is compared with.

import { type Technique } from '../../technique';

export const nativeTechnique: Technique = {
  id: 'native',
  name: 'Native',
  summary: 'the bare machine: the kernel runs at CPL 0, no hypervisor (the baseline)',
  reference: 'TECHNIQUES.md "native"; lecture §1 (the machine being virtualized)',
  kernelBuild: 'native',
  boot({ machine, kernel, cmdline }) {
    machine.loadKernel(kernel.image, cmdline);
    return {
      run: (limits) => machine.run(limits),
    };
  },
};
