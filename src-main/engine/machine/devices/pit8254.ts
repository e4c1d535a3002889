// The 8254 programmable interval timer at 0x40–0x43: three counters clocked at 1.193182 MHz,
// the control word (mode, access mode, counter latch, read-back), counter reads, and channel 0's
// OUT driving IRQ0. Time is the modeled clock's cycles, never wall time (DESIGN.md principle 6):
// a counter's PIT ticks since its count was loaded are floor(elapsed cycles × 1193182 / f),
// computed exactly in integers, so a run's interrupts land on the same cycles every time.
//
// The model is QEMU's hw/timer/i8254.c (MACHINE.md: match QEMU's visible behaviour); where QEMU
// and the Intel 8254 datasheet (231164) differ it says so:
// - A counter is a function of d = ticks since its count was written: no per-tick state. Writing
//   a count (re)starts the counter at once in every mode (datasheet: modes 2/3 pick up a new count
//   at the end of the current period). A control word changes the mode and access mode but the
//   counter keeps running on its old count until a new one is written (datasheet: the counter
//   stops until the new count; kernels write the count right after, so nobody sees this).
// - Reload value 0 means 65536 (datasheet "Counter Loading"). BCD counting (bit 0) is recorded
//   and shown in read-back status but counting stays binary, as in QEMU.
// - OUT per mode, as QEMU's pit_get_out: mode 0 (interrupt on terminal count) rises at d = N and
//   stays high; mode 2 (rate generator) pulses high for one tick at d = kN (the datasheet's
//   one-tick low pulse inverted; the rising edge the PIC sees is at the same tick); mode 3
//   (square wave) is high for the first ⌈N/2⌉ ticks of each period and low for the rest, so it
//   rises at every d = kN, and *at the load itself* (QEMU drives the line to OUT(0) = high when
//   the count is written: a kernel that programs mode 3 gets its first IRQ0 at once). Modes 1,
//   4 and 5 follow QEMU's formulas too (gate inputs are not modeled; QEMU ignores them for
//   counting as well). Modes 6 and 7 are modes 2 and 3 (datasheet: "X" don't-care bit).
// - Reading a counter: mode 0/1/4/5 count down from N modulo 2^16; mode 2 counts N…1; mode 3
//   counts down by two twice per period (QEMU's formula). The latch command and read-back
//   command freeze count and status until read, as in QEMU; reading 0x43 returns 0.
// - Reset state (no BIOS runs here): QEMU's pit_reset: every counter in mode 3 with count 65536,
//   loaded at cycle 0, so channel 0 ticks at 18.2 Hz until the kernel reprograms it. Its IRQ0 line
//   is not driven at reset, so the first edge is at d = 65536.
// - Channel 0's IRQ0 line follows OUT: `advanceTo` raises it on each rising edge (lowering it
//   first if the falling edge in between has not been applied yet) and lowers it when OUT is
//   low; the PIC is edge-triggered so the rising edge is what matters. `nextEventAt` is the cycle
//   of the next rising edge (falling edges interrupt nobody and are applied lazily). Channels 1
//   and 2 count but drive nothing (no refresh, no speaker, no port 0x61 on this machine).
// - Wide accesses as QEMU's memory core gives them to the 8254 (no `valid.unaligned`,
//   `impl.max_access_size = 1`): unaligned ones read 0 and are dropped; aligned ones are split
//   into byte accesses (`in ax, 0x40` reads counter 0, then counter 1).

import { isUnaligned, readBytewise, StateReader, writeBytewise } from '../bus';
import {
  type InterruptLine,
  type ModeledClock,
  type PortDevice,
  type PortRange,
  type PortSize,
  type TimedDevice,
} from '../interfaces';

/** The 8254's input clock on a PC, in Hz. */
export const PIT_HZ = 1_193_182;
/** Highest modeled CPU frequency for which r × f stays exact in a double (r < PIT_HZ). */
export const PIT_MAX_CPU_HZ = Math.floor(Number.MAX_SAFE_INTEGER / PIT_HZ);

// Access modes (control word bits 5–4) and the read/write byte sequencing QEMU keeps.
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD0 = 3;
const RW_WORD1 = 4;

/** floor(a / b) for non-negative integers a ≤ 2^53, exactly. */
function idiv(a: number, b: number): number {
  return (a - (a % b)) / b;
}

