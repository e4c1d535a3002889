// The experiment service: spec checks name the field; an experiment runs every technique
// through the pool in parallel (native first), reports queued → running → finished with an
// ETA, compares runs with native and lands in the history atomically; the history lists what
// it can read and reports — never touches — what it cannot. Most tests run fake workers
// (test/fixtures/workers/fake-worker.ts) under test-only techniques registered here; the last
// ones run the real worker entry on the guest kernel.

import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type HistoryFile,
  HistoryFileSchema,
  type RunResult,
  SCHEMA_VERSION,
  SPEC_DEFAULTS,
} from '../../shared/results';
import { TranslationCacheDumpSchema } from '../../shared/translation-cache-dump';
import { registerTechnique } from '../../src-main/engine/vmm/registry';
import { guestKernelImage } from '../../src-main/host/guest-kernel';
import {
  type ExperimentProgress,
  ExperimentService,
  type ExperimentServiceOptions,
  MissingDumpError,
  SpecError,
} from '../../src-main/service/experiment-service';
import { prepareExperiment } from '../../src-main/service/experiment-spec';
import { WorkerPool } from '../../src-main/workers/pool';
import { cannedDump } from '../fixtures/workers/canned';

// Every file-system call of the history store goes through here, so the tests can see that a
// save writes a temporary file and renames it, and can make the rename fail.
const fsSpy = vi.hoisted(() => ({ calls: [] as string[][], failRenames: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    open: (file: string, flags: string) => {
      fsSpy.calls.push(['open', String(file), flags]);
      return real.open(file, flags);
    },
    rename: async (from: string, to: string) => {
      fsSpy.calls.push(['rename', String(from), String(to)]);
      if (fsSpy.failRenames > 0) {
        fsSpy.failRenames--;
        throw Object.assign(new Error('EIO: simulated failure, rename'), { code: 'EIO' });
      }
      return real.rename(from, to);
    },
  };
});

const FAKE = new URL('../fixtures/workers/fake-worker.ts', import.meta.url);

// test-only techniques: the service checks ids against the registry, the fake worker ignores it
const fakeInfo = {
  summary: 'test only',
  reference: 'test',
  boot: () => {
    throw new Error('fake');
  },
};
registerTechnique({ id: 'fake-tech', name: 'Fake', kernelBuild: 'native', ...fakeInfo });
registerTechnique({ id: 'fake-para', name: 'Fake para', kernelBuild: 'paravirt', ...fakeInfo });

const root = mkdtempSync(path.join(tmpdir(), 'vmwb-service-'));
let dirCount = 0;
const newDataDir = (): string => {
  const dir = path.join(root, `d${++dirCount}`);
  mkdirSync(dir);
  return dir;
};

const pools: WorkerPool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  rmSync(root, { recursive: true, force: true });
});
function fakePool(size = 2): WorkerPool {
  const p = new WorkerPool({ workerScript: FAKE, size });
  pools.push(p);
  return p;
}

function service(options: Partial<ExperimentServiceOptions> = {}): ExperimentService {
  return new ExperimentService({ dataDir: newDataDir(), pool: fakePool(), ...options });
}

const isprime = { kind: 'workload', workload: 'isprime' } as const;

function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

/** The result with the fields that measure the host (allowed to differ) blanked. */
const withoutHost = (r: RunResult): unknown => ({ ...r, host: null });

beforeEach(() => {
  fsSpy.calls.length = 0;
  fsSpy.failRenames = 0;
});

