// CPU profiles: the cost model's data. A profile gives the modeled clock, the instruction
// cache and TLB geometry, and the unit cost (in cycles) of every event kind the engine counts,
// each with where the number comes from. Cycles are event counts × these unit costs and
// nothing else (TECHNIQUES.md "Cost model"): no factor per workload or per technique.
//
// Sources, cited per number below:
//   [AA06] K. Adams, O. Agesen, "A Comparison of Software and Hardware Techniques for x86
//          Virtualization", ASPLOS 2006 (Pentium 4 672 and Core 2 measurements).
//   [Fog]  A. Fog, "Instruction tables" and "The microarchitecture of Intel, AMD and VIA CPUs"
//          (latencies of representative instructions; approximate, as those tables say).
//   [KVM]  VMCALL round trip on Sandy Bridge-E under KVM, 1,600–1,700 cycles (TECHNIQUES.md).
//   [ISA]  a legacy ISA port access takes about 1 µs: the reason Linux's io_delay writes to
//          port 0x80 (an I/O-bound workload therefore costs the same microsecond everywhere).
// Numbers marked "assumption" have no published figure; the comment says how they were set.

import { type CostCategory } from '../../../shared/results';
import { type CostClass } from '../isa/types';

export interface UnitCost {
  readonly cycles: number;
  readonly source: string;
}

export interface CacheGeometry {
  readonly sizeBytes: number;
  readonly ways: number;
  readonly lineBytes: number;
  readonly source: string;
}

export interface CpuProfile {
  readonly id: string;
  readonly name: string;
  readonly frequencyHz: number;
  readonly frequencySource: string;
  readonly icache: CacheGeometry;
  /** modeled TLB entries (4-way set-associative) */
  readonly tlbEntries: number;
  readonly tlbSource: string;
  /** unit cost per event kind; every kind of COST_KINDS is present */
  readonly costs: Readonly<Record<string, UnitCost>>;
}

/** What an event kind is and which cycle category it is charged to. */
export interface CostKind {
  readonly kind: string;
  readonly category: CostCategory;
  readonly description: string;
}

const CLASS_DESCRIPTIONS: Record<CostClass, string> = {
  alu: 'register arithmetic, logic, moves, flag operations',
  mul: 'mul, imul',
  div: 'div, idiv',
  branch: 'jmp, jcc, loop',
  memory: 'moves to and from memory',
  string: 'one iteration of movs/stos/lods/cmps/scas',
  stack: 'push, pop, enter, leave, pushf, popf',
  io: 'in, out, ins, outs: an access to an I/O port',
  system: 'segment loads, descriptor-table reads, int n, iret, far transfers, hlt',
  serializing: 'control-register writes, lgdt/lidt, invlpg, cpuid, wbinvd',
};

/**
 * Every event kind the engine charges. Instruction kinds: one per cost class of the opcode
 * table, plus the mnemonics a profile prices apart (INSN_MNEMONIC_KINDS).
 */
