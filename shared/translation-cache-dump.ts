// The translation-cache dump: what a binary-translation run left in its translation cache and
// how it got there, as plain JSON (`experiment … --tc-dump FILE`, the app's translation-cache
// viewer). Each fragment lists the guest instructions of its translation unit beside the
// cache instructions they became (disassembled, with what the translator did to each) and its
// exits, open or chained; `events` is the order things happened in (a fragment translated, an
// open jump filled in, a fall-through elided, a fragment dropped, the cache flushed), so a
// viewer can replay the first N translations step by step, as the lecture does for isprime(49).

import { z } from 'zod';

const count = z.number().int().nonnegative();
const address = z.number().int().min(0).max(0xffffffff);
const hexBytes = z.string().regex(/^([0-9a-f]{2})*$/, 'bytes as lowercase hex');

export const DUMP_VERSION = 1;

export const TreatmentSchema = z.enum(['ident', 'control-flow', 'inline', 'callout']);

export const CacheInstructionSchema = z.object({
  address,
  bytes: hexBytes,
  text: z.string(),
});

export const DumpedInstructionSchema = z.object({
  guestEip: address,
  guestBytes: hexBytes,
  guestText: z.string(),
  /** lecture §6.2: copied unchanged, rewritten because the code moved, or a sensitive
   *  instruction made safe inline or by a callout */
  treatment: TreatmentSchema,
  /** what it became in the cache, in order */
  cache: z.array(CacheInstructionSchema),
});

export const DumpedExitSchema = z.object({
  kind: z.enum(['jump', 'fall-through']),
  /** the guest address the exit leads to */
  target: address,
  /** the fragment it is chained to, or null while open (through its stub, a callout) */
  linkedTo: count.nullable(),
  /** a fall-through whose target's fragment was placed right after it (no jump at all) */
  elided: z.boolean(),
});

export const DumpedFragmentSchema = z.object({
  /** translation order: 0 is the first unit translated in the run */
  id: count,
  guestEip: address,
  tcStart: address,
  tcEnd: address,
  /** false once dropped (its code changed); kept until the cache is flushed */
  valid: z.boolean(),
  instructions: z.array(DumpedInstructionSchema),
  exits: z.array(DumpedExitSchema),
});

export const DumpEventSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('translate'), fragment: count }),
  /** exit number `exit` of fragment `from` (its index in `exits`) now jumps to `to` */
  z.object({ kind: z.literal('chain'), from: count, exit: count, to: count }),
  z.object({ kind: z.literal('elide'), from: count, to: count }),
  z.object({ kind: z.literal('invalidate'), fragment: count }),
  z.object({ kind: z.literal('flush') }),
]);

export const TranslationCacheDumpSchema = z.object({
  dumpVersion: z.literal(DUMP_VERSION),
  /** linear address of the cache window, its capacity and what is in use */
  windowBase: address,
  cacheBytes: count,
  usedBytes: count,
  flushes: count,
  /** the fragments now in the cache (since the last flush), in translation order */
  fragments: z.array(DumpedFragmentSchema),
  /** the first events of the run, in order */
  events: z.array(DumpEventSchema),
  /** events not kept beyond the limit */
  eventsDropped: count,
});

export type TranslationCacheDump = z.infer<typeof TranslationCacheDumpSchema>;
export type DumpedFragment = z.infer<typeof DumpedFragmentSchema>;
export type DumpEvent = z.infer<typeof DumpEventSchema>;
