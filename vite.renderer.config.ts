// Build of the renderer (src-renderer/) for the web preview (`npm run build:web` → out/renderer)
// and, reused by electron-vite's renderer section, for the desktop app. Everything is bundled
// from node_modules: the build needs no network and the page loads nothing remote.
//
// base './' keeps every URL relative, so the same files work from file:// (Electron) and from
// any path of the preview server. index.html carries a strict Content-Security-Policy; the dev
// server's hot-reload client needs inline styles (Vite injects SFC styles as <style> tags) and
// a websocket, so `vite serve` rewrites that one meta tag — builds keep it strict.

import vue from '@vitejs/plugin-vue';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('./src-renderer', import.meta.url));
const outDir = fileURLToPath(new URL('./out/renderer', import.meta.url));

/** Relax the CSP for the dev server only (never applied to a build). */
function devServerCsp(): Plugin {
  return {
    name: 'vmm-workbench:dev-csp',
    apply: 'serve',
    transformIndexHtml(html) {
      return html.replace(
        /(http-equiv="Content-Security-Policy"\s+content=")([^"]*)"/,
        (_m, head: string, policy: string) =>
          `${head}${policy
            .replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            .replace("connect-src 'self'", "connect-src 'self' ws: wss:")}"`,
      );
    },
  };
}

export default defineConfig({
  root,
  base: './',
  plugins: [vue(), devServerCsp()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // the app is one screen of a desktop tool: one chunk (Chart.js included) is fine
    chunkSizeWarningLimit: 1024,
    // no inlined data: URLs for assets (the CSP would allow them for images only)
    assetsInlineLimit: 0,
    // the CSP allows no inline script: keep Vite's modulepreload polyfill out of index.html
    modulePreload: { polyfill: false },
  },
});