export const COST_KINDS: readonly CostKind[] = [
  ...(Object.keys(CLASS_DESCRIPTIONS) as CostClass[]).map((c): CostKind => ({
    kind: `insn.${c}`,
    category: 'guest',
    description: CLASS_DESCRIPTIONS[c],
  })),
  { kind: 'insn.call', category: 'guest', description: 'near call' },
  { kind: 'insn.ret', category: 'guest', description: 'near return' },
  { kind: 'insn.cli', category: 'guest', description: 'cli' },
  { kind: 'insn.sti', category: 'guest', description: 'sti' },
  {
    kind: 'insn.faulting',
    category: 'guest',
    description: 'an instruction that raised an exception or int n (its delivery is event.*)',
  },
  {
    kind: 'event.exception',
    category: 'guest',
    description: 'an exception delivered through the IDT to the guest kernel, with its iret',
  },
  {
    kind: 'event.pagefault',
    category: 'guest',
    description: 'a page fault delivered through the IDT to the guest kernel, with its iret',
  },
  {
    kind: 'event.softint',
    category: 'guest',
    description: 'int n (a system call) delivered through the IDT, with its iret',
  },
  {
    kind: 'event.interrupt',
    category: 'guest',
    description: 'an external interrupt (PIC) acknowledged and delivered, with its iret',
  },
  { kind: 'mmu.walk', category: 'pageWalk', description: 'a TLB miss: a 2-level page walk' },
  {
    kind: 'mmu.nestedReference',
    category: 'pageWalk',
    description:
      'nested paging: one entry of the nested page table read by a two-dimensional walk (n·m + n + m references per TLB miss)',
  },
  {
    kind: 'interp.dispatch',
    category: 'hypervisor',
    description:
      "the interpreter's work per guest instruction: fetch through its software TLB, decode, dispatch (on top of the operation itself)",
  },
  {
    kind: 'interp.walk',
    category: 'pageWalk',
    description:
      "a miss in the interpreter's software TLB: the guest's 2-level tables walked in software",
  },
  {
    kind: 'interp.event',
    category: 'hypervisor',
    description:
      "an exception or interrupt delivered by the interpreter: the guest's IDT gate and TSS read and its frame built in software",
  },
  {
    kind: 'vmx.exit',
    category: 'worldSwitch',
    description: "a VM exit: the guest's state saved into the VMCS, the hypervisor's loaded",
  },
  {
    kind: 'vmx.entry',
    category: 'worldSwitch',
    description: "a VM entry (vmresume): the guest's state checked and loaded back",
  },
  {
    kind: 'vmx.vmread',
    category: 'hypervisor',
    description: 'a vmread of the VMCS (exit reason, qualification, guest state)',
  },
  {
    kind: 'vmx.vmwrite',
    category: 'hypervisor',
    description: 'a vmwrite to the VMCS (guest RIP, an injected event, a control register)',
  },
  {
    kind: 'cache.icacheMiss',
    category: 'cacheMiss',
    description: 'an instruction-cache miss, filled from L2',
  },
  {
    kind: 'idle',
    category: 'idle',
    description: 'a cycle spent halted, waiting for the next interrupt',
  },
  {
    kind: 'vmm.worldSwitch',
    category: 'worldSwitch',
    description:
      'a trap into the hypervisor and back: the exception delivery to ring 0 and its iret',
  },
  {
    kind: 'vmm.emulate',
    category: 'hypervisor',
    description: 'decoding a trapped instruction and emulating it against the virtual CPU',
  },
  {
    kind: 'vmm.reflect',
    category: 'hypervisor',
    description:
      'reflecting an event into the guest: its IDT gate and TSS read, its frame built in software',
  },
  {
    kind: 'vmm.shadowFill',
    category: 'hypervisor',
    description:
      "a hidden page fault: the guest's page tables walked in software, a shadow entry filled",
  },
  {
    kind: 'vmm.shadowPrefill',
    category: 'hypervisor',
    description:
      'one entry of a whole guest page table validated and filled into the shadow at its first use (para-virtual paging), without a fault of its own',
  },
  {
    kind: 'vmm.shadowSync',
    category: 'hypervisor',
    description:
      'a trapped guest page-table write: the page compared with its copy, derived shadow entries dropped',
  },
  {
    kind: 'vmm.shadowSwitch',
    category: 'hypervisor',
    description: 'a guest CR3 load: the shadow directory of the new address space found or built',
  },
  {
    kind: 'vmm.hypercall',
    category: 'hypervisor',
    description:
      'a para-virtual hypercall dispatched: the number looked up, the arguments checked, the result returned',
  },
  {
    kind: 'vmm.mmuUpdateEntry',
    category: 'hypervisor',
    description:
      'one mmu_update entry: the frame it names checked against the guest’s memory and the page’s use, the entry and its shadow updated',
  },
  {
    kind: 'vmm.guestCopy',
    category: 'hypervisor',
    description:
      'one 32-bit word copied between guest memory and the hypervisor through the guest’s mapping (hypercall buffers, trap tables, frames)',
  },
  {
    kind: 'vmm.portAccess',
    category: 'hypervisor',
    description: 'a device port access the hypervisor makes for the guest (io_out / io_in)',
  },
  {
    kind: 'bt.translate',
    category: 'translation',
    description:
      'binary translation: one guest instruction read, decoded and compiled into a fragment of the translation cache',
  },
  {
    kind: 'bt.callout',
    category: 'hypervisor',
    description:
      'binary translation: a callout from a fragment into the hypervisor and back (no world switch: the monitor shares the address space)',
  },
  {
    kind: 'bt.chain',
    category: 'translation',
    description:
      'binary translation: an exit from the cache resolved: the target fragment looked up (or translated) and the jump patched to it',
  },
  {
    kind: 'bt.lookup',
    category: 'hypervisor',
    description:
      'binary translation: an indirect jump, call or return: its guest target found in the map of fragments',
  },
  {
    kind: 'bt.invalidate',
    category: 'translation',
    description:
      'binary translation: a fragment dropped because the guest changed the code it was translated from, its chained jumps undone',
  },
];

