// The sidebar's benchmark: the bundle's size (wasm + js, raw and gzip) and the time from page load
// to an interactive sidebar in headless Chromium, on `almanac demo --serve` at ALMANAC_URL.
// "Interactive" means the app has read the selection, listed the models and shown the estimate, so
// that Generate is enabled. Prints the figures and writes them to test-output/browser/bench.json.
// Targets: under 350 KB gzip (both languages' messages and the Markdown parser included) and under
// 500 ms on localhost (reported, not asserted: timings vary).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BASE_URL, OUTPUT_DIR, ROOT, launch } from './browser.js';

const RUNS = Number(process.env.BENCH_RUNS || 7);
const dist = join(ROOT, 'sidebar', 'dist');

function size(file) {
  const bytes = readFileSync(join(dist, file));
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

const wasm = size('almanac_sidebar_bg.wasm');
const js = size('almanac_sidebar.js');
const total = { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

const mounted = [];
const interactive = [];
for (let i = 0; i < RUNS; i += 1) {
  // A new browser profile each time: a cold cache, as when the sidebar opens for the first time.
  const browser = await launch({ width: 300, height: 800 });
  const page = await browser.context.newPage();
  await page.goto(`${BASE_URL}/dev/sidebar?rows=2:5`);
  await page.getByRole('button', { name: 'Refresh selection' }).waitFor();
  mounted.push(await page.evaluate(() => performance.now()));
  await page.locator('button.primary:not([disabled])', { hasText: 'Generate' }).waitFor();
  await page.locator('[data-cost="batch"]').waitFor();
  interactive.push(await page.evaluate(() => performance.now()));
  await browser.close();
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const ms = (n) => `${n.toFixed(0)} ms`;
const figures = {
  wasm,
  js,
  total,
  runs: RUNS,
  mounted_ms: { median: median(mounted), max: Math.max(...mounted) },
  interactive_ms: { median: median(interactive), max: Math.max(...interactive) },
};
mkdirSync(OUTPUT_DIR, { recursive: true });
writeFileSync(join(OUTPUT_DIR, 'bench.json'), `${JSON.stringify(figures, null, 2)}\n`);

console.log('== sidebar benchmark');
console.log(`bundle wasm: ${kb(wasm.raw)} raw, ${kb(wasm.gzip)} gzip`);
console.log(`bundle js:   ${kb(js.raw)} raw, ${kb(js.gzip)} gzip`);
console.log(`bundle wasm+js: ${kb(total.raw)} raw, ${kb(total.gzip)} gzip (target < 350 KB gzip: ${total.gzip < 350 * 1024 ? 'met' : 'MISSED'})`);
console.log(`page load → app mounted: median ${ms(figures.mounted_ms.median)}, max ${ms(figures.mounted_ms.max)} over ${RUNS} cold loads`);
console.log(`page load → interactive (estimate shown, Generate enabled): median ${ms(figures.interactive_ms.median)}, max ${ms(figures.interactive_ms.max)} (target < 500 ms: ${figures.interactive_ms.median < 500 ? 'met' : 'MISSED'})`);
