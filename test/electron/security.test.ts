// Which page counts as the app's own (the sender check of every IPC message) and which dev
// server URL the app would ever load.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  CONTENT_SECURITY_POLICY,
  contentSecurityPolicy,
  devServerUrl,
  isAppPageUrl,
} from '../../src-main/electron/security';

const rendererFile = path.resolve('out', 'renderer', 'index.html');
const page = { rendererFile };
const url = pathToFileURL(rendererFile).href;

describe('isAppPageUrl', () => {
  it('accepts the built page, with any hash or query', () => {
    expect(isAppPageUrl(url, page)).toBe(true);
    expect(isAppPageUrl(`${url}#/experiments/1`, page)).toBe(true);
    expect(isAppPageUrl(`${url}?tab=charts`, page)).toBe(true);
  });

  it.each([
    pathToFileURL(path.resolve('out', 'renderer', 'index.html.evil')).href,
    pathToFileURL(path.resolve('out', 'renderer', 'sub', 'index.html')).href,
    pathToFileURL(path.resolve('out', 'renderer')).href,
    `${url.replace('file://', 'file://evil.example')}`,
    'https://example.com/index.html',
    'about:blank',
    'devtools://devtools/bundled/inspector.html',
    'not a url',
    '',
  ])('refuses %s', (other) => {
    expect(isAppPageUrl(other, page)).toBe(false);
  });

  it('in development, accepts the dev server origin and nothing else (not even the file)', () => {
    const dev = { rendererFile, devServerUrl: 'http://localhost:5173/' };
    expect(isAppPageUrl('http://localhost:5173/', dev)).toBe(true);
    expect(isAppPageUrl('http://localhost:5173/#/x', dev)).toBe(true);
    expect(isAppPageUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isAppPageUrl('http://127.0.0.1:5173/', dev)).toBe(false);
    expect(isAppPageUrl(url, dev)).toBe(false);
  });
});

describe('devServerUrl', () => {
  it('is used only unpackaged, for http(s) on this machine', () => {
    const env = (v: string) => ({ ELECTRON_RENDERER_URL: v });
    expect(devServerUrl(env('http://localhost:5173'), false)).toBe('http://localhost:5173/');
    expect(devServerUrl(env('http://127.0.0.1:5173/'), false)).toBe('http://127.0.0.1:5173/');
    expect(devServerUrl(env('http://[::1]:5173/'), false)).toBe('http://[::1]:5173/');
    expect(devServerUrl(env('http://localhost:5173'), true)).toBeUndefined();
    expect(devServerUrl(env('https://cdn.example.com/'), false)).toBeUndefined();
    expect(devServerUrl(env('http://localhost.example.com/'), false)).toBeUndefined();
    expect(devServerUrl(env('file:///etc/passwd'), false)).toBeUndefined();
    expect(devServerUrl(env('javascript:alert(1)'), false)).toBeUndefined();
    expect(devServerUrl(env('::'), false)).toBeUndefined();
    expect(devServerUrl({}, false)).toBeUndefined();
  });
});

/** A policy as directive → sources. */
function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name!, sources]),
  );
}

describe('the Content-Security-Policy header', () => {
  it("allows nothing the page's own <meta> policy forbids", () => {
    const html = readFileSync(path.resolve('src-renderer', 'index.html'), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]*)"/.exec(html)?.[1];
    expect(meta, 'src-renderer/index.html has a CSP <meta>').toBeDefined();
    const page = directives(meta!);
    const header = directives(CONTENT_SECURITY_POLICY);
    for (const [name, sources] of header) {
      if (name === 'frame-ancestors') continue; // a header-only directive
      const allowed = page.get(name) ?? page.get('default-src')!;
      for (const s of sources) expect(allowed, `${name} ${s}`).toContain(s);
    }
  });

  it('differs for the dev server by inline styles and the hot-reload socket only', () => {
    const dev = directives(contentSecurityPolicy('http://localhost:5173/'));
    const prod = directives(CONTENT_SECURITY_POLICY);
    for (const [name, sources] of prod) {
      if (name === 'style-src') expect(dev.get(name)).toEqual([...sources, "'unsafe-inline'"]);
      else if (name === 'connect-src')
        expect(dev.get(name)).toEqual([...sources, 'ws://localhost:5173', 'wss://localhost:5173']);
      else expect(dev.get(name)).toEqual(sources);
    }
  });
});