/** Mnemonics with their own cost kind (else the form's cost class decides). */
export const INSN_MNEMONIC_KINDS: ReadonlySet<string> = new Set(['cli', 'sti']);

const KIND_BY_NAME = new Map(COST_KINDS.map((k) => [k.kind, k]));

export function costKind(kind: string): CostKind {
  const k = KIND_BY_NAME.get(kind);
  if (!k) throw new Error(`unknown cost kind '${kind}'`);
  return k;
}

const ISA_IO = '[ISA] ≈1 µs per port access';

const P4: CpuProfile = {
  id: 'p4-2006',
  name: 'Pentium 4 672 (Prescott, 3.8 GHz), 2006',
  frequencyHz: 3_800_000_000,
  frequencySource: '[AA06] test machine: Pentium 4 672, 3.8 GHz',
  icache: {
    sizeBytes: 16 * 1024,
    ways: 8,
    lineBytes: 64,
    source:
      'the P4 has a 12K-µop trace cache instead of an L1I; approximated as 16 KiB, 8-way, 64-byte lines (assumption: ~1.3 bytes of x86 per µop)',
  },
  tlbEntries: 64,
  tlbSource: '[Fog] Pentium 4 data TLB: 64 entries',
  costs: {
    'insn.alu': { cycles: 1, source: '[Fog] Prescott: add/sub/logic r,r latency 1' },
    'insn.mul': { cycles: 10, source: '[Fog] Prescott: imul r32 latency ≈10' },
    'insn.div': { cycles: 66, source: '[Fog] Prescott: div r32 latency 66–80 (low end)' },
    'insn.branch': { cycles: 2, source: '[Fog] P4: taken branches issue at most one per 2 clocks' },
    'insn.memory': { cycles: 4, source: '[Fog] Prescott: L1 data load-to-use latency 4' },
    'insn.string': {
      cycles: 2,
      source: 'assumption: one rep iteration ≈ a load and a store in flight, 2 clocks',
    },
    'insn.stack': { cycles: 2, source: '[Fog] P4: push/pop ≈1.5 clocks, rounded up' },
    'insn.io': { cycles: 3800, source: `${ISA_IO} = 3,800 cycles at 3.8 GHz` },
    'insn.system': {
      cycles: 20,
      source: '[Fog] P4: segment-register loads and descriptor reads ≈20 clocks',
    },
    'insn.serializing': {
      cycles: 200,
      source:
        '[Fog] P4: serializing instructions (cpuid, mov crN) drain the 31-stage pipeline, ≈200',
    },
    'insn.call': { cycles: 5, source: '[AA06] Fig. 4 native call/ret pair 11 cycles, split 5 + 6' },
    'insn.ret': { cycles: 6, source: '[AA06] Fig. 4 native call/ret pair 11 cycles, split 5 + 6' },
    'insn.cli': { cycles: 60, source: '[AA06] native cli 60 cycles' },
    'insn.sti': { cycles: 60, source: 'assumption: as [AA06] native cli (60 cycles)' },
    'insn.faulting': {
      cycles: 1,
      source: 'assumption: the issue slot of the faulting instruction; its delivery is event.*',
    },
    'event.exception': {
      cycles: 889,
      source:
        '[AA06] native divzero 889 cycles (fault, minimal handler, iret: an upper bound for delivery + iret)',
    },
    'event.pagefault': {
      cycles: 1093,
      source: '[AA06] native pgfault 1,093 cycles (an upper bound for delivery + iret)',
    },
    'event.softint': {
      cycles: 889,
      source: 'assumption: the same IDT gate delivery + iret as [AA06] divzero (889)',
    },
    'event.interrupt': {
      cycles: 889,
      source: 'assumption: the same IDT gate delivery + iret as [AA06] divzero (889)',
    },
    'mmu.walk': {
      cycles: 54,
      source: '[Fog] Prescott L2 latency ≈27; a 2-level walk is two dependent L2 hits',
    },
    'interp.dispatch': {
      cycles: 80,
      source:
        'assumption: a Bochs-class interpreter loop of ≈40 host instructions per guest instruction (software-TLB fetch, decode-table lookup, indirect dispatch, lazy flags) at ≈2 cycles each on the P4, whose 31-stage pipeline pays for the mispredicted indirect dispatch',
    },
    'interp.walk': {
      cycles: 300,
      source:
        'assumption: two dependent L2 hits (54, as mmu.walk) and ≈120 instructions of permission and A/D-bit checks in software, ≈2 cycles each on the P4',
    },
    'interp.event': {
      cycles: 600,
      source:
        'assumption: as vmm.reflect (≈300 instructions to read the gate and TSS and push the frame)',
    },
    'vmx.exit': { cycles: 1931, source: '[AA06] Table 1: page-fault VM exit 1,931 cycles (P4)' },
    'vmx.entry': { cycles: 2409, source: '[AA06] Table 1: VM entry 2,409 cycles (P4)' },
    'vmx.vmread': { cycles: 178, source: '[AA06] Table 1: vmread 178 cycles (P4)' },
    'vmx.vmwrite': { cycles: 171, source: '[AA06] Table 1: vmwrite 171 cycles (P4)' },
    'mmu.nestedReference': {
      cycles: 27,
      source: '[Fog] Prescott L2 latency ≈27: one dependent L2 hit per nested entry',
    },
    'cache.icacheMiss': { cycles: 27, source: '[Fog] Prescott L2 latency ≈27' },
    idle: { cycles: 1, source: 'one modeled cycle per cycle halted' },
    'vmm.worldSwitch': {
      cycles: 889,
      source:
        'the same hardware path as a native exception delivery and iret: [AA06] native divzero 889 cycles',
    },
    'vmm.emulate': {
      cycles: 400,
      source:
        'assumption: about 200 hypervisor instructions to fetch, decode and emulate, ≈2 cycles each on the P4',
    },
    'vmm.reflect': {
      cycles: 600,
      source:
        'assumption: about 300 instructions to read the guest gate and TSS and push its frame, ≈2 cycles each on the P4',
    },
    'vmm.shadowFill': {
      cycles: 1000,
      source:
        'assumption: a software 2-level walk (two cache misses) and about 300 instructions of bookkeeping, ≈2 cycles each on the P4',
    },
    'vmm.shadowPrefill': {
      cycles: 30,
      source:
        'assumption: about 15 instructions per entry in a loop over one table (load the guest entry, check its frame and rights, store the shadow entry), ≈2 cycles each on the P4',
    },
    'vmm.shadowSync': {
      cycles: 2400,
      source:
        'assumption: comparing 1,024 entries with the copy (about 2 cycles each) plus the emulated write, ≈2 cycles each on the P4',
    },
    'vmm.hypercall': {
      cycles: 300,
      source:
        'assumption: about 150 hypervisor instructions to dispatch on the number and check the arguments, ≈2 cycles each on the P4',
    },
    'vmm.mmuUpdateEntry': {
      cycles: 200,
      source:
        'assumption: about 100 instructions to validate one entry (frame owner, page use) and update it and its shadow entry, ≈2 cycles each on the P4',
    },
    'vmm.guestCopy': {
      cycles: 8,
      source:
        'assumption: a checked load and a store per 32-bit word through the guest mapping, two L1 hits ([Fog] Prescott L1 latency 4)',
    },
    'bt.translate': {
      cycles: 2300,
      source:
        '[AA06] the translator costs about 2,300 cycles per guest instruction translated (P4)',
    },
    'bt.callout': {
      cycles: 113,
      source:
        '[AA06] rdtsc: 2,030 cycles trapped and emulated, 1,254 through a callout; a callout saves 776 cycles of a trap, whose transition here is vmm.worldSwitch (889): 889 − 776 = 113',
    },
    'bt.chain': {
      cycles: 100,
      source:
        'assumption: a lookup in the map of fragments and a 4-byte store into the jump, about 50 instructions, ≈2 cycles each on the P4',
    },
    'bt.lookup': {
      cycles: 40,
      source:
        'assumption: a hashed lookup of the guest target in the map of fragments, about 20 instructions, ≈2 cycles each on the P4',
    },
    'bt.invalidate': {
      cycles: 200,
      source:
        'assumption: about 100 instructions to unmap a fragment and undo its chained jumps, ≈2 cycles each on the P4',
    },
    'vmm.portAccess': { cycles: 3800, source: `${ISA_IO} = 3,800 cycles at 3.8 GHz` },
    'vmm.shadowSwitch': {
      cycles: 400,
      source:
        'assumption: a lookup in the shadow-directory cache and the real CR3 load, ≈2 cycles each on the P4',
    },
  },
};