describe('spec checks', () => {
  const s = new ExperimentService({ dataDir: path.join(root, 'never-used') });
  const check = (spec: unknown, file?: { name: string; bytes: Uint8Array }) =>
    specError(() => s.start(spec, file));

  it('names the field of a schema error', () => {
    expect(check('isprime').field).toBe('(top level)');
    expect(check({ techniques: ['native'] }).field).toBe('kernel');
    expect(check({ kernel: isprime, techniques: [] }).field).toBe('techniques');
    expect(check({ kernel: isprime, techniques: ['native'], seed: -1 }).field).toBe('seed');
    const e = check({ kernel: isprime, techniques: ['native'], maxInstructions: 'lots' });
    expect(e.field).toBe('maxInstructions');
    expect(e.message).toMatch(/^maxInstructions: /);
    expect(check({ kernel: { kind: 'workload' }, techniques: ['native'] }).field).toBe(
      'kernel.workload',
    );
    // a misspelt optional field is an error, not silently the default
    expect(check({ kernel: isprime, techniques: ['native'], apend: 'n=3' }).field).toBe('apend');
  });

  it('refuses an mmuBatch that is not true or false, naming it; leaving it out means batching', () => {
    for (const mmuBatch of ['no', 0, null, 'false']) {
      const e = check({ kernel: isprime, techniques: ['native'], mmuBatch });
      expect(e.field, String(mmuBatch)).toBe('mmuBatch');
      expect(e.message).toMatch(/^mmuBatch: .*boolean/i);
    }
    const planned = (mmuBatch?: boolean) =>
      prepareExperiment({ kernel: isprime, techniques: ['native', 'fake-para'], mmuBatch });
    expect(planned().spec.mmuBatch).toBe(true);
    expect(planned().runs.map((r) => r.cmdline)).toEqual([
      'vmm-guest.bin workload=isprime',
      'vmm-guest.bin workload=isprime',
    ]);
    const word = check({ kernel: isprime, techniques: ['native'], append: 'n=3 mmu_batch=0' });
    expect(word.field).toBe('append');
    expect(word.message).toMatch(/mmu_batch= is set by mmuBatch/);
    // every technique boots the same command line: the native kernel ignores the word
    expect(planned(false).runs.map((r) => r.cmdline)).toEqual([
      'vmm-guest.bin workload=isprime mmu_batch=0',
      'vmm-guest.bin workload=isprime mmu_batch=0',
    ]);
  });

  it('names unknown techniques, profiles and workloads with what is available', () => {
    const t = check({ kernel: isprime, techniques: ['native', 'warp-drive'] });
    expect(t.field).toBe('techniques.1');
    expect(t.message).toMatch(/unknown technique 'warp-drive' \(available: native,.*fake-tech/);
    const p = check({ kernel: isprime, techniques: ['native'], profile: 'cray-1' });
    expect(p.field).toBe('profile');
    expect(p.message).toMatch(/unknown CPU profile 'cray-1' \(available: .*p4-2006/);
    const w = check({ kernel: { kind: 'workload', workload: 'doom' }, techniques: ['native'] });
    expect(w.field).toBe('kernel.workload');
    expect(w.message).toMatch(/unknown workload 'doom' \(available: syscall, isprime/);
  });

  it('checks a kernel file: bytes given, the right bytes, no para-virtual technique', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const kernel = { kind: 'file', name: 'dir/k.bin', sha256 };
    expect(check({ kernel, techniques: ['native'] }).field).toBe('kernel');
    const wrong = check(
      { kernel, techniques: ['native'] },
      { name: 'k.bin', bytes: new Uint8Array([9]) },
    );
    expect(wrong.field).toBe('kernel.sha256');
    const para = check(
      { kernel, techniques: ['fake-tech', 'fake-para'] },
      { name: 'k.bin', bytes },
    );
    expect(para.field).toBe('techniques.1');
    expect(para.message).toMatch(/'fake-para' .* cannot run a kernel file/);
    expect(check({ kernel: isprime, techniques: ['native'] }, { name: 'k.bin', bytes }).field).toBe(
      'kernel',
    );
  });
});

describe('running an experiment (fake workers)', () => {
  it('fills defaults, runs native first and in parallel, reports progress, saves the history', async () => {
    const svc = service({ now: () => new Date('2026-11-23T10:15:00.123Z') });
    const handle = svc.start({
      kernel: isprime,
      techniques: ['fake-tech', 'native'],
      append: 'ms=1000',
    });
    expect(handle.id).toMatch(/^2026-11-23T10-15-00-123Z-[0-9a-f]{6}$/);
    expect(handle.spec).toEqual({
      ...SPEC_DEFAULTS,
      kernel: isprime,
      techniques: ['native', 'fake-tech'],
      append: 'ms=1000',
    });
    const events: ExperimentProgress[] = [];
    handle.onProgress((p) => events.push(p));
    // a new subscriber first gets every run's current state
    expect(events.map((e) => [e.technique, e.state])).toEqual([
      ['native', 'queued'],
      ['fake-tech', 'queued'],
    ]);
    const history = await handle.done;
    for (const t of ['native', 'fake-tech']) {
      const mine = events.filter((e) => e.technique === t);
      expect(mine.every((e) => e.experimentId === handle.id)).toBe(true);
      expect(mine.map((e) => e.state).filter((s, i, a) => a[i - 1] !== s)).toEqual([
        'queued',
        'running',
        'finished',
      ]);
      expect(mine.at(-1)!.instructions).toBeGreaterThan(0);
    }
    // in parallel: each was running before the other finished
    const firstRunning = (t: string) =>
      events.findIndex((e) => e.technique === t && e.state === 'running');
    const finished = (t: string) =>
      events.findIndex((e) => e.technique === t && e.state === 'finished');
    expect(firstRunning('fake-tech')).toBeLessThan(finished('native'));
    expect(firstRunning('native')).toBeLessThan(finished('fake-tech'));

    expect(history.id).toBe(handle.id);
    expect(history.createdAt).toBe('2026-11-23T10:15:00.123Z');
    expect(history.schemaVersion).toBe(SCHEMA_VERSION);
    expect(history.runs.map((r) => [r.technique, r.status, r.equivalent])).toEqual([
      ['native', 'completed', true],
      ['fake-tech', 'completed', true],
    ]);
    // workload kernel: the bundled image, its kernel path, workload=NAME then append
    expect(history.runs[0]!.cmdline).toBe('vmm-guest.bin workload=isprime ms=1000');
    expect(history.runs[0]!.kernel.name).toBe('guest kernel');
    const file = path.join(svc.historyDir, `${handle.id}.json`);
    expect(HistoryFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')))).toEqual(history);
    expect(await svc.load(handle.id)).toEqual(history);
    expect(readdirSync(svc.historyDir)).toEqual([`${handle.id}.json`]);
  });

  it('a failing technique fails only its own run', async () => {
    const svc = service();
    const history = await svc.start({
      kernel: isprime,
      techniques: ['native', 'fake-tech'],
      append: 'ms=100 fake-tech.mode=throw',
    }).done;
    const [native, fake] = history.runs;
    expect(native!.status).toBe('completed');
    expect(fake!.status).toBe('failed');
    expect(fake!.end.detail).toMatch(/^technique 'fake-tech': .*fake worker exploded/);
    expect(fake!.equivalent).toBeNull();
  });

  it('cancel stops every run, queued or running, and the partial results are saved', async () => {
    const svc = service({ pool: fakePool(1) });
    const handle = svc.start({ kernel: isprime, techniques: ['fake-tech'], append: 'ms=60000' });
    await new Promise<void>((resolve) =>
      handle.onProgress((p) => {
        if (p.technique === 'native' && p.state === 'running' && p.instructions > 0) resolve();
      }),
    );
    handle.cancel();
    const history = await handle.done;
    expect(history.runs.map((r) => [r.status, r.end.reason])).toEqual([
      ['did-not-finish', 'cancelled'],
      ['did-not-finish', 'cancelled'],
    ]);
    expect(history.runs[0]!.guestInstructions.total).toBeGreaterThan(0);
    expect((await svc.listHistory()).entries.map((e) => e.id)).toEqual([handle.id]);
  });

  it('estimates time left from the native run of the experiment, then from the history', async () => {
    // (assertions run after the experiment: the service shields itself from a listener that
    // throws, so an expect() failing inside one would go unnoticed)
    let now = 0;
    const dataDir = newDataDir();
    const svc = service({ dataDir, clock: () => now });
    // the same command line both times, so the second experiment finds the first in history
    const spec = {
      kernel: isprime,
      techniques: ['fake-tech'],
      append: 'native.ms=300 fake-tech.ms=1200 fake-tech.rate=100',
    };
    /** [reported etaMs, the ETA expected from what the test saw] per running report */
    const seen: [number | null, number | null][] = [];
    const watch = (technique: string, expectedTotal: () => number | undefined) => {
      let start: number | undefined;
      return (p: ExperimentProgress): void => {
        if (p.technique !== technique || p.state !== 'running') return;
        start ??= now; // the service's clock when it first saw the run running
        const total = expectedTotal();
        const elapsed = now - start;
        seen.push([
          p.etaMs,
          total === undefined || p.instructions === 0 || elapsed === 0
            ? null
            : Math.max(0, total - p.instructions) / (p.instructions / elapsed),
        ]);
        now += 100; // the service's clock moves 100 ms between reports
      };
    };

    const handle = svc.start(spec);
    let nativeTotal: number | undefined;
    handle.onProgress((p) => {
      if (p.technique === 'native' && p.state === 'finished') nativeTotal = p.instructions;
    });
    handle.onProgress(watch('fake-tech', () => nativeTotal));
    const first = await handle.done;
    const closeTo = ([a, b]: [number | null, number | null]): boolean =>
      a === b || (a !== null && b !== null && Math.abs(a - b) < 1e-6);
    expect(seen.filter((x) => !closeTo(x))).toEqual([]);
    // null until native finished, then real estimates
    expect(seen[0]![0]).toBeNull();
    expect(seen.filter(([eta]) => eta !== null && eta > 0).length).toBeGreaterThan(3);

    // a new service on the same folder knows the last run's counts from the history
    seen.length = 0;
    const again = service({ dataDir, clock: () => now });
    const h2 = again.start({ ...spec, techniques: ['native'] });
    const fromHistory = first.runs[0]!.guestInstructions.total;
    h2.onProgress(watch('native', () => fromHistory));
    await h2.done;
    // a report may come before the history folder has been read: then there is no estimate
    const late = seen.filter(([eta]) => eta !== null);
    expect(late.filter((x) => !closeTo(x))).toEqual([]);
    expect(late.length).toBeGreaterThan(3);
    expect(h2.snapshot()[0]).toMatchObject({ state: 'finished', etaMs: 0 });
  });

  it('keeps going when a progress listener throws', async () => {
    const svc = service();
    const handle = svc.start({ kernel: isprime, techniques: ['native'], append: 'ms=50' });
    const off = handle.onProgress(() => {
      throw new Error('listener bug');
    });
    const seen: ExperimentProgress[] = [];
    handle.onProgress((p) => seen.push(p));
    off();
    expect((await handle.done).runs[0]!.status).toBe('completed');
    expect(seen.at(-1)!.state).toBe('finished');
  });
});

describe('the history folder', () => {
  /** a valid history file of one completed fake run */
  async function oneExperiment(svc: ExperimentService): Promise<HistoryFile> {
    return svc.start({ kernel: isprime, techniques: ['native'], append: 'ms=20' }).done;
  }

  it('saves atomically: a temporary file in the same folder, then rename', async () => {
    const svc = service();
    const h = await oneExperiment(svc);
    const target = path.join(svc.historyDir, `${h.id}.json`);
    const opened = fsSpy.calls.filter((c) => c[0] === 'open');
    const renamed = fsSpy.calls.filter((c) => c[0] === 'rename');
    expect(opened).toHaveLength(1);
    const tmp = opened[0]![1]!;
    expect(path.dirname(tmp)).toBe(svc.historyDir);
    expect(path.basename(tmp)).toMatch(new RegExp(`^${h.id}\\.json\\.tmp-${process.pid}-\\d+$`));
    expect(opened[0]![2]).toBe('wx'); // never over another save's temporary file
    expect(renamed).toEqual([['rename', tmp, target]]);
    expect(readdirSync(svc.historyDir)).toEqual([`${h.id}.json`]);
  });

  it('when saving fails, done rejects and neither a partial nor a temporary file stays', async () => {
    const svc = service();
    const kept = await oneExperiment(svc);
    fsSpy.failRenames = 1;
    const handle = svc.start({ kernel: isprime, techniques: ['native'], append: 'ms=20' });
    await expect(handle.done).rejects.toThrow(/simulated failure/);
    expect(readdirSync(svc.historyDir)).toEqual([`${kept.id}.json`]);
  });

  it('reports corrupt and wrong-schema files, skips them and leaves them as they were', async () => {
    const svc = service();
    const good = await oneExperiment(svc);
    const dir = svc.historyDir;
    const files: Record<string, string> = {
      'corrupt.json': '{"schemaVersion": 1, "runs": [',
      'wrong-schema.json': JSON.stringify({
        ...good,
        id: 'wrong-schema',
        runs: [{ ...good.runs[0], technique: 1 }],
      }),
      'future.json': JSON.stringify({ ...good, id: 'future', schemaVersion: 99 }),
      'renamed.json': JSON.stringify(good),
      // a crashed save's leftover is not an experiment, nor a problem
      [`${good.id}.json.tmp-1-1`]: '{',
    };
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const { entries, problems } = await svc.listHistory();
    expect(entries.map((e) => e.id)).toEqual([good.id]);
    expect(entries[0]!.runs[0]).toMatchObject({ technique: 'native', status: 'completed' });
    expect(problems.map((p) => p.file)).toEqual([
      'corrupt.json',
      'future.json',
      'renamed.json',
      'wrong-schema.json',
    ]);
    const error = (f: string) => problems.find((p) => p.file === f)!.error;
    expect(error('corrupt.json')).toMatch(/^not JSON: /);
    expect(error('wrong-schema.json')).toMatch(/^runs\.0\.technique: /);
    expect(error('future.json')).toBe(
      `written by a newer version of VMM Workbench (results format 99; this app reads formats 1 to ${SCHEMA_VERSION})`,
    );
    expect(error('renamed.json')).toMatch(/does not match the file name/);
    for (const [name, text] of Object.entries(files)) {
      expect(readFileSync(path.join(dir, name), 'utf8')).toBe(text);
    }
    await expect(svc.load('wrong-schema')).rejects.toThrow(
      /^wrong-schema\.json: runs\.0\.technique: /,
    );
  });

  it('delete removes only its own file; unknown and unsafe ids are errors', async () => {
    const svc = service();
    const a = await oneExperiment(svc);
    const b = await oneExperiment(svc);
    writeFileSync(path.join(svc.historyDir, 'corrupt.json'), 'nope');
    await svc.delete(a.id);
    expect(readdirSync(svc.historyDir).sort()).toEqual([`${b.id}.json`, 'corrupt.json'].sort());
    expect((await svc.listHistory()).entries.map((e) => e.id)).toEqual([b.id]);
    await expect(svc.delete(a.id)).rejects.toThrow(/no experiment/);
    await expect(svc.load(a.id)).rejects.toThrow(/no experiment/);
    await expect(svc.delete('../etc/passwd')).rejects.toThrow(/not an experiment id/);
    expect(existsSync(path.join(svc.historyDir, `${b.id}.json`))).toBe(true);
  });

  it('keeps a binary-translation run’s dump beside the experiment, apart from it', async () => {
    const svc = service();
    const handle = svc.start({
      kernel: isprime,
      techniques: ['trap-and-emulate', 'binary-translation'],
      append: 'ms=20',
    });
    const h = await handle.done;
    // the fake worker was asked for one dump: the binary-translation run's
    expect(handle.translationCache()).toEqual(cannedDump());
    expect(readdirSync(svc.historyDir).sort()).toEqual([`${h.id}.json`, `${h.id}.tc.json`]);
    expect(await svc.loadTranslationCache(h.id)).toEqual(cannedDump());
    // no binary-translation run, no dump
    const plain = svc.start({ kernel: isprime, techniques: ['trap-and-emulate'], append: 'ms=20' });
    const p = await plain.done;
    expect(plain.translationCache()).toBeNull();
    expect(existsSync(path.join(svc.historyDir, `${p.id}.tc.json`))).toBe(false);
    await expect(svc.loadTranslationCache(p.id)).rejects.toBeInstanceOf(MissingDumpError);
    // a dump is never listed as an experiment nor as a problem
    expect(await svc.listHistory()).toMatchObject({ problems: [] });
    expect((await svc.listHistory()).entries.map((e) => e.id).sort()).toEqual([h.id, p.id].sort());
    // a corrupt or a wrong dump: the viewer is told why, the experiment loads as before
    const file = path.join(svc.historyDir, `${h.id}.tc.json`);
    writeFileSync(file, '{"dumpVersion": 1, "fragments": [');
    await expect(svc.loadTranslationCache(h.id)).rejects.toThrow(
      `${h.id}.tc.json is not a readable translation-cache dump: not JSON: `,
    );
    writeFileSync(file, JSON.stringify({ ...cannedDump(), fragments: [{ id: -1 }] }));
    await expect(svc.loadTranslationCache(h.id)).rejects.toThrow(
      new RegExp(
        `^${h.id}\\.tc\\.json is not a readable translation-cache dump: fragments\\.0\\.id: `,
      ),
    );
    writeFileSync(file, JSON.stringify({ ...cannedDump(), dumpVersion: 7 }));
    await expect(svc.loadTranslationCache(h.id)).rejects.toThrow(
      /dump format 7, this app reads format 1 \(written by a newer app\)/,
    );
    expect((await svc.load(h.id)).runs.map((r) => r.technique)).toEqual(
      h.runs.map((r) => r.technique),
    );
    expect(await svc.listHistory()).toMatchObject({ problems: [] });
    // deleting the experiment deletes its dump
    await svc.delete(h.id);
    expect(readdirSync(svc.historyDir)).toEqual([`${p.id}.json`]);
    await expect(svc.loadTranslationCache(h.id)).rejects.toThrow(/has no translation-cache dump/);
    await expect(svc.loadTranslationCache('../x')).rejects.toThrow(/not an experiment id/);
  });

  it('lists nothing when the folder does not exist yet, newest first otherwise', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const svc = service({ now: () => new Date((t += 1000)) });
    expect(await svc.listHistory()).toEqual({ entries: [], problems: [] });
    const a = await oneExperiment(svc);
    const b = await oneExperiment(svc);
    expect((await svc.listHistory()).entries.map((e) => e.id)).toEqual([b.id, a.id]);
  });
});

describe('saved results of an older format (test/fixtures/results/)', () => {
  /** a real v1 file (results.json of the last v1 release, which is also a history file) */
  const V1_NAME = 'v1-syscall-before-silent-sensitive.json';
  const v1Text = readFileSync(new URL(`../fixtures/results/${V1_NAME}`, import.meta.url), 'utf8');
  const v1 = JSON.parse(v1Text) as { id: string; runs: Record<string, unknown>[] };

  it('the history lists and loads a v1 file, migrated in memory, and never rewrites it', async () => {
    const svc = service();
    mkdirSync(svc.historyDir, { recursive: true });
    const file = path.join(svc.historyDir, `${v1.id}.json`);
    writeFileSync(file, v1Text);
    const { entries, problems } = await svc.listHistory();
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.id)).toEqual([v1.id]);
    expect(entries[0]!.runs.map((r) => [r.technique, r.status])).toEqual([
      ['native', 'completed'],
      ['trap-and-emulate', 'completed'],
    ]);
    const loaded = await svc.load(v1.id);
    expect(HistoryFileSchema.parse(loaded)).toEqual(loaded);
    expect(loaded.schemaVersion).toBe(SCHEMA_VERSION);
    expect(loaded.runs.map((r) => [r.schemaVersion, r.silentSensitive, r.culprit])).toEqual([
      [SCHEMA_VERSION, null, null],
      [SCHEMA_VERSION, null, null],
    ]);
    // byte for byte as it was, and nothing was written (no temporary file, no rename)
    expect(readFileSync(file, 'utf8')).toBe(v1Text);
    expect(readdirSync(svc.historyDir)).toEqual([`${v1.id}.json`]);
    expect(fsSpy.calls).toEqual([]);
  });

  it('the history lists and loads a v2 file too, migrated in memory, never rewritten', async () => {
    const v2Text = readFileSync(
      new URL('../fixtures/results/v2-syscall.json', import.meta.url),
      'utf8',
    );
    const v2 = JSON.parse(v2Text) as { id: string };
    const svc = service();
    mkdirSync(svc.historyDir, { recursive: true });
    const file = path.join(svc.historyDir, `${v2.id}.json`);
    writeFileSync(file, v2Text);
    const { entries, problems } = await svc.listHistory();
    expect(problems).toEqual([]);
    expect(entries.map((e) => [e.id, e.spec.mmuBatch])).toEqual([[v2.id, true]]);
    const loaded = await svc.load(v2.id);
    expect(HistoryFileSchema.parse(loaded)).toEqual(loaded);
    expect(loaded.runs.map((r) => [r.schemaVersion, r.paravirt])).toEqual([
      [SCHEMA_VERSION, null],
      [SCHEMA_VERSION, null],
    ]);
    expect(readFileSync(file, 'utf8')).toBe(v2Text);
    expect(readdirSync(svc.historyDir)).toEqual([`${v2.id}.json`]);
    expect(fsSpy.calls).toEqual([]);
  });

  it('the history lists and loads a v3 file as the CLI saved it, para-API metrics kept', async () => {
    const v3Text = readFileSync(
      new URL('../fixtures/results/v3-syscall-paravirt.json', import.meta.url),
      'utf8',
    );
    const v3 = JSON.parse(v3Text) as { id: string; runs: { paravirt: unknown }[] };
    const svc = service();
    mkdirSync(svc.historyDir, { recursive: true });
    const file = path.join(svc.historyDir, `${v3.id}.json`);
    writeFileSync(file, v3Text);
    const { entries, problems } = await svc.listHistory();
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.id)).toEqual([v3.id]);
    const loaded = await svc.load(v3.id);
    expect(HistoryFileSchema.parse(loaded)).toEqual(loaded);
    expect(loaded.runs.map((r) => [r.technique, r.schemaVersion, r.binaryTranslation])).toEqual([
      ['native', SCHEMA_VERSION, null],
      ['paravirt', SCHEMA_VERSION, null],
    ]);
    expect(loaded.runs.map((r) => r.paravirt)).toEqual(v3.runs.map((r) => r.paravirt));
    expect(readFileSync(file, 'utf8')).toBe(v3Text);
    expect(readdirSync(svc.historyDir)).toEqual([`${v3.id}.json`]);
    expect(fsSpy.calls).toEqual([]);
  });

  it('importing a v1 file saves its migrated, current form under a new id', async () => {
    const svc = service({ now: () => new Date('2027-02-03T04:05:06.789Z') });
    const imported = await svc.import(v1Text);
    expect(imported.id).not.toBe(v1.id);
    expect(imported.id).toMatch(/^2027-02-03T04-05-06-789Z-[0-9a-f]{6}$/);
    expect(imported.schemaVersion).toBe(SCHEMA_VERSION);
    expect(imported.runs.every((r) => r.schemaVersion === SCHEMA_VERSION)).toBe(true);
    expect(imported.runs.map((r) => r.technique)).toEqual(['native', 'trap-and-emulate']);
    expect(imported.runs[1]!.outputHash).toBe(v1.runs[1]!.outputHash);
    // on disk: the current format, which reads back as itself
    const saved = JSON.parse(
      readFileSync(path.join(svc.historyDir, `${imported.id}.json`), 'utf8'),
    ) as HistoryFile;
    expect(saved.schemaVersion).toBe(SCHEMA_VERSION);
    for (const run of saved.runs) {
      expect(run).toMatchObject({ schemaVersion: SCHEMA_VERSION, silentSensitive: null });
      expect(run).toHaveProperty('culprit', null);
    }
    expect(HistoryFileSchema.parse(saved)).toEqual(imported);
    expect(await svc.load(imported.id)).toEqual(imported);
  });

  it('importing a file of a newer app is refused, saying so, and saves nothing', async () => {
    const svc = service();
    const newer = JSON.stringify({ ...v1, schemaVersion: SCHEMA_VERSION + 1 });
    await expect(svc.import(newer)).rejects.toThrow(
      `written by a newer version of VMM Workbench (results format ${SCHEMA_VERSION + 1}; this app reads formats 1 to ${SCHEMA_VERSION})`,
    );
    await expect(svc.import('{"spec": {}, "runs": []}')).rejects.toThrow(
      /^schemaVersion is missing: not a VMM Workbench results file$/,
    );
    expect(existsSync(svc.historyDir)).toBe(false);
  });
});

