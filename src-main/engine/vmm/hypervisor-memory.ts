// The hypervisor's own region of host-physical memory, above the guest's RAM (TECHNIQUES.md:
// "the hypervisor's own structures live outside every guest's physical range"): its first page,
// then the pool its shadow page tables are built in, and at the top the modeled text of its
// handlers, whose code lines the I-cache model fetches when a handler runs. Every technique
// that runs a hypervisor lays its region out this way.

import { PAGE_SHIFT } from '../machine/memory';
import { type HandlerFootprint } from '../metrics/meter';

/** Host-physical memory above the guest's RAM that a hypervisor reserves. */
export const HYPERVISOR_BYTES = 16 * 1024 * 1024;
/** The handlers' modeled text: the last 64 KiB of the region. */
const HANDLER_TEXT_OFFSET = HYPERVISOR_BYTES - 64 * 1024;

/** Host page numbers of the shadow page-table pool: after the region's first page, up to the
 *  handlers' text, or up to a technique's own area below it (`reservedBytes`). */
export function shadowPool(
  guestBytes: number,
  reservedBytes = 0,
): { first: number; count: number } {
  if (reservedBytes % 4096 !== 0 || reservedBytes > HANDLER_TEXT_OFFSET / 2) {
    throw new RangeError('a reserved area is whole pages, at most half the hypervisor region');
  }
  return {
    first: (guestBytes >>> PAGE_SHIFT) + 1,
    count: ((HANDLER_TEXT_OFFSET - reservedBytes) >>> PAGE_SHIFT) - 1,
  };
}

/** Host-physical address of a technique's own area of `bytes`, just below the handlers' text
 *  (what `shadowPool(guestBytes, bytes)` leaves out), e.g. a translation cache. */
export function reservedArea(guestBytes: number, bytes: number): number {
  return guestBytes + HANDLER_TEXT_OFFSET - bytes;
}

/** The hypervisor's handlers as modeled code ranges, laid out one after another. */
export function handlerFootprints<Name extends string>(
  technique: string,
  guestBytes: number,
  layout: readonly (readonly [Name, number])[],
): Record<Name, HandlerFootprint> {
  const out = {} as Record<Name, HandlerFootprint>;
  let at = guestBytes + HANDLER_TEXT_OFFSET;
  for (const [name, bytes] of layout) {
    out[name] = { name: `${technique} ${name}`, address: at, bytes };
    at += bytes;
  }
  if (at > guestBytes + HYPERVISOR_BYTES) throw new Error(`${technique}: handler text too large`);
  return out;
}
