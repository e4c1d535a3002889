// Reflection (lecture §4): delivering an event into the guest as its own CPU would have — its
// gate, its stack switch, its frame — once the hypervisor has loaded the descriptor table the
// guest's events go through (the guest's own IDT under trap-and-emulate, the trap table made
// into an IDT under para-virtualization). Faults the delivery itself raises (a page of the
// guest's stack the shadow has not mapped yet, a write to a protected page table) are the
// hypervisor's first: resolved, the delivery is retried; else they are the guest's.

import { type Cpu, type DeliverySource } from '../machine/cpu';
import { type CpuException } from '../machine/exceptions';
import { type ShadowWriteWindow } from './shadow-paging/write-window';

export function reflectEvent(
  cpu: Cpu,
  writes: ShadowWriteWindow,
  vector: number,
  errorCode: number | undefined,
  source: DeliverySource,
  resolve: (e: CpuException) => boolean,
): void {
  const previous = cpu.deliveryFaultFilter;
  cpu.deliveryFaultFilter = resolve;
  try {
    cpu.deliverDirect(vector, errorCode, source);
  } finally {
    cpu.deliveryFaultFilter = previous;
    writes.close();
  }
}
