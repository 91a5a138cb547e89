import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { tlsRefusalOf } from '../../src/temporal/tls-probe.js';

/**
 * The handshake that tells a TLS refusal (final: stop and say so) from a server that is not there yet
 * (retry). The refusals by a real Temporal frontend behind mutual TLS are test/e2e/temporal-tls.test.ts's.
 */
const plain = createServer((socket) => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
const plainPort = (plain.address() as { port: number }).port;
after(() => plain.close());

describe('telling a TLS refusal from a server that is not up', () => {
  it('does not probe a connection without TLS', async () => {
    assert.equal(await tlsRefusalOf({ address: `127.0.0.1:${plainPort}` }), null);
  });

  it('answers null when nobody listens (a server still starting is worth waiting for)', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    assert.equal(await tlsRefusalOf({ address: `127.0.0.1:${port}`, tls: true }), null);
  });

  it('names the error when TLS meets a port that does not speak it', async () => {
    const reason = await tlsRefusalOf({ address: `127.0.0.1:${plainPort}`, tls: true });
    assert.match(reason ?? '', /^ERR_SSL_WRONG_VERSION_NUMBER/);
  });
});
