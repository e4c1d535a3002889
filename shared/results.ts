// The results contract: what an experiment is (ExperimentSpec), what one technique run reports
// (RunResult) and the file that holds them (results.json = { schemaVersion, spec, runs }).
// Defined once, here, as zod schemas; the TypeScript types are inferred from them. The engine
// builds these objects, the service validates saved files with them, the reports and the
// renderer read them. TECHNIQUES.md "What every run reports" is the specification.
// The schemas describe the current results format only: files of older formats are brought
// up to it by the migration chain (migrations.ts) before they are validated (parseVersionedJson).

import { z } from 'zod';
import { migrateResults } from './migrations';

/**
 * The results format this app writes, carried by every file and every RunResult. Bumped on any
 * change to the shapes below that an older file does not already satisfy, together with a new
 * step in migrations.ts that turns the previous format into this one.
 *   1: the first release
 *   2: every RunResult carries schemaVersion; silentSensitive and culprit are required (null
 *      when there is nothing to report)
 *   3: ExperimentSpec.mmuBatch (whether the para-virtual guest batches its page-table
 *      updates) and RunResult.paravirt (the para-API metrics, null but for paravirt runs)
 *   4: RunResult.binaryTranslation (the translator's metrics, null but for
 *      binary-translation runs)
 */
export const SCHEMA_VERSION = 4;

const count = z.number().int().nonnegative();
/** modeled cycles: event counts × integer unit costs, so always integers */
const cycles = z.number().int().nonnegative();
const ratio = z.number().min(0).max(1);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');

export const IsaVariantSchema = z.enum(['classic', 'strict']);

/** Which guest kernel runs: a bundled workload (the guest kernel + workload=NAME) or a file. */
export const KernelChoiceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('workload'), workload: z.string().min(1) }),
  z.object({
    kind: z.literal('file'),
    /** the file's name as the user gave it (for display; the bytes travel separately) */
    name: z.string().min(1),
    sha256,
  }),
]);

export const ExperimentSpecSchema = z.object({
  kernel: KernelChoiceSchema,
  /** registry ids; the service always adds `native` (the baseline of every ratio) */
  techniques: z.array(z.string().min(1)).min(1),
  /** words appended to the kernel command line (`n=1000 hz=100`) */
  append: z.string(),
  isa: IsaVariantSchema,
  /** CPU profile id (cost model) */
  profile: z.string().min(1),
  /** recorded in every result; workloads that draw pseudo-random numbers take it */
  seed: z.number().int().nonnegative(),
  /** guest instruction budget per run: a run that reaches it "did not finish" */
  maxInstructions: z.number().int().positive(),
  /** host wall-time watchdog per run, in ms: a run that exceeds it "did not finish" */
  timeoutMs: z.number().int().positive(),
  memoryBytes: z.number().int().positive(),
  /** how many trap/event log entries a run keeps (TECHNIQUES.md: 5,000 by default) */
  eventLimit: count,
  /** guest instructions per time-series slice (doubled when a run has too many slices) */
  sliceInstructions: z.number().int().positive(),
  /** whether the para-virtual guest batches page-table updates (many entries per mmu_update
   *  hypercall, as Xen's guests do); false passes `mmu_batch=0`, one entry per hypercall, so
   *  that what batching saves can be measured. The other techniques' kernels ignore it. */
  mmuBatch: z.boolean(),
});

/** How a run ended, authoritatively. */
export const EndSchema = z.object({
  reason: z.enum([
    'exit',
    'instruction-limit',
    'watchdog',
    'halted',
    'triple-fault',
    'cancelled',
    'error',
  ]),
  /** isa-debug-exit value (reason "exit") */
  exitCode: z.number().int().nullable(),
  /** EIP where the machine stopped (halted, triple fault), else null */
  eip: z.number().int().nonnegative().nullable(),
  /** human-readable detail: the triple fault's cause, the error message, the budget… */
  detail: z.string(),
});

export const CostLineSchema = z.object({
  /** event kind, as named in the CPU profile (`insn.alu`, `event.pagefault`, `mmu.walk`…) */
  kind: z.string(),
  category: z.enum([
    'guest',
    'hypervisor',
    'worldSwitch',
    'translation',
    'pageWalk',
    'cacheMiss',
    'idle',
  ]),
  count,
  unitCycles: cycles,
  cycles,
  /** where the unit cost comes from (paper, manual, or the stated assumption) */
  source: z.string(),
});

export const CacheStatsSchema = z.object({
  accesses: count,
  misses: count,
  hitRate: ratio,
  /** misses per 1,000 guest instructions */
  mpki: z.number().nonnegative(),
  /** distinct lines ever fetched */
  footprintLines: count,
  sizeBytes: count,
  ways: count,
  lineBytes: count,
});

