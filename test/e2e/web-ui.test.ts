/**
 * The Temporal Web UI, in a real browser (issue 15, item 5): an operator finds an event whose delivery is
 * stuck with the README's query, opens the event's workflow and reads what it waits for. Before, the first
 * wait after a failed local first attempt was a bare workflow timer (`1 (48m, 56s)`) with no pending
 * activity: nothing on the page said which delivery waited, or why.
 *
 * Headless Chromium (Debian's package, found or installed by test/run.ts) driven by playwright-core. The
 * workflow page long-polls the server, so pages are waited for by `load` and then by the element the test
 * reads, never by network idleness. Screenshots go to $WEBUI_SCREENSHOTS (`docs/images` refreshes the
 * README's), else to test-results/web-ui.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { registration, uniqueId } from '../support/factories.js';
import { launchChromium, type BrowserSession } from '../support/browser.js';
import { testEnv } from '../support/env.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

const root = join(import.meta.dirname, '..', '..');
const shots = process.env.WEBUI_SCREENSHOTS ?? join(root, 'test-results', 'web-ui');

/** The README's query for the deliveries waiting to retry on one endpoint, as the README spells it. */
function readmeQuery(endpointId: string): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const line = readme
    .split('\n')
    .find((l) => l.trim().startsWith("DeliveryStatus = 'retrying' AND EndpointId"));
  assert.ok(line, "the README lists the query DeliveryStatus = 'retrying' AND EndpointId = 'ep_...'");
  const query = line.trim().split(/\s{2,}/)[0]!;
  assert.ok(query.includes("'ep_...'"), query);
  return query.replace("'ep_...'", `'${endpointId}'`);
}

let sys: System;
let rx: Receiver;
let browser: BrowserSession;
let op: { id: string; apiKey: string };

before(async () => {
  const env = testEnv();
  assert.ok(
    env.temporalUiUrl && env.chromiumPath,
    'run through `npm test` (it starts the Web UI and finds Chromium)',
  );
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
  browser = await launchChromium(env.chromiumPath);
  mkdirSync(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
  await sys?.stop();
  await rx?.stop();
});

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Waits until `what` is shown (the pages long-poll: an element, never network idleness), then takes the
 * screenshot; if it never shows, keeps the page's screenshot and text to tell why.
 */
async function visible(page: Page, element: Locator, what: string, shot: string): Promise<void> {
  try {
    await element.waitFor({ state: 'visible', timeout: 30_000 });
  } catch (err) {
    await page.screenshot({ path: join(shots, `failed-${shot}`) });
    writeFileSync(join(shots, `failed-${shot}.txt`), await page.locator('body').innerText());
    throw new Error(`the Web UI never showed ${what} (see ${join(shots, `failed-${shot}`)})`, { cause: err });
  }
  // No scrolling: the page re-renders as it polls (an element may be replaced at any moment), and what the
  // test reads sits within the first screen at this window size.
  await page.screenshot({ path: join(shots, shot) });
}

describe('finding a stuck delivery in the Temporal Web UI', () => {
  it('lists the event by the README query, and its workflow page says what each wait waits for', async () => {
    const api = (method: string, path: string, json?: unknown) =>
      sys.request(method, path, { apiKey: op.apiKey, json });
    // The receiver answers the first attempt 503; the next is due in an hour, so the delivery sticks.
    rx.script('/stuck', [{ status: 503, body: 'down for maintenance' }]);
    const created = await api('POST', '/v1/endpoints', {
      url: rx.url('/stuck'),
      eventTypes: ['customer.registered'],
      retryPolicy: { schedule: ['1h', '2h', '5h', '10h', '10h', '10h', '10h'], jitter: 0 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const endpoint = created.body as { id: string };
    const event = registration(uniqueId('player'), { id: uniqueId('evt-webui') });
    const accepted = await api('POST', '/v1/events', event);
    assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
    const workflowId = (accepted.body as { workflowId: string }).workflowId;
    await rx.waitFor('/stuck', 1);

    const query = readmeQuery(endpoint.id);
    await until('the README query to find the event in Temporal', async () => {
      for await (const wf of sys.client.workflow.list({ query })) if (wf.workflowId === workflowId) return wf;
      return undefined;
    });

    const delivery = `customer.registered to ${new URL(rx.url('/')).host} (${endpoint.id})`;
    const expected = `retry deliver ${delivery} after HTTP 503, attempt 2 of 8`;
    const page = await browser.context.newPage();
    const ui = testEnv().temporalUiUrl!;
    await page.goto(`${ui}/namespaces/default/workflows`, { waitUntil: 'load' });
    await runQuery(page, query);
    const row = page.getByRole('link', { name: workflowId, exact: true }).first();
    await visible(page, row, 'the event in the list', 'web-ui-1-query.png');

    await row.click();
    await page.waitForURL(/\/workflows\/event/, { waitUntil: 'load' });
    // The wait, in the event history's timeline: the open timer, labelled with its summary.
    const summary = page.getByText(expected).filter({ visible: true }).first();
    await visible(page, summary, `the wait's summary "${expected}"`, 'web-ui-2-workflow.png');
    assert.equal((await summary.textContent())?.trim(), expected);

    // Retry-now: the second attempt runs server-side and is answered 503 too. Its two-hour wait is the
    // pending activity, which says what it delivers where, beside Temporal's attempt and last failure.
    rx.script('/stuck', [{ status: 503, body: 'still down' }]);
    const listed = await api('GET', `/v1/deliveries?eventId=${event.id}`);
    const [waiting] = listed.body.data as { id: string }[];
    const retried = await api('POST', `/v1/deliveries/${waiting!.id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    await rx.waitFor('/stuck', 2);
    await until('the second attempt to be logged', async () => {
      const got = await api('GET', `/v1/deliveries/${waiting!.id}`);
      return got.body.attemptCount === 2 ? got : undefined;
    });
    await page.reload({ waitUntil: 'load' });
    const activity = page
      .getByText(`deliver ${delivery}, retried on its schedule of 8 attempts`)
      .filter({ visible: true })
      .first();
    await visible(page, activity, "the pending activity's summary", 'web-ui-3-pending-activity.png');
  });
});

/** Types the query into the workflow list's query box (the `</>` toggle opens it), as an operator does. */
async function runQuery(page: Page, query: string): Promise<void> {
  await page.getByTestId('toggle-manual-query').click();
  const box = page.getByPlaceholder('Enter a query');
  await box.fill(query);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
}
