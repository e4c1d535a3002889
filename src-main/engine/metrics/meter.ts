// The run meter: where a run's events are counted as they happen (DESIGN.md principle 5) and
// charged in modeled cycles by the CPU profile. It prices the CPU's hot-path counters (cycles
// per instruction form, page walks, I-cache misses), observes every event the guest kernel
// receives through its IDT, and gives techniques one way to report a trap into the hypervisor
// with what it cost. It also keeps the time series and the bounded event log. The cost
// derivation (`costBreakdown`) is event count × unit cost per kind, and it sums to the CPU's
// cycle counter exactly: that identity is what makes every number traceable.

import {
  type CostCategory,
  type CostLine,
  type EventEntry,
  type TimeSlot,
} from '../../../shared/results';
import { decodeBytes, MAX_INSTRUCTION_LENGTH, SEG_CS } from '../isa/decoder';
import { formatInstruction } from '../isa/disasm';
import { FORMS } from '../isa/table';
import { type InstructionForm } from '../isa/types';
import { type DeliverySource } from '../machine/cpu';
import { VECTOR_NAMES } from '../machine/exceptions';
import { type Machine } from '../machine/machine';
import { SetAssociativeCache } from './cache';
import { COST_KINDS, costKind, type CpuProfile, INSN_MNEMONIC_KINDS } from './profiles';

/** A modeled range of hypervisor code: the lines its handler fetches when it runs. */
export interface HandlerFootprint {
  readonly name: string;
  /** host address of the handler's code (outside every guest's physical range) */
  readonly address: number;
  readonly bytes: number;
}

/** The cost kind an instruction form is charged under in a profile. */
export function instructionKind(form: InstructionForm): string {
  if (INSN_MNEMONIC_KINDS.has(form.mnemonic)) return `insn.${form.mnemonic}`;
  if (form.flow === 'call' || form.flow === 'call-indirect') return 'insn.call';
  if (form.flow === 'return') return 'insn.ret';
  return `insn.${form.cost}`;
}