export const TlbStatsSchema = z.object({
  lookups: count,
  misses: count,
  hitRate: ratio,
  mpki: z.number().nonnegative(),
  entries: count,
});

export const EventEntrySchema = z.object({
  /** guest instructions retired before the event */
  instruction: count,
  /** modeled cycle at which it happened */
  cycle: cycles,
  eip: z.number().int().nonnegative(),
  /** the instruction's bytes as hex ("0f 22 d8"), empty when they could not be read */
  bytes: z.string(),
  /** its disassembly, or a note why there is none */
  disasm: z.string(),
  /** `trap`: the hypervisor was entered; `guest`: the guest kernel received the event */
  kind: z.enum(['trap', 'guest']),
  cause: z.string(),
  /** modeled cycles the event cost */
  cost: cycles,
  /** what the hypervisor was told of it, when more than the cause: a VM exit's qualification
   *  (the port and width of an I/O exit, the value a CR write loads, a fault's address) */
  detail: z.string().optional(),
});

export const TimeSlotSchema = z.object({
  /** guest instructions at the end of the slot (cumulative) */
  instructions: count,
  /** modeled cycles spent in the slot */
  cycles,
  traps: count,
  guestEvents: count,
  /** of the slot's cycles, those of binary translation's work (translating units, resolving
   *  exits and lookups, invalidating): paid at the start, then flat (absent in older runs) */
  translationCycles: cycles.optional(),
});

export const DivergenceSchema = z.object({
  /** 1-based line number of the first line that differs */
  line: z.number().int().positive(),
  /** that line in the reference (native) output, or null when the reference ended first */
  expected: z.string().nullable(),
  actual: z.string().nullable(),
});

/**
 * A sensitive instruction that ran without a trap and did not do what the guest meant: one
 * entry per instruction address and effect, with where it first and last happened.
 */
export const SilentEffectSchema = z.object({
  /** guest instructions retired before its first occurrence */
  instruction: count,
  /** bytes of serial output the guest had written at its first occurrence */
  outputBytes: count,
  /** times this instruction had this effect */
  count: z.number().int().positive(),
  /** guest instructions retired before its last occurrence */
  lastInstruction: count,
  eip: z.number().int().nonnegative(),
  disasm: z.string(),
  /** the instruction as traps name it (`popf`, `mov r/m, cs`) */
  mnemonic: z.string(),
  /** what went differently (`would have set IF; … the virtual IF stays 0`) */
  detail: z.string(),
});

/**
 * Sensitive instructions the deprivileged guest kernel executed without a trap (classic x86,
 * lecture §4.3): invisible to the hypervisor, watched by the workbench. The first effect is
 * the likely culprit of a divergence.
 */
export const SilentSensitiveSchema = z.object({
  executed: count,
  byMnemonic: z.record(z.string(), count),
  effects: z.array(SilentEffectSchema),
  effectsDropped: count,
});

/**
 * What the para-virtualization hypervisor did for the guest through the para-API
 * (docs/paravirt-abi.md): every hypercall by its ABI name, the refused ones by name and error,
 * the page-table updates it validated and how they were batched.
 */
export const ParavirtMetricsSchema = z.object({
  /** hypercalls by ABI name (`mmu_update`, `console_write`…), refused ones included */
  hypercalls: z.record(z.string(), count),
  /** refused hypercalls by `name:ERROR` (`mmu_update:EPERM`, `unknown:ENOSYS`) */
  errors: z.record(z.string(), count),
  mmuUpdate: z.object({
    /** mmu_update hypercalls */
    calls: count,
    /** entries validated and applied */
    entries: count,
    /** calls by their entry count (the `count` argument, as a decimal string); calls refused
     *  before any entry is read (bad flags, count above the limit) are not in it */
    batchSizes: z.record(z.string(), count),
    /** calls with MMU_UPDATE_FLUSH_TLB */
    flushes: count,
  }),
  /** events delivered by upcall (virtual interrupts), and those that waited while masked */
  upcalls: count,
  eventsPendingWhileMasked: count,
  /** direct stores to in-use page tables, emulated as one-entry updates (a guest bug; slow) */
  directPageTableWrites: count,
  /** page-table entries validated and filled a whole table at a time, without faults of their own */
  shadowPrefilled: count,
});

/**
 * What the binary translator did with the guest kernel's code (lecture §6, TECHNIQUES.md
 * `binary-translation`): the translation units it read and how their instructions were
 * translated, the compiled code fragments it emitted into the translation cache and how they
 * were linked, the callouts the translated code made into the hypervisor, and what had to be
 * thrown away and done again. Guest user code runs directly and is in none of these counts.
 * Every instruction translated counts in exactly one of ident, controlFlow, inline and callout
 * (a sensitive control transfer such as iret in inline or callout, as it was translated), so
 * they add up to guestInstructions.
 */
