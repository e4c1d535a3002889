// Where the renderer's requests go. In the desktop app the Electron preload exposes the bridge
// as `window.vmmWorkbench` (IPC underneath). In the web preview there is no preload: the same
// requests are POSTed to `/api` on the page's own origin (JSON body = the ApiRequest, JSON
// answer = the ApiResult) and the events arrive as server-sent events from `/api/events`, one
// ApiEvent as JSON per `data:` line (shared/api.ts). A page opened from a file without the app
// gets a bridge that answers every call with what to do instead, so the views can say it.

import {
  type ApiEvent,
  type ApiMethod,
  type ApiRequest,
  type ApiResult,
  type WorkbenchBridge,
} from '../../shared/api';

/** What the HTTP bridge needs from its environment (injected in tests). */
export interface HttpBridgeOptions {
  /** origin the page came from (`http://127.0.0.1:5174`) */
  origin: string;
  fetch: typeof fetch;
  /** EventSource constructor; without it the bridge works but pushes no events */
  EventSource?: new (url: string) => EventSource;
}

/** The web preview's bridge: `POST /api` for requests, `GET /api/events` for events. */
export function createHttpBridge(options: HttpBridgeOptions): WorkbenchBridge {
  const apiUrl = new URL('/api', options.origin).toString();
  const eventsUrl = new URL('/api/events', options.origin).toString();
  const listeners = new Set<(event: ApiEvent) => void>();
  let source: EventSource | null = null;

  function openEvents(): void {
    if (source || !options.EventSource) return;
    source = new options.EventSource(eventsUrl);
    source.onmessage = (message: MessageEvent) => {
      const event = parseEvent(message.data);
      if (!event) return;
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch (e) {
          // one listener's bug must not starve the others
          console.error('a workbench event listener threw', e);
        }
      }
    };
    // EventSource reconnects by itself after an error; nothing to do here
  }

  return {
    async invoke(request: ApiRequest): Promise<ApiResult<ApiMethod>> {
      const response = await options.fetch(apiUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      const text = await response.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return {
          ok: false,
          error: `the preview server answered ${response.status} ${response.statusText} without a result (is it the VMM Workbench preview?)`,
        };
      }
      if (isApiResult(body)) return body;
      return {
        ok: false,
        error: `the preview server answered ${response.status} ${response.statusText} with something that is not an API result`,
      };
    },
    onEvent(listener: (event: ApiEvent) => void): () => void {
      listeners.add(listener);
      openEvents();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
  };
}

/** A bridge for a page that has neither the preload nor a server behind it. */
export function createUnavailableBridge(reason: string): WorkbenchBridge {
  return {
    invoke: async () => ({ ok: false, error: reason }),
    onEvent: () => () => {},
  };
}

/** The parts of `window` the chooser looks at. */
export interface BridgeHost {
  vmmWorkbench?: WorkbenchBridge;
  location: { protocol: string; origin: string };
  fetch?: typeof fetch;
  EventSource?: new (url: string) => EventSource;
}

/** The bridge for this page: the preload's if present, else HTTP on the page's own origin. */
export function chooseBridge(host: BridgeHost): WorkbenchBridge {
  const preload = host.vmmWorkbench;
  if (preload && typeof preload.invoke === 'function' && typeof preload.onEvent === 'function') {
    return preload;
  }
  const { protocol, origin } = host.location;
  if ((protocol === 'http:' || protocol === 'https:') && host.fetch) {
    return createHttpBridge({
      origin,
      fetch: host.fetch.bind(host),
      ...(host.EventSource ? { EventSource: host.EventSource } : {}),
    });
  }
  return createUnavailableBridge(
    'this page is not connected to a workbench: open it in the VMM Workbench app (npm start) or through the web preview (npm run preview:web)',
  );
}

function isApiResult(body: unknown): body is ApiResult<ApiMethod> {
  if (typeof body !== 'object' || body === null) return false;
  const r = body as { ok?: unknown; error?: unknown };
  return r.ok === true ? 'value' in r : r.ok === false && typeof r.error === 'string';
}

const EVENT_TYPES = new Set(['progress', 'finished', 'failed']);

/** One `data:` payload as an ApiEvent, or null when it is not one (a keep-alive, garbage). */
export function parseEvent(data: unknown): ApiEvent | null {
  if (typeof data !== 'string') return null;
  try {
    const value = JSON.parse(data) as { type?: unknown } | null;
    if (value && typeof value === 'object' && EVENT_TYPES.has(String(value.type))) {
      return value as ApiEvent;
    }
  } catch {
    // not JSON: ignore
  }
  return null;
}
