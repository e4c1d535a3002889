// The shell's security rules, in one place (Electron's security checklist): which page is the
// app's own, the Content-Security-Policy, no navigation and no new windows, no permissions, no
// <webview>. The page is our own code, but it shows text from guests and files from anywhere;
// these rules make sure that even a bug in it cannot load remote content or reach Node.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Session, type WebContents } from 'electron';

/**
 * The renderer's policy: nothing but the app's own files, no inline scripts or styles (Vue and
 * Chart.js style through the CSSOM), images also as data:/blob: URLs (chart exports), no
 * plugins, no <base>, no frames either way, no form posts. It repeats the page's own <meta>
 * policy (src-renderer/index.html) as a header and adds what only a header can say
 * (frame-ancestors); where both apply, a resource must pass both.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
  "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; " +
  "form-action 'none'; frame-src 'none'; frame-ancestors 'none'";

/**
 * The policy for the page: in development (from the dev server) also the inline styles Vite
 * injects and its hot-reload WebSocket, as the dev server's copy of the <meta> policy allows.
 */
export function contentSecurityPolicy(devServerUrl?: string): string {
  if (!devServerUrl) return CONTENT_SECURITY_POLICY;
  const { host } = new URL(devServerUrl);
  return CONTENT_SECURITY_POLICY.replace(
    "style-src 'self'",
    "style-src 'self' 'unsafe-inline'",
  ).replace("connect-src 'self'", `connect-src 'self' ws://${host} wss://${host}`);
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The electron-vite dev server URL (ELECTRON_RENDERER_URL), used only when the app is not
 * packaged and only if it is an http(s) URL on this machine: a packaged app, or a URL from
 * elsewhere, never makes the window load remote content.
 */
export function devServerUrl(
  env: Readonly<Record<string, string | undefined>>,
  isPackaged: boolean,
): string | undefined {
  const raw = env.ELECTRON_RENDERER_URL;
  if (isPackaged || !raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (!LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return url.href;
}

export interface AppPage {
  /** the built renderer's index.html (loaded with loadFile) */
  readonly rendererFile: string;
  /** in development only: the dev server the page comes from instead */
  readonly devServerUrl?: string;
}

function samePath(a: string, b: string): boolean {
  const ra = path.resolve(a);
  const rb = path.resolve(b);
  return process.platform === 'win32' || process.platform === 'darwin'
    ? ra.toLowerCase() === rb.toLowerCase()
    : ra === rb;
}

/**
 * Whether `url` is the app's own page: the built index.html as a file: URL (any query or hash),
 * or, in development, a page of the dev server's origin. Anything else — another file, another
 * origin, about:blank, a data: URL — is not.
 */
export function isAppPageUrl(url: string, page: AppPage): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (page.devServerUrl !== undefined) {
    return parsed.origin === new URL(page.devServerUrl).origin;
  }
  if (parsed.protocol !== 'file:' || (parsed.host !== '' && parsed.host !== 'localhost')) {
    return false;
  }
  parsed.search = '';
  parsed.hash = '';
  let file: string;
  try {
    file = fileURLToPath(parsed);
  } catch {
    return false;
  }
  return samePath(file, page.rendererFile);
}

/**
 * What every web contents of the app gets, the main window and the hidden print window alike:
 * no navigation away from the page it loaded, no new windows, no <webview>.
 */
export function hardenWebContents(contents: WebContents): void {
  contents.on('will-navigate', (event) => {
    event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    event.preventDefault();
  });
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
  });
}

/**
 * Session-wide rules: the Content-Security-Policy header on every response (on top of the
 * page's own <meta> policy: file: pages carry no headers), and every permission request
 * (camera, notifications, geolocation…) and check denied: the workbench needs none.
 */
export function secureSession(session: Session, policy: string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const headers: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      // ours replaces any policy the server sent, whatever the header's case
      if (name.toLowerCase() !== 'content-security-policy') headers[name] = value;
    }
    headers['Content-Security-Policy'] = [policy];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => {
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
}