interface ChannelState {
  /** reload value, 1..65536 */
  count: number;
  /** the mode as written, 0..7 */
  mode: number;
  bcd: boolean;
  /** control word bits 5–4: 1 LSB, 2 MSB, 3 LSB then MSB (0 before any control word) */
  rwMode: number;
  readState: number;
  writeState: number;
  writeLatch: number;
  /** 0: no latched count; else the byte sequence to read it with (RW_*) */
  countLatched: number;
  latchedCount: number;
  statusLatched: boolean;
  status: number;
  /** cycle at which the count was loaded */
  loadCycle: number;
}

function freshChannel(): ChannelState {
  return {
    count: 0x10000,
    mode: 3,
    bcd: false,
    rwMode: 0,
    readState: 0,
    writeState: 0,
    writeLatch: 0,
    countLatched: 0,
    latchedCount: 0,
    statusLatched: false,
    status: 0,
    loadCycle: 0,
  };
}

/** The mode that decides behaviour: 6 and 7 are 2 and 3. */
function effectiveMode(ch: ChannelState): number {
  return ch.mode >= 6 ? ch.mode - 4 : ch.mode;
}

/** OUT after d ticks (QEMU's pit_get_out). */
function outAt(ch: ChannelState, d: number): boolean {
  const n = ch.count;
  switch (effectiveMode(ch)) {
    case 0:
      return d >= n;
    case 1:
      return d < n;
    case 2:
      return d !== 0 && d % n === 0;
    case 3:
      return d % n < (n + 1) >>> 1;
    default: // 4, 5
      return d === n;
  }
}

/** The first tick after `d` at which OUT rises, or Infinity. */
function nextRisingTick(ch: ChannelState, d: number): number {
  const n = ch.count;
  switch (effectiveMode(ch)) {
    case 0:
    case 4:
    case 5:
      return d < n ? n : Infinity;
    case 2:
      if (n === 1) return d < 1 ? 1 : Infinity; // OUT stays high from tick 1
      return (idiv(d, n) + 1) * n;
    case 3:
      if (n === 1) return Infinity; // OUT never low
      return (idiv(d, n) + 1) * n;
    default: // 1: high from the load, falls at N, never rises again
      return Infinity;
  }
}

/** The counter's value after d ticks (QEMU's pit_get_count), 16 bits. */
function countAt(ch: ChannelState, d: number): number {
  const n = ch.count;
  switch (effectiveMode(ch)) {
    case 3:
      return (n - ((2 * d) % n)) & 0xffff;
    case 2:
      return (n - (d % n)) & 0xffff;
    default:
      return (n - (d % 0x10000) + 0x10000) & 0xffff;
  }
}

export class Pit8254 implements PortDevice, TimedDevice {
  readonly name = 'pit8254';
  readonly ports: readonly PortRange[] = [{ first: 0x40, last: 0x43 }];
  private readonly frequencyHz: number;
  private channels: ChannelState[] = [freshChannel(), freshChannel(), freshChannel()];
  /** the level channel 0 last drove on IRQ0 */
  private irqLevel = false;
  /** the cycle devices time has been brought up to */
  private lastCycle = 0;
  /** cycle of channel 0's next rising edge (derived state) */
  private nextEdgeCycle = 0;

  constructor(
    private readonly clock: ModeledClock,
    private readonly irq0: InterruptLine,
  ) {
    const f = clock.frequencyHz;
    if (!Number.isInteger(f) || f < 1 || f > PIT_MAX_CPU_HZ) {
      throw new RangeError(
        `PIT: the modeled clock must be an integer 1..${PIT_MAX_CPU_HZ} Hz, not ${f}`,
      );
    }
    this.frequencyHz = f;
    this.nextEdgeCycle = this.computeNextEdge();
  }

  // ---- time ------------------------------------------------------------------------------------

  /** PIT ticks of channel `ch` at `cycle`: floor((cycle − load) × PIT_HZ / f), exactly. */
  private ticks(ch: ChannelState, cycle: number): number {
    const e = cycle - ch.loadCycle;
    if (e <= 0) return 0;
    const f = this.frequencyHz;
    const r = e % f;
    return idiv(e - r, f) * PIT_HZ + idiv(r * PIT_HZ, f);
  }