const CORE2: CpuProfile = {
  id: 'core2-2007',
  name: 'Core 2 (Merom/Conroe, 2.66 GHz), 2007',
  frequencyHz: 2_660_000_000,
  frequencySource: '[AA06] Core 2 measurements at 2.66 GHz',
  icache: {
    sizeBytes: 32 * 1024,
    ways: 8,
    lineBytes: 64,
    source: '[Fog] Core 2: L1I 32 KiB, 8-way, 64-byte lines',
  },
  tlbEntries: 256,
  tlbSource: '[Fog] Core 2: 256-entry L2 data TLB',
  costs: {
    'insn.alu': { cycles: 1, source: '[Fog] Core 2: add/sub/logic r,r latency 1' },
    'insn.mul': { cycles: 3, source: '[Fog] Core 2: imul r32 latency 3' },
    'insn.div': { cycles: 23, source: '[Fog] Core 2: div r32 latency 17–41 (typical 23)' },
    'insn.branch': { cycles: 1, source: '[Fog] Core 2: one taken branch per clock' },
    'insn.memory': { cycles: 3, source: '[Fog] Core 2: L1 data load-to-use latency 3' },
    'insn.string': { cycles: 1, source: '[Fog] Core 2: fast rep strings, ≈1 clock per iteration' },
    'insn.stack': { cycles: 1, source: '[Fog] Core 2: stack engine, push/pop 1 clock' },
    'insn.io': { cycles: 2660, source: `${ISA_IO} = 2,660 cycles at 2.66 GHz` },
    'insn.system': { cycles: 10, source: '[Fog] Core 2: segment-register loads ≈10 clocks' },
    'insn.serializing': {
      cycles: 100,
      source: '[Fog] Core 2: serializing instructions (cpuid, mov crN) ≈100 clocks',
    },
    'insn.call': { cycles: 2, source: '[Fog] Core 2: call throughput 2 clocks' },
    'insn.ret': { cycles: 2, source: '[Fog] Core 2: ret throughput 2 clocks' },
    'insn.cli': { cycles: 9, source: '[Fog] Core 2: cli ≈9 µops/clocks' },
    'insn.sti': { cycles: 9, source: 'assumption: as cli' },
    'insn.faulting': {
      cycles: 1,
      source: 'assumption: the issue slot of the faulting instruction; its delivery is event.*',
    },
    'event.exception': {
      cycles: 445,
      source:
        'assumption: no published native figure; half of [AA06] P4 divzero 889 (Core 2 pipeline: 14 stages vs 31)',
    },
    'event.pagefault': {
      cycles: 547,
      source: 'assumption: half of [AA06] P4 native pgfault 1,093 (pipeline depth 14 vs 31)',
    },
    'event.softint': { cycles: 445, source: 'assumption: as event.exception' },
    'event.interrupt': { cycles: 445, source: 'assumption: as event.exception' },
    'mmu.walk': { cycles: 28, source: '[Fog] Core 2 L2 latency ≈14; two dependent L2 hits' },
    'interp.dispatch': {
      cycles: 40,
      source:
        'assumption: a Bochs-class interpreter loop of ≈40 host instructions per guest instruction at ≈1 cycle each on the Core 2',
    },
    'interp.walk': {
      cycles: 150,
      source:
        'assumption: two dependent L2 hits (28, as mmu.walk) and ≈120 instructions of checks in software, ≈1 cycle each',
    },
    'interp.event': { cycles: 300, source: 'assumption: as vmm.reflect on this profile' },
    'vmx.exit': {
      cycles: 1186,
      source: '[AA06] Table 1: page-fault VM exit 1,186 cycles (Core 2)',
    },
    'vmx.entry': { cycles: 937, source: '[AA06] Table 1: VM entry 937 cycles (Core 2)' },
    'vmx.vmread': { cycles: 52, source: '[AA06] Table 1: vmread 52 cycles (Core 2)' },
    'vmx.vmwrite': { cycles: 44, source: '[AA06] Table 1: vmwrite 44 cycles (Core 2)' },
    'mmu.nestedReference': {
      cycles: 14,
      source: '[Fog] Core 2 L2 latency ≈14: one dependent L2 hit per nested entry',
    },
    'cache.icacheMiss': { cycles: 14, source: '[Fog] Core 2 L2 latency ≈14' },
    idle: { cycles: 1, source: 'one modeled cycle per cycle halted' },
    'vmm.worldSwitch': {
      cycles: 445,
      source: 'assumption: as event.exception (a native delivery and iret; half of [AA06] P4 889)',
    },
    'vmm.emulate': {
      cycles: 200,
      source:
        'assumption: about 200 hypervisor instructions to fetch, decode and emulate, ≈1 cycle each on the Core 2',
    },
    'vmm.reflect': {
      cycles: 300,
      source:
        'assumption: about 300 instructions to read the guest gate and TSS and push its frame, ≈1 cycle each on the Core 2',
    },
    'vmm.shadowFill': {
      cycles: 500,
      source:
        'assumption: a software 2-level walk (two cache misses) and about 300 instructions of bookkeeping, ≈1 cycle each on the Core 2',
    },
    'vmm.shadowPrefill': {
      cycles: 15,
      source:
        'assumption: about 15 instructions per entry in a loop over one table (load the guest entry, check its frame and rights, store the shadow entry), ≈1 cycle each on the Core 2',
    },
    'vmm.shadowSync': {
      cycles: 1200,
      source:
        'assumption: comparing 1,024 entries with the copy (about 2 cycles each) plus the emulated write, ≈1 cycle each on the Core 2',
    },
    'vmm.hypercall': {
      cycles: 150,
      source:
        'assumption: about 150 hypervisor instructions to dispatch on the number and check the arguments, ≈1 cycle each on the Core 2',
    },
    'vmm.mmuUpdateEntry': {
      cycles: 100,
      source:
        'assumption: about 100 instructions to validate one entry (frame owner, page use) and update it and its shadow entry, ≈1 cycle each on the Core 2',
    },
    'vmm.guestCopy': {
      cycles: 6,
      source:
        'assumption: a checked load and a store per 32-bit word through the guest mapping, two L1 hits ([Fog] Core 2 L1 latency 3)',
    },
    'bt.translate': {
      cycles: 1500,
      source:
        'assumption: the translator’s work of [AA06] (2,300 P4 cycles per guest instruction) at the Core 2’s ≈1.5× instructions per cycle',
    },
    'bt.callout': {
      cycles: 57,
      source:
        'assumption: [AA06]’s P4 ratio (a callout’s transition is 113/889 of a trap’s) applied to this profile’s vmm.worldSwitch (445)',
    },
    'bt.chain': {
      cycles: 50,
      source: 'assumption: about 50 instructions, ≈1 cycle each on the Core 2',
    },
    'bt.lookup': {
      cycles: 20,
      source: 'assumption: about 20 instructions, ≈1 cycle each on the Core 2',
    },
    'bt.invalidate': {
      cycles: 100,
      source: 'assumption: about 100 instructions, ≈1 cycle each on the Core 2',
    },
    'vmm.portAccess': { cycles: 2660, source: `${ISA_IO} = 2,660 cycles at 2.66 GHz` },
    'vmm.shadowSwitch': {
      cycles: 200,
      source:
        'assumption: a lookup in the shadow-directory cache and the real CR3 load, ≈1 cycle each on the Core 2',
    },
  },
};

