// Shared by the browser test and the benchmark: starts Debian's Chromium through playwright-core
// with a fresh profile, and knows where the server and the screenshots are.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository's root folder. */
export const ROOT = resolve(here, '..', '..');

/** `http://127.0.0.1:PORT` of `almanac demo --serve` (run.sh sets it). */
export const BASE_URL = process.env.ALMANAC_URL || 'http://127.0.0.1:8080';

/** Where screenshots and figures go (git-ignored). */
export const OUTPUT_DIR = process.env.TEST_OUTPUT_DIR || join(ROOT, 'test-output', 'browser');

/** Chromium's flags: headless, no sandbox (CI runs as root), nothing that reaches the network. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches Chromium with a new profile folder; `close()` stops it and removes the folder.
 * @returns {Promise<{context: import('playwright-core').BrowserContext, close: () => Promise<void>}>}
 */
export async function launch({ width = 1280, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'almanac-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width, height },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as `OUTPUT_DIR/<name>.png`. */
export async function screenshot(page, name) {
  mkdirSync(OUTPUT_DIR, { recursive: true });
  await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`), fullPage: true });
}
