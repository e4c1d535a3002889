// electron-vite: how `npm run build` makes the desktop app under out/ (package.json `main` and
// electron-builder.yml's `files: out/**` depend on this layout):
//   out/main/index.js        the main process (src-main/electron/main.ts), ES module
//   out/main/run-worker.js   the worker_threads entry (src-main/workers/run-worker.ts), a
//                            separate entry so the WorkerPool can start it: the app never runs
//                            TypeScript (worker-bootstrap.mjs and tsx are for dev and tests)
//   out/main/*-[hash].js     code both entries share, next to them (see guest sources below)
//   out/engine/guest/        the guest kernel's NASM sources: src-main/host/guest-kernel.ts
//                            finds them at new URL('../engine/guest/kernel.asm', import.meta.url)
//                            and assembles them at run time, so they ship as files
//   out/preload/index.cjs    the preload, CommonJS with everything bundled but 'electron': a
//                            sandboxed preload can require nothing else
//   out/renderer/            the renderer, from vite.renderer.config.ts (the web build's
//                            config) with only the output folder and base set here
// Dependencies of the main process (zod, chart.js, @napi-rs/canvas) stay external and ship in
// node_modules; electron-builder packs the production dependencies.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type RendererViteConfig, type UserConfig } from 'electron-vite';
import { type ConfigEnv, loadConfigFromFile, type Plugin } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));
const at = (...parts: string[]): string => path.resolve(root, ...parts);

/** The web build's config, which the app's renderer shares. */
export const RENDERER_CONFIG_FILE = 'vite.renderer.config.ts';
export const OUT = {
  main: at('out', 'main'),
  preload: at('out', 'preload'),
  renderer: at('out', 'renderer'),
  guest: at('out', 'engine', 'guest'),
} as const;

const GUEST_SOURCES = at('src-main', 'engine', 'guest');

/** Copy the guest kernel's sources (kernel.asm and its %include files) next to the bundle. */
function guestSources(): Plugin {
  return {
    name: 'vmm-workbench:guest-sources',
    apply: 'build',
    async writeBundle() {
      await mkdir(OUT.guest, { recursive: true });
      for (const name of await readdir(GUEST_SOURCES)) {
        if (/\.(asm|inc)$/.test(name)) {
          await copyFile(path.join(GUEST_SOURCES, name), path.join(OUT.guest, name));
        }
      }
    },
  };
}

/**
 * The renderer: vite.renderer.config.ts (root src-renderer, the Vue plugin, aliases…) with
 * the app's output folder; if that file is not there yet, the same settings written out.
 */
async function rendererConfig(env: ConfigEnv): Promise<RendererViteConfig> {
  const file = at(RENDERER_CONFIG_FILE);
  let shared: RendererViteConfig = { root: at('src-renderer'), plugins: [vue()] };
  if (existsSync(file)) {
    const loaded = await loadConfigFromFile(env, file, root);
    if (loaded) {
      // base is electron-vite's to set ('./' for pages loaded from file:)
      // eslint-disable-next-line @typescript-eslint/no-unused-vars
      const { base: _base, build, ...rest } = loaded.config;
      shared = { ...rest, ...(build ? { build: build as RendererViteConfig['build'] } : {}) };
    }
  }
  const rendererRoot = path.resolve(root, shared.root ?? 'src-renderer');
  return {
    ...shared,
    root: rendererRoot,
    build: {
      ...shared.build,
      outDir: OUT.renderer,
      emptyOutDir: true,
      rollupOptions: {
        ...shared.build?.rollupOptions,
        input: shared.build?.rollupOptions?.input ?? path.join(rendererRoot, 'index.html'),
      },
    },
  };
}

export default defineConfig(async (env): Promise<UserConfig> => ({
  main: {
    plugins: [guestSources()],
    build: {
      outDir: OUT.main,
      rollupOptions: {
        input: {
          index: at('src-main', 'electron', 'main.ts'),
          'run-worker': at('src-main', 'workers', 'run-worker.ts'),
        },
        output: {
          format: 'es',
          entryFileNames: '[name].js',
          // shared code stays in out/main, so import.meta.url means the same in every chunk
          chunkFileNames: '[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      outDir: OUT.preload,
      // sandboxed: everything bundled, nothing required but 'electron' (the preload imports
      // only channels.ts at run time, so this stays a few kilobytes)
      externalizeDeps: false,
      rollupOptions: {
        input: { index: at('src-main', 'electron', 'preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: await rendererConfig(env),
}));