describe('the real engine through the real worker entry', () => {
  const real = (): ExperimentService => {
    const pool = new WorkerPool({ size: 2 });
    pools.push(pool);
    return new ExperimentService({ dataDir: newDataDir(), pool });
  };

  it('runs isprime n=300 to completion, equivalent, the same twice over', async () => {
    const svc = real();
    const spec = { kernel: isprime, techniques: ['native'], append: 'n=300' };
    const [a, b] = await Promise.all([svc.start(spec).done, svc.start(spec).done]);
    for (const h of [a, b]) {
      expect(h.runs).toHaveLength(1);
      expect(h.runs[0]).toMatchObject({
        technique: 'native',
        status: 'completed',
        equivalent: true,
      });
      expect(h.runs[0]!.cmdline).toBe('vmm-guest.bin workload=isprime n=300');
    }
    expect(a.id).not.toBe(b.id);
    expect(b.runs.map(withoutHost)).toEqual(a.runs.map(withoutHost));
  });

  it('keeps the binary-translation run’s translation cache, the same for the same spec', async () => {
    const svc = real();
    const spec = {
      kernel: { kind: 'workload', workload: 'syscall' },
      techniques: ['binary-translation'],
      append: 'n=5',
    };
    const handles = [svc.start(spec), svc.start(spec)];
    const [a, b] = await Promise.all(handles.map((h) => h.done));
    const bt = a!.runs.find((r) => r.technique === 'binary-translation')!;
    expect(bt).toMatchObject({ status: 'completed', equivalent: true });
    const dump = TranslationCacheDumpSchema.parse(handles[0]!.translationCache());
    // what the run's metrics counted
    expect(dump.fragments.length).toBe(bt.binaryTranslation!.units);
    expect(dump.events.filter((e) => e.kind === 'chain').length).toBe(
      bt.binaryTranslation!.chainsPatched,
    );
    expect(await svc.loadTranslationCache(a!.id)).toEqual(dump);
    // deterministic: the same spec translates the same code to the same cache
    expect(await svc.loadTranslationCache(b!.id)).toEqual(dump);
  });

  it('runs the same bytes given as a kernel file to the same results', async () => {
    const svc = real();
    const bytes = guestKernelImage('native');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const [workload, file] = await Promise.all([
      svc.start({ kernel: isprime, techniques: ['native'], append: 'n=300' }).done,
      svc.start(
        {
          kernel: { kind: 'file', name: 'somewhere/vmm-guest.bin', sha256 },
          techniques: ['native'],
          append: 'workload=isprime n=300',
        },
        { name: 'vmm-guest.bin', bytes },
      ).done,
    ]);
    const f = file.runs[0]!;
    const w = workload.runs[0]!;
    expect(f.status).toBe('completed');
    expect(f.kernel.name).toBe('somewhere/vmm-guest.bin');
    expect(f.cmdline).toBe(w.cmdline);
    expect(f.workload).toBeNull();
    expect({ ...(withoutHost(f) as object), kernel: null, workload: null }).toEqual({
      ...(withoutHost(w) as object),
      kernel: null,
      workload: null,
    });
  });
});