/** `pf`, `gp`, `int:0x80`, `irq:0`: the cause of an event the guest received. */
export function guestEventCause(vector: number, source: DeliverySource, irq: number): string {
  if (source === 'external') return `irq:${irq}`;
  if (source === 'software') return `int:0x${vector.toString(16)}`;
  const name = VECTOR_NAMES[vector];
  return name ? name.replace(/^#/, '').toLowerCase() : `vector:${vector}`;
}

export interface MeterOptions {
  /** event log entries kept (the rest are counted as dropped) */
  readonly eventLimit: number;
  /** guest instructions per time-series slot */
  readonly sliceInstructions: number;
}

const MOV_TO_CR = FORMS.find((f) => f.op === 'mov-to-cr')!;

/** Time-series slots kept: beyond this, neighbours merge and the slice doubles. */
export const MAX_TIME_SLOTS = 1024;

export class RunMeter {
  readonly icache: SetAssociativeCache;
  /** counts of the event kinds not counted by the CPU itself (events, technique work) */
  private readonly ledger = new Map<string, number>();
  private readonly unit: (kind: string) => number;
  readonly trapsByCause = new Map<string, number>();
  readonly guestEventsByCause = new Map<string, number>();
  trapCount = 0;
  guestEventCount = 0;
  worldSwitchCount = 0;
  worldSwitchCycles = 0;
  /** CR3 loads the hypervisor performed on the guest's behalf (a virtual CPU's context switches) */
  virtualCr3Loads = 0;
  readonly events: EventEntry[] = [];
  droppedEvents = 0;
  private sliceInstructions: number;
  private readonly slots: TimeSlot[] = [];
  private slotStart = { cycles: 0, traps: 0, guestEvents: 0, translationCycles: 0 };
  /** cycles charged to kinds of the translation category so far (binary translation) */
  private translationCycles = 0;
  /** instruction forms' cost kinds, by form id */
  private readonly formKinds: readonly string[];
  /** the run is interpreted in software: every instruction pays the interpreter's dispatch,
   *  TLB misses are software walks, events are delivered by software */
  private interpreted = false;

  constructor(
    private readonly machine: Machine,
    readonly profile: CpuProfile,
    private readonly options: MeterOptions,
  ) {
    this.unit = (kind) => {
      const c = profile.costs[kind];
      if (!c) throw new Error(`profile ${profile.id} has no cost for '${kind}'`);
      return c.cycles;
    };
    this.sliceInstructions = options.sliceInstructions;
    const { sizeBytes, ways, lineBytes } = profile.icache;
    this.icache = new SetAssociativeCache(sizeBytes, ways, lineBytes);
    this.formKinds = FORMS.map(instructionKind);
    const cpu = machine.cpu;
    this.priceCpu();
    cpu.nestedReferenceCycles = this.unit('mmu.nestedReference');
    cpu.icache = this.icache;
    cpu.icacheMissCycles = this.unit('cache.icacheMiss');
    cpu.observer = { delivered: (v, e, s) => this.guestEvent(v, e, s) };
  }

  /**
   * Price the run as interpreted (the `interpreter` technique): each instruction the CPU
   * retires or faults on also costs `interp.dispatch`, each TLB miss is an `interp.walk`
   * instead of a hardware walk, and each event delivered costs `interp.event` on top of its
   * delivery. Call before the run starts.
   */
  interpretEveryInstruction(): void {
    this.interpreted = true;
    this.priceCpu();
  }

  /** What a TLB miss is charged as: a hardware walk, or the interpreter's software one. */
  private get walkKind(): string {
    return this.interpreted ? 'interp.walk' : 'mmu.walk';
  }

  /** The CPU's own prices: each instruction form's (with the interpreter's dispatch when the
   *  run is interpreted), a faulting instruction's, a page walk's. */
  private priceCpu(): void {
    const cpu = this.machine.cpu;
    const dispatch = this.interpreted ? this.unit('interp.dispatch') : 0;
    FORMS.forEach((f) => (cpu.formCycles[f.id] = this.unit(this.formKinds[f.id]!) + dispatch));
    cpu.faultingCycles = this.unit('insn.faulting') + dispatch;
    cpu.walkCycles = this.unit(this.walkKind);
  }

  /** Charge `count` events of `kind` now: counted, and the modeled clock moves on. */
  charge(kind: string, count = 1): number {
    const cycles = this.unit(kind) * count;
    this.ledger.set(kind, (this.ledger.get(kind) ?? 0) + count);
    if (costKind(kind).category === 'translation') this.translationCycles += cycles;
    this.machine.cpu.cycles += cycles;
    return cycles;
  }

  /** An event the guest kernel received through its IDT (counted natively by the CPU's
   *  delivery; a hypervisor that reflects an event into the guest calls this too). */
  guestEvent(vector: number, _errorCode: number | undefined, source: DeliverySource): void {
    const cause = guestEventCause(vector, source, this.machine.pic.lastIrq);
    this.guestEventCount++;
    this.guestEventsByCause.set(cause, (this.guestEventsByCause.get(cause) ?? 0) + 1);
    const kind =
      source === 'external'
        ? 'event.interrupt'
        : source === 'software'
          ? 'event.softint'
          : vector === 14
            ? 'event.pagefault'
            : 'event.exception';
    let cost = this.charge(kind);
    if (this.interpreted) cost += this.charge('interp.event');
    this.log('guest', cause, cost, source === 'external' ? this.machine.cpu.eip : undefined);
  }

  /**
   * A trap into the hypervisor: counted by cause, its work charged kind by kind, its handler's
   * code fed to the I-cache. Returns the modeled cycles it cost.
   */
  trap(
    cause: string,
    charges: readonly (readonly [kind: string, count: number])[],
    handler?: HandlerFootprint,
    /** what the hypervisor was told of the event (a VM exit's qualification), for the log */
    detail?: string,
  ): number {
    this.trapCount++;
    this.trapsByCause.set(cause, (this.trapsByCause.get(cause) ?? 0) + 1);
    let cost = 0;
    for (const [kind, count] of charges) {
      const c = this.charge(kind, count);
      cost += c;
      if (costKind(kind).category === 'worldSwitch') {
        // a round trip counts once: a VM exit's entry back into the guest completes it
        if (kind !== 'vmx.entry') this.worldSwitchCount += count;
        this.worldSwitchCycles += c;
      }
    }
    if (handler) cost += this.runHandler(handler);
    this.log('trap', cause, cost, undefined, detail);
    return cost;
  }

  /** Fetch a handler's code lines through the I-cache; misses are charged as usual. */
  runHandler(handler: HandlerFootprint): number {
    const missed = this.icache.accessRange(handler.address, handler.bytes);
    return missed > 0 ? this.charge('cache.icacheMiss', missed) : 0;
  }

  private log(
    kind: EventEntry['kind'],
    cause: string,
    cost: number,
    eip?: number,
    detail?: string,
  ): void {
    if (this.events.length >= this.options.eventLimit) {
      this.droppedEvents++;
      return;
    }
    const cpu = this.machine.cpu;
    const at = eip ?? cpu.insnStart;
    const { bytes, disasm } = this.instructionAt(at);
    this.events.push({
      instruction: cpu.instructions,
      cycle: cpu.cycles,
      eip: at,
      bytes,
      disasm,
      kind,
      cause,
      cost,
      ...(detail === undefined ? {} : { detail }),
    });
  }

  /** The bytes and disassembly of the instruction at CS:eip, read without side effects. */
  private instructionAt(eip: number): { bytes: string; disasm: string } {
    const cpu = this.machine.cpu;
    const raw: number[] = [];
    try {
      for (let i = 0; i < MAX_INSTRUCTION_LENGTH; i++) {
        const linear = (cpu.segBase[SEG_CS]! + eip + i) >>> 0;
        const phys = cpu.peekPhysical(linear);
        if (phys === undefined) break;
        raw.push(cpu.memory.read8(phys));
      }
    } catch {
      // beyond RAM: keep what was read
    }
    if (raw.length === 0) return { bytes: '', disasm: '(code not mapped)' };
    const decoded = decodeBytes(Uint8Array.from(raw));
    if (!decoded.ok) return { bytes: hex(raw.slice(0, 4)), disasm: `(${decoded.reason})` };
    return {
      bytes: hex(raw.slice(0, decoded.insn.length)),
      disasm: formatInstruction(decoded.insn, eip),
    };
  }

  /** Close the current time-series slot (call at each slice boundary and at the end). */
  sample(): void {
    const cpu = this.machine.cpu;
    const last = this.slots[this.slots.length - 1];
    if (last && last.instructions === cpu.instructions) return;
    this.slots.push({
      instructions: cpu.instructions,
      cycles: cpu.cycles - this.slotStart.cycles,
      traps: this.trapCount - this.slotStart.traps,
      guestEvents: this.guestEventCount - this.slotStart.guestEvents,
      translationCycles: this.translationCycles - this.slotStart.translationCycles,
    });
    this.slotStart = {
      cycles: cpu.cycles,
      traps: this.trapCount,
      guestEvents: this.guestEventCount,
      translationCycles: this.translationCycles,
    };
    if (this.slots.length > MAX_TIME_SLOTS) {
      // merge neighbours: deterministic, and the series keeps covering the whole run
      const merged: TimeSlot[] = [];
      for (let i = 0; i < this.slots.length; i += 2) {
        const a = this.slots[i]!;
        const b = this.slots[i + 1];
        merged.push(
          b
            ? {
                instructions: b.instructions,
                cycles: a.cycles + b.cycles,
                traps: a.traps + b.traps,
                guestEvents: a.guestEvents + b.guestEvents,
                translationCycles: (a.translationCycles ?? 0) + (b.translationCycles ?? 0),
              }
            : a,
        );
      }
      this.slots.splice(0, this.slots.length, ...merged);
      this.sliceInstructions *= 2;
    }
  }

  /** What one CR3 load costs: the unit of the kind `mov cr3, r32` is priced under. */
  cr3LoadCycles(): number {
    return this.unit(this.formKinds[MOV_TO_CR.id]!);
  }

  /** Guest instructions per slot now (it doubles when slots merge). */
  get slice(): number {
    return this.sliceInstructions;
  }

  timeSeries(): { sliceInstructions: number; slots: TimeSlot[] } {
    return { sliceInstructions: this.sliceInstructions, slots: [...this.slots] };
  }

  /** Every event kind with its count, unit cost and source; sums to the CPU's cycles. */
  costBreakdown(): CostLine[] {
    const cpu = this.machine.cpu;
    const counts = new Map<string, number>();
    const add = (kind: string, n: number): void => {
      if (n > 0) counts.set(kind, (counts.get(kind) ?? 0) + n);
    };
    FORMS.forEach((f) => add(this.formKinds[f.id]!, cpu.formCounts[f.id]!));
    add('insn.faulting', cpu.faultingInstructions);
    if (this.interpreted) {
      let retired = cpu.faultingInstructions;
      for (const n of cpu.formCounts) retired += n;
      add('interp.dispatch', retired);
    }
    add(this.walkKind, cpu.pageWalks);
    add('mmu.nestedReference', cpu.nestedReferences);
    // I-cache misses: the CPU's fetches plus handler fetches (already in the ledger)
    const handlerMisses = this.ledger.get('cache.icacheMiss') ?? 0;
    add('cache.icacheMiss', this.icache.misses - handlerMisses);
    add('idle', cpu.idleCycles);
    for (const [kind, n] of this.ledger) add(kind, n);
    const order = new Map(COST_KINDS.map((k, i) => [k.kind, i]));
    return [...counts.entries()]
      .sort((a, b) => (order.get(a[0]) ?? 1e9) - (order.get(b[0]) ?? 1e9))
      .map(([kind, count]): CostLine => {
        const unitCycles = this.unit(kind);
        return {
          kind,
          category: costKind(kind).category,
          count,
          unitCycles,
          cycles: count * unitCycles,
          source: this.profile.costs[kind]!.source,
        };
      });
  }

  /** Cycles per category, from the breakdown. */
  static cyclesByCategory(lines: readonly CostLine[]): Record<CostCategory, number> {
    const out: Record<CostCategory, number> = {
      guest: 0,
      hypervisor: 0,
      worldSwitch: 0,
      translation: 0,
      pageWalk: 0,
      cacheMiss: 0,
      idle: 0,
    };
    for (const l of lines) out[l.category] += l.cycles;
    return out;
  }
}

function hex(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}
