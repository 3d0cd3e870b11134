// The API reference in a real browser: headless Chromium opens `/docs` of `almanac demo --serve`
// with every request to a host other than this machine aborted, and finds every operation of the
// OpenAPI document (read from `/api/v1/openapi.json`) on the page: its method, path and summary.
// So the page works offline — its scripts and styles come from the backend itself.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, launch, screenshot } from './browser.js';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
let browser;
let page;
const blocked = [];
const failed = [];

before(async () => {
  browser = await launch({ width: 1280, height: 1000 });
  page = await browser.context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === 'data:' || LOCAL_HOSTS.has(url.hostname)) return route.continue();
    blocked.push(url.href);
    return route.abort('internetdisconnected');
  });
  page.on('requestfailed', (req) => failed.push(`${req.url()}: ${req.failure()?.errorText}`));
});

after(async () => {
  await browser?.close();
});

/** Every operation of the OpenAPI document: method, path, summary, operationId. */
async function operations() {
  const resp = await fetch(`${BASE_URL}/api/v1/openapi.json`);
  assert.equal(resp.status, 200);
  const doc = await resp.json();
  const ops = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method)) continue;
      ops.push({ method, path, summary: op.summary, operationId: op.operationId });
    }
  }
  return ops;
}

/** Text as a person reads it (Swagger UI puts zero-width spaces between path segments). */
const readable = (text) => (text || '').replace(/\u200b/g, '').replace(/\s+/g, ' ').trim();

test('/docs renders every operation of the OpenAPI document with nothing from the network', async () => {
  const ops = await operations();
  assert.ok(ops.length >= 14, `${ops.length} operations in the document`);
  for (const op of ops) assert.ok(op.summary, `${op.method} ${op.path} has a summary`);

  const resp = await page.goto(`${BASE_URL}/docs`);
  assert.equal(resp.status(), 200);
  assert.equal(await page.title(), 'Almanac API');
  await page.locator('.information-container .title').filter({ hasText: 'Almanac API' }).waitFor();
  const blocks = page.locator('.opblock');
  const deadline = Date.now() + 30_000;
  while ((await blocks.count()) < ops.length) {
    assert.ok(Date.now() < deadline, `only ${await blocks.count()} of ${ops.length} operations shown`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(await blocks.count(), ops.length, 'one block per operation');

  for (const op of ops) {
    const block = page.locator(`.opblock.opblock-${op.method}`, {
      has: page.locator(`.opblock-summary-path[data-path="${op.path}"]`),
    });
    assert.equal(await block.count(), 1, `${op.method} ${op.path} is shown once`);
    const summary = block.locator('.opblock-summary');
    assert.equal(readable(await summary.locator('.opblock-summary-method').textContent()), op.method.toUpperCase());
    assert.equal(readable(await summary.locator('.opblock-summary-path').textContent()), op.path);
    assert.equal(
      readable(await summary.locator('.opblock-summary-description').textContent()),
      readable(op.summary),
      `${op.method} ${op.path}: its summary`,
    );
    assert.equal(await block.isVisible(), true, `${op.method} ${op.path} is visible`);
  }
  await screenshot(page, '20-docs');

  // Opening one operation shows its parameters and responses (Swagger UI's own script at work).
  const create = page.locator('.opblock.opblock-post', {
    has: page.locator('.opblock-summary-path[data-path="/api/v1/jobs"]'),
  });
  await create.locator('.opblock-summary').click();
  await create.locator('.responses-wrapper').getByText('429', { exact: true }).first().waitFor();
  await screenshot(page, '21-docs-create-job');

  assert.deepEqual(blocked, [], 'the page asked for nothing beyond this machine');
  assert.deepEqual(failed, [], 'every request of the page was answered');
});
