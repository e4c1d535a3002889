// The renderer's API client: the bridge chooser, the HTTP bridge of the web preview (POST /api,
// server-sent events from /api/events), and createApi's unwrapping of ApiResult.

import { describe, expect, it, vi } from 'vitest';
import { type ApiEvent, type ApiRequest, type WorkbenchBridge } from '../../shared/api';
import {
  ApiError,
  chooseBridge,
  createApi,
  createHttpBridge,
  parseEvent,
} from '../../src-renderer/api';
import { FakeBridge, SAMPLE_CATALOG } from './helpers/fake-bridge';

describe('createApi', () => {
  it('unwraps the value of an ok result', async () => {
    const bridge = new FakeBridge({ catalog: () => SAMPLE_CATALOG });
    const api = createApi(bridge);
    await expect(api.call({ method: 'catalog' })).resolves.toEqual(SAMPLE_CATALOG);
    expect(bridge.requests).toEqual([{ method: 'catalog' }]);
  });

  it('passes null values through (cancel, delete)', async () => {
    const api = createApi(new FakeBridge({ deleteExperiment: () => null }));
    await expect(api.call({ method: 'deleteExperiment', id: 'x' })).resolves.toBeNull();
  });

  it("throws an ApiError with the backend's message on ok:false", async () => {
    const bridge = new FakeBridge({
      startExperiment: () => {
        throw new Error("techniques.1: unknown technique 'foo'");
      },
    });
    const api = createApi(bridge);
    const error = (await api
      .call({ method: 'startExperiment', spec: {} })
      .catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.message).toBe("techniques.1: unknown technique 'foo'");
    expect(error.method).toBe('startExperiment');
  });

  it('says the workbench could not be reached when the bridge itself throws', async () => {
    const bridge: WorkbenchBridge = {
      invoke: () => Promise.reject(new Error('Failed to fetch')),
      onEvent: () => () => {},
    };
    await expect(createApi(bridge).call({ method: 'listHistory' })).rejects.toThrow(
      'could not reach the workbench (Failed to fetch)',
    );
  });

  it('refuses an answer that is not an ApiResult', async () => {
    const bridge = {
      invoke: () => Promise.resolve('garbage'),
      onEvent: () => () => {},
    } as unknown as WorkbenchBridge;
    await expect(createApi(bridge).call({ method: 'catalog' })).rejects.toThrow(
      'unreadable answer to catalog',
    );
  });

  it('forwards events and unsubscribes', () => {
    const bridge = new FakeBridge();
    const api = createApi(bridge);
    const seen: ApiEvent[] = [];
    const off = api.onEvent((e) => seen.push(e));
    bridge.emit({ type: 'finished', experimentId: 'a' });
    off();
    bridge.emit({ type: 'finished', experimentId: 'b' });
    expect(seen).toEqual([{ type: 'finished', experimentId: 'a' }]);
    expect(bridge.listenerCount).toBe(0);
  });
});

/** A stand-in for the browser's EventSource. */
class FakeEventSource {
  static instances: FakeEventSource[] = [];
  onmessage: ((m: MessageEvent) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeEventSource.instances.push(this);
  }
  close(): void {
    this.closed = true;
  }
  push(data: string): void {
    this.onmessage?.({ data } as MessageEvent);
  }
}

function jsonResponse(body: unknown, status = 200): Response {
  return new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

describe('the HTTP bridge of the web preview', () => {
  it('POSTs the request as JSON to /api on the origin and returns the ApiResult', async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) =>
      jsonResponse({ ok: true, value: SAMPLE_CATALOG }),
    );
    const bridge = createHttpBridge({
      origin: 'http://127.0.0.1:5199',
      fetch: fetch as unknown as typeof globalThis.fetch,
    });
    const request: ApiRequest = { method: 'catalog' };
    await expect(bridge.invoke(request)).resolves.toEqual({ ok: true, value: SAMPLE_CATALOG });
    const [url, init] = fetch.mock.calls[0]!;
    expect(url).toBe('http://127.0.0.1:5199/api');
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual(request);
    expect(new Headers(init?.headers).get('content-type')).toBe('application/json');
  });

  it('keeps the error result of a non-2xx answer', async () => {
    const fetch = async () => jsonResponse({ ok: false, error: 'invalid request: method' }, 400);
    const bridge = createHttpBridge({ origin: 'http://h', fetch: fetch as never });
    await expect(bridge.invoke({ method: 'catalog' })).resolves.toEqual({
      ok: false,
      error: 'invalid request: method',
    });
  });

  it('explains an answer that is not JSON', async () => {
    const fetch = async () =>
      new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' });
    const bridge = createHttpBridge({ origin: 'http://h', fetch: fetch as never });
    const result = await bridge.invoke({ method: 'catalog' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/502 Bad Gateway without a result/);
  });

  it('reads events from /api/events and closes the stream with the last listener', () => {
    FakeEventSource.instances = [];
    const bridge = createHttpBridge({
      origin: 'http://127.0.0.1:5199',
      fetch: (async () => jsonResponse({})) as never,
      EventSource: FakeEventSource as unknown as new (url: string) => EventSource,
    });
    const a: ApiEvent[] = [];
    const b: ApiEvent[] = [];
    const offA = bridge.onEvent((e) => a.push(e));
    const offB = bridge.onEvent((e) => b.push(e));
    expect(FakeEventSource.instances).toHaveLength(1); // one stream for every listener
    const source = FakeEventSource.instances[0]!;
    expect(source.url).toBe('http://127.0.0.1:5199/api/events');
    source.push(JSON.stringify({ type: 'finished', experimentId: 'x' }));
    source.push('not json'); // ignored
    source.push(JSON.stringify({ type: 'unknown' })); // ignored
    expect(a).toEqual([{ type: 'finished', experimentId: 'x' }]);
    expect(b).toEqual(a);
    offA();
    expect(source.closed).toBe(false);
    offB();
    expect(source.closed).toBe(true);
  });

  it('parses only ApiEvents', () => {
    expect(parseEvent('{"type":"failed","experimentId":"a","error":"disk full"}')).toEqual({
      type: 'failed',
      experimentId: 'a',
      error: 'disk full',
    });
    expect(parseEvent('{"type":"hello"}')).toBeNull();
    expect(parseEvent('')).toBeNull();
    expect(parseEvent(42)).toBeNull();
  });
});

describe('chooseBridge', () => {
  const fetch = (async () => jsonResponse({ ok: true, value: null })) as never;

  it("uses the Electron preload's window.vmmWorkbench when present", () => {
    const preload = new FakeBridge();
    const bridge = chooseBridge({
      vmmWorkbench: preload,
      location: { protocol: 'file:', origin: 'null' },
      fetch,
    });
    expect(bridge).toBe(preload);
  });

  it('uses HTTP on the page origin in a browser', async () => {
    const calls: string[] = [];
    const bridge = chooseBridge({
      location: { protocol: 'http:', origin: 'http://127.0.0.1:5199' },
      fetch: (async (url: string) => {
        calls.push(url);
        return jsonResponse({ ok: true, value: null });
      }) as never,
    });
    await bridge.invoke({ method: 'cancelExperiment', id: 'x' });
    expect(calls).toEqual(['http://127.0.0.1:5199/api']);
  });

  it('says what to do on a page with neither the preload nor a server', async () => {
    const bridge = chooseBridge({ location: { protocol: 'file:', origin: 'null' }, fetch });
    const result = await bridge.invoke({ method: 'catalog' });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/npm start.*npm run preview:web/);
  });
});