  /** The first cycle at which channel `ch` has counted `t` ticks: load + ceil(t × f / PIT_HZ). */
  private cycleOfTick(ch: ChannelState, t: number): number {
    if (t === Infinity) return Infinity;
    const f = this.frequencyHz;
    const r = t % PIT_HZ;
    const p = r * f;
    return ch.loadCycle + idiv(t - r, PIT_HZ) * f + idiv(p + PIT_HZ - 1, PIT_HZ);
  }

  private computeNextEdge(): number {
    const ch = this.channels[0]!;
    return this.cycleOfTick(ch, nextRisingTick(ch, this.ticks(ch, this.lastCycle)));
  }

  private setIrq(level: boolean): void {
    this.irqLevel = level;
    if (level) this.irq0.raise();
    else this.irq0.lower();
  }

  advanceTo(cycles: number): void {
    if (cycles <= this.lastCycle) return;
    this.lastCycle = cycles;
    if (cycles < this.nextEdgeCycle) {
      // No rising edge yet; apply a falling edge if OUT has dropped since.
      if (this.irqLevel) {
        const ch = this.channels[0]!;
        if (!outAt(ch, this.ticks(ch, cycles))) this.setIrq(false);
      }
      return;
    }
    // At least one rising edge since the last call: the PIC latches one request however many
    // periods went by (as a real PIC would if the CPU had interrupts off).
    const ch = this.channels[0]!;
    if (this.irqLevel) this.irq0.lower();
    this.setIrq(true);
    if (!outAt(ch, this.ticks(ch, cycles))) this.setIrq(false);
    this.nextEdgeCycle = this.computeNextEdge();
  }

  nextEventAt(): number {
    return this.nextEdgeCycle;
  }

  /** Catch up to the CPU's present before an access looks at or changes a counter. */
  private now(): number {
    const c = this.clock.cycles;
    this.advanceTo(c);
    return Math.max(c, this.lastCycle);
  }

  // ---- ports -----------------------------------------------------------------------------------

  read(port: number, size: PortSize): number {
    if (size !== 1) {
      if (isUnaligned(port - this.ports[0]!.first, size)) return 0;
      return readBytewise(port, size, (p) => this.read(p, 1));
    }
    const a = port & 3;
    if (a === 3) return 0; // the control register is write-only; QEMU returns 0
    const ch = this.channels[a]!;
    if (ch.statusLatched) {
      ch.statusLatched = false;
      return ch.status;
    }
    if (ch.countLatched) {
      switch (ch.countLatched) {
        case RW_MSB:
          ch.countLatched = 0;
          return ch.latchedCount >>> 8;
        case RW_WORD0:
          ch.countLatched = RW_MSB;
          return ch.latchedCount & 0xff;
        default:
          ch.countLatched = 0;
          return ch.latchedCount & 0xff;
      }
    }
    const count = countAt(ch, this.ticks(ch, this.now()));
    switch (ch.readState) {
      case RW_MSB:
        return count >>> 8;
      case RW_WORD0:
        ch.readState = RW_WORD1;
        return count & 0xff;
      case RW_WORD1:
        ch.readState = RW_WORD0;
        return count >>> 8;
      default:
        return count & 0xff;
    }
  }

