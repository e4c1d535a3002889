// Vitest configuration: every suite under test/, run in Node; renderer component tests opt
// into a DOM per file (`// @vitest-environment happy-dom`) and get Vue single-file components
// compiled by the same plugin the renderer build uses.
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [vue()],
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
