// Migrations of saved results: how a results file (or a lone RunResult) written in an older
// results format becomes the format this app reads. It owns the chain of steps, one per format
// version (1 → 2, 2 → 3, …), and the errors that say why a file cannot be read at all (no
// schemaVersion, a version from a newer app, a shape the step cannot work on).
//
// Why steps and not "parse old, fill defaults": each step knows exactly one old shape and turns
// it into the next, so a file of any older format reaches the current one by applying every
// step in order, and a new format only adds a step — the old ones never change. The steps work
// on plain JSON, before any schema: validating against the current schema (shared/results.ts)
// comes after the migration, so the schema describes the current format only.
//
// A migration never changes its input (a user's file is never rewritten behind their back: the
// caller decides whether to save the migrated form, see history-store.ts and the import in
// experiment-service.ts).

/** The oldest results format this app can read. */
export const OLDEST_RESULTS_FORMAT = 1;

type JsonObject = Record<string, unknown>;

/** One step of the chain: turns the `from` format into `to` (= from + 1). */
export interface MigrationStep {
  readonly from: number;
  readonly to: number;
  /** what changed, for people reading the chain */
  readonly summary: string;
  /** One run in the `from` format, as JSON, into the `to` format; `where` is its field path
   *  (`runs.3`, or `(top level)` for a lone run) for error messages. Returns a new object. */
  run(run: JsonObject, where: string): JsonObject;
  /** The file in the `from` format (its runs included) into the `to` format. Returns a new
   *  object; throws MigrationError naming the field when the shape is not the `from` one. */
  file(file: JsonObject): JsonObject;
}

/** Why saved results could not be migrated; the message names the field or the version. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** Format 1 → 2: a run carries its own schemaVersion, and silentSensitive and culprit (which
 *  runs written before those fields existed lack) are there, null when they were missing. */
function runV1toV2(run: JsonObject): JsonObject {
  return {
    ...run,
    // a v1 run has no schemaVersion of its own: anything there is replaced
    schemaVersion: 2,
    silentSensitive: run.silentSensitive ?? null,
    culprit: run.culprit ?? null,
  };
}

/** Format 2 → 3: a run says what went through the para-API (`paravirt`). No format-2 app
 *  had a para-virtual technique, so every format-2 run is one without para-API metrics: null,
 *  whatever the run holds (as 1 → 2 replaces schemaVersion). */
function runV2toV3(run: JsonObject): JsonObject {
  return { ...run, schemaVersion: 3, paravirt: null };
}

/** Format 2 → 3 of a spec: `mmuBatch` says whether the para-virtual guest batched its
 *  page-table updates. Before format 3 there was no other way: true. */
function specV2toV3(spec: JsonObject): JsonObject {
  return { ...spec, mmuBatch: true };
}

/** Format 3 → 4: a run says what the binary translator did (`binaryTranslation`). No
 *  format-3 app had a binary-translation technique, so every format-3 run is one without
 *  translator metrics: null, whatever the run holds (as 2 → 3 does for paravirt). */
function runV3toV4(run: JsonObject): JsonObject {
  return { ...run, schemaVersion: 4, binaryTranslation: null };
}

/** Every step, in order: MIGRATION_STEPS[i] goes from format i + 1 to i + 2. */
export const MIGRATION_STEPS: readonly MigrationStep[] = [
  {
    from: 1,
    to: 2,
    summary:
      'every run carries schemaVersion itself; silentSensitive and culprit are always present ' +
      '(null in runs written before they existed)',
    run: runV1toV2,
    file: (file) => ({
      ...file,
      schemaVersion: 2,
      runs: listField(file, 'runs').map((run, i) => runV1toV2(objectAt(run, `runs.${i}`))),
    }),
  },
  {
    from: 2,
    to: 3,
    summary:
      'the spec says whether page-table updates were batched (mmuBatch: true, the only way ' +
      'before); every run carries paravirt, the para-API metrics (null before)',
    run: runV2toV3,
    file: (file) => ({
      ...file,
      schemaVersion: 3,
      spec: specV2toV3(objectField(file, 'spec')),
      runs: listField(file, 'runs').map((run, i) => runV2toV3(objectAt(run, `runs.${i}`))),
    }),
  },
  {
    from: 3,
    to: 4,
    summary:
      'every run carries binaryTranslation, the binary translator’s metrics (null before: ' +
      'no format-3 app translated)',
    run: runV3toV4,
    file: (file) => ({
      ...file,
      schemaVersion: 4,
      runs: listField(file, 'runs').map((run, i) => runV3toV4(objectAt(run, `runs.${i}`))),
    }),
  },
];

