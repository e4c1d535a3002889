// QEMU's isa-debug-exit device as `-device isa-debug-exit,iobase=0xf4,iosize=0x04` places it
// (ports 0xF4–0xF7): the guest ends the run by writing a value. Owns nothing but the wiring to
// the machine's MachineControl.
//
// QEMU (hw/misc/debugexit.c): a write of 1–4 bytes, taken whole, calls exit((value << 1) | 1).
// Here the run's exit value is the value itself, and the CLI maps value & 0xFF to the process
// exit status (MACHINE.md "Command line" documents the difference). Reads return 0, as QEMU's
// debug_exit_read does. QEMU's memory core refuses a wide access that is unaligned within the
// block (`out 0xf5, ax`, `out 0xf6, eax`): it is dropped and the guest goes on running, checked
// on qemu-system-i386 7.2.

import { isUnaligned, StateReader } from '../bus';
import { type MachineControl, type PortDevice, type PortRange, type PortSize } from '../interfaces';

export const DEBUG_EXIT_BASE = 0xf4;
export const DEBUG_EXIT_SIZE = 4;

export class DebugExit implements PortDevice {
  readonly name = 'isa-debug-exit';
  readonly ports: readonly PortRange[];

  constructor(
    private readonly control: MachineControl,
    base: number = DEBUG_EXIT_BASE,
  ) {
    if (!Number.isInteger(base) || base < 0 || base > 0x10000 - DEBUG_EXIT_SIZE) {
      throw new RangeError(
        `isa-debug-exit base port must be 0..0x${(0x10000 - DEBUG_EXIT_SIZE).toString(16)}, not ${base}`,
      );
    }
    this.ports = [{ first: base, last: base + DEBUG_EXIT_SIZE - 1 }];
  }

  read(_port: number, _size: PortSize): number {
    return 0;
  }

  write(port: number, size: PortSize, value: number): void {
    if (isUnaligned(port - this.ports[0]!.first, size)) return;
    this.control.requestExit(size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff));
  }

  /** No state of its own: the exit request lives in the machine. */
  save(): Record<string, never> {
    return {};
  }

  restore(state: unknown): void {
    new StateReader(state, this.name);
  }
}