  write(port: number, size: PortSize, value: number): void {
    if (size !== 1) {
      if (!isUnaligned(port - this.ports[0]!.first, size)) {
        writeBytewise(port, size, value, (p, b) => this.write(p, 1, b));
      }
      return;
    }
    const val = value & 0xff;
    const a = port & 3;
    const now = this.now();
    if (a === 3) {
      const sc = val >>> 6;
      if (sc === 3) {
        // Read-back command (8254 only): bit 5 = 0 latches counts, bit 4 = 0 latches status,
        // bits 3–1 select counters 2–0.
        for (let i = 0; i < 3; i++) {
          if (!(val & (2 << i))) continue;
          const ch = this.channels[i]!;
          if (!(val & 0x20)) this.latchCount(ch, now);
          if (!(val & 0x10) && !ch.statusLatched) {
            // OUT, access mode, mode, BCD; the null-count bit is not modeled (QEMU neither).
            const out = outAt(ch, this.ticks(ch, now)) ? 0x80 : 0;
            ch.status = out | (ch.rwMode << 4) | (ch.mode << 1) | (ch.bcd ? 1 : 0);
            ch.statusLatched = true;
          }
        }
        return;
      }
      const ch = this.channels[sc]!;
      const access = (val >>> 4) & 3;
      if (access === 0) {
        this.latchCount(ch, now); // counter latch command
        return;
      }
      ch.rwMode = access;
      ch.readState = access;
      ch.writeState = access;
      ch.mode = (val >>> 1) & 7;
      ch.bcd = (val & 1) !== 0;
      if (sc === 0) this.nextEdgeCycle = this.computeNextEdge();
      return;
    }
    const ch = this.channels[a]!;
    switch (ch.writeState) {
      case RW_MSB:
        this.load(a, val << 8, now);
        break;
      case RW_WORD0:
        ch.writeLatch = val;
        ch.writeState = RW_WORD1;
        break;
      case RW_WORD1:
        this.load(a, ch.writeLatch | (val << 8), now);
        ch.writeState = RW_WORD0;
        break;
      case RW_LSB:
      default: // 0: before any control word, QEMU treats the port as LSB-only
        this.load(a, val, now);
        break;
    }
  }

  /** Freeze the current count until read (a second latch before reading is ignored). */
  private latchCount(ch: ChannelState, now: number): void {
    if (ch.countLatched) return;
    ch.latchedCount = countAt(ch, this.ticks(ch, now));
    ch.countLatched = ch.rwMode;
  }

  private load(index: number, value: number, now: number): void {
    const ch = this.channels[index]!;
    ch.count = value === 0 ? 0x10000 : value;
    ch.loadCycle = now;
    if (index === 0) {
      this.setIrq(outAt(ch, 0));
      this.nextEdgeCycle = this.computeNextEdge();
    }
  }

  // ---- inspection and snapshots ------------------------------------------------------------------

  /** Channel registers as the UI shows them. */
  inspect(): { mode: number; reload: number; count: number; out: boolean }[] {
    const now = Math.max(this.clock.cycles, this.lastCycle);
    return this.channels.map((ch) => {
      const d = this.ticks(ch, now);
      return { mode: ch.mode, reload: ch.count, count: countAt(ch, d), out: outAt(ch, d) };
    });
  }

  save(): { frequencyHz: number; lastCycle: number; irqLevel: boolean; channels: ChannelState[] } {
    return {
      frequencyHz: this.frequencyHz,
      lastCycle: this.lastCycle,
      irqLevel: this.irqLevel,
      channels: this.channels.map((c) => ({ ...c })),
    };
  }

  restore(state: unknown): void {
    const r = new StateReader(state, 'pit8254');
    const f = r.int('frequencyHz', 1, PIT_MAX_CPU_HZ);
    if (f !== this.frequencyHz) {
      throw new Error(
        `pit8254 state was saved with a ${f} Hz clock; this machine runs at ${this.frequencyHz} Hz`,
      );
    }
    const lastCycle = r.int('lastCycle', 0, Number.MAX_SAFE_INTEGER);
    const irqLevel = r.bool('irqLevel');
    const list = r.array('channels', 3);
    if (list.length !== 3)
      throw new Error(`pit8254 state: "channels" must list 3 counters, not ${list.length}`);
    const channels = list.map((c, i): ChannelState => {
      const cr = new StateReader(c, `pit8254 counter ${i}`);
      return {
        count: cr.int('count', 1, 0x10000),
        mode: cr.int('mode', 0, 7),
        bcd: cr.bool('bcd'),
        rwMode: cr.int('rwMode', 0, 3),
        readState: cr.int('readState', 0, 4),
        writeState: cr.int('writeState', 0, 4),
        writeLatch: cr.int('writeLatch', 0, 0xff),
        countLatched: cr.int('countLatched', 0, 3),
        latchedCount: cr.int('latchedCount', 0, 0xffff),
        statusLatched: cr.bool('statusLatched'),
        status: cr.int('status', 0, 0xff),
        loadCycle: cr.int('loadCycle', 0, Number.MAX_SAFE_INTEGER),
      };
    });
    this.channels = channels;
    this.lastCycle = lastCycle;
    this.irqLevel = irqLevel;
    this.nextEdgeCycle = this.computeNextEdge();
  }
}
