import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { temporalConnectOptions, temporalSettingsFrom } from '../../src/temporal/connection-options.js';

/**
 * Reaching a secured Temporal (issue 15, item 3): Temporal Cloud with an API key or mTLS, a self-hosted
 * cluster with a private CA. The options every process connects with (worker, client, `temporal:setup`)
 * come from the TEMPORAL_* settings through one function; these tests pin what it hands the SDK.
 */
const dir = mkdtempSync(join(tmpdir(), 'temporal-tls-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBclientcert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIEprivatekey\n-----END PRIVATE KEY-----\n';
const CA = '-----BEGIN CERTIFICATE-----\nMIIBcacert\n-----END CERTIFICATE-----\n';
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** The options as `temporal:setup` (which reads only the Temporal settings) would connect with them. */
function optionsFor(env: Record<string, string>) {
  return temporalConnectOptions(temporalSettingsFrom(loadConfig(env, 'temporal-setup')));
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, 'temporal-setup');
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('connecting to Temporal', () => {
  it('a local dev server: the address alone, no TLS', () => {
    assert.deepEqual(optionsFor({ TEMPORAL_ADDRESS: '127.0.0.1:7233' }), { address: '127.0.0.1:7233' });
  });

  it('Temporal Cloud with an API key: the key, over TLS', () => {
    assert.deepEqual(
      optionsFor({ TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233', TEMPORAL_API_KEY: 'key-abc' }),
      { address: 'us-east-1.aws.api.temporal.io:7233', apiKey: 'key-abc', tls: true },
    );
  });

  it('Temporal Cloud with mTLS, from files: the pair as read, and the server name and CA when given', () => {
    const o = optionsFor({
      TEMPORAL_ADDRESS: 'affiliates.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'affiliates.a1b2c',
      TEMPORAL_TLS_CERT: file('client.pem', CERT),
      TEMPORAL_TLS_KEY: file('client.key', KEY),
      TEMPORAL_TLS_CA: file('ca.pem', CA),
      TEMPORAL_TLS_SERVER_NAME: 'affiliates.a1b2c.tmprl.cloud',
    });
    assert.equal(o.address, 'affiliates.a1b2c.tmprl.cloud:7233');
    assert.ok(typeof o.tls === 'object');
    assert.equal(o.tls.clientCertPair!.crt.toString(), CERT);
    assert.equal(o.tls.clientCertPair!.key.toString(), KEY);
    assert.equal(o.tls.serverRootCACertificate!.toString(), CA);
    assert.equal(o.tls.serverNameOverride, 'affiliates.a1b2c.tmprl.cloud');
    assert.equal(o.apiKey, undefined);
  });

  it('inline PEM with escaped newlines, as a secret store or an env file carries it', () => {
    const o = optionsFor({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_TLS_CERT: CERT.trim().replace(/\n/g, '\\n'),
      TEMPORAL_TLS_KEY: KEY.trim().replace(/\n/g, '\\n'),
    });
    assert.ok(typeof o.tls === 'object');
    assert.equal(o.tls.clientCertPair!.crt.toString(), CERT.trim());
  });

  it('TLS on by itself (a cluster with a publicly trusted certificate): tls true, nothing else', () => {
    assert.deepEqual(optionsFor({ TEMPORAL_ADDRESS: 'temporal.example.com:7233', TEMPORAL_TLS: 'true' }), {
      address: 'temporal.example.com:7233',
      tls: true,
    });
  });

  it('settings wrong alone or together are all listed, and name no secret', () => {
    const found = problems({
      TEMPORAL_ADDRESS: 'x:7233',
      TEMPORAL_TLS: 'false',
      TEMPORAL_API_KEY: 'secret-key-value',
      TEMPORAL_TLS_CERT: join(dir, 'missing.pem'),
      TEMPORAL_TLS_CA: 'not a pem',
    });
    assert.deepEqual(found, [
      'TEMPORAL_TLS_CERT: must be inline PEM ("-----BEGIN ...") or the path of a readable PEM file',
      'TEMPORAL_TLS_CA: must be inline PEM ("-----BEGIN ...") or the path of a readable PEM file',
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (mTLS), or neither',
      'TEMPORAL_API_KEY: an API key is sent only over TLS; TEMPORAL_TLS is off',
      'TEMPORAL_TLS_CERT: a client certificate needs TLS; TEMPORAL_TLS is off',
    ]);
    assert.ok(!found.join('\n').includes('secret-key-value'));
  });
});
