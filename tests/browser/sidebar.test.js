// The sidebar in a real browser: headless Chromium opens `/dev/sheet` of `almanac demo --serve`
// (the emulated sheet beside the real sidebar bundle), selects rows, reads the estimate, goes
// through the set-up step (sharing with the service account; Generate and Chat wait for it), generates,
// watches the progress, checks the cells, fails and retries a row, and reloads mid-job. Each step
// saves a screenshot under test-output/browser/ and runs axe-core on the sidebar (no serious or
// critical violation). The tests run in order on one sheet; the last ones use the Chat tab (a
// streamed answer, a chart, a reload, a new conversation, a Markdown answer), then the Generate flow
// and a chat turn with the keyboard alone. The whole file runs once per language
// (ALMANAC_TEST_LOCALE: `en`, `ko`, as the Google account's locale); every text it looks for comes
// from locales/<lang>/sidebar.ftl.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE_URL,
  LOCALE,
  MONEY,
  NUM,
  any,
  launch,
  screenshot,
  seriousViolations,
  shotName,
  t,
  tr,
} from './browser.js';

const LONG = 60_000;
let browser;
let page;
let sidebar;
/** Every request of the page and its frames: its URL and `Authorization` header. */
const requests = [];

before(async () => {
  browser = await launch();
  page = await browser.context.newPage();
  page.on('pageerror', (err) => console.error('page error:', err.message));
  page.on('request', (req) => requests.push({ url: req.url(), authorization: req.headers().authorization }));
  await page.goto(`${BASE_URL}/dev/sheet?locale=${LOCALE}`);
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

/** The sidebar's frame (for axe-core and `evaluate`). */
async function sidebarFrame() {
  const handle = await page.locator('#sidebar').elementHandle();
  return handle.contentFrame();
}

/**
 * Saves a screenshot of this screen (named for the language) and checks it with axe-core: no
 * serious or critical violation in the sidebar.
 */
async function capture(name) {
  await screenshot(page, shotName(name));
  const violations = await seriousViolations(await sidebarFrame());
  assert.deepEqual(violations, [], `axe-core on ${name}`);
}

/** Selects rows `from..to` of the grid by clicking and shift-clicking their row numbers. */
async function selectRows(from, to = from) {
  await page.getByRole('button', { name: `Row ${from}`, exact: true }).click();
  if (to !== from) {
    await page.getByRole('button', { name: `Row ${to}`, exact: true }).click({ modifiers: ['Shift'] });
  }
  await sidebar.getByRole('button', { name: t('refresh-selection') }).click();
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
  return sidebar.locator('button.primary:enabled', { hasText: t('generate-button') });
}

/** The Generate button. */
function generateButton() {
  return sidebar.getByRole('button', { name: t('generate-button'), exact: true });
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
  await generateButton().click();
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

/** A job's outcome with `n` rows written (`4 written · 0 skipped · 0 failed`). */
function written(n) {
  return tr('job-outcome', { done: String(n), skipped: NUM, failed: NUM });
}

/** The Ask button of the Chat tab within `scope`. */
function askButton(scope) {
  return scope.getByRole('button', { name: t('chat-ask'), exact: true });
}

/** A question about one row (the emulated model looks the id up), in the run's language. */
const QUESTION_0815 = LOCALE === 'ko' ? '08-15 날짜에는 무슨 일이 있었나요?' : 'What happened on 08-15?';
/** A question the emulated model answers with the code interpreter's chart. */
const QUESTION_CHART =
  LOCALE === 'ko'
    ? '어느 연대에 사건이 가장 많나요? 차트로 보여 주세요.'
    : 'Which decades have the most events? Draw a chart.';

test('Korean text renders with real glyphs, not empty boxes', async () => {
  // Missing glyphs are all drawn as the same box: two different Hangul syllables drawn alike (or
  // like a code point no font has) mean no Korean font.
  await page.locator('[data-cell="B2"]').filter({ hasText: /[가-힣]/ }).waitFor();
  const frame = await sidebarFrame();
  await frame.locator('main.almanac').waitFor();
  const drawn = await frame.evaluate(() => {
    const font = getComputedStyle(document.querySelector('main.almanac')).fontFamily;
    const draw = (text) => {
      const canvas = document.createElement('canvas');
      canvas.width = 40;
      canvas.height = 40;
      const ctx = canvas.getContext('2d');
      ctx.font = `28px ${font}`;
      ctx.fillText(text, 4, 32);
      return { pixels: canvas.toDataURL(), width: ctx.measureText(text).width };
    };
    return { ga: draw('가'), na: draw('나'), none: draw('\u{10FFFD}') };
  });
  assert.notEqual(drawn.ga.pixels, drawn.na.pixels, '가 and 나 are drawn alike: no Korean font');
  assert.notEqual(drawn.ga.pixels, drawn.none.pixels, '가 is drawn as a missing glyph');
  assert.ok(drawn.ga.width > 10, `가 is ${drawn.ga.width} px wide`);
  await screenshot(page, shotName('00-korean-titles'));
});

test('the sidebar speaks the Google account\'s language', async () => {
  await sidebar.getByRole('button', { name: t('refresh-selection') }).waitFor();
  const frame = await sidebarFrame();
  assert.equal(await frame.evaluate(() => document.documentElement.lang), LOCALE);
  await sidebar.getByRole('tab', { name: t('tab-generate') }).waitFor();
});

test('an empty selection tells the person how to select rows', async () => {
  await assert.doesNotReject(sidebar.getByText(t('selection-empty')).waitFor());
  await sidebar.getByText(t('jobs-none')).waitFor();
  assert.equal(await generateButton().isDisabled(), true);
  await capture('01-empty-selection');
});

test('a selection with the header shows the counts and an estimate in batch and realtime mode', async () => {
  await selectRows(1, 5);
  await assert.doesNotReject(count('selected').filter({ hasText: '5' }).waitFor());
  assert.equal(await count('to-generate').textContent(), '4');
  assert.equal(await count('filled').textContent(), '0');
  await sidebar.getByText(t('selection-header')).waitFor();
  const batch = sidebar.locator('[data-cost="batch"]');
  await batch.waitFor();
  const dollars = async (loc) => Number((await loc.textContent()).replace(/[^\d.]/g, ''));
  const batchCost = await dollars(batch);
  const realtimeCost = await dollars(sidebar.locator('[data-cost="realtime"]'));
  assert.ok(batchCost > 0, `batch cost ${batchCost}`);
  assert.ok(batchCost < realtimeCost, `batch ${batchCost} should be below realtime ${realtimeCost}`);
  await sidebar
    .getByText(tr('estimate-tokens', { rows: t('rows', { count: 4, n: '4' }), input: NUM, output: NUM }))
    .waitFor();
  assert.match(await sidebar.getByLabel(t('model-label')).inputValue(), /\S/);
  await capture('02-estimate');
});

test('a spreadsheet not shared with the service account shows its email and Share, which enables Generate', async () => {
  const { serviceAccountEmail } = await sheet();
  assert.match(serviceAccountEmail, /@.*\.gserviceaccount\.com$/);
  await devApi('/dev/api/service-account', { shared: false });
  await reopen();
  await selectRows(1, 5);
  const step = sidebar.locator('section.setup');
  await step.getByText(t('share-heading')).waitFor();
  assert.equal(await step.getAttribute('aria-label'), t('share-label'));
  assert.equal((await step.locator('code.service-account').textContent()).trim(), serviceAccountEmail);
  const share = step.getByRole('button', { name: t('share-button') });
  assert.equal(await share.isEnabled(), true);
  await step.getByRole('button', { name: t('check-again') }).waitFor();
  await sidebar.locator('[data-cost="batch"]').waitFor();
  assert.equal(await generateButton().isDisabled(), true, 'not before sharing');
  await capture('02a-setup-share');

  // The Chat tab waits for the same step: it stays in view, and Ask is disabled with a note.
  await sidebar.getByRole('tab', { name: t('tab-chat') }).click();
  const chat = sidebar.getByRole('region', { name: t('chat-region') });
  const wait = chat.getByText(t('chat-wait-access'));
  await wait.waitFor();
  await sidebar.getByLabel(t('chat-ask-label')).fill(QUESTION_0815);
  assert.equal(await askButton(chat).isDisabled(), true, 'no chat before sharing');
  assert.equal(await step.getByRole('button', { name: t('share-button') }).isVisible(), true);
  await capture('02a-setup-chat');
  await sidebar.getByLabel(t('chat-ask-label')).fill('');
  await sidebar.getByRole('tab', { name: t('tab-generate') }).click();

  await share.click();
  await enabledGenerate().waitFor({ timeout: LONG });
  assert.equal(await step.count(), 0, 'the step is gone once access is proven');
  assert.equal(await wait.count(), 0, 'Chat no longer waits');
  await capture('02b-setup-shared');
});

test('sharing by hand in Google\'s Share dialog, then Check again, also enables Generate', async () => {
  await devApi('/dev/api/service-account', { shared: false });
  await reopen();
  await selectRows(1, 5);
  const step = sidebar.locator('section.setup');
  await step.getByRole('button', { name: t('check-again') }).waitFor();
  // Check again before sharing: the step stays.
  await step.getByRole('button', { name: t('check-again') }).click();
  await step.locator('code.service-account').waitFor();
  assert.equal(await generateButton().isDisabled(), true);

  // The person shares it themselves (Share ▸ the address ▸ Editor), then checks again.
  await devApi('/dev/api/service-account', { shared: true });
  await step.getByRole('button', { name: t('check-again') }).click();
  await enabledGenerate().waitFor({ timeout: LONG });
  assert.equal(await sidebar.locator('section.setup').count(), 0);
  await count('to-generate').filter({ hasText: '4' }).waitFor();
  await capture('02c-setup-checked-again');
});

test('generate shows live progress, then the outcome, and the cells fill', async () => {
  await devApi('/dev/api/hold', { hold: true });
  const card = await generate();
  await waitForStatus(card, 'in_progress');
  await card.locator('progress').waitFor();
  await card.getByText(t('status-in_progress')).waitFor();
  await card.getByText(tr('job-submitted', { time: any(), link: t('link-live') })).waitFor();
  assert.equal(await card.getByRole('button', { name: t('cancel-button') }).isVisible(), true);
  // Progress is announced: the status and counts sit in a polite live region.
  const live = card.locator('.live');
  assert.equal(await live.getAttribute('aria-live'), 'polite');
  await live.getByText(t('status-in_progress')).waitFor();
  await capture('03-running');

  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(card, 'completed');
  await card.locator('.live').getByText(written(4)).waitFor();
  assert.equal(await card.locator('progress').count(), 0);
  const rows = await sheetRows();
  for (let n = 2; n <= 5; n += 1) {
    for (let c = 2; c <= 5; c += 1) {
      assert.notEqual((rows[n - 1][c] || '').trim(), '', `cell ${'ABCDEF'[c]}${n} is empty`);
    }
  }
  await page.locator('[data-cell="D5"]').filter({ hasText: /\S/ }).waitFor();
  await capture('04-completed');
});

test('a row that fails is listed with its reason and Retry failed rows writes it', async () => {
  await selectRows(7);
  await page.getByRole('button', { name: 'Make selected rows fail' }).click();
  await selectRows(6, 8);
  assert.equal(await count('to-generate').textContent(), '3');
  const card = await generate();
  await waitForStatus(card, 'completed');
  await card.getByText(t('job-outcome', { done: '2', skipped: '0', failed: '1' })).waitFor();
  const failed = card.getByRole('list', { name: t('failed-rows-label') });
  await failed.getByText(new RegExp(`^${tr('failed-row', { row: 7, id: any(), reason: any() }).source}`)).waitFor();
  assert.equal((await sheetRows())[6][2] || '', '', 'the failed row stays empty');
  await capture('05-failed-row');

  await page.getByRole('button', { name: 'Clear faults' }).click();
  await card.getByRole('button', { name: t('retry-button') }).click();
  await card.getByText(t('job-outcome', { done: '3', skipped: '0', failed: '0' })).waitFor({ timeout: LONG });
  await waitForStatus(card, 'completed');
  assert.notEqual(((await sheetRows())[6][2] || '').trim(), '', 'row 7 is written after the retry');
  assert.equal(await card.getByRole('button', { name: t('retry-button') }).count(), 0);
  await capture('06-retried');
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
  await again.getByText(tr('job-submitted', { time: any(), link: t('link-live') })).waitFor();
  await capture('07-resumed-after-reload');

  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(again, 'completed');
  await again.getByText(written(4)).waitFor();
  const rows = await sheetRows();
  assert.notEqual((rows[11][5] || '').trim(), '', 'F12 is written');
});

test('when the event stream cannot be opened the card polls until the job ends', async () => {
  await page.route('**/jobs/*/events', (route) => route.abort());
  await devApi('/dev/api/hold', { hold: true });
  await selectRows(13, 14);
  const card = await generate();
  await card.getByText(tr('link-polling', { s: NUM })).waitFor({ timeout: LONG });
  await capture('08-polling');
  await devApi('/dev/api/hold', { hold: false });
  await waitForStatus(card, 'completed');
  await card.getByText(written(2)).waitFor();
  await page.unroute('**/jobs/*/events');
});

test('choosing realtime beside its cost runs the job as realtime calls and shows what it cost', async () => {
  await selectRows(15, 16);
  await sidebar.locator('[data-cost="realtime"]').waitFor();
  await sidebar.getByText(tr('estimate-per-row', { batch: MONEY, realtime: MONEY }, { whole: true })).waitFor();
  const realtime = sidebar.getByRole('radio', { name: t('mode-realtime'), exact: true });
  assert.equal(await sidebar.getByRole('radio', { name: t('mode-batch'), exact: true }).isChecked(), true);
  await realtime.check();
  assert.equal(await realtime.isChecked(), true);
  await capture('08-realtime-chosen');
  const card = await generate();
  await waitForStatus(card, 'completed');
  await card.getByText(written(2)).waitFor();
  const cost = card.locator('p.cost');
  assert.equal(await cost.getAttribute('data-mode'), 'realtime');
  const actual = tr('cost-actual', { actual: MONEY, estimate: MONEY }).source;
  const error = `(${tr('cost-over', { pct: NUM }).source}|${tr('cost-under', { pct: NUM }).source})`;
  await cost.getByText(new RegExp(`^${actual} ${error}$`)).waitFor();
  const rows = await sheetRows();
  assert.notEqual((rows[14][3] || '').trim(), '', 'D15 is filled');
  await capture('09-realtime-done');
});

/** The Chat tab, chosen. */
async function openChat() {
  const tab = sidebar.getByRole('tab', { name: t('tab-chat') });
  await tab.click();
  assert.equal(await tab.getAttribute('aria-selected'), 'true');
  return sidebar.getByRole('region', { name: t('chat-region') });
}

/** Asks `question` in the Chat tab. */
async function askChat(question) {
  await sidebar.getByLabel(t('chat-ask-label')).fill(question);
  await askButton(sidebar).click();
}

/** The assistant's stored answers (not the one being written). */
function answers(chat) {
  return chat.getByRole('article', { name: t('chat-almanac'), exact: true });
}

test('the Chat tab streams an answer read from the sheet and shows what it cost', async () => {
  const chat = await openChat();
  await chat.getByText(t('chat-empty')).waitFor();
  await capture('10-chat-empty');
  await devApi('/dev/api/answer-speed', { event_delay_ms: 40 });
  await askChat(QUESTION_0815);
  const answering = chat.getByRole('article', { name: t('chat-answering-label') });
  await answering.locator('.text').filter({ hasText: /\[emulated\]/ }).waitFor({ timeout: LONG });
  await capture('11-chat-streaming');
  await devApi('/dev/api/answer-speed', { event_delay_ms: 0 });
  const answer = answers(chat).last();
  await answer.getByText(/get_rows returned: .*08-15/).waitFor({ timeout: LONG });
  await answer.getByText(tr('chat-cost', { tokens: NUM, cost: MONEY }, { whole: true })).waitFor();
  assert.equal(await answering.count(), 0);
  assert.equal(await chat.getByRole('article', { name: t('chat-you'), exact: true }).count(), 1);
  await capture('12-chat-answered');
});

test('a chart made by the code interpreter shows inline, the conversation survives a reload, and New conversation starts over', async () => {
  let chat = await openChat();
  await askChat(QUESTION_CHART);
  const chart = chat.getByRole('img', { name: t('chart-alt') });
  await chart.waitFor({ timeout: LONG });
  await assert.doesNotReject(chat.getByText(/Events per decade/).waitFor());
  const width = await chart.evaluate((img) => img.naturalWidth);
  assert.ok(width > 0, 'the chart image loaded');
  // The answer's Markdown link to the chart points at the backend's file route.
  const link = answers(chat).last().getByRole('link', { name: 'Download the chart' });
  assert.match(await link.getAttribute('href'), /\/api\/v1\/threads\/[^/]+\/files\/[^/]+\/content$/);
  await capture('13-chat-chart');

  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  chat = await openChat();
  await chat.getByText(/get_rows returned/).waitFor({ timeout: LONG });
  await chat.getByRole('img', { name: t('chart-alt') }).waitFor();
  assert.equal(await chat.getByRole('article', { name: t('chat-you'), exact: true }).count(), 2);
  // A stored answer's citation of the chart still links to the file.
  const stored = answers(chat).last().getByRole('link', { name: 'Download the chart' });
  assert.match(await stored.getAttribute('href'), /\/files\/[^/]+\/content$/);
  await capture('14-chat-after-reload');

  await chat.getByRole('button', { name: t('chat-new') }).click();
  await chat.getByText(t('chat-empty')).waitFor();
  await page.reload();
  sidebar = page.frameLocator('#sidebar');
  chat = await openChat();
  await chat.getByText(t('chat-empty')).waitFor();
  assert.equal(await chat.getByRole('article').count(), 0);
});

/** An answer in Markdown, as a real model writes one, with an attempt at running a script. */
const MARKDOWN_ANSWER = [
  '## Events per decade',
  '',
  'The **1940s** lead, then the *1910s*:',
  '',
  '- 1910s: 3 events',
  '- 1940s: 5 events',
  '',
  '| decade | events | the longest title of the decade, long enough to be wider than the sidebar |',
  '|---|---:|---|',
  '| 1910s | 3 | 3·1 운동 (the March First Movement, an independence movement) |',
  '| 1940s | 5 | 광복절 (National Liberation Day of Korea, the end of Japanese rule) |',
  '',
  '```python',
  "df = pd.read_csv('/mnt/data/sheet.csv'); df.groupby(df.year // 10 * 10).size().plot(kind='bar')  # one long line",
  '```',
  '',
  '[Download the chart](sandbox:/mnt/data/events_per_decade.png)',
  '',
  "<script>window.almanacPwned = true; document.title = 'pwned';</script>",
  '',
  'More at [Google](https://www.google.com).',
].join('\n');

test('an answer in Markdown shows formatted, fits the sidebar, links outside it, and its script is only text', async () => {
  const chat = await openChat();
  // The emulated model answers this Markdown (the backend parses it into the tree the sidebar
  // shows), its citation of the chart on the Markdown link.
  await devApi('/dev/api/answer-text', { text: MARKDOWN_ANSWER });
  await askChat(QUESTION_CHART);
  const answer = answers(chat).last();
  await answer.getByRole('heading', { name: 'Events per decade' }).waitFor({ timeout: LONG });
  assert.equal(await answer.locator('strong').first().textContent(), '1940s');
  assert.equal(await answer.getByRole('listitem').count(), 2);
  // The table and the code block scroll within the sidebar's width; nothing sticks out.
  const table = answer.getByRole('region', { name: t('table-label') });
  assert.equal(await table.locator('th').count(), 3);
  const code = answer.getByRole('region', { name: t('code-block-label') });
  assert.match(await code.locator('pre code').textContent(), /groupby/);
  for (const region of [table, code]) {
    const box = await region.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    assert.ok(box.scroll > box.client, `the ${JSON.stringify(box)} region scrolls`);
  }
  const fits = await answer.evaluate((el) => el.scrollWidth <= el.clientWidth);
  assert.ok(fits, 'the answer is no wider than the sidebar');
  // Links open outside the sidebar; the sandbox link points at the backend's file route.
  const google = answer.getByRole('link', { name: 'Google' });
  assert.equal(await google.getAttribute('target'), '_blank');
  assert.match(await google.getAttribute('rel'), /noopener/);
  const chart = answer.getByRole('link', { name: 'Download the chart' });
  assert.match(await chart.getAttribute('href'), /\/api\/v1\/threads\/[^/]+\/files\/[^/]+\/content$/);
  assert.equal(await chart.getAttribute('target'), '_blank');
  // The script is shown as text and never runs.
  await answer.getByText("<script>window.almanacPwned = true; document.title = 'pwned';</script>").waitFor();
  assert.equal(await answer.locator('script').count(), 0);
  const frame = await sidebarFrame();
  assert.equal(await frame.evaluate(() => window.almanacPwned), undefined);
  await capture('15-chat-markdown');
  // The chart downloads with the API's headers.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: LONG }), chart.click()]);
  assert.equal(download.suggestedFilename(), 'events_per_decade.png');
});

/**
 * Presses Tab until the sidebar's focused element satisfies `isTarget` (going round the sheet's
 * page when the focus leaves the sidebar), checking on the way that every element of the sidebar
 * the keyboard reaches shows its focus. Returns the focused element's description.
 */
async function tabTo(what, isTarget) {
  const frame = await sidebarFrame();
  for (let i = 0; i < 200; i += 1) {
    await page.keyboard.press('Tab');
    const focused = await frame.evaluate(() => {
      const el = document.activeElement;
      if (!document.hasFocus() || !el || el === document.body) return null;
      const style = getComputedStyle(el);
      return {
        tag: el.tagName.toLowerCase(),
        id: el.id,
        role: el.getAttribute('role'),
        text: (el.getAttribute('aria-label') || el.textContent || '').trim(),
        disabled: el.disabled === true,
        visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1,
      };
    });
    if (!focused) continue;
    assert.ok(focused.visible, `focus is not visible on ${JSON.stringify(focused)}`);
    if (isTarget(focused)) return focused;
  }
  throw new Error(`Tab never reached ${what}`);
}

/** Puts the keyboard's focus on the sidebar's frame (as Tab from the sheet would). */
async function focusSidebar() {
  await page.locator('#sidebar').focus();
}

test('the whole Generate flow works with the keyboard alone', async () => {
  // The rows are chosen in the sheet (Google's grid); everything in the sidebar is done with keys.
  await page.getByRole('button', { name: 'Row 17', exact: true }).click();
  await focusSidebar();
  await tabTo('Refresh selection', (f) => f.tag === 'button' && f.text === t('refresh-selection'));
  await page.keyboard.press('Enter');
  // The Chat tab is still chosen from the tests before: the arrow keys choose Generate.
  const tab = await tabTo('the tabs', (f) => f.role === 'tab');
  if (tab.text !== t('tab-generate')) await page.keyboard.press('ArrowLeft');
  const generateTab = sidebar.getByRole('tab', { name: t('tab-generate') });
  assert.equal(await generateTab.getAttribute('aria-selected'), 'true');
  await count('to-generate').filter({ hasText: '1' }).waitFor();
  await sidebar.locator('[data-cost="batch"]').waitFor();
  await enabledGenerate().waitFor({ timeout: LONG });
  const cards = await sidebar.locator('article.job').count();
  // Past the tabs, the model and the modes, to Generate.
  await tabTo('Generate', (f) => f.tag === 'button' && f.text === t('generate-button') && !f.disabled);
  await capture('16-keyboard-generate');
  await page.keyboard.press('Enter');
  await sidebar.locator('article.job').nth(cards).waitFor({ timeout: LONG });
  const card = newestJob();
  await waitForStatus(card, 'completed');
  await card.getByText(written(1)).waitFor();
  await capture('17-keyboard-generated');
});

test('a chat turn works with the keyboard alone', async () => {
  await focusSidebar();
  const tab = await tabTo('the tabs', (f) => f.role === 'tab');
  assert.equal(tab.text, t('tab-generate'));
  await page.keyboard.press('ArrowRight');
  const chatTab = sidebar.getByRole('tab', { name: t('tab-chat') });
  assert.equal(await chatTab.getAttribute('aria-selected'), 'true');
  assert.equal(await chatTab.evaluate((el) => el === document.activeElement), true, 'the arrow moves the focus');
  await tabTo('the question', (f) => f.id === 'almanac-chat-input');
  await page.keyboard.type(QUESTION_0815);
  await tabTo('Ask', (f) => f.tag === 'button' && f.text === t('chat-ask'));
  await capture('18-keyboard-chat');
  await page.keyboard.press('Enter');
  const chat = sidebar.getByRole('region', { name: t('chat-region') });
  await answers(chat).last().getByText(/get_rows returned: .*08-15/).waitFor({ timeout: LONG });
  await capture('19-keyboard-chat-answered');
});

test('no request the sidebar made carries a token in its URL; event streams send the header', async () => {
  const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]*/;
  const inUrl = requests.filter(({ url }) => jwt.test(url) || /[?&](access_token|id_token|proof)=/i.test(url));
  assert.deepEqual(inUrl.map((r) => r.url), [], 'a token in a URL');
  const streams = requests.filter(({ url }) => /\/api\/v1\/jobs\/[^/]+\/events$/.test(new URL(url).pathname));
  assert.ok(streams.length > 0, 'the sidebar followed jobs through their event streams');
  for (const { url, authorization } of streams) {
    assert.match(authorization ?? '', /^Bearer \S+/, `${url} has the Authorization header`);
  }
});
