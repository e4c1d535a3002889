// The API backend's file work, with the real ExperimentService and workers: a kernel file the
// user picks is checked and made runnable (NASM source assembled — the same bytes as nasm —,
// the multiboot header found, errors naming the file and line), runs under every technique;
// charts come out as SVG, the report as the printable page the PDF is made from, also served
// by the web preview with a policy that runs no script; a binary-translation run's
// translation-cache dump comes back from the history (over the preview's HTTP too), and when
// there is none the error says why; the catalog says which versions run.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiEvent, type Catalog, type PreparedKernel } from '../../shared/api';
import { buildCharts } from '../../shared/charts';
import { compareExperiments } from '../../shared/experiment-pair';
import { type HistoryFile, SCHEMA_VERSION, SPEC_DEFAULTS } from '../../shared/results';
import {
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';
import { ENGINE_VERSION } from '../../src-main/engine/version';
import { APP_VERSION } from '../../src-main/host/app-version';
import { type PreviewServer, startPreviewServer } from '../../src-main/preview/server';
import { WorkbenchBackend } from '../../src-main/service/api-backend';
import { ExperimentService } from '../../src-main/service/experiment-service';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STANDALONE = path.join(root, 'test/fixtures/kernels/standalone.asm');

let dir: string;
let backend: WorkbenchBackend;
let preview: PreviewServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vmm-backend-'));
  const site = path.join(dir, 'site');
  mkdirSync(site);
  backend = new WorkbenchBackend(new ExperimentService({ dataDir: path.join(dir, 'data') }));
  preview = await startPreviewServer({ backend, staticDir: site });
});

afterAll(async () => {
  await preview.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call<T>(request: unknown): Promise<T> {
  const result = await backend.handle(request);
  if (!result.ok) throw new Error(result.error);
  return result.value as T;
}

async function refused(request: unknown): Promise<string> {
  const result = await backend.handle(request);
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.error;
}

const upload = (name: string, bytes: Uint8Array | string) => ({
  name,
  base64: Buffer.from(bytes).toString('base64'),
});

/** Start an experiment and wait until it is saved. */
async function runToEnd(request: Record<string, unknown>): Promise<HistoryFile> {
  let unsubscribe = (): void => {};
  const ended = new Promise<ApiEvent>((resolve) => {
    unsubscribe = backend.subscribe((e) => {
      if (e.type !== 'progress') resolve(e);
    });
  });
  const started = await call<{ id: string }>({ method: 'startExperiment', ...request });
  const end = await ended;
  unsubscribe();
  expect(end).toEqual({ type: 'finished', experimentId: started.id });
  return call<HistoryFile>({ method: 'loadExperiment', id: started.id });
}

describe('a kernel file the user picks', () => {
  it('assembles NASM source into the very bytes nasm makes, and finds its multiboot header', async () => {
    const source = readFileSync(STANDALONE);
    const prepared = await call<PreparedKernel>({
      method: 'prepareKernel',
      file: upload('standalone.asm', source),
    });
    const nasmOut = path.join(dir, 'standalone.bin');
    execFileSync('nasm', ['-f', 'bin', '-o', nasmOut, STANDALONE]);
    const image = readFileSync(nasmOut);
    expect(Buffer.from(prepared.base64, 'base64').equals(image)).toBe(true);
    expect(prepared).toMatchObject({
      name: 'standalone.asm',
      assembled: true,
      bytes: image.length,
      sourceBytes: source.length,
    });
    // an image is taken as it is, and hashes the same as the source's assembly
    const asImage = await call<PreparedKernel>({
      method: 'prepareKernel',
      file: upload('standalone.bin', image),
    });
    expect(asImage).toMatchObject({ assembled: false, sha256: prepared.sha256 });
  });

  it('names the line of a source error, and says why %include cannot work', async () => {
    expect(
      await refused({
        method: 'prepareKernel',
        file: upload('broken.asm', 'bits 32\nmov eax, ebx\nfrobnicate eax\n'),
      }),
    ).toMatch(/^broken\.asm:3(:\d+)?: error: /);
    expect(
      await refused({
        method: 'prepareKernel',
        file: upload('needs-lib.asm', '%include "lib.inc"\n'),
      }),
    ).toMatch(/^needs-lib\.asm:1.*lib\.inc.*a kernel given to the app is one file/);
  });

  it('refuses an image it could not boot, and an empty file', async () => {
    expect(
      await refused({ method: 'prepareKernel', file: upload('notes.bin', 'just some text') }),
    ).toMatch(/^notes\.bin cannot boot: .*multiboot/i);
    expect(await refused({ method: 'prepareKernel', file: upload('empty.bin', '') })).toBe(
      'empty.bin is empty: it cannot be a kernel',
    );
  });

  it('runs under every technique, and trap-and-emulate on classic x86 shows its CS', async () => {
    const prepared = await call<PreparedKernel>({
      method: 'prepareKernel',
      file: upload('standalone.asm', readFileSync(STANDALONE)),
    });
    const saved = await runToEnd({
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'file', name: prepared.name, sha256: prepared.sha256 },
        techniques: ['native', 'trap-and-emulate'],
        isa: 'classic',
      },
      kernelFile: { name: prepared.name, base64: prepared.base64 },
    });
    const [native, tae] = saved.runs;
    expect(native!.outputText).toBe('hello from a kernel file\ncs rpl = 0\n');
    expect(native!.kernel.sha256).toBe(prepared.sha256);
    expect(tae!.outputText).toBe('hello from a kernel file\ncs rpl = 1\n');
    expect(tae!.equivalent).toBe(false);
    expect(tae!.firstDivergence).toEqual({
      line: 2,
      expected: 'cs rpl = 0',
      actual: 'cs rpl = 1',
    });
    expect(tae!.culprit?.mnemonic).toMatch(/cs/);
  });

  it('will not run bytes other than those the spec names', async () => {
    const prepared = await call<PreparedKernel>({
      method: 'prepareKernel',
      file: upload('standalone.asm', readFileSync(STANDALONE)),
    });
    const error = await refused({
      method: 'startExperiment',
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'file', name: 'standalone.asm', sha256: '0'.repeat(64) },
        techniques: ['native'],
      },
      kernelFile: { name: prepared.name, base64: prepared.base64 },
    });
    expect(error).toMatch(/kernel\.sha256.*a different or changed file/);
  });
});

