// Saved results of older formats keep loading: the migration chain brings real v1, v2 and v3
// files (test/fixtures/results/, written by the last release of each format) to the current
// format, step by step, without touching its input, every error names the version or the
// field, and parseResultsFile / parseVersionedJson migrate before they validate. The history folder and the import are
// tested with the service (test/service/experiment-service.test.ts).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  LATEST_RESULTS_FORMAT,
  MIGRATION_STEPS,
  MigrationError,
  migrateResults,
  migrateRunResult,
  OLDEST_RESULTS_FORMAT,
} from '../../shared/migrations';
import {
  HistoryFileSchema,
  parseResultsFile,
  parseVersionedJson,
  ResultsFileSchema,
  RunResultSchema,
  SCHEMA_VERSION,
} from '../../shared/results';
import { sampleResults } from '../helpers/sample-results';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/results/${name}`, import.meta.url), 'utf8');

/** a v1 file from before silentSensitive and culprit existed */
const V1_OLD = fixture('v1-syscall-before-silent-sensitive.json');
/** the same v1 file as the last v1 release wrote it, with both fields */
const V1 = fixture('v1-syscall.json');
/** v2 files as the last v2 release wrote them: a workload on classic x86, a kernel file on strict */
const V2 = fixture('v2-syscall.json');
const V2_FILE_KERNEL = fixture('v2-kernel-file-strict.json');
/** a v3 history file as the last v3 release wrote it: native and a para-virtual run */
const V3 = fixture('v3-syscall-paravirt.json');

type Json = Record<string, unknown>;
const runsOf = (file: unknown): Json[] => (file as { runs: Json[] }).runs;

/** `value` without the fields `keys`. */
function without(value: object, ...keys: string[]): Json {
  const copy = { ...value } as Json;
  for (const k of keys) delete copy[k];
  return copy;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The MigrationError `fn` throws (fails the test on any other outcome, a TypeError included). */
function migrationError(fn: () => unknown): MigrationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof MigrationError) return e;
    throw e;
  }
  throw new Error('expected a MigrationError');
}

describe('the migration chain', () => {
  it('has one step per format, from the oldest to the one this app writes', () => {
    expect(OLDEST_RESULTS_FORMAT).toBe(1);
    expect(LATEST_RESULTS_FORMAT).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(4);
    MIGRATION_STEPS.forEach((step, i) => {
      expect(step.from).toBe(OLDEST_RESULTS_FORMAT + i);
      expect(step.to).toBe(step.from + 1);
      expect(step.summary).not.toBe('');
    });
  });

  it('the fixtures are real v1 files', () => {
    for (const text of [V1, V1_OLD]) {
      const json = JSON.parse(text) as Json;
      expect(json.schemaVersion).toBe(1);
      expect(runsOf(json).map((r) => r.technique)).toEqual(['native', 'trap-and-emulate']);
      for (const run of runsOf(json)) expect(run).not.toHaveProperty('schemaVersion');
    }
    for (const run of runsOf(JSON.parse(V1_OLD))) {
      expect(run).not.toHaveProperty('silentSensitive');
      expect(run).not.toHaveProperty('culprit');
    }
    expect(V1.length + V1_OLD.length).toBeLessThan(200_000);
  });

  it('the v2 fixtures are real v2 files, from before mmuBatch and paravirt', () => {
    for (const text of [V2, V2_FILE_KERNEL]) {
      const json = JSON.parse(text) as Json;
      expect(json.schemaVersion).toBe(2);
      expect(json.spec).not.toHaveProperty('mmuBatch');
      expect(runsOf(json).map((r) => r.technique)).toEqual(['native', 'trap-and-emulate']);
      for (const run of runsOf(json)) {
        expect(run.schemaVersion).toBe(2);
        expect(run).toHaveProperty('silentSensitive');
        expect(run).not.toHaveProperty('paravirt');
      }
    }
    const file = JSON.parse(V2_FILE_KERNEL) as { spec: Json };
    expect(file.spec).toMatchObject({ kernel: { kind: 'file' }, isa: 'strict' });
    expect(V2.length + V2_FILE_KERNEL.length).toBeLessThan(100_000);
  });

  it('the v3 fixture is a real v3 file, from before binaryTranslation', () => {
    const json = JSON.parse(V3) as Json & { spec: Json };
    expect(json.schemaVersion).toBe(3);
    expect(json.spec.mmuBatch).toBe(true);
    expect(runsOf(json).map((r) => r.technique)).toEqual(['native', 'paravirt']);
    for (const run of runsOf(json)) {
      expect(run.schemaVersion).toBe(3);
      expect(run).toHaveProperty('paravirt');
      expect(run).not.toHaveProperty('binaryTranslation');
    }
    // the para-virtual run has real para-API metrics
    expect(runsOf(json)[1]!.paravirt).toMatchObject({ mmuUpdate: { calls: 2 } });
    expect(V3.length).toBeLessThan(50_000);
  });
});

describe('results format 1 → 2', () => {
  it('migrates a v1 file from before silentSensitive existed into the shape v2 files have', () => {
    const input = JSON.parse(V1_OLD) as Json;
    const { value, from, steps } = migrateResults(input, 2);
    expect(from).toBe(1);
    expect(steps).toBe(1);
    const file = value as Json & { runs: Json[] };
    expect(file.schemaVersion).toBe(2);
    expect(file.id).toBe(input.id);
    expect(file.createdAt).toBe(input.createdAt);
    expect(file.spec).toEqual(input.spec);
    file.runs.forEach((run, i) => {
      expect(run.schemaVersion).toBe(2);
      expect(run.silentSensitive).toBeNull();
      expect(run.culprit).toBeNull();
      // nothing else changes
      expect(without(run, 'schemaVersion', 'silentSensitive', 'culprit')).toEqual(runsOf(input)[i]);
    });
    // the fields a real v2 file has, no more, no fewer
    const v2 = JSON.parse(V2) as Json;
    expect(Object.keys(file).sort()).toEqual(Object.keys(v2).sort());
    expect(Object.keys(file.spec as Json).sort()).toEqual(Object.keys(v2.spec as Json).sort());
    for (const run of file.runs) {
      expect(Object.keys(run).sort()).toEqual(Object.keys(runsOf(v2)[0]!).sort());
    }
  });

  it('then reaches the current format, which validates', () => {
    const { value, steps } = migrateResults(JSON.parse(V1_OLD));
    expect(steps).toBe(3);
    expect(HistoryFileSchema.parse(value).schemaVersion).toBe(SCHEMA_VERSION);
    expect(ResultsFileSchema.safeParse(value).success).toBe(true);
  });

  it('keeps silentSensitive and culprit when a v1 file has them', () => {
    const input = JSON.parse(V1) as Json;
    const tae = runsOf(input)[1]!;
    expect(tae.silentSensitive).toMatchObject({ executed: 273 });
    const file = parseResultsFile(V1);
    expect(file.runs[1]!.silentSensitive).toEqual(tae.silentSensitive);
    expect(file.runs[1]!.culprit).toBeNull();
    expect(file.runs[0]!.silentSensitive).toBeNull();
    // and the same runs as the file without them, otherwise
    const old = parseResultsFile(V1_OLD);
    expect(file.runs.map((r) => ({ ...r, silentSensitive: null }))).toEqual(old.runs);
  });

  it('never changes its input, and the result shares nothing with it', () => {
    const input = deepFreeze(JSON.parse(V1_OLD) as Json);
    const before = JSON.stringify(input);
    const { value } = migrateResults(input);
    expect(JSON.stringify(input)).toBe(before);
    expect(value).not.toBe(input);
    const migrated = value as { spec: Json; runs: Json[] };
    migrated.spec.append = 'changed';
    (migrated.runs[0]!.end as Json).detail = 'changed';
    expect(JSON.stringify(input)).toBe(before);
  });

  it('replaces whatever a v1 run had as schemaVersion', () => {
    const input = JSON.parse(V1_OLD) as Json;
    runsOf(input)[0]!.schemaVersion = 7;
    expect(runsOf(migrateResults(input, 2).value).map((r) => r.schemaVersion)).toEqual([2, 2]);
  });

  it('names the field when a v1 file is not shaped like one, instead of crashing', () => {
    const base = JSON.parse(V1_OLD) as Json;
    const error = (file: Json) => migrationError(() => migrateResults(file)).message;
    expect(error({ ...base, runs: 'nope' })).toBe('runs: expected a list, got a string');
    expect(error({ ...base, runs: { 0: {} } })).toBe('runs: expected a list, got an object');
    expect(error({ schemaVersion: 1, spec: base.spec })).toBe('runs: missing');
    expect(error({ ...base, runs: [runsOf(base)[0], 42] })).toBe(
      'runs.1: expected an object, got a number',
    );
    expect(error({ ...base, runs: [null] })).toBe('runs.0: expected an object, got null');
    expect(error({ ...base, runs: [[]] })).toBe('runs.0: expected an object, got a list');
  });

  it('leaves the rest to the schema, which names the bad field of the migrated file', () => {
    const base = JSON.parse(V1_OLD) as Json;
    const text = JSON.stringify({ ...base, runs: [{ ...runsOf(base)[0], technique: 1 }] });
    expect(() => parseResultsFile(text)).toThrow(/^runs\.0\.technique: /);
    expect(() =>
      parseResultsFile('{"schemaVersion": 1, "spec": {"kernel": 7}, "runs": []}'),
    ).toThrow(/^spec\.kernel/);
  });
});

describe('results format 2 → 3', () => {
  it('migrates a real v2 file: mmuBatch true, paravirt null, nothing else changes', () => {
    for (const text of [V2, V2_FILE_KERNEL]) {
      const input = JSON.parse(text) as Json;
      const { value, from, steps } = migrateResults(input, 3);
      expect([from, steps]).toEqual([2, 1]);
      const file = value as Json & { spec: Json; runs: Json[] };
      expect(file.schemaVersion).toBe(3);
      expect([file.id, file.createdAt]).toEqual([input.id, input.createdAt]);
      // v2 apps always batched: the only way there was
      expect(file.spec).toEqual({ ...(input.spec as Json), mmuBatch: true });
      file.runs.forEach((run, i) => {
        expect(run.schemaVersion).toBe(3);
        expect(run.paravirt).toBeNull();
        expect(without(run, 'schemaVersion', 'paravirt')).toEqual(
          without(runsOf(input)[i]!, 'schemaVersion'),
        );
      });
      // the fields a real v3 file has, no more, no fewer
      const v3 = JSON.parse(V3) as Json;
      expect(Object.keys(file).sort()).toEqual(Object.keys(v3).sort());
      expect(Object.keys(file.spec).sort()).toEqual(Object.keys(v3.spec as Json).sort());
      for (const run of file.runs) {
        expect(Object.keys(run).sort()).toEqual(Object.keys(runsOf(v3)[0]!).sort());
      }
    }
  });

  it('then reaches the current format, which validates', () => {
    for (const text of [V2, V2_FILE_KERNEL]) {
      const { value, steps } = migrateResults(JSON.parse(text));
      expect(steps).toBe(2);
      expect(HistoryFileSchema.parse(value).schemaVersion).toBe(SCHEMA_VERSION);
    }
  });

  it('keeps what v2 already had: the silent sensitive instructions, the kernel file', () => {
    const input = JSON.parse(V2) as Json;
    const tae = runsOf(input)[1]!;
    expect(tae.silentSensitive).toMatchObject({ executed: 254 });
    const file = parseResultsFile(V2);
    expect(file.runs[1]!.silentSensitive).toEqual(tae.silentSensitive);
    const strict = parseResultsFile(V2_FILE_KERNEL);
    expect(strict.spec.kernel).toEqual((JSON.parse(V2_FILE_KERNEL) as { spec: Json }).spec.kernel);
    expect(strict.runs.map((r) => [r.isa, r.equivalent, r.paravirt])).toEqual([
      ['strict', true, null],
      ['strict', true, null],
    ]);
  });

  it('sets paravirt and mmuBatch whatever a v2 file holds there (no v2 app wrote them)', () => {
    const input = JSON.parse(V2) as Json & { spec: Json };
    input.spec.mmuBatch = false;
    runsOf(input)[0]!.paravirt = { hypercalls: { bogus: 1 } };
    const { value } = migrateResults(input, 3);
    expect((value as { spec: Json }).spec.mmuBatch).toBe(true);
    expect(runsOf(value).map((r) => r.paravirt)).toEqual([null, null]);
  });

  it('never changes its input', () => {
    const input = deepFreeze(JSON.parse(V2) as Json);
    const before = JSON.stringify(input);
    const { value } = migrateResults(input);
    expect(JSON.stringify(input)).toBe(before);
    (value as { spec: Json }).spec.append = 'changed';
    expect(JSON.stringify(input)).toBe(before);
  });

  it('names the field when a v2 file is not shaped like one, instead of crashing', () => {
    const base = JSON.parse(V2) as Json;
    const error = (file: Json) => migrationError(() => migrateResults(file)).message;
    expect(error({ schemaVersion: 2, runs: [] })).toBe('spec: missing');
    expect(error({ ...base, spec: 'nope' })).toBe('spec: expected an object, got a string');
    expect(error({ ...base, spec: [] })).toBe('spec: expected an object, got a list');
    expect(error({ ...base, runs: 7 })).toBe('runs: expected a list, got a number');
    expect(error({ ...base, runs: [runsOf(base)[0], null] })).toBe(
      'runs.1: expected an object, got null',
    );
  });

  it('takes a v1 file through every step', () => {
    for (const text of [V1, V1_OLD]) {
      const { value, from, steps } = migrateResults(JSON.parse(text));
      expect([from, steps]).toEqual([1, 3]);
      const file = HistoryFileSchema.parse(value);
      expect(file.spec.mmuBatch).toBe(true);
      expect(file.runs.map((r) => [r.schemaVersion, r.paravirt, r.binaryTranslation])).toEqual([
        [4, null, null],
        [4, null, null],
      ]);
    }
    expect(parseResultsFile(V1).runs[1]!.silentSensitive).toMatchObject({ executed: 273 });
  });
});

describe('results format 3 → 4', () => {
  it('migrates a real v3 file: binaryTranslation null, nothing else changes', () => {
    const input = JSON.parse(V3) as Json;
    const { value, from, steps } = migrateResults(input);
    expect([from, steps]).toEqual([3, 1]);
    const file = HistoryFileSchema.parse(value);
    expect(file.schemaVersion).toBe(4);
    expect([file.id, file.createdAt]).toEqual([input.id, input.createdAt]);
    expect(file.spec).toEqual(input.spec);
    file.runs.forEach((run, i) => {
      expect(run.schemaVersion).toBe(4);
      expect(run.binaryTranslation).toBeNull();
      expect(without(run, 'schemaVersion', 'binaryTranslation')).toEqual(
        without(runsOf(input)[i]!, 'schemaVersion'),
      );
    });
  });

  it('keeps what v3 already had: the para-API metrics, the batching', () => {
    const input = JSON.parse(V3) as Json & { spec: Json };
    const file = parseResultsFile(V3);
    expect(file.runs.map((r) => r.paravirt)).toEqual(runsOf(input).map((r) => r.paravirt));
    expect(file.runs[1]!.paravirt!.hypercalls.mmu_update).toBe(2);
    expect(file.runs[0]!.paravirt).toBeNull();
    const unbatched = { ...input, spec: { ...input.spec, mmuBatch: false } };
    expect(parseResultsFile(JSON.stringify(unbatched)).spec.mmuBatch).toBe(false);
  });

  it('sets binaryTranslation whatever a v3 file holds there (no v3 app wrote it)', () => {
    const input = JSON.parse(V3) as Json;
    runsOf(input)[0]!.binaryTranslation = { units: 7 };
    runsOf(input)[1]!.binaryTranslation = 'bogus';
    const { value } = migrateResults(input);
    expect(runsOf(value).map((r) => r.binaryTranslation)).toEqual([null, null]);
  });

  it('never changes its input', () => {
    const input = deepFreeze(JSON.parse(V3) as Json);
    const before = JSON.stringify(input);
    const { value } = migrateResults(input);
    expect(JSON.stringify(input)).toBe(before);
    (runsOf(value)[1]!.paravirt as Json).upcalls = 999;
    expect(JSON.stringify(input)).toBe(before);
  });

  it('names the field when a v3 file is not shaped like one, instead of crashing', () => {
    const base = JSON.parse(V3) as Json;
    const error = (file: Json) => migrationError(() => migrateResults(file)).message;
    expect(error({ schemaVersion: 3, spec: base.spec })).toBe('runs: missing');
    expect(error({ ...base, runs: 'nope' })).toBe('runs: expected a list, got a string');
    expect(error({ ...base, runs: [runsOf(base)[0], 3] })).toBe(
      'runs.1: expected an object, got a number',
    );
  });

  it('takes a v2 file through both steps', () => {
    const { value, from, steps } = migrateResults(JSON.parse(V2));
    expect([from, steps]).toEqual([2, 2]);
    const file = HistoryFileSchema.parse(value);
    expect(file.runs.map((r) => [r.schemaVersion, r.paravirt, r.binaryTranslation])).toEqual([
      [4, null, null],
      [4, null, null],
    ]);
  });
});

describe('reading results of any format', () => {
  it('parseResultsFile and parseVersionedJson migrate, then validate', () => {
    const file = parseResultsFile(V1_OLD);
    expect(file.schemaVersion).toBe(SCHEMA_VERSION);
    expect(file.runs.every((r) => r.schemaVersion === SCHEMA_VERSION)).toBe(true);
    const history = parseVersionedJson(V1_OLD, HistoryFileSchema);
    expect(history.id).toBe((JSON.parse(V1_OLD) as Json).id);
    expect(history.runs).toEqual(file.runs);
  });

  it('reads a current file as it is: no step, the same object', () => {
    const current = sampleResults();
    const { value, from, steps } = migrateResults(current);
    expect(value).toBe(current);
    expect([from, steps]).toEqual([SCHEMA_VERSION, 0]);
    expect(parseResultsFile(JSON.stringify(current))).toStrictEqual(current);
  });

  it('requires silentSensitive, culprit, paravirt, binaryTranslation and mmuBatch in the current format (no defaults)', () => {
    const current = sampleResults();
    const run = without(current.runs[0]!, 'silentSensitive');
    expect(() => parseResultsFile(JSON.stringify({ ...current, runs: [run] }))).toThrow(
      /^runs\.0\.silentSensitive: /,
    );
    const noParavirt = without(current.runs[0]!, 'paravirt');
    expect(() => parseResultsFile(JSON.stringify({ ...current, runs: [noParavirt] }))).toThrow(
      /^runs\.0\.paravirt: /,
    );
    const noBt = without(current.runs[0]!, 'binaryTranslation');
    expect(() => parseResultsFile(JSON.stringify({ ...current, runs: [noBt] }))).toThrow(
      /^runs\.0\.binaryTranslation: /,
    );
    const spec = without(current.spec, 'mmuBatch');
    expect(() => parseResultsFile(JSON.stringify({ ...current, spec }))).toThrow(
      /^spec\.mmuBatch: /,
    );
    const unversioned = without(current.runs[0]!, 'schemaVersion');
    expect(() => parseResultsFile(JSON.stringify({ ...current, runs: [unversioned] }))).toThrow(
      /^runs\.0\.schemaVersion: /,
    );
  });

  it('refuses a file of a newer app, saying so', () => {
    const newer = { ...sampleResults(), schemaVersion: 5 };
    const message =
      'written by a newer version of VMM Workbench (results format 5; this app reads formats 1 to 4)';
    expect(migrationError(() => migrateResults(newer)).message).toBe(message);
    expect(() => parseResultsFile(JSON.stringify(newer))).toThrow(message);
  });

  it('refuses a file without a usable schemaVersion', () => {
    const unversioned = without(sampleResults(), 'schemaVersion');
    const error = (json: unknown) => migrationError(() => migrateResults(json)).message;
    expect(error(unversioned)).toBe('schemaVersion is missing: not a VMM Workbench results file');
    expect(() => parseResultsFile(JSON.stringify(unversioned))).toThrow(/schemaVersion is missing/);
    expect(error({ ...unversioned, schemaVersion: '2' })).toBe(
      'schemaVersion "2" is not a whole number: not a VMM Workbench results file',
    );
    expect(error({ ...unversioned, schemaVersion: 1.5 })).toMatch(
      /^schemaVersion 1\.5 is not a whole/,
    );
    expect(error({ ...unversioned, schemaVersion: null })).toMatch(/^schemaVersion null is not a/);
    expect(error({ ...unversioned, schemaVersion: 0 })).toBe(
      'schemaVersion 0 is not a results format (formats start at 1)',
    );
    expect(error({ ...unversioned, schemaVersion: -2 })).toMatch(
      /^schemaVersion -2 is not a results format/,
    );
  });

  it('refuses garbage with a message, never a TypeError', () => {
    expect(() => parseResultsFile('garbage')).toThrow(/^not JSON: /);
    expect(() => parseResultsFile('')).toThrow(/^not JSON: /);
    const error = (json: unknown) => migrationError(() => migrateResults(json)).message;
    expect(error(42)).toBe(
      'not a VMM Workbench results file: the top level is a number, not an object',
    );
    expect(error(null)).toMatch(/the top level is null, not an object$/);
    expect(error([{ schemaVersion: 1 }])).toMatch(/the top level is a list, not an object$/);
    expect(error('{"schemaVersion": 1}')).toMatch(/the top level is a string, not an object$/);
    expect(() => parseResultsFile('[]')).toThrow(/not a VMM Workbench results file/);
  });
});

describe('a RunResult taken out of its file', () => {
  it('says its format itself, and one without it is format 1', () => {
    const v1Run = runsOf(JSON.parse(V1_OLD))[1]!;
    const { value, from, steps } = migrateRunResult(v1Run);
    expect([from, steps]).toEqual([1, 3]);
    const run = RunResultSchema.parse(value);
    expect(run).toMatchObject({
      schemaVersion: 4,
      technique: 'trap-and-emulate',
      culprit: null,
      paravirt: null,
      binaryTranslation: null,
    });
    expect(v1Run).not.toHaveProperty('schemaVersion');

    const v2Run = runsOf(JSON.parse(V2))[1]!;
    const v2 = migrateRunResult(v2Run);
    expect([v2.from, v2.steps]).toEqual([2, 2]);
    expect(RunResultSchema.parse(v2.value)).toMatchObject({ schemaVersion: 4, paravirt: null });
    expect(v2Run).not.toHaveProperty('paravirt');

    const v3Run = runsOf(JSON.parse(V3))[1]!;
    const v3 = migrateRunResult(v3Run);
    expect([v3.from, v3.steps]).toEqual([3, 1]);
    const migrated = RunResultSchema.parse(v3.value);
    expect(migrated).toMatchObject({ schemaVersion: 4, binaryTranslation: null });
    expect(migrated.paravirt).toEqual(v3Run.paravirt);
    expect(v3Run).not.toHaveProperty('binaryTranslation');

    const current = sampleResults().runs[0]!;
    expect(migrateRunResult(current)).toEqual({ value: current, from: 4, steps: 0 });
    expect(
      migrationError(() => migrateRunResult({ ...current, schemaVersion: 9 })).message,
    ).toMatch(/^written by a newer version of VMM Workbench \(results format 9;/);
    expect(migrationError(() => migrateRunResult('run')).message).toMatch(/^not a RunResult/);
  });
});
