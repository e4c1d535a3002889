// The shared-info page (docs/paravirt-abi.md "The shared-info page", Xen's shared_info and
// vcpu_info): guest memory both sides read and write. The guest masks and unmasks events with
// plain stores (its cli and sti); the hypervisor marks channels pending, keeps the summary byte
// the guest's sti tests, publishes system time and the faulting address of reflected page
// faults. The hypervisor touches it guest-physically, only between guest instructions, so any
// single guest instruction on it is atomic. Field offsets come from the ABI data.

import { NR_EVENT_CHANNELS, SHARED_INFO, SHARED_INFO_SIZE } from '../../../guest/paravirt-abi';
import { type PhysicalMemory } from '../../../machine/memory';

const CHANNELS = (1 << NR_EVENT_CHANNELS) - 1;

export class SharedInfo {
  constructor(
    private readonly memory: PhysicalMemory,
    private readonly base: number,
  ) {}

  private at(field: keyof typeof SHARED_INFO): number {
    return this.base + SHARED_INFO[field].offset;
  }

  /** The page as the guest finds it at boot: zero, events masked, the ABI version and features. */
  reset(abiVersion: number, features: number): void {
    this.memory.bytes.fill(0, this.base, this.base + SHARED_INFO_SIZE);
    this.mask = 1;
    this.memory.write32(this.at('abi_version'), abiVersion);
    this.memory.write32(this.at('features'), features >>> 0);
  }

  get mask(): number {
    return this.memory.read8(this.at('evtchn_upcall_mask'));
  }

  set mask(value: number) {
    this.memory.write8(this.at('evtchn_upcall_mask'), value);
  }

  set cr2(linear: number) {
    this.memory.write32(this.at('cr2'), linear >>> 0);
  }

  /** Channels pending and not masked on their own (evtchn_mask, the guest's IMR). */
  private unmaskedPending(): number {
    const pending = this.memory.read32(this.at('evtchn_pending'));
    const masked = this.memory.read32(this.at('evtchn_mask'));
    return pending & ~masked & CHANNELS;
  }

  private summarize(): void {
    this.memory.write8(this.at('evtchn_upcall_pending'), this.unmaskedPending() !== 0 ? 1 : 0);
  }

  /** Mark a channel pending (an edge: one already pending stays one); true if it was not. */
  raise(channel: number): boolean {
    const addr = this.at('evtchn_pending');
    const pending = this.memory.read32(addr);
    const bit = 1 << channel;
    this.memory.write32(addr, (pending | bit) >>> 0);
    this.summarize();
    return (pending & bit) === 0;
  }

  /** The lowest channel to deliver now, or -1 (events masked, or none pending unmasked). */
  deliverable(): number {
    this.summarize();
    if (this.mask !== 0) return -1;
    const ready = this.unmaskedPending();
    return ready === 0 ? -1 : 31 - Math.clz32(ready & -ready);
  }

  /** Delivery acknowledges the channel (there is no EOI). */
  acknowledge(channel: number): void {
    const addr = this.at('evtchn_pending');
    this.memory.write32(addr, (this.memory.read32(addr) & ~(1 << channel)) >>> 0);
    this.summarize();
  }

  /** system_time, under time_version (odd while it changes): PIT input-clock ticks. */
  publishTime(ticks: bigint): void {
    const version = this.at('time_version');
    const v = this.memory.read32(version);
    this.memory.write32(version, (v | 1) >>> 0);
    const time = this.at('system_time');
    this.memory.write32(time, Number(ticks & 0xffffffffn));
    this.memory.write32(time + 4, Number((ticks >> 32n) & 0xffffffffn));
    this.memory.write32(version, ((v | 1) + 1) >>> 0);
  }
}