describe('starting an experiment', () => {
  it('refuses a spec whose mmuBatch is not true or false, naming the field', async () => {
    const error = await refused({
      method: 'startExperiment',
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload: 'syscall' },
        techniques: ['native'],
        mmuBatch: 'yes',
      },
    });
    expect(error).toMatch(/^mmuBatch: .*boolean/i);
  });
});

describe('exports', () => {
  let saved: HistoryFile;
  beforeAll(async () => {
    saved = await runToEnd({
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload: 'syscall' },
        techniques: ['native', 'trap-and-emulate'],
        append: 'n=50',
      },
    });
  }, 120_000);

  it('draws every chart of an experiment as SVG, and refuses one it does not have', async () => {
    for (const chart of buildCharts(saved)) {
      const file = await call<{ fileName: string; mimeType: string; text: string }>({
        method: 'exportChart',
        id: saved.id,
        chartId: chart.id,
        format: 'svg',
      });
      expect(file.fileName).toBe(`${saved.id}-${chart.id}.svg`);
      expect(file.mimeType).toBe('image/svg+xml');
      expect(file.text).toMatch(/^<\?xml[^>]*>\s*<svg[\s>]/);
      expect(file.text).toContain('</svg>');
    }
    expect(
      await refused({ method: 'exportChart', id: saved.id, chartId: 'no-such', format: 'svg' }),
    ).toMatch(new RegExp(`^experiment '${saved.id}' has no chart 'no-such' \\(its charts: `));
    expect(
      await refused({ method: 'exportChart', id: saved.id, chartId: '../x', format: 'svg' }),
    ).toMatch(/^invalid request: chartId: /);
  });

  it('draws the charts comparing two experiments as SVG too', async () => {
    const pairCharts = compareExperiments(saved, saved).charts;
    expect(pairCharts.length).toBeGreaterThan(0);
    for (const chart of pairCharts) {
      const file = await call<{ fileName: string; text: string }>({
        method: 'exportChart',
        id: saved.id,
        versus: saved.id,
        chartId: chart.id,
        format: 'svg',
      });
      expect(file.fileName).toBe(`${saved.id}-vs-${saved.id}-${chart.id}.svg`);
      expect(file.text).toContain('</svg>');
    }
    // a single experiment has no pair charts, and the pair has not the single ones
    expect(
      await refused({
        method: 'exportChart',
        id: saved.id,
        chartId: pairCharts[0]!.id,
        format: 'svg',
      }),
    ).toMatch(/^experiment '.*' has no chart/);
    expect(
      await refused({
        method: 'exportChart',
        id: saved.id,
        versus: saved.id,
        chartId: 'traps-by-cause',
        format: 'svg',
      }),
    ).toMatch(/^the comparison of '.*' with '.*' has no chart 'traps-by-cause'/);
    expect(
      await refused({
        method: 'exportChart',
        id: saved.id,
        versus: 'no-such-experiment',
        chartId: pairCharts[0]!.id,
        format: 'svg',
      }),
    ).toMatch(/no-such-experiment/);
  });

  it('makes the printable report: charts as images, no scripts', async () => {
    const file = await call<{ fileName: string; text: string }>({
      method: 'exportExperiment',
      id: saved.id,
      format: 'printable-html',
    });
    expect(file.fileName).toBe(`${saved.id}-printable.html`);
    expect(file.text).not.toMatch(/<script/i);
    const images = file.text.match(/<img class="chart-image" src="data:image\/svg\+xml;base64,/g);
    expect(images).toHaveLength(buildCharts(saved).length);
  });

  it('serves the printable report in the web preview under a policy that runs nothing', async () => {
    const res = await fetch(
      new URL(`/report/${encodeURIComponent(saved.id)}/printable.html`, preview.url),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = res.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).not.toMatch(/script-src/);
    const text = await res.text();
    expect(text).toContain('<img class="chart-image"');
    const missing = await fetch(new URL('/report/no-such-id/printable.html', preview.url));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/no-such-id/);
    const bad = await fetch(new URL('/report/..%2F..%2Fetc/printable.html', preview.url));
    expect(bad.status).toBe(404);
  });
});

