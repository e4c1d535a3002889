// The cache model: a set-associative cache with true LRU replacement, addressed by line number
// (address >> 6 for 64-byte lines). It is fed once per line crossing of instruction fetch, not
// per byte, so it stays cheap; the hypervisor's handlers feed it their modeled code footprint.
// Deterministic: no randomness, replacement depends only on the access sequence.

import { type InstructionCacheModel } from '../machine/cpu';

export class SetAssociativeCache implements InstructionCacheModel {
  readonly sets: number;
  readonly ways: number;
  private readonly tags: Float64Array;
  /** last-use stamp per way: the smallest stamp in a set is the least recently used */
  private readonly stamps: Float64Array;
  private clock = 0;
  accesses = 0;
  misses = 0;
  /** distinct lines ever brought in (a line's first access always misses) */
  private readonly seen = new Set<number>();

  constructor(
    readonly sizeBytes: number,
    ways: number,
    readonly lineBytes = 64,
  ) {
    const sets = sizeBytes / (ways * lineBytes);
    if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
      throw new RangeError(
        `cache of ${sizeBytes} bytes, ${ways}-way, ${lineBytes}-byte lines: sets must be a power of two`,
      );
    }
    this.sets = sets;
    this.ways = ways;
    this.tags = new Float64Array(sets * ways).fill(-1);
    this.stamps = new Float64Array(sets * ways);
  }

  /** Access one line; true on a hit. */
  access(line: number): boolean {
    this.accesses++;
    const stamp = ++this.clock;
    const base = (line & (this.sets - 1)) * this.ways;
    const tags = this.tags;
    const stamps = this.stamps;
    let victim = base;
    for (let w = base; w < base + this.ways; w++) {
      if (tags[w] === line) {
        stamps[w] = stamp;
        return true;
      }
      if (stamps[w]! < stamps[victim]!) victim = w;
    }
    this.misses++;
    this.seen.add(line);
    tags[victim] = line;
    stamps[victim] = stamp;
    return false;
  }

  /** Access every line of [address, address + bytes): a handler's code footprint. */
  accessRange(address: number, bytes: number): number {
    let missed = 0;
    const first = Math.floor(address / this.lineBytes);
    const last = Math.floor((address + Math.max(bytes, 1) - 1) / this.lineBytes);
    for (let line = first; line <= last; line++) if (!this.access(line)) missed++;
    return missed;
  }

  get footprintLines(): number {
    return this.seen.size;
  }
}
