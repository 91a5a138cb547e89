/**
 * The operator console and the affiliate portal, in a real browser (issue 18): an operator signs in with
 * an API key, finds a dead-lettered delivery by filter, reads its attempt log, retries it and sees it
 * succeed; opens its event's story and follows the link into the Temporal Web UI; then an affiliate opens
 * a portal link and sees its own data only.
 *
 * Headless Chromium (Debian's package, found or installed by test/run.ts) driven by playwright-core. Every
 * request the pages make is recorded: they reach only the page, its bundle and documented /v1 routes, and
 * no URL carries the API key or the portal token. Screenshots go to $CONSOLE_SCREENSHOTS (`docs/screenshots`
 * refreshes the README's), else to test-results/console.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { deposit, registration, uniqueId } from '../support/factories.js';
import { launchChromium, type BrowserSession } from '../support/browser.js';
import { testEnv } from '../support/env.js';
import { startReceiver, type Receiver } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

const root = join(import.meta.dirname, '..', '..');
const shots = process.env.CONSOLE_SCREENSHOTS ?? join(root, 'test-results', 'console');

let sys: System;
let rx: Receiver;
let browser: BrowserSession;
let op: { id: string; apiKey: string };
/** Every URL the browser asked for, in order, and whether the portal page asked. */
const requested: { url: string; portal: boolean }[] = [];

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
  browser.context.on('request', (r) => {
    let from = '';
    try {
      from = r.frame().url();
    } catch {
      // a navigation whose frame is gone (a page closing): not the portal's own request
    }
    requested.push({ url: r.url(), portal: from.startsWith(`${sys.baseUrl}/portal`) });
  });
  mkdirSync(shots, { recursive: true });
});
after(async () => {
  await browser?.close();
  await sys?.stop();
  await rx?.stop();
});

const api = async (method: string, path: string, json?: unknown) => {
  const res = await sys.request(method, path, { apiKey: op.apiKey, ...(json === undefined ? {} : { json }) });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits for `element`, then takes the screenshot; if it never shows, keeps the page's screenshot and text. */
async function shown(page: Page, element: Locator, what: string, shot: string): Promise<void> {
  try {
    await element.first().waitFor({ state: 'visible', timeout: 30_000 });
  } catch (err) {
    await page.screenshot({ path: join(shots, `failed-${shot}`) });
    writeFileSync(join(shots, `failed-${shot}.txt`), await page.locator('body').innerText());
    throw new Error(`the page never showed ${what} (see ${join(shots, `failed-${shot}`)})`, { cause: err });
  }
  await page.screenshot({ path: join(shots, shot), fullPage: true });
}

/**
 * Every form control and button on the page has an accessible name (a label, its text or aria-label), and
 * every table a caption: what a screen reader announces.
 */
async function assertLabelled(page: Page, where: string): Promise<void> {
  // As a string: this file is compiled without the DOM's types.
  const unnamed = (await page.evaluate(`(() => {
    const missing = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      const named =
        (el.labels && el.labels.length > 0) ||
        el.getAttribute('aria-label') ||
        (el.tagName === 'BUTTON' && el.textContent.trim());
      if (!named) missing.push(el.outerHTML.slice(0, 120));
    }
    for (const t of document.querySelectorAll('table'))
      if (!(t.caption && t.caption.textContent.trim())) missing.push('a table without a caption');
    return missing;
  })()`)) as string[];
  assert.deepEqual(unnamed, [], `${where}: controls without an accessible name`);
}

const deal = {
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '20.00' },
  holdPeriod: '30d',
  clawbackWindow: '90d',
};

/** An affiliate with a CPA deal, an endpoint of its own, a registered customer and a first deposit. */
async function affiliateWithTraffic(name: string, path: string) {
  const affiliateId = uniqueId(name);
  await api('PUT', `/v1/affiliates/${affiliateId}`, { name: `Affiliate ${name}`, deal });
  const endpoint = (await api('POST', '/v1/endpoints', {
    url: rx.url(path),
    affiliateId,
    eventTypes: ['deposit.completed'],
    retryPolicy: { schedule: ['1s'], jitter: 0 },
  })) as { id: string };
  const customerId = uniqueId('player');
  await api('POST', '/v1/events', registration(customerId, { attribution: { affiliateId } }));
  const ftd = deposit(customerId);
  await api('POST', '/v1/events', ftd);
  return { affiliateId, endpointId: endpoint.id, eventId: ftd.id as string };
}