export const BinaryTranslationMetricsSchema = z.object({
  /** translation units translated: guest code read from a start address up to and including
   *  a control-flow instruction, or up to 12 instructions; each became one compiled code
   *  fragment (a unit translated again after an invalidation or a flush counts again) */
  units: count,
  /** guest instructions translated, summed over the units */
  guestInstructions: count,
  /** of those, instructions copied unchanged into their fragment (IDENT): innocuous, and
   *  independent of where the code sits */
  ident: count,
  /** of those, instructions rewritten because the code moved: jmp, jcc, call, ret, loop and
   *  indirect jumps and calls, whose targets are guest addresses */
  controlFlow: count,
  /** of those, sensitive instructions replaced by an inline safe sequence on the virtual CPU
   *  (cli, sti, pushf, popf, reads of CS…), with no entry into the hypervisor */
  inline: count,
  /** of those, sensitive instructions replaced by a callout into the hypervisor (a CR3 load,
   *  I/O, lgdt…: too complex for an inline sequence) */
  callout: count,
  /** bytes of compiled code fragments emitted into the translation cache over the run */
  fragmentBytes: count,
  /** capacity of the translation cache in bytes */
  cacheBytes: count,
  /** open jumps at the end of a fragment patched to jump straight to their target's fragment
   *  once that one existed (chaining) */
  chainsPatched: count,
  /** fall-throughs elided: no jump emitted because the next fragment was placed right after */
  fallThroughsElided: count,
  /** callouts the translated code executed, by kind: `translate` (to a target not translated
   *  yet), `lookup:ret` and the other lookups of an indirect target, `emulate:mov-to-cr` and
   *  the other emulated instructions, `pending-interrupt`… */
  callouts: z.record(z.string(), count),
  /** fragments invalidated because the guest wrote to the page their code came from */
  invalidations: count,
  /** instructions retranslated into a callout by adaptive translation (they kept causing
   *  hidden page faults, e.g. page-table writes) */
  retranslations: count,
  /** whole-cache flushes: every fragment thrown away at once (a full cache, for one) */
  flushes: count,
  /** software interrupts from user code (system calls) that entered the translated kernel
   *  through a direct gate, with no trap into the hypervisor (absent in runs before it) */
  directGateEntries: count.optional(),
});

export const RunResultSchema = z.object({
  // ---- identity
  technique: z.string(),
  isa: IsaVariantSchema,
  profile: z.string(),
  /** bundled workload name, or null for a kernel file */
  workload: z.string().nullable(),
  kernel: z.object({
    name: z.string(),
    sha256,
    bytes: count,
    /** `paravirt`: the para-API build of the same source */
    build: z.enum(['native', 'paravirt']),
  }),
  cmdline: z.string(),
  seed: z.number().int().nonnegative(),
  /** the results format, so that a run taken out of its file still says what it is */
  schemaVersion: z.literal(SCHEMA_VERSION),
  engineVersion: z.string(),
  // ---- outcome
  /** completed: the guest exited or halted by itself; did-not-finish: budget, watchdog or
   *  cancel stopped it (metrics are partial); failed: the machine or the engine gave up */
  status: z.enum(['completed', 'did-not-finish', 'failed']),
  end: EndSchema,
  // ---- work and cost
  guestInstructions: z.object({ total: count, kernel: count, user: count }),
  cycles: z.object({
    total: cycles,
    guest: cycles,
    hypervisor: cycles,
    worldSwitch: cycles,
    translation: cycles,
    pageWalk: cycles,
    cacheMiss: cycles,
    idle: cycles,
  }),
  /** the derivation of `cycles`: every event kind with its count and unit cost */
  costBreakdown: z.array(CostLineSchema),
  /** modeled clock of the profile, so cycles convert to modeled seconds */
  frequencyHz: z.number().int().positive(),
  host: z.object({ wallMs: z.number().nonnegative(), mips: z.number().nonnegative() }),
  // ---- events
  /** entries into the hypervisor, by cause (`gp:cli`, `pf:hidden`, `io:0x80`…); 0 natively */
  traps: z.object({ total: count, byCause: z.record(z.string(), count) }),
  /** exceptions, interrupts and software interrupts the guest kernel itself received, by
   *  cause (`pf`, `int:0x80`, `irq:0`, `de`…): the same in every equivalent run */
  guestEvents: z.object({ total: count, byCause: z.record(z.string(), count) }),
  worldSwitches: z.object({ count, cycles }),
  /** guest context switches: loads of the guest's CR3 */
  contextSwitches: z.object({ count, cycles }),
  icache: CacheStatsSchema,
  tlb: TlbStatsSchema,
  // ---- behaviour
  output: z.object({ bytes: count, lines: count }),
  /** SHA-256 of the guest's serial output */
  outputHash: sha256,
  /** whether the output equals the native run's (null when there is nothing to compare) */
  equivalent: z.boolean().nullable(),
  firstDivergence: DivergenceSchema.nullable(),
  /** null when the technique does not run the guest kernel deprivileged on classic x86 */
  silentSensitive: SilentSensitiveSchema.nullable(),
  /** when not equivalent: the silent sensitive instruction that most likely caused it */
  culprit: SilentEffectSchema.nullable(),
  /** what went through the para-API; null for every technique but para-virtualization */
  paravirt: ParavirtMetricsSchema.nullable(),
  /** what the binary translator did; null for every technique but binary translation */
  binaryTranslation: BinaryTranslationMetricsSchema.nullable(),
  /** the serial output itself (latin-1), cut at 256 KiB (the hash covers all of it) */
  outputText: z.string(),
  outputTruncated: z.boolean(),
  // ---- over time
  timeSeries: z.object({
    sliceInstructions: z.number().int().positive(),
    slots: z.array(TimeSlotSchema),
  }),
  events: z.object({ limit: count, dropped: count, entries: z.array(EventEntrySchema) }),
});

