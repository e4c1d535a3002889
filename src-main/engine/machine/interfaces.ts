// The contracts between the parts of the simulated PC: physical memory, the port bus and the
// devices on it, interrupt lines, the modeled clock, and how a run ends. The CPU, the devices,
// the multiboot loader and (later) the hypervisor techniques meet only through these.

/** Guest-physical memory: RAM from address 0, little-endian. */
export interface PhysicalMemoryAccess {
  /** RAM size in bytes */
  readonly size: number;
  read8(addr: number): number;
  read16(addr: number): number;
  read32(addr: number): number;
  write8(addr: number, value: number): void;
  write16(addr: number, value: number): void;
  write32(addr: number, value: number): void;
  /** Copy bytes into RAM (loader); bytes beyond RAM are an error for the caller to report. */
  load(addr: number, bytes: Uint8Array): void;
}

export type PortSize = 1 | 2 | 4;

/** An inclusive range of I/O ports a device answers. */
export interface PortRange {
  readonly first: number;
  readonly last: number;
}

/** Anything with state a snapshot must capture. */
export interface Stateful {
  save(): unknown;
  restore(state: unknown): void;
}

/** A device on the I/O port bus. It declares its ports and knows nothing of the UI. */
export interface PortDevice extends Stateful {
  readonly name: string;
  readonly ports: readonly PortRange[];
  /** Value of an IN of `size` bytes at `port` (a port inside one of `ports`). */
  read(port: number, size: PortSize): number;
  write(port: number, size: PortSize, value: number): void;
}

/** An interrupt request line into the PIC (the ISA bus IRQ0–15). */
export interface InterruptLine {
  raise(): void;
  lower(): void;
}

/** What the CPU asks of the interrupt controller. */
export interface InterruptController {
  /** an unmasked request is pending (the CPU's INTR pin) */
  hasInterrupt(): boolean;
  /** INTA cycle: the vector of the highest-priority pending request, now in service */
  acknowledge(): number;
}

/**
 * The modeled clock: cycles advance with executed instructions (never with wall time), so runs
 * are deterministic. Devices that tick (the PIT) schedule their next event in cycles.
 */
export interface ModeledClock {
  /** cycles elapsed since reset */
  readonly cycles: number;
  /** modeled CPU frequency in Hz (MACHINE.md: 1 GHz until CPU profiles exist) */
  readonly frequencyHz: number;
}

/** A device whose state changes with modeled time. */
export interface TimedDevice {
  /** Bring the device up to `cycles` (raising interrupt lines for events on the way). */
  advanceTo(cycles: number): void;
  /** The cycle of the device's next event, or Infinity when none is scheduled. */
  nextEventAt(): number;
}

/** Why a run ended. */
export type EndReason =
  | { readonly kind: 'exit'; readonly code: number }
  | { readonly kind: 'instruction-limit' }
  | { readonly kind: 'halted'; readonly eip: number }
  | { readonly kind: 'triple-fault'; readonly eip: number; readonly detail: string }
  | { readonly kind: 'cancelled' };

/** Where devices report that the machine must stop (isa-debug-exit). */
export interface MachineControl {
  requestExit(code: number): void;
}