describe('the console and the portal in a browser', () => {
  it('finds a dead letter by filter, retries it, tells its event’s story; a portal link shows one affiliate', async () => {
    // Affiliate A's receiver refuses both attempts: its delivery ends failed (the dead letter).
    rx.script('/a', [
      { status: 500, body: '{"error":"database locked"}', headers: { 'content-type': 'application/json' } },
      { status: 500, body: '{"error":"database locked"}', headers: { 'content-type': 'application/json' } },
    ]);
    const a = await affiliateWithTraffic('aff-a', '/a');
    const b = await affiliateWithTraffic('aff-b', '/b');
    const dead = await until('the delivery to A to fail', async () => {
      const list = (await api('GET', `/v1/deliveries?endpointId=${a.endpointId}`)) as {
        data: { id: string; status: string }[];
      };
      return list.data.find((d) => d.status === 'failed');
    });
    const bDeliveries = (await api('GET', `/v1/deliveries?endpointId=${b.endpointId}`)) as {
      data: { id: string }[];
    };
    assert.equal(bDeliveries.data.length, 1);

    const page = await browser.context.newPage();
    await page.goto(`${sys.baseUrl}/console`, { waitUntil: 'load' });
    await page.getByLabel('Operator API key').fill('ahk_not-a-key');
    await page.getByLabel('Operator API key').press('Enter');
    await page.getByText('That API key was refused.').waitFor();
    await page.getByLabel('Operator API key').fill(op.apiKey);
    await shown(
      page,
      page.getByRole('button', { name: 'Sign in' }),
      'the sign-in form',
      'console-1-sign-in.png',
    );
    await page.getByLabel('Operator API key').press('Enter'); // the keyboard signs in
    await assertLabelled(page, 'the sign-in page');

    // The dead letter, by filter: status failed on A's endpoint.
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByLabel('Endpoint id').fill(a.endpointId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const row = page.getByRole('link', { name: dead.id, exact: true });
    await shown(page, row, 'the dead letter in the filtered list', 'console-2-dead-letters.png');
    await assertLabelled(page, 'the deliveries page');
    assert.equal(await page.getByRole('row').count(), 2, 'the header and the one failed delivery');

    // Its attempt log: both 500s with their response bodies, and the first request as sent (keyboard).
    await row.click();
    const log = page.getByRole('table', { name: 'Attempt log' });
    await log.getByText('database locked').nth(1).waitFor();
    await log.getByText('POST request of attempt 1').focus();
    await page.keyboard.press('Enter');
    const sent = page.getByLabel('Request of attempt 1');
    await shown(page, sent, 'the request as sent', 'console-3-attempt-log.png');
    assert.match(await log.innerText(), /500/);
    assert.match(await sent.innerText(), /^POST http:\/\/127\.0\.0\.1:\d+\/a\n/);
    assert.match(await sent.innerText(), /webhook-signature: v1,\[masked\]/);
    assert.match(await sent.innerText(), new RegExp(`"eventId":"${a.eventId}"|${a.eventId}`));

    // Retry now: the receiver answers 200 this time, and the page follows the delivery to succeeded.
    rx.script('/a', [{ status: 200, body: 'ok' }]);
    await page.getByRole('button', { name: 'Retry now' }).click();
    const succeeded = page.locator('.facts .status-succeeded');
    await shown(page, succeeded, 'the delivery succeeded', 'console-4-retried.png');
    assert.equal(
      (await api('GET', `/v1/deliveries/${dead.id}`)).status,
      'succeeded',
      'the API agrees with the page',
    );

    // The event's story, and its workflow in the Temporal Web UI.
    await page.getByRole('link', { name: a.eventId, exact: true }).click();
    await page.getByRole('heading', { name: `Event ${a.eventId}` }).waitFor();
    await page.getByText('First-time deposit (FTD)').waitFor();
    const workflowLink = page.getByRole('link', { name: /^Event workflow .* in the Temporal Web UI$/ });
    await shown(
      page,
      page.getByRole('table', { name: 'Commissions it moved' }).getByText('100.00 EUR'),
      'the commission',
      'console-5-event-story.png',
    );
    assert.ok(await page.getByRole('link', { name: /^Customer workflow customer:/ }).isVisible());
    const [ui] = await Promise.all([browser.context.waitForEvent('page'), workflowLink.click()]);
    await ui.waitForLoadState('load');
    assert.ok(ui.url().startsWith(testEnv().temporalUiUrl!), ui.url());
    await shown(
      ui,
      ui.getByText(`event:${op.id}:${a.eventId}`),
      'the workflow in the Web UI',
      'console-6-temporal.png',
    );
    await ui.close();

    // The endpoint's health, from the story's delivery table.
    await page.getByRole('table', { name: 'Deliveries' }).getByRole('link', { name: a.endpointId }).click();
    const health = page.getByText(/^\d+ \(1 succeeded, 2 failed\)$/);
    await shown(page, health, "the endpoint's health over 24 hours", 'console-7-endpoint.png');
    await assertLabelled(page, 'the endpoint page');
    await page.goBack();

    // The affiliate: approve its pending commission, then make a portal link for it.
    await page
      .getByRole('table', { name: 'Commissions it moved' })
      .getByRole('link', { name: a.affiliateId })
      .click();
    await page.getByRole('button', { name: /^Approve com_/ }).click();
    const approved = page
      .getByRole('table', { name: 'Commissions, newest first' })
      .locator('.status-approved');
    await approved.waitFor();
    await page.getByRole('button', { name: 'Make a portal link' }).click();
    const linkBox = page.getByLabel('Portal link (give it to the affiliate)');
    await shown(page, linkBox, 'the new portal link', 'console-8-affiliate.png');
    await assertLabelled(page, 'the affiliate page');
    const portalUrl = await linkBox.inputValue();
    assert.match(portalUrl, new RegExp(`^${sys.baseUrl}/portal#ahp_`));
    const link = { token: portalUrl.split('#')[1]! };

    // The affiliate portal, from that link.
    const portal = await browser.context.newPage();
    await portal.goto(portalUrl, { waitUntil: 'load' });
    await shown(
      portal,
      portal.getByRole('table', { name: 'Your balances' }),
      "A's balances",
      'portal-1-overview.png',
    );
    assert.doesNotMatch(portal.url(), /ahp_/, 'the token leaves the address bar');
    const overview = await portal.locator('body').innerText();
    assert.ok(overview.includes(a.endpointId) && overview.includes('100.00 EUR'), overview);
    // A test postback to its own endpoint, from the portal.
    await portal.getByRole('button', { name: `Send a test to ${a.endpointId}` }).click();
    await portal.getByText(/^Test sent: delivery dlv_/).waitFor();
    await rx.waitFor('/a', 4);
    await portal.getByRole('link', { name: 'Deliveries', exact: true }).click();
    await shown(
      portal,
      portal.getByRole('link', { name: dead.id }),
      "A's delivery",
      'portal-2-deliveries.png',
    );
    await assertLabelled(portal, 'the portal’s deliveries');
    await portal.getByRole('link', { name: dead.id }).click();
    await portal.getByRole('table', { name: 'Attempt log' }).getByText('database locked').first().waitFor();
    const seen = await portal.locator('body').innerText();
    for (const other of [b.affiliateId, b.endpointId, b.eventId, bDeliveries.data[0]!.id, op.id])
      assert.ok(!seen.includes(other), `the portal shows ${other}`);

    // What the pages asked for: the page, its bundle and REST routes (the portal's under /v1/portal only),
    // and never a credential in a URL.
    const own = requested.filter((r) => r.url.startsWith(sys.baseUrl));
    assert.ok(own.some((r) => r.portal) && own.some((r) => !r.portal));
    for (const { url, portal: fromPortal } of own) {
      const u = new URL(url);
      assert.match(u.pathname, /^\/(console|portal)\/?$|^\/console\/assets\/app\.(js|css)$|^\/v1\//, url);
      if (fromPortal) assert.match(u.pathname, /^\/portal$|^\/console\/assets\/|^\/v1\/portal\//, url);
      assert.ok(!url.includes(op.apiKey) && !url.includes(link.token), 'no credential in a URL');
    }
    const foreign = requested
      .map((r) => r.url)
      .filter((u) => !u.startsWith(sys.baseUrl) && !u.startsWith(testEnv().temporalUiUrl!));
    assert.deepEqual(foreign, [], 'nothing from elsewhere');
  });
});