export const ResultsFileSchema = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  spec: ExperimentSpecSchema,
  runs: z.array(RunResultSchema),
});

/** An experiment in the history folder: results.json plus its identity in the history. */
export const HistoryFileSchema = ResultsFileSchema.extend({
  /** file-name-safe id (`2026-11-23T10-15-00-123Z-ab12cd`) */
  id: z.string().regex(/^[A-Za-z0-9._-]+$/),
  /** ISO 8601 time the experiment started */
  createdAt: z.string(),
});

export type IsaVariantName = z.infer<typeof IsaVariantSchema>;
export type KernelChoice = z.infer<typeof KernelChoiceSchema>;
export type ExperimentSpec = z.infer<typeof ExperimentSpecSchema>;
export type RunEnd = z.infer<typeof EndSchema>;
export type CostLine = z.infer<typeof CostLineSchema>;
export type CostCategory = CostLine['category'];
export type CacheStats = z.infer<typeof CacheStatsSchema>;
export type TlbStats = z.infer<typeof TlbStatsSchema>;
export type EventEntry = z.infer<typeof EventEntrySchema>;
export type TimeSlot = z.infer<typeof TimeSlotSchema>;
export type Divergence = z.infer<typeof DivergenceSchema>;
export type SilentEffect = z.infer<typeof SilentEffectSchema>;
export type SilentSensitive = z.infer<typeof SilentSensitiveSchema>;
export type RunResult = z.infer<typeof RunResultSchema>;
export type ParavirtMetrics = z.infer<typeof ParavirtMetricsSchema>;
export type BinaryTranslationMetrics = z.infer<typeof BinaryTranslationMetricsSchema>;
export type ResultsFile = z.infer<typeof ResultsFileSchema>;
export type HistoryFile = z.infer<typeof HistoryFileSchema>;

export const COST_CATEGORIES: readonly CostCategory[] = CostLineSchema.shape.category.options;

/** Defaults for the fields a user rarely sets. */
export const SPEC_DEFAULTS = {
  append: '',
  isa: 'classic',
  profile: 'p4-2006',
  seed: 0,
  maxInstructions: 2_000_000_000,
  timeoutMs: 10 * 60 * 1000,
  memoryBytes: 64 * 1024 * 1024,
  eventLimit: 5000,
  sliceInstructions: 100_000,
  mmuBatch: true,
} as const satisfies Partial<ExperimentSpec>;

/** A zod error as one line per problem, each naming the field path. */
export function describeSchemaError(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(top level)'}: ${i.message}`)
    .join('; ');
}

/**
 * Parse JSON text holding results of any format this app reads: migrate it to the current
 * format (in memory: nothing is written back), then check it against `schema`. Throws an Error
 * naming the problem: not JSON, no schemaVersion, a newer app's format, the first bad fields
 * (their paths).
 */
export function parseVersionedJson<T>(text: string, schema: z.ZodType<T>): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const { value } = migrateResults(json, SCHEMA_VERSION);
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(describeSchemaError(parsed.error));
  return parsed.data;
}

/** Parse a results.json text of any format this app reads, as the current format; throws an
 *  Error naming the problem when it is not one. */
export function parseResultsFile(text: string): ResultsFile {
  return parseVersionedJson(text, ResultsFileSchema);
}
