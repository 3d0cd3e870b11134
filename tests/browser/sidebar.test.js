// The sidebar in a real browser: headless Chromium opens `/dev/sheet` of `almanac demo --serve`
// (the emulated sheet beside the real sidebar bundle), selects rows, reads the estimate, goes
// through the set-up step (sharing with the service account; Generate and Chat wait for it), generates,
// watches the progress, checks the cells, fails and retries a row, and reloads mid-job. Each step
// saves a screenshot under test-output/browser/. The tests run in order on one sheet; the last ones
// use the Chat tab (a streamed answer, a chart, a reload, a new conversation).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, launch, screenshot } from './browser.js';

const LONG = 60_000;
let browser;
let page;
let sidebar;

before(async () => {
  browser = await launch();
  page = await browser.context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${BASE_URL}/dev/sheet`);
  sidebar = page.frameLocator('#sidebar');
  await page.locator('[data-cell="A2"]').filter({ hasText: /\S/ }).waitFor();
});

/** Reloads the dev page (the sidebar opens anew, as when a person reopens it). */
async function reopen() {
  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  await page.locator('[data-cell="A2"]').filter({ hasText: /\S/ }).waitFor();
}

after(async () => {
  await browser?.close();
});

/** Selects rows `from..to` of the grid by clicking and shift-clicking their row numbers. */
async function selectRows(from, to = from) {
  await page.getByRole('button', { name: `Row ${from}`, exact: true }).click();
  if (to !== from) {
    await page.getByRole('button', { name: `Row ${to}`, exact: true }).click({ modifiers: ['Shift'] });
  }
  await sidebar.getByRole('button', { name: 'Refresh selection' }).click();
}

async function devApi(path, body) {
  const resp = await fetch(`${BASE_URL}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.ok(resp.ok, `${path} answered ${resp.status}`);
}

async function sheetRows() {
  return (await sheet()).rows;
}

/** `/dev/api/sheet`: the rows, the pretend user and the service account's email. */
async function sheet() {
  const resp = await fetch(`${BASE_URL}/dev/api/sheet`);
  return resp.json();
}

/** The Generate button, once it is enabled. */
function enabledGenerate() {
  return sidebar.locator('button.primary:enabled', { hasText: 'Generate' });
}

/** The card of the newest job (the list is newest first). */
function newestJob() {
  return sidebar.locator('article.job').first();
}

// Clicks Generate and returns the new job's card once it is on the page (until then the newest
// card is the previous test's job, which may already show the status a test waits for).
async function generate() {
  const cards = sidebar.locator('article.job');
  const before = await cards.count();
  await sidebar.getByRole('button', { name: 'Generate' }).click();
  const deadline = Date.now() + LONG;
  while ((await cards.count()) <= before) {
    assert.ok(Date.now() < deadline, 'no new job card appeared after Generate');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return newestJob();
}

async function waitForStatus(card, status) {
  await card.and(sidebar.locator(`[data-status="${status}"]`)).waitFor({ timeout: LONG });
}

function count(name) {
  return sidebar.locator(`[data-count="${name}"]`);
}

test('an empty selection tells the person how to select rows', async () => {
  await assert.doesNotReject(
    sidebar.getByText('No rows are selected', { exact: false }).waitFor(),
  );
  await sidebar.getByText('No jobs yet.').waitFor();
  assert.equal(await sidebar.getByRole('button', { name: 'Generate' }).isDisabled(), true);
  await screenshot(page, '01-empty-selection');
});

test('a selection with the header shows the counts and an estimate in batch and realtime mode', async () => {
  await selectRows(1, 5);
  await assert.doesNotReject(count('selected').filter({ hasText: '5' }).waitFor());
  assert.equal(await count('to-generate').textContent(), '4');
  assert.equal(await count('filled').textContent(), '0');
  await sidebar.getByText('The header row is selected').waitFor();
  const batch = sidebar.locator('[data-cost="batch"]');
  await batch.waitFor();
  const dollars = async (loc) => Number((await loc.textContent()).replace(/[$,]/g, ''));
  const batchCost = await dollars(batch);
  const realtimeCost = await dollars(sidebar.locator('[data-cost="realtime"]'));
  assert.ok(batchCost > 0, `batch cost ${batchCost}`);
  assert.ok(batchCost < realtimeCost, `batch ${batchCost} should be below realtime ${realtimeCost}`);
  await sidebar.getByText(/4 rows: [\d,]+ input \+ ~[\d,]+ output tokens/).waitFor();
  assert.match(await sidebar.getByLabel('Model').inputValue(), /\S/);
  await screenshot(page, '02-estimate');
});

test('a spreadsheet not shared with the service account shows its email and Share, which enables Generate', async () => {
  const { serviceAccountEmail } = await sheet();
  assert.match(serviceAccountEmail, /@.*\.gserviceaccount\.com$/);
  await devApi('/dev/api/service-account', { shared: false });
  await reopen();
  await selectRows(1, 5);
  const step = sidebar.locator('section.setup');
  await step.getByText('One step before the first Generate or Chat').waitFor();
  assert.equal(await step.getAttribute('aria-label'), 'Share with Almanac');
  assert.equal((await step.locator('code.service-account').textContent()).trim(), serviceAccountEmail);
  const share = step.getByRole('button', { name: 'Share with Almanac' });
  assert.equal(await share.isEnabled(), true);
  await step.getByRole('button', { name: 'Check again' }).waitFor();
  await sidebar.locator('[data-cost="batch"]').waitFor();
  assert.equal(await sidebar.getByRole('button', { name: 'Generate' }).isDisabled(), true, 'not before sharing');
  await screenshot(page, '02a-setup-share');

  // The Chat tab waits for the same step: it stays in view, and Ask is disabled with a note.
  await sidebar.getByRole('tab', { name: 'Chat' }).click();
  const chat = sidebar.getByRole('region', { name: 'Chat about this sheet' });
  const wait = chat.getByText('Ask is enabled once Almanac can work on this spreadsheet');
  await wait.waitFor();
  await sidebar.getByLabel('Ask about this sheet').fill('What happened on 08-15?');
  assert.equal(await chat.getByRole('button', { name: 'Ask' }).isDisabled(), true, 'no chat before sharing');
  assert.equal(await step.getByRole('button', { name: 'Share with Almanac' }).isVisible(), true);
  await screenshot(page, '02a-setup-chat');
  await sidebar.getByLabel('Ask about this sheet').fill('');
  await sidebar.getByRole('tab', { name: 'Generate' }).click();

  await share.click();
  await enabledGenerate().waitFor({ timeout: LONG });
  assert.equal(await step.count(), 0, 'the step is gone once access is proven');
  assert.equal(await wait.count(), 0, 'Chat no longer waits');
  await screenshot(page, '02b-setup-shared');
});

test('sharing by hand in Google\'s Share dialog, then Check again, also enables Generate', async () => {
  await devApi('/dev/api/service-account', { shared: false });
  await reopen();
  await selectRows(1, 5);
  const step = sidebar.locator('section.setup');
  await step.getByRole('button', { name: 'Check again' }).waitFor();
  // Check again before sharing: the step stays.
  await step.getByRole('button', { name: 'Check again' }).click();
  await step.locator('code.service-account').waitFor();
  assert.equal(await sidebar.getByRole('button', { name: 'Generate' }).isDisabled(), true);

  // The person shares it themselves (Share ▸ the address ▸ Editor), then checks again.
  await devApi('/dev/api/service-account', { shared: true });
  await step.getByRole('button', { name: 'Check again' }).click();
  await enabledGenerate().waitFor({ timeout: LONG });
  assert.equal(await sidebar.locator('section.setup').count(), 0);
  await count('to-generate').filter({ hasText: '4' }).waitFor();
  await screenshot(page, '02c-setup-checked-again');
});

test('generate shows live progress, then the outcome, and the cells fill', async () => {
  await devApi('/dev/api/hold', { hold: true });
  const card = await generate();
  await waitForStatus(card, 'in_progress');
  await card.locator('progress').waitFor();
  await card.getByText('OpenAI is writing the content').waitFor();
  await card.getByText(/Submitted .* ago · live/).waitFor();
  assert.equal(await card.getByRole('button', { name: 'Cancel' }).isVisible(), true);
  assert.equal(await card.locator('.live').getAttribute('aria-live'), 'polite');
  await screenshot(page, '03-running');

  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(card, 'completed');
  await card.getByText('4 written').waitFor();
  assert.equal(await card.locator('progress').count(), 0);
  const rows = await sheetRows();
  for (let n = 2; n <= 5; n += 1) {
    for (let c = 2; c <= 5; c += 1) {
      assert.notEqual((rows[n - 1][c] || '').trim(), '', `cell ${'ABCDEF'[c]}${n} is empty`);
    }
  }
  await page.locator('[data-cell="D5"]').filter({ hasText: /\S/ }).waitFor();
  await screenshot(page, '04-completed');
});

test('a row that fails is listed with its reason and Retry failed rows writes it', async () => {
  await selectRows(7);
  await page.getByRole('button', { name: 'Make selected rows fail' }).click();
  await selectRows(6, 8);
  assert.equal(await count('to-generate').textContent(), '3');
  const card = await generate();
  await waitForStatus(card, 'completed');
  await card.getByText('2 written · 0 skipped · 1 failed').waitFor();
  const failed = card.getByRole('list', { name: 'Failed rows' });
  await failed.getByText(/^Row 7 \(/).waitFor();
  assert.equal((await sheetRows())[6][2] || '', '', 'the failed row stays empty');
  await screenshot(page, '05-failed-row');

  await page.getByRole('button', { name: 'Clear faults' }).click();
  await card.getByRole('button', { name: 'Retry failed rows' }).click();
  await card.getByText('3 written · 0 skipped · 0 failed').waitFor({ timeout: LONG });
  await waitForStatus(card, 'completed');
  assert.notEqual(((await sheetRows())[6][2] || '').trim(), '', 'row 7 is written after the retry');
  assert.equal(await card.getByRole('button', { name: 'Retry failed rows' }).count(), 0);
  await screenshot(page, '06-retried');
});

test('a job keeps running across a reload and the sidebar picks it up live', async () => {
  await devApi('/dev/api/hold', { hold: true });
  await selectRows(9, 12);
  const card = await generate();
  await waitForStatus(card, 'in_progress');
  const jobId = await card.getAttribute('data-job-id');

  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  const again = sidebar.locator(`article.job[data-job-id="${jobId}"]`);
  await waitForStatus(again, 'in_progress');
  await again.getByText(/Submitted .* ago · live/).waitFor();
  await screenshot(page, '07-resumed-after-reload');

  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(again, 'completed');
  await again.getByText('4 written').waitFor();
  const rows = await sheetRows();
  assert.notEqual((rows[11][5] || '').trim(), '', 'F12 is written');
});

test('when the event stream cannot be opened the card polls until the job ends', async () => {
  await page.route('**/events?*', (route) => route.abort());
  await devApi('/dev/api/hold', { hold: true });
  await selectRows(13, 14);
  const card = await generate();
  await card.getByText(/checking every \d+ s/).waitFor({ timeout: LONG });
  await screenshot(page, '08-polling');
  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(card, 'completed');
  await card.getByText('2 written').waitFor();
  await page.unroute('**/events?*');
});

test('choosing realtime beside its cost runs the job as realtime calls and shows what it cost', async () => {
  await selectRows(15, 16);
  await sidebar.locator('[data-cost="realtime"]').waitFor();
  await sidebar.getByText(/^Per row: \$[\d.]+ batch · \$[\d.]+ realtime$/).waitFor();
  const realtime = sidebar.getByRole('radio', { name: 'Realtime' });
  assert.equal(await sidebar.getByRole('radio', { name: 'Batch' }).isChecked(), true);
  await realtime.check();
  assert.equal(await realtime.isChecked(), true);
  await screenshot(page, '08-realtime-chosen');
  const card = await generate();
  await waitForStatus(card, 'completed');
  await card.getByText('2 written').waitFor();
  const cost = card.locator('p.cost');
  assert.equal(await cost.getAttribute('data-mode'), 'realtime');
  await cost.getByText(/^Cost \$[\d.]+ · estimate \$[\d.]+ \([+−]\d+%\)$/).waitFor();
  const rows = await sheetRows();
  assert.notEqual((rows[14][3] || '').trim(), '', 'D15 is filled');
  await screenshot(page, '09-realtime-done');
});

/** The Chat tab, chosen. */
async function openChat() {
  const tab = sidebar.getByRole('tab', { name: 'Chat' });
  await tab.click();
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  return sidebar.getByRole('region', { name: 'Chat about this sheet' });
}

/** Asks `question` in the Chat tab. */
async function askChat(question) {
  await sidebar.getByLabel('Ask about this sheet').fill(question);
  await sidebar.getByRole('button', { name: 'Ask' }).click();
}

test('the Chat tab streams an answer read from the sheet and shows what it cost', async () => {
  const chat = await openChat();
  await chat.getByText('Ask about this sheet: what a row says').waitFor();
  await screenshot(page, '10-chat-empty');
  await devApi('/dev/api/answer-speed', { event_delay_ms: 40 });
  await askChat('What happened on 08-15?');
  const answering = chat.getByRole('article', { name: 'Almanac, answering' });
  await answering.locator('.text').filter({ hasText: /\[emulated\]/ }).waitFor({ timeout: LONG });
  await screenshot(page, '11-chat-streaming');
  await devApi('/dev/api/answer-speed', { event_delay_ms: 0 });
  const answer = chat.getByRole('article', { name: 'Almanac', exact: true }).last();
  await answer.getByText(/get_rows returned: .*08-15/).waitFor({ timeout: LONG });
  await answer.getByText(/^[\d,]+ tokens · \$[\d.,]+$/).waitFor();
  assert.equal(await answering.count(), 0);
  assert.equal(await chat.getByRole('article', { name: 'You' }).count(), 1);
  await screenshot(page, '12-chat-answered');
});

test('a chart made by the code interpreter shows inline, the conversation survives a reload, and New conversation starts over', async () => {
  let chat = await openChat();
  await askChat('Which decades have the most events? Draw a chart.');
  const chart = chat.getByRole('img', { name: /Chart made by the code interpreter/ });
  await chart.waitFor({ timeout: LONG });
  await assert.doesNotReject(chat.getByText(/Events per decade/).waitFor());
  const width = await chart.evaluate((img) => img.naturalWidth);
  assert.ok(width > 0, 'the chart image loaded');
  await screenshot(page, '13-chat-chart');

  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  chat = await openChat();
  await chat.getByText(/get_rows returned/).waitFor({ timeout: LONG });
  await chat.getByRole('img', { name: /Chart made by the code interpreter/ }).waitFor();
  assert.equal(await chat.getByRole('article', { name: 'You' }).count(), 2);
  await screenshot(page, '14-chat-after-reload');

  await chat.getByRole('button', { name: 'New conversation' }).click();
  await chat.getByText('Ask about this sheet: what a row says').waitFor();
  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  chat = await openChat();
  await chat.getByText('Ask about this sheet: what a row says').waitFor();
  assert.equal(await chat.getByRole('article').count(), 0);
});
