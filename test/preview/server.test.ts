// The web preview's server and the API backend behind it, with the real ExperimentService and
// real worker threads: requests are validated (the field named) before the service sees them,
// a real experiment runs and streams its progress as server-sent events, exports and imports
// round-trip, a corrupt experiment file gets a clear error and changes nothing, and the static
// files are served from their folder only, on 127.0.0.1.

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiEvent } from '../../shared/api';
import { parseResultsFile, SPEC_DEFAULTS } from '../../shared/results';
import { listTechniques } from '../../src-main/engine/vmm';
import { WorkbenchBackend } from '../../src-main/service/api-backend';
import { ExperimentService } from '../../src-main/service/experiment-service';
import { type PreviewServer, startPreviewServer } from '../../src-main/preview/server';

let dir: string;
let backend: WorkbenchBackend;
let preview: PreviewServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'vmm-preview-'));
  const site = path.join(dir, 'site');
  mkdirSync(site);
  writeFileSync(path.join(site, 'index.html'), '<!doctype html><title>VMM Workbench</title>');
  writeFileSync(path.join(dir, 'secret.txt'), 'outside the site');
  backend = new WorkbenchBackend(new ExperimentService({ dataDir: path.join(dir, 'data') }));
  preview = await startPreviewServer({ backend, staticDir: site });
});

