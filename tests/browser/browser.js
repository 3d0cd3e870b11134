// Shared by the browser test and the benchmark: starts Debian's Chromium through playwright-core
// with a fresh profile, and knows where the server and the screenshots are; the run's language and
// the sidebar's messages in it (`t`, `tr`); axe-core's serious and critical violations of a frame.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FluentBundle, FluentResource } from '@fluent/bundle';
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

// ---------------------------------------------------------------------------------------------
// Languages: the tests run once per language (ALMANAC_TEST_LOCALE, `en` or `ko`); every text they
// look for comes from the sidebar's own Fluent files (locales/<lang>/sidebar.ftl).

/** The language of this run: `en` (default) or `ko`. */
export const LOCALE = process.env.ALMANAC_TEST_LOCALE || 'en';

const bundle = new FluentBundle(LOCALE, { useIsolating: false });
{
  const source = readFileSync(join(ROOT, 'locales', LOCALE, 'sidebar.ftl'), 'utf8');
  const errors = bundle.addResource(new FluentResource(source));
  if (errors.length > 0) throw new Error(`locales/${LOCALE}/sidebar.ftl: ${errors.join('; ')}`);
}

/** Message `id` of the sidebar in this run's language, with `args`. */
export function t(id, args = {}) {
  const message = bundle.getMessage(id);
  if (!message || !message.value) throw new Error(`no message ${id} in locales/${LOCALE}/sidebar.ftl`);
  const errors = [];
  const text = bundle.formatPattern(message.value, args, errors);
  if (errors.length > 0) throw new Error(`${id}: ${errors.join('; ')}`);
  return text;
}

/** A part of a message pattern that matches any text ([`tr`]). */
export const any = (source = '.*') => ({ re: source });
/** Digits with separators. */
export const NUM = any('[\\d.,]+');
/** An amount of money in this run's language (`$0.0012`, `US$0.0012`). */
export const MONEY = any(
  escapeRegExp(t('money-usd', { amount: '\u0001' })).replace('\u0001', '[\\d.,]+'),
);

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Message `id` as a regular expression: arguments given as [`any`] (or [`NUM`], [`MONEY`])
 * match any such text; `whole` anchors it at both ends.
 */
export function tr(id, args = {}, { whole = false } = {}) {
  const marks = [];
  const plain = {};
  for (const [name, value] of Object.entries(args)) {
    if (value && typeof value === 'object' && 're' in value) {
      plain[name] = `\u0002${marks.length}\u0002`;
      marks.push(value.re);
    } else {
      plain[name] = value;
    }
  }
  let source = escapeRegExp(t(id, plain));
  marks.forEach((re, i) => {
    source = source.replace(`\u0002${i}\u0002`, re);
  });
  return new RegExp(whole ? `^${source}$` : source);
}

/** A screenshot's file name in this run's language: `02-estimate` (English), `02-estimate-ko`. */
export function shotName(name) {
  return LOCALE === 'en' ? name : `${name}-${LOCALE}`;
}

// ---------------------------------------------------------------------------------------------
// Accessibility: axe-core in the page's frames

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (WCAG 2.x A and AA rules and best practices) on `frame` and returns its serious
 * and critical violations, each as `rule: target…` lines.
 */
export async function seriousViolations(frame) {
  if (!(await frame.evaluate(() => typeof window.axe !== 'undefined'))) {
    await frame.addScriptTag({ content: AXE_SOURCE });
  }
  const violations = await frame.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary.split('\n').slice(1).join(' ').trim()})`),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} [${v.impact}] ${v.help}: ${v.targets.join('; ')}`);
}
