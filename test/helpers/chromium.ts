// Test helper: headless Chromium (the system's /usr/bin/chromium) through playwright-core, for
// tests that open generated pages the way a user would. Every launch gets a fresh profile
// directory, removed again on close, so runs never share cookies, caches or crash state.
//
// Playwright refuses `--user-data-dir` among the launch arguments (it owns that flag), so the
// fresh profile goes through launchPersistentContext, which passes it on to Chromium.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface HeadlessChromium {
  context: BrowserContext;
  /** close the browser and delete its profile directory */
  close(): Promise<void>;
}

export async function launchChromium(): Promise<HeadlessChromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'vmm-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ARGS,
    });
  } catch (error) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    async close() {
      try {
        await context.close();
      } finally {
        rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
}
