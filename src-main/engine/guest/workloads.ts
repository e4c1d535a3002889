// The guest kernel's workloads: the one list the TypeScript side uses (the CLI's
// `guest workloads`, the tests). The kernel has its own table (user.inc, `workload_table`:
// name, entry, default n); test/engine/guest/kernel.test.ts checks that the two agree, both
// against the table's source and against the list the kernel prints for an unknown workload.

export interface Workload {
  /** the name the kernel's command line takes: workload=NAME */
  readonly name: string;
  /** what it does and what it measures, one line */
  readonly description: string;
  /** n when the command line gives none: about a second natively on the simulated machine */
  readonly defaultN: number;
  /** a small n for tests: a quick run on QEMU and on the simulated machine */
  readonly testN: number;
}

/** The workload with this name, or an Error that lists the ones there are. */
export function requireWorkload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) {
    throw new Error(
      `unknown workload '${name}' (available: ${WORKLOADS.map((x) => x.name).join(', ')})`,
    );
  }
  return w;
}

export const WORKLOADS: readonly Workload[] = [
  {
    name: 'syscall',
    description: 'n getpid system calls: the cheapest round trip into the kernel',
    defaultN: 130000,
    testN: 200,
  },
  {
    name: 'isprime',
    description: "the lecture's isprime on every number below n: pure user-mode compute",
    defaultN: 6000,
    testN: 300,
  },
  {
    name: 'pgfault',
    description: 'n demand-zero page faults on first touches of fresh pages',
    defaultN: 15000,
    testN: 150,
  },
  {
    name: 'ctxswitch',
    description: 'two processes yield to each other n times each (a CR3 load per switch)',
    defaultN: 30000,
    testN: 200,
  },
  {
    name: 'forkwait',
    description: 'n times fork a child (address-space copy), let it exit, wait for it',
    defaultN: 600,
    testN: 40,
  },
  {
    name: 'divzero',
    description: 'n divide errors delivered to a user handler, then one that kills a child',
    defaultN: 60000,
    testN: 100,
  },
  {
    name: 'ptemod',
    description: 'n map/write/unmap cycles: page-table-entry writes and invlpg in the kernel',
    defaultN: 28000,
    testN: 150,
  },
  {
    name: 'cr3',
    description: "the lecture's cli; mov cr3; sti sequence, n times in a kernel loop",
    defaultN: 1600000,
    testN: 500,
  },
  {
    name: 'io',
    description: 'n out/in pairs on port 0x80 from the kernel: device accesses to emulate',
    defaultN: 1400000,
    testN: 500,
  },
  {
    name: 'callret',
    description: 'n calls of a recursive user function of depth 64: deep call/ret chains',
    defaultN: 45000,
    testN: 50,
  },
  {
    name: 'mix',
    description: 'n rounds of syscall/fault/compute children; then a spinner, a wild write, a clts',
    defaultN: 100,
    testN: 3,
  },
  {
    name: 'sensitive',
    description: 'the kernel reads CS, pushf, sidt, smsw n times and prints what it sees',
    defaultN: 500000,
    testN: 100,
  },
  {
    name: 'kcode',
    description:
      'n system calls, each through 256 kernel routines: 82 KiB of code, cold blocks amid hot paths',
    defaultN: 1000,
    testN: 64,
  },
  {
    name: 'lecture',
    description:
      "the lecture's isPrime(n) run once by the kernel itself: §6's walk-through of binary translation (n=49)",
    defaultN: 49,
    testN: 25,
  },
];

/** The workload with this name, or undefined. */
export function findWorkload(name: string): Workload | undefined {
  return WORKLOADS.find((w) => w.name === name);
}
