// The web preview's server: the renderer's built files and the workbench API over HTTP, on
// 127.0.0.1 only, backed by the same WorkbenchBackend (and so the same ExperimentService) the
// Electron IPC uses — not a mock. `POST /api` takes one ApiRequest as JSON and answers its
// ApiResult; `GET /api/events` streams ApiEvents as server-sent events. Static files are
// served from one folder with no way out of it; everything else is 404.
// `GET /report/<id>/printable.html` is the printable report of a saved experiment — the page
// the app prints to PDF — for the browser's own print dialog; it runs no script, and its
// policy allows nothing but its inline styles and inlined chart images.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import path from 'node:path';
import { type ExportedFile, MAX_EXPERIMENT_FILE_CHARS } from '../../shared/api';
// the shell's policy, word for word (security.ts imports only Electron's types)
import { CONTENT_SECURITY_POLICY } from '../electron/security';
import { type WorkbenchBackend } from '../service/api-backend';

/** The printable report's policy: no scripts, nothing loaded, its own styles and images. */
export const PRINTABLE_REPORT_POLICY =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; " +
  "form-action 'none'; frame-ancestors 'self'";

const PRINTABLE_REPORT_PATH = /^\/report\/([^/]+)\/printable\.html$/;

/** Request bodies above this are refused before they are read in full. */
export const MAX_REQUEST_BYTES = MAX_EXPERIMENT_FILE_CHARS + 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

export interface PreviewServerOptions {
  readonly backend: WorkbenchBackend;
  /** the built renderer (out/renderer) */
  readonly staticDir: string;
  /** 0: any free port */
  readonly port?: number;
}

export interface PreviewServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startPreviewServer(options: PreviewServerOptions): Promise<PreviewServer> {
  const root = path.resolve(options.staticDir);
  const streams = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', `internal error: ${String(e)}`);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Loopback is not enough: a web page the user visits could reach this port under a name
    // of its own (DNS rebinding) or post to it blindly. Only requests addressed to the
    // preview's own origin are answered, and the API takes JSON only, which a cross-site
    // form or a "simple" request cannot send.
    if (!isOwnHost(req.headers.host, port())) {
      return send(res, 403, 'text/plain', `this preview answers only at ${ownUrl()}`);
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api') {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST a request');
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json') {
        return send(res, 415, 'text/plain', 'the API takes application/json');
      }
      const body = await readBody(req);
      if (body === undefined) return send(res, 413, 'text/plain', 'request too large');
      let request: unknown;
      try {
        request = JSON.parse(body);
      } catch {
        return sendJson(res, 400, { ok: false, error: 'invalid request: the body is not JSON' });
      }
      return sendJson(res, 200, await options.backend.handle(request));
    }
    if (url.pathname === '/api/events') return events(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', '');
    const report = PRINTABLE_REPORT_PATH.exec(url.pathname);
    if (report) return printableReport(report[1] ?? '', res);
    return serveStatic(url.pathname, res);
  }

  async function printableReport(encodedId: string, res: ServerResponse): Promise<void> {
    let id: string;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      return send(res, 400, 'text/plain', 'bad experiment id');
    }
    // the backend checks the id's form and finds the experiment, as for any API request
    const result = await options.backend.handle({
      method: 'exportExperiment',
      id,
      format: 'printable-html',
    });
    if (!result.ok) return send(res, 404, 'text/plain', result.error);
    const file = result.value as ExportedFile;
    res.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': PRINTABLE_REPORT_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    res.end(file.text);
  }

  function events(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
    });
    res.write(': connected\n\n');
    streams.add(res);
    const unsubscribe = options.backend.subscribe((event) => {
      res.write(`data: ${JSON.stringify(event)}\n\n`);
    });
    res.on('close', () => {
      unsubscribe();
      streams.delete(res);
    });
  }

  async function serveStatic(pathname: string, res: ServerResponse): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return send(res, 400, 'text/plain', 'bad path');
    }
    const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = path.resolve(root, relative);
    if (file !== root && !file.startsWith(root + path.sep)) {
      return send(res, 404, 'text/plain', 'not found');
    }
    try {
      const s = await stat(file);
      if (!s.isFile()) return send(res, 404, 'text/plain', 'not found');
    } catch {
      return send(res, 404, 'text/plain', 'not found');
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
    createReadStream(file).pipe(res);
  }

  const port = (): number => (server.address() as AddressInfo).port;
  const ownUrl = (): string => `http://127.0.0.1:${port()}/`;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // loopback only: the preview is for the person at this machine
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: ownUrl(),
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of streams) s.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Whether a Host header names this preview: 127.0.0.1, localhost or [::1] at its port. */
export function isOwnHost(host: string | undefined, port: number): boolean {
  if (!host) return false;
  return ['127.0.0.1', 'localhost', '[::1]'].some(
    (name) => host.toLowerCase() === `${name}:${port}`,
  );
}

function send(res: ServerResponse, status: number, type: string, text: string): void {
  res.writeHead(status, { 'Content-Type': `${type}; charset=utf-8` });
  res.end(text);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(value));
}

/** The body as text, or undefined when it is larger than MAX_REQUEST_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (c: Buffer) => {
      if (refused) return;
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        refused = true;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!refused) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