const MODERN: CpuProfile = {
  id: 'modern',
  name: 'Sandy Bridge-E class (3.3 GHz), 2012+',
  frequencyHz: 3_300_000_000,
  frequencySource: 'Core i7-3960X (Sandy Bridge-E) base clock 3.3 GHz, the [KVM] machine class',
  icache: {
    sizeBytes: 32 * 1024,
    ways: 8,
    lineBytes: 64,
    source: '[Fog] Sandy Bridge: L1I 32 KiB, 8-way, 64-byte lines',
  },
  tlbEntries: 512,
  tlbSource: '[Fog] Sandy Bridge: 512-entry second-level TLB',
  costs: {
    'insn.alu': { cycles: 1, source: '[Fog] Sandy Bridge: add/sub/logic r,r latency 1' },
    'insn.mul': { cycles: 3, source: '[Fog] Sandy Bridge: imul r32 latency 3' },
    'insn.div': { cycles: 26, source: '[Fog] Sandy Bridge: div r32 latency 22–29' },
    'insn.branch': { cycles: 1, source: '[Fog] Sandy Bridge: one taken branch per clock' },
    'insn.memory': { cycles: 4, source: '[Fog] Sandy Bridge: L1 data load-to-use latency 4' },
    'insn.string': {
      cycles: 1,
      source: '[Fog] Sandy Bridge: fast rep strings, ≈1 clock per iteration',
    },
    'insn.stack': { cycles: 1, source: '[Fog] Sandy Bridge: stack engine, push/pop 1 clock' },
    'insn.io': { cycles: 3300, source: `${ISA_IO} = 3,300 cycles at 3.3 GHz` },
    'insn.system': { cycles: 10, source: '[Fog] Sandy Bridge: segment-register loads ≈10 clocks' },
    'insn.serializing': {
      cycles: 100,
      source: '[Fog] Sandy Bridge: cpuid ≈100 clocks; mov crN serializes likewise',
    },
    'insn.call': { cycles: 2, source: '[Fog] Sandy Bridge: call throughput 2 clocks' },
    'insn.ret': { cycles: 2, source: '[Fog] Sandy Bridge: ret throughput 2 clocks' },
    'insn.cli': { cycles: 7, source: '[Fog] Sandy Bridge: cli ≈7 µops/clocks' },
    'insn.sti': { cycles: 7, source: 'assumption: as cli' },
    'insn.faulting': {
      cycles: 1,
      source: 'assumption: the issue slot of the faulting instruction; its delivery is event.*',
    },
    'event.exception': {
      cycles: 400,
      source: 'assumption: no published figure; of the order of the Core 2 estimate (445), rounded',
    },
    'event.pagefault': {
      cycles: 500,
      source: 'assumption: no published figure; of the order of the Core 2 estimate (547), rounded',
    },
    'event.softint': { cycles: 400, source: 'assumption: as event.exception' },
    'event.interrupt': { cycles: 400, source: 'assumption: as event.exception' },
    'mmu.walk': { cycles: 24, source: '[Fog] Sandy Bridge L2 latency 12; two dependent L2 hits' },
    'interp.dispatch': {
      cycles: 30,
      source:
        'assumption: a Bochs-class interpreter loop of ≈40 host instructions per guest instruction at a modern core’s ≈1.3 instructions per cycle on such branchy code',
    },
    'interp.walk': {
      cycles: 120,
      source:
        'assumption: two dependent L2 hits (24, as mmu.walk) and ≈120 instructions of checks in software, ≈1.2 per cycle',
    },
    'interp.event': { cycles: 300, source: 'assumption: as vmm.reflect on this profile' },
    'vmx.exit': {
      cycles: 700,
      source:
        "assumption: [KVM]'s VMCALL round trip (1,600–1,700 cycles) split between exit and entry as [AA06]'s P4 figures split (1,931 : 2,409), rounded",
    },
    'vmx.entry': {
      cycles: 900,
      source:
        "assumption: [KVM]'s VMCALL round trip (1,600–1,700 cycles) split between exit and entry as [AA06]'s P4 figures split (1,931 : 2,409), rounded",
    },
    'vmx.vmread': {
      cycles: 26,
      source: 'assumption: half of [AA06] Core 2 vmread (52): later cores cache the VMCS on chip',
    },
    'vmx.vmwrite': {
      cycles: 22,
      source: 'assumption: half of [AA06] Core 2 vmwrite (44): later cores cache the VMCS on chip',
    },
    'mmu.nestedReference': {
      cycles: 12,
      source: '[Fog] Sandy Bridge L2 latency 12: one dependent L2 hit per nested entry',
    },
    'cache.icacheMiss': { cycles: 12, source: '[Fog] Sandy Bridge L2 latency 12' },
    idle: { cycles: 1, source: 'one modeled cycle per cycle halted' },
    'vmm.worldSwitch': {
      cycles: 400,
      source: 'assumption: as event.exception (a native delivery and iret)',
    },
    'vmm.emulate': {
      cycles: 200,
      source:
        'assumption: about 200 hypervisor instructions to fetch, decode and emulate, ≈1 cycle each',
    },
    'vmm.reflect': {
      cycles: 300,
      source:
        'assumption: about 300 instructions to read the guest gate and TSS and push its frame, ≈1 cycle each',
    },
    'vmm.shadowFill': {
      cycles: 400,
      source:
        'assumption: a software 2-level walk (two cache misses) and about 300 instructions of bookkeeping, ≈1 cycle each',
    },
    'vmm.shadowPrefill': {
      cycles: 15,
      source:
        'assumption: about 15 instructions per entry in a loop over one table (load the guest entry, check its frame and rights, store the shadow entry), ≈1 cycle each',
    },
    'vmm.shadowSync': {
      cycles: 1100,
      source:
        'assumption: comparing 1,024 entries with the copy (about 2 cycles each) plus the emulated write, ≈1 cycle each',
    },
    'vmm.hypercall': {
      cycles: 150,
      source:
        'assumption: about 150 hypervisor instructions to dispatch on the number and check the arguments, ≈1 cycle each',
    },
    'vmm.mmuUpdateEntry': {
      cycles: 100,
      source:
        'assumption: about 100 instructions to validate one entry (frame owner, page use) and update it and its shadow entry, ≈1 cycle each',
    },
    'vmm.guestCopy': {
      cycles: 8,
      source:
        'assumption: a checked load and a store per 32-bit word through the guest mapping, two L1 hits ([Fog] Sandy Bridge L1 latency 4)',
    },
    'bt.translate': {
      cycles: 1000,
      source:
        'assumption: the translator’s work of [AA06] (2,300 P4 cycles per guest instruction) at a modern core’s ≈2.3× instructions per cycle',
    },
    'bt.callout': {
      cycles: 51,
      source:
        'assumption: [AA06]’s P4 ratio (a callout’s transition is 113/889 of a trap’s) applied to this profile’s vmm.worldSwitch (400)',
    },
    'bt.chain': {
      cycles: 50,
      source: 'assumption: about 50 instructions, ≈1 cycle each',
    },
    'bt.lookup': {
      cycles: 20,
      source: 'assumption: about 20 instructions, ≈1 cycle each',
    },
    'bt.invalidate': {
      cycles: 100,
      source: 'assumption: about 100 instructions, ≈1 cycle each',
    },
    'vmm.portAccess': { cycles: 3300, source: `${ISA_IO} = 3,300 cycles at 3.3 GHz` },
    'vmm.shadowSwitch': {
      cycles: 150,
      source:
        'assumption: a lookup in the shadow-directory cache and the real CR3 load, ≈1 cycle each',
    },
  },
};

