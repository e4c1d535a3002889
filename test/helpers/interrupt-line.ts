// Test helper: an interrupt line for device tests that records its level and counts rising
// edges, in place of the PIC input a device drives on the machine.
import { type InterruptLine } from '../../src-main/engine/machine/interfaces';

/** Records the level and counts rising edges. */
export class RecordingLine implements InterruptLine {
  level = false;
  rises = 0;
  raise(): void {
    if (!this.level) this.rises++;
    this.level = true;
  }
  lower(): void {
    this.level = false;
  }
}