describe('the translation-cache dump of a saved experiment', () => {
  let saved: HistoryFile;
  beforeAll(async () => {
    saved = await runToEnd({
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload: 'syscall' },
        techniques: ['native', 'binary-translation'],
        append: 'n=5',
      },
    });
  }, 120_000);

  it('answers the binary-translation run’s dump, over IPC’s backend and the preview’s HTTP', async () => {
    const dump = await call<TranslationCacheDump>({ method: 'loadTranslationCache', id: saved.id });
    expect(TranslationCacheDumpSchema.parse(dump)).toEqual(dump);
    const bt = saved.runs.find((r) => r.technique === 'binary-translation')!;
    expect(dump.fragments.length).toBe(bt.binaryTranslation!.units);
    expect(dump.usedBytes).toBeGreaterThan(0);
    const res = await fetch(new URL('/api', preview.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ method: 'loadTranslationCache', id: saved.id }),
    });
    expect(await res.json()).toEqual({ ok: true, value: dump });
  });

  it('says why there is none: no such run, saved without one, a corrupt file', async () => {
    const withoutBt = await call<HistoryFile>({
      method: 'importExperiment',
      fileName: 'native-only.vmwb.json',
      text: JSON.stringify({
        schemaVersion: SCHEMA_VERSION,
        spec: { ...saved.spec, techniques: ['native'] },
        runs: saved.runs.filter((r) => r.technique === 'native'),
      }),
    });
    expect(await refused({ method: 'loadTranslationCache', id: withoutBt.id })).toBe(
      `experiment '${withoutBt.id}' has no binary-translation run: only a binary translator has a translation cache`,
    );
    // an experiment file carries no dump: opened, its binary-translation run has none
    const opened = await call<HistoryFile>({
      method: 'importExperiment',
      fileName: 'copy.vmwb.json',
      text: JSON.stringify({ schemaVersion: SCHEMA_VERSION, spec: saved.spec, runs: saved.runs }),
    });
    expect(await refused({ method: 'loadTranslationCache', id: opened.id })).toMatch(
      new RegExp(
        `^experiment '${opened.id}' kept no translation-cache dump of its binary-translation run: it was opened from a file`,
      ),
    );
    expect(await refused({ method: 'loadTranslationCache', id: 'no-such-id' })).toMatch(
      /^no experiment 'no-such-id' in the history/,
    );
    expect(await refused({ method: 'loadTranslationCache', id: '../etc' })).toMatch(
      /^invalid request: id: /,
    );
    // a corrupt dump is named; the experiment itself still opens
    const file = path.join(dir, 'data', 'experiments', `${saved.id}.tc.json`);
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, good.slice(0, good.length / 2));
      expect(await refused({ method: 'loadTranslationCache', id: saved.id })).toMatch(
        new RegExp(`^${saved.id}\\.tc\\.json is not a readable translation-cache dump: not JSON`),
      );
      const loaded = await call<HistoryFile>({ method: 'loadExperiment', id: saved.id });
      expect(loaded.runs).toEqual(saved.runs);
    } finally {
      writeFileSync(file, good);
    }
  });
});

describe('the catalog', () => {
  it('says which app, engine, results format and API this is', async () => {
    const catalog = await call<Catalog>({ method: 'catalog' });
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      version: string;
    };
    expect(APP_VERSION).toBe(pkg.version);
    expect(catalog).toMatchObject({
      appVersion: pkg.version,
      engineVersion: ENGINE_VERSION,
      schemaVersion: SCHEMA_VERSION,
    });
  });
});

describe('kernelSymbols', () => {
  it('answers the addresses of named labels of the native kernel, and refuses unknown ones', async () => {
    const { guestKernelSymbols } = await import('../../src-main/host/guest-kernel');
    const symbols = guestKernelSymbols('native');
    expect(
      await call({ method: 'kernelSymbols', names: ['lecture_isprime', 'lecture_isprime.prime'] }),
    ).toEqual({
      lecture_isprime: symbols.get('lecture_isprime'),
      'lecture_isprime.prime': symbols.get('lecture_isprime.prime'),
    });
    expect(await refused({ method: 'kernelSymbols', names: ['lecture_isprime.primo'] })).toMatch(
      /^the bundled kernel has no label 'lecture_isprime.primo' \(labels like it: .*lecture_isprime/,
    );
    expect(await refused({ method: 'kernelSymbols', names: [] })).toMatch(
      /^invalid request: names/,
    );
    expect(await refused({ method: 'kernelSymbols', names: ['a b'] })).toMatch(
      /^invalid request: names\.0: a label name/,
    );
  });
});
