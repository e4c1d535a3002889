// Packaging and build layout, checked without packaging (which downloads Electron per target):
// electron-builder.yml names the app, ships the built files (out/**) with package.json's
// `main`, and builds the installers for each desktop platform; electron.vite.config.ts writes
// the files exactly where package.json, electron-builder.yml and the main process (appPaths)
// look for them.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appPaths } from '../../src-main/electron/paths';
import { parseYamlSubset, YamlSubsetError, type YamlValue } from './mini-yaml';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  main: string;
  productName: string;
  type: string;
  dependencies: Record<string, string>;
};

describe('the YAML subset reader', () => {
  it('reads mappings, sequences (of mappings too), flow sequences and scalars', () => {
    const doc = parseYamlSubset(
      [
        '# comment',
        'a: 1',
        "b: 'x # not a comment'  # a comment",
        'c:',
        '  - out/**',
        "  - '!**/*.map'",
        'd: [AppImage, deb]',
        'e:',
        '  - ext: vmwb.json',
        '    name: Thing',
        '  - ext: other',
        'f:',
        '  g: true',
        '  h: null',
        'i:',
        '- at the same indent',
        'j: "quoted \\"q\\""',
      ].join('\n'),
    );
    expect(doc).toEqual({
      a: 1,
      b: 'x # not a comment',
      c: ['out/**', '!**/*.map'],
      d: ['AppImage', 'deb'],
      e: [{ ext: 'vmwb.json', name: 'Thing' }, { ext: 'other' }],
      f: { g: true, h: null },
      i: ['at the same indent'],
      j: 'quoted "q"',
    });
  });

  it.each([
    ['an anchor', 'a: &x 1'],
    ['an alias', 'a: *x'],
    ['a block scalar', 'a: |\n  text'],
    ['a flow mapping', 'a: {b: 1}'],
    ['a duplicate key', 'a: 1\na: 2'],
    ['a tab', 'a:\n\t- b'],
    ['bad indentation', 'a: 1\n   b: 2'],
    ['a colon in a plain value', 'a: b: c'],
  ])('refuses %s', (_what, source) => {
    expect(() => parseYamlSubset(source)).toThrow(YamlSubsetError);
  });
});

describe('electron-builder.yml', () => {
  const config = parseYamlSubset(readFileSync('electron-builder.yml', 'utf8')) as Record<
    string,
    YamlValue
  >;
  const section = (name: string) => config[name] as Record<string, YamlValue>;
  const targets = (platform: string): string[] => {
    const t = section(platform).target;
    return (Array.isArray(t) ? t : [t]).map((x) =>
      typeof x === 'object' && x !== null && !Array.isArray(x) ? String(x.target) : String(x),
    );
  };

  it('names the app as package.json does', () => {
    expect(config.appId).toBe('org.vmmworkbench.app');
    expect(config.productName).toBe(pkg.productName);
  });

  it('ships the built files and starts the built main process', () => {
    const files = config.files as string[];
    expect(files).toContain('out/**');
    expect(files).toContain('package.json');
    // nothing the app needs at run time is excluded
    for (const f of files.filter((f) => f.startsWith('!')))
      expect(f).not.toMatch(/out\/\*\*$|\.js$|\.asm$|\.inc$/);
    const main = (config.extraMetadata as Record<string, YamlValue> | undefined)?.main ?? pkg.main;
    expect(main).toBe('out/main/index.js');
    expect(pkg.main).toBe('out/main/index.js');
  });

  it('builds AppImage and deb for Linux, dmg for macOS, nsis for Windows', () => {
    expect(targets('linux')).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(targets('mac')).toContain('dmg');
    expect(targets('win')).toContain('nsis');
  });

  it('opens saved experiments by file association', () => {
    const associations = config.fileAssociations as Record<string, YamlValue>[];
    expect(associations.map((a) => a.ext)).toContain('vmwb.json');
  });
});

describe('electron.vite.config.ts', () => {
  it('writes the main bundle, the worker, the preload and the page where they are looked for', async () => {
    const { default: defineResult, OUT } = await import('../../electron.vite.config');
    const resolve = defineResult as unknown as (env: {
      command: 'build';
      mode: string;
    }) => Promise<{
      main: {
        build: {
          outDir: string;
          rollupOptions: { input: Record<string, string>; output: Record<string, string> };
        };
      };
      preload: {
        build: {
          outDir: string;
          externalizeDeps: boolean;
          rollupOptions: { input: Record<string, string>; output: Record<string, string> };
        };
      };
      renderer: { root: string; build: { outDir: string; rollupOptions: { input: string } } };
    }>;
    const config = await resolve({ command: 'build', mode: 'production' });

    // main: index.js is package.json's main; run-worker.js sits next to it
    const main = config.main.build;
    expect(path.join(main.outDir, `${Object.keys(main.rollupOptions.input)[0]}.js`)).toBe(
      path.resolve(pkg.main),
    );
    expect(main.rollupOptions.input).toEqual({
      index: path.resolve('src-main/electron/main.ts'),
      'run-worker': path.resolve('src-main/workers/run-worker.ts'),
    });
    expect(main.rollupOptions.output).toMatchObject({ format: 'es', entryFileNames: '[name].js' });
    // ES modules need "type": "module" for a .js main
    expect(pkg.type).toBe('module');
    // shared chunks beside the entries, so import.meta.url resolves alike in all of them
    expect(main.rollupOptions.output.chunkFileNames).not.toContain('/');

    const paths = appPaths(main.outDir);
    expect(paths.workerScript).toBe(path.join(main.outDir, 'run-worker.js'));

    // preload: one CommonJS file, everything bundled (sandboxed preloads require nothing)
    const preload = config.preload.build;
    expect(preload.rollupOptions.output).toMatchObject({
      format: 'cjs',
      entryFileNames: '[name].cjs',
    });
    expect(preload.externalizeDeps).toBe(false);
    expect(path.join(preload.outDir, 'index.cjs')).toBe(paths.preload);

    // renderer: the web build's page, written where loadFile finds it
    expect(config.renderer.root).toBe(path.resolve('src-renderer'));
    expect(path.join(config.renderer.build.outDir, 'index.html')).toBe(paths.rendererFile);
    expect(config.renderer.build.rollupOptions.input).toBe(path.resolve('src-renderer/index.html'));

    // the guest kernel sources land where src-main/host/guest-kernel.ts looks, relative to
    // the bundle: new URL('../engine/guest/kernel.asm', import.meta.url)
    expect(OUT.guest).toBe(path.resolve(main.outDir, '..', 'engine', 'guest'));
    const guestKernel = readFileSync('src-main/host/guest-kernel.ts', 'utf8');
    expect(guestKernel).toContain("new URL('../engine/guest/kernel.asm', import.meta.url)");
  });
});