const PROFILES: readonly CpuProfile[] = [P4, CORE2, MODERN];

export const DEFAULT_PROFILE = P4.id;

/** Every built-in profile: the cost table is complete and every unit cost is a whole number. */
export function validateProfile(p: CpuProfile): void {
  for (const k of COST_KINDS) {
    const c = p.costs[k.kind];
    if (!c) throw new Error(`profile ${p.id}: no cost for ${k.kind}`);
    if (!Number.isInteger(c.cycles) || c.cycles < 0) {
      throw new Error(`profile ${p.id}: ${k.kind} must be a whole number of cycles`);
    }
    if (c.source.trim() === '') throw new Error(`profile ${p.id}: ${k.kind} has no source`);
  }
  for (const kind of Object.keys(p.costs)) costKind(kind);
  const { sizeBytes, ways, lineBytes } = p.icache;
  const sets = sizeBytes / (ways * lineBytes);
  if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
    throw new Error(`profile ${p.id}: the I-cache must have a power-of-two number of sets`);
  }
  if (lineBytes !== 64) throw new Error(`profile ${p.id}: the model uses 64-byte lines`);
}
PROFILES.forEach(validateProfile);

export function listProfiles(): readonly { id: string; name: string }[] {
  return PROFILES.map(({ id, name }) => ({ id, name }));
}

export function findProfile(id: string): CpuProfile | undefined {
  return PROFILES.find((p) => p.id === id);
}

export function requireProfile(id: string): CpuProfile {
  const p = findProfile(id);
  if (!p) {
    throw new Error(
      `unknown CPU profile '${id}' (available: ${PROFILES.map((q) => q.id).join(', ')})`,
    );
  }
  return p;
}