/** The newest results format the chain reaches. */
export const LATEST_RESULTS_FORMAT = MIGRATION_STEPS.reduce(
  (_, step) => step.to,
  OLDEST_RESULTS_FORMAT,
);

export interface Migrated {
  /** the results in the target format: a copy when a step ran, `json` itself when none did */
  readonly value: unknown;
  /** the format `json` was in */
  readonly from: number;
  /** how many steps were applied (0: it was already in the target format) */
  readonly steps: number;
}

/**
 * Bring a results file (`{ schemaVersion, spec, runs, … }`, parsed JSON) up to format `target`
 * (default: the newest). Throws MigrationError when it has no usable schemaVersion, when it
 * comes from a newer app, or when a step meets a shape that is not its format's. The result is
 * not validated: check it against the current schema afterwards (parseVersionedJson does).
 */
export function migrateResults(json: unknown, target = LATEST_RESULTS_FORMAT): Migrated {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MigrationError(
      `not a VMM Workbench results file: the top level is ${kindOf(json)}, not an object`,
    );
  }
  const from = versionOf((json as JsonObject).schemaVersion, target, 'file');
  return applySteps(json as JsonObject, from, target, (step, value) => step.file(value));
}

/**
 * Bring one RunResult taken out of its file (the CLI's `--metrics` output, a worker message)
 * up to format `target`. A run without schemaVersion is format 1: runs carry their own
 * version from format 2 on.
 */
export function migrateRunResult(json: unknown, target = LATEST_RESULTS_FORMAT): Migrated {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new MigrationError(`not a RunResult: the top level is ${kindOf(json)}, not an object`);
  }
  const version = (json as JsonObject).schemaVersion;
  const from = version === undefined ? 1 : versionOf(version, target, 'run');
  return applySteps(json as JsonObject, from, target, (step, value) =>
    step.run(value, '(top level)'),
  );
}

function applySteps(
  json: JsonObject,
  from: number,
  target: number,
  apply: (step: MigrationStep, value: JsonObject) => JsonObject,
): Migrated {
  if (from === target) return { value: json, from, steps: 0 };
  // steps build new objects, but parts they do not touch would still be shared with the input:
  // work on a copy so that nothing done to the result can reach the caller's data
  let value = JSON.parse(JSON.stringify(json)) as JsonObject;
  let steps = 0;
  for (let version = from; version < target; version++) {
    const step = MIGRATION_STEPS[version - OLDEST_RESULTS_FORMAT];
    if (step?.from !== version || step.to !== version + 1) {
      // a programming error: SCHEMA_VERSION was bumped without registering its step
      throw new Error(`no migration step from results format ${version} to ${version + 1}`);
    }
    value = apply(step, value);
    steps++;
  }
  return { value, from, steps };
}

/** The format a schemaVersion names, or a MigrationError saying why it names none. */
function versionOf(version: unknown, target: number, what: 'file' | 'run'): number {
  const noun = what === 'file' ? 'results file' : 'RunResult';
  if (version === undefined) {
    throw new MigrationError(`schemaVersion is missing: not a VMM Workbench ${noun}`);
  }
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new MigrationError(
      `schemaVersion ${JSON.stringify(version) ?? String(version)} is not a whole number: not a VMM Workbench ${noun}`,
    );
  }
  if (version > target) {
    throw new MigrationError(
      `written by a newer version of VMM Workbench (results format ${version}; this app reads formats ${OLDEST_RESULTS_FORMAT} to ${target})`,
    );
  }
  if (version < OLDEST_RESULTS_FORMAT) {
    throw new MigrationError(
      `schemaVersion ${version} is not a results format (formats start at ${OLDEST_RESULTS_FORMAT})`,
    );
  }
  return version;
}

/** `file[key]` when it is a list, else a MigrationError naming the field. */
function listField(file: JsonObject, key: string): unknown[] {
  const value = file[key];
  if (!Array.isArray(value)) {
    throw new MigrationError(
      value === undefined ? `${key}: missing` : `${key}: expected a list, got ${kindOf(value)}`,
    );
  }
  return value;
}

/** `file[key]` when it is an object, else a MigrationError naming the field. */
function objectField(file: JsonObject, key: string): JsonObject {
  if (file[key] === undefined) throw new MigrationError(`${key}: missing`);
  return objectAt(file[key], key);
}

/** `value` when it is an object, else a MigrationError naming the field at `where`. */
function objectAt(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MigrationError(`${where}: expected an object, got ${kindOf(value)}`);
  }
  return value as JsonObject;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