afterAll(async () => {
  await preview.close();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An ApiResult as JSON off the wire; the tests read its value by shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Answer = { ok: boolean; value?: any; error?: string };

async function api(body: unknown): Promise<Answer> {
  const res = await fetch(new URL('/api', preview.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // 400 for a body that is not JSON at all; every other answer is an ApiResult with 200
  expect([200, 400]).toContain(res.status);
  return (await res.json()) as Answer;
}

/** Collect server-sent events until `until` says stop. */
function collectEvents(until: (e: ApiEvent) => boolean): Promise<ApiEvent[]> {
  return new Promise((resolve, reject) => {
    const events: ApiEvent[] = [];
    const req = request(new URL('/api/events', preview.url), (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let at;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const event = JSON.parse(data.slice(6)) as ApiEvent;
          events.push(event);
          if (until(event)) {
            req.destroy();
            resolve(events);
          }
        }
      });
    });
    req.on('error', (e) => {
      if (!req.destroyed) reject(e);
    });
    req.end();
  });
}

describe('web preview server', () => {
  it('listens on the loopback interface only', () => {
    expect(preview.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((preview.server.address() as { address: string }).address).toBe('127.0.0.1');
  });

  it('answers only requests addressed to itself, and API calls only as JSON', async () => {
    const raw = (options: { host: string; method?: string; type?: string; body?: string }) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const url = new URL('/api', preview.url);
        const req = request(
          {
            host: '127.0.0.1',
            port: url.port,
            path: '/api',
            method: options.method ?? 'POST',
            headers: {
              host: options.host,
              ...(options.type ? { 'content-type': options.type } : {}),
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(options.body ?? '{"method":"catalog"}');
      });
    const port = new URL(preview.url).port;
    // a page that rebound its own name to 127.0.0.1
    const rebound = await raw({ host: `evil.example:${port}`, type: 'application/json' });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toBe(`this preview answers only at ${preview.url}`);
    // a cross-site "simple" request: text/plain needs no preflight, so it is refused here
    const simple = await raw({ host: `127.0.0.1:${port}`, type: 'text/plain' });
    expect(simple.status).toBe(415);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const ok = await raw({ host, type: 'application/json; charset=utf-8' });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body)).toMatchObject({ ok: true });
    }
  });

  it('serves the renderer with a strict content security policy, and nothing outside it', async () => {
    const page = await fetch(preview.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('VMM Workbench');
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/missing.js']) {
      const res = await fetch(new URL(p, preview.url));
      expect(res.status, p).toBe(404);
    }
  });

  it('answers the catalog from the registries', async () => {
    const r = await api({ method: 'catalog' });
    expect(r.ok).toBe(true);
    expect(r.value.techniques.map((t: { id: string }) => t.id)).toEqual(
      listTechniques().map((t) => t.id),
    );
    const paravirt = r.value.techniques.find((t: { id: string }) => t.id === 'paravirt');
    expect(paravirt.runsKernelFiles).toBe(false);
    expect(r.value.techniques[0].runsKernelFiles).toBe(true);
    expect(r.value.workloads.some((w: { name: string }) => w.name === 'isprime')).toBe(true);
    expect(r.value.profiles.map((p: { id: string }) => p.id)).toContain('p4-2006');
    expect(r.value.guestKernelBytes).toBeGreaterThan(1000);
  });

  it('rejects malformed requests with the field named, before the service sees them', async () => {
    expect((await api('{not json')).error).toMatch(/not JSON/);
    expect((await api({ method: 'launchMissiles' })).error).toMatch(/invalid request: method/);
    expect((await api({ method: 'loadExperiment', id: '../../etc/passwd' })).error).toMatch(
      /invalid request: id/,
    );
    const bad = await api({
      method: 'startExperiment',
      spec: { kernel: { kind: 'workload', workload: 'nope' }, techniques: ['native'] },
    });
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/nope/);
    const res = await fetch(new URL('/api', preview.url));
    expect(res.status).toBe(405);
  });

  it('runs an experiment, streams its progress, saves it, exports and re-imports it', async () => {
    const done = collectEvents((e) => e.type === 'finished' || e.type === 'failed');
    // let the event stream connect before the experiment starts
    await new Promise((r) => setTimeout(r, 100));
    const started = await api({
      method: 'startExperiment',
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload: 'isprime' },
        techniques: ['native', 'trap-and-emulate'],
        append: 'n=20',
        isa: 'strict',
      },
    });
    expect(started.ok, started.error).toBe(true);
    const id: string = started.value.id;
    expect(started.value.runs.map((r: { technique: string }) => r.technique)).toEqual([
      'native',
      'trap-and-emulate',
    ]);
    const events = await done;
    expect(events.at(-1)).toEqual({ type: 'finished', experimentId: id });
    const finished = events.filter(
      (e) =>
        e.type === 'progress' && e.progress.experimentId === id && e.progress.state === 'finished',
    );
    expect(finished.length).toBe(2);

    const history = await api({ method: 'listHistory' });
    expect(history.value.entries.map((e: { id: string }) => e.id)).toContain(id);
    const loaded = await api({ method: 'loadExperiment', id });
    expect(loaded.value.runs.map((r: { equivalent: boolean }) => r.equivalent)).toEqual([
      true,
      true,
    ]);

    const json = await api({ method: 'exportExperiment', id, format: 'json' });
    expect(json.value.fileName).toBe(`${id}.vmwb.json`);
    expect(parseResultsFile(json.value.text).runs).toHaveLength(2);
    const csv = await api({ method: 'exportExperiment', id, format: 'csv' });
    expect(csv.value.mimeType).toBe('text/csv');
    expect(csv.value.text.split('\r\n')[1]).toMatch(/^native,/);
    const html = await api({ method: 'exportExperiment', id, format: 'html' });
    expect(html.value.text).toContain('<canvas');

    const imported = await api({
      method: 'importExperiment',
      fileName: 'copy.vmwb.json',
      text: json.value.text,
    });
    expect(imported.ok, imported.error).toBe(true);
    expect(imported.value.id).not.toBe(id);
    expect(imported.value.runs).toEqual(loaded.value.runs);
  });

  it('refuses a corrupt experiment file with a clear error and keeps the history as it was', async () => {
    const folder = path.join(dir, 'data', 'experiments');
    const before = readdirSync(folder).sort();
    const r = await api({
      method: 'importExperiment',
      fileName: 'broken.vmwb.json',
      text: '{"schemaVersion": 1, "spec": {"kernel": 7}, "runs": []}',
    });
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(
      /^broken\.vmwb\.json is not a VMM Workbench experiment: .*spec\.kernel/,
    );
    const other = await api({ method: 'importExperiment', fileName: 'x.json', text: 'garbage' });
    expect(other.error).toMatch(/not JSON/);
    expect(readdirSync(folder).sort()).toEqual(before);
  });

  it('cancels a long run and deletes only what it is asked to', async () => {
    const done = collectEvents((e) => e.type === 'finished' || e.type === 'failed');
    await new Promise((r) => setTimeout(r, 100));
    const started = await api({
      method: 'startExperiment',
      spec: {
        ...SPEC_DEFAULTS,
        kernel: { kind: 'workload', workload: 'cr3' },
        techniques: ['trap-and-emulate'],
        append: 'n=100000000',
      },
    });
    expect(started.ok, started.error).toBe(true);
    const id: string = started.value.id;
    const active = await api({ method: 'activeExperiments' });
    expect(active.value.map((a: { id: string }) => a.id)).toContain(id);
    expect((await api({ method: 'deleteExperiment', id })).error).toMatch(/still running/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await api({ method: 'cancelExperiment', id })).ok).toBe(true);
    await done;
    const loaded = await api({ method: 'loadExperiment', id });
    expect(
      loaded.value.runs.every((r: { end: { reason: string } }) => r.end.reason === 'cancelled'),
    ).toBe(true);
    const count = (await api({ method: 'listHistory' })).value.entries.length;
    expect((await api({ method: 'deleteExperiment', id })).ok).toBe(true);
    expect((await api({ method: 'listHistory' })).value.entries.length).toBe(count - 1);
    expect((await api({ method: 'cancelExperiment', id })).error).toMatch(/no running experiment/);
  });
});
