import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eventWorkflowId } from '../../src/domain/ids.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver, type Reply } from '../support/receiver.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Receivers that behave like real trackers and partners: binary, compressed or slow bodies after a 2xx.
 * The status line decides; nothing that happens after it can make the same attempt go out again.
 */
let sys: System;
let rx: Receiver;
let op: { id: string; apiKey: string };

before(async () => {
  sys = await startSystem();
  rx = await startReceiver();
  op = await sys.createOperator();
});
after(async () => {
  await sys?.stop();
  await rx?.stop();
});

/** A 1x1 transparent GIF, what many trackers answer to a postback (NUL bytes included). */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

async function deliverOnce(reply: Reply, endpoint: Record<string, unknown> = {}) {
  const affiliateId = uniqueId('aff');
  const path = `/rx-${affiliateId}`;
  rx.script(path, [reply]);
  const created = await sys.request('POST', '/v1/endpoints', {
    apiKey: op.apiKey,
    json: {
      url: rx.url(path),
      eventTypes: ['customer.registered'],
      affiliateId,
      retryPolicy: { schedule: ['1s', '1s', '1s'], jitter: 0 },
      ...endpoint,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const reg = registration(uniqueId('player'), { attribution: { affiliateId } });
  const accepted = await sys.request('POST', '/v1/events', { apiKey: op.apiKey, json: reg });
  assert.equal(accepted.status, 202);
  const result = await sys.client.workflow.getHandle(eventWorkflowId(op.id, reg.id)).result();
  const detail = await sys.request('GET', `/v1/deliveries/${result.deliveries[0]!.deliveryId}`, {
    apiKey: op.apiKey,
  });
  return { requests: rx.requests(path), detail: detail.body };
}

describe('a 2xx is accepted whatever its body', () => {
  it('when the receiver answers 200 with a GIF, the delivery is sent once, succeeds, and logs a printable preview', async () => {
    const { requests, detail } = await deliverOnce({
      status: 200,
      headers: { 'content-type': 'image/gif' },
      body: GIF,
    });
    assert.equal(requests.length, 1);
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.attemptCount, 1);
    assert.equal(detail.attempts.length, 1);
    const preview: string = detail.attempts[0].responseBody;
    assert.ok(preview.startsWith('GIF89a'), preview);
    assert.ok(!preview.includes('\u0000'), 'no NUL in the stored preview');
    assert.match(preview, /\\x00/);
    assert.equal(detail.attempts[0].responseBytes, GIF.length);
    assert.equal(detail.attempts[0].responseContentType, 'image/gif');
  });

  it('when the receiver answers 200 with content-encoding gzip and a body that does not decode, it is sent once and succeeds', async () => {
    const { requests, detail } = await deliverOnce({
      status: 200,
      headers: { 'content-encoding': 'gzip', 'content-type': 'application/json' },
      body: Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00, 0x01, 0x02]),
    });
    assert.equal(requests.length, 1);
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0].statusCode, 200);
  });

  it('when the receiver answers 200 with a UTF-16 body, it is sent once and succeeds', async () => {
    const { requests, detail } = await deliverOnce({
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-16le' },
      body: Buffer.from('\ufeffaccepted', 'utf16le'),
    });
    assert.equal(requests.length, 1);
    assert.equal(detail.status, 'succeeded');
    assert.match(detail.attempts[0].responseBody, /a\\x00c\\x00c/);
  });

  it('when the receiver answers 200 at once and trickles its body past the timeout, the attempt succeeded and is not sent again', async () => {
    const { requests, detail } = await deliverOnce(
      { status: 200, body: 'accepted, slowly', trickle: { pieces: 6, intervalMs: 1_000 } },
      { timeout: '1s' },
    );
    assert.equal(requests.length, 1);
    assert.equal(detail.status, 'succeeded');
    assert.equal(detail.attempts.length, 1);
    assert.equal(detail.attempts[0].statusCode, 200);
    // Logged as a note: the body was cut once the grace after the status line ran out.
    assert.match(detail.attempts[0].error, /^note: body cut/);
  });

  it('a receiver that sends no status line within the timeout still fails the attempt (timeout) and is retried', async () => {
    const { requests, detail } = await deliverOnce({ status: 200, delayMs: 2_000 }, { timeout: '500ms' });
    assert.equal(detail.status, 'succeeded');
    assert.equal(requests.length, 2);
    assert.match(detail.attempts[0].error, /^timeout/);
  });
});
