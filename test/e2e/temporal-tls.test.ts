/**
 * A secured cluster, for real: the full Temporal server (the PostgreSQL mode's) with TLS on its frontend and
 * client certificates required, and `temporal:setup`, the worker and the API connecting to it through the
 * TEMPORAL_TLS_* settings only, as they would to a self-hosted cluster behind mTLS or to Temporal Cloud.
 * A client without a certificate, or with one the server's CA did not sign, is refused: the programs say
 * so and exit at once instead of waiting for a server that will never let them in.
 *
 * The certificates are made here with openssl (a CA, the server's for `localhost`, a client's, and a
 * stranger's from a CA of its own). The server's programs are found or built by test/run.ts before any
 * test starts (they need `go install` the first time).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { randomBase62 } from '../../src/db/new-id.js';
import { freePort } from '../../src/main/host/dev-server.js';
import { DYNAMIC_CONFIG_FILE } from '../../src/main/host/local-temporal.js';
import { freeServerPorts, startPgTemporal, type PgTemporal } from '../../src/main/host/pg-temporal.js';
import { temporalConnectOptions } from '../../src/temporal/connection-options.js';
import { testEnv } from '../support/env.js';
import { registration, uniqueId } from '../support/factories.js';
import { startReceiver, type Receiver } from '../support/receiver.js';

const env = testEnv();
const root = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(env.tmpDir ?? tmpdir(), 'temporal-tls-'));
const database = `temporal_tls_${randomBase62(10).toLowerCase()}`;
let server: PgTemporal;
let rx: Receiver;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 key and a certificate for it signed by `ca` (a self-signed CA when `ca` is null). */
function certificate(name: string, subject: string, ca: string | null, extensions: string[]): void {
  const key = [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
  ];
  if (ca === null) {
    openssl('req', '-x509', ...key, '-out', `${name}.pem`, '-days', '2', '-subj', subject);
    return;
  }
  openssl('req', ...key, '-out', `${name}.csr`, '-subj', subject);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  );
}

const file = (name: string) => join(dir, name);
/** The settings a process gets: the address, the CA and the name to check the server by, and a client pair. */
function tlsEnv(client: 'client' | 'stranger' | null): Record<string, string> {
  return {
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TLS_CA: file('ca.pem'),
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    ...(client ? { TEMPORAL_TLS_CERT: file(`${client}.pem`), TEMPORAL_TLS_KEY: file(`${client}.key`) } : {}),
  };
}

/** What the worker and the API need besides Temporal: the test's database, a task queue of their own. */
function appEnv(): Record<string, string> {
  return {
    DATABASE_URL: env.databaseUrl,
    TEMPORAL_TASK_QUEUE: `tls-${randomBase62(8)}`,
    TEMPORAL_WORKFLOW_BUNDLE: env.workflowBundle,
    ADMIN_TOKEN: env.adminToken,
    SECRETS_ENCRYPTION_KEYS: env.encryptionKeys.join(','),
    API_EMBEDDED_WORKER: 'false',
  };
}

function run(entry: string, extra: Record<string, string>) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src', 'main', `${entry}.ts`)],
    {
      cwd: root,
      env: { ...process.env, ENV_FILE: 'none', LOG_LEVEL: 'info', ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

before(async () => {
  certificate('ca', '/CN=affiliate-hooks test CA', null, []);
  certificate('server', '/CN=localhost', 'ca', [
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    'extendedKeyUsage=serverAuth,clientAuth',
  ]);
  certificate('client', '/CN=affiliate-hooks worker', 'ca', ['extendedKeyUsage=clientAuth']);
  certificate('stranger-ca', '/CN=someone else', null, []);
  certificate('stranger', '/CN=affiliate-hooks worker', 'stranger-ca', ['extendedKeyUsage=clientAuth']);
  server = await startPgTemporal({
    pgUrl: env.databaseUrl,
    database,
    ports: await freeServerPorts(),
    stateDir: join(dir, 'server'),
    dynamicConfigFile: DYNAMIC_CONFIG_FILE,
    tls: {
      server: {
        certFile: file('server.pem'),
        keyFile: file('server.key'),
        caFile: file('ca.pem'),
        serverName: 'localhost',
        clientCaFile: file('ca.pem'),
        // The server's own system worker presents the server's certificate (it carries clientAuth).
        systemWorker: { certFile: file('server.pem'), keyFile: file('server.key') },
      },
      readiness: temporalConnectOptions({
        address: '',
        tlsCa: file('ca.pem'),
        tlsServerName: 'localhost',
        tlsCert: file('client.pem'),
        tlsKey: file('client.key'),
      }),
    },
  });
  rx = await startReceiver();
});

after(async () => {
  await rx?.stop();
  await server?.stop();
  const admin = new URL(env.databaseUrl);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (const name of [database, `${database}_visibility`])
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a Temporal frontend that requires client certificates', () => {
  it('refuses a plain connection and one without a client certificate', async () => {
    const plain = Connection.connect({ address: server.address, connectTimeout: 5_000 }).then((c) =>
      c.workflowService.describeNamespace({ namespace: 'temporal-system' }).finally(() => c.close()),
    );
    await assert.rejects(plain);
    const noCert = Connection.connect({
      ...temporalConnectOptions({
        address: server.address,
        tlsCa: file('ca.pem'),
        tlsServerName: 'localhost',
      }),
      connectTimeout: 5_000,
    }).then((c) =>
      c.workflowService.describeNamespace({ namespace: 'temporal-system' }).finally(() => c.close()),
    );
    await assert.rejects(noCert);
  });

  it("temporal:setup and the worker stop at once and say why when TLS refuses them (no certificate, a stranger's, a server not trusted)", async (t) => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['temporal-setup', tlsEnv(null), /CERTIFICATE_REQUIRED/],
      ['temporal-setup', tlsEnv('stranger'), /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA)/],
      // This side refuses: the server's certificate was not signed by the CA it is told to trust.
      ['temporal-setup', { ...tlsEnv('client'), TEMPORAL_TLS_CA: file('stranger-ca.pem') }, /CERT|VERIFY/],
      ['worker', { ...tlsEnv('stranger'), ...appEnv() }, /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA)/],
    ];
    for (const [entry, settings, reason] of cases) {
      const started = Date.now();
      const program = run(entry, settings);
      const code = await program.exited;
      const out = program.output();
      t.diagnostic(`${entry}: ${out.trim().split('\n').at(-1)}`);
      assert.equal(code, 1, out);
      assert.match(out, /refused the TLS connection/, out);
      assert.match(out, reason, out);
      assert.match(out, /TEMPORAL_TLS_CERT/, out);
      // Not the two minutes temporal:setup gives a cluster that is still starting, nor the worker's endless wait.
      assert.ok(Date.now() - started < 60_000, `${entry} took ${Date.now() - started} ms`);
    }
  });

  it('temporal:setup, the worker and the API connect with the client certificate, and an event is delivered signed', async () => {
    const setup = run('temporal-setup', tlsEnv('client'));
    assert.equal(await setup.exited, 0, setup.output());

    const port = await freePort();
    const processEnv = {
      ...tlsEnv('client'),
      ...appEnv(),
      PORT: String(port),
      WORKER_METRICS_PORT: String(await freePort()),
      TEMPORAL_METRICS_PORT: String(await freePort()),
    };
    const worker = run('worker', processEnv);
    const api = run('api', processEnv);
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 120_000;
      while (
        !(await fetch(`${base}/ready`).then(
          (r) => r.ok,
          () => false,
        ))
      ) {
        assert.ok(Date.now() < deadline, `the API was not ready:\n${api.output()}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      const call = async (method: string, path: string, token: string, body?: unknown) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Record<string, any> };
      };
      const op = (await call('POST', '/v1/operators', env.adminToken, { name: 'tls' })).body;
      const endpoint = await call('POST', '/v1/endpoints', op.apiKey, {
        url: rx.url('/tls'),
        eventTypes: ['customer.registered'],
      });
      assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
      const reg = registration(uniqueId('player'));
      assert.equal((await call('POST', '/v1/events', op.apiKey, reg)).status, 202);
      const [req] = await rx.waitFor('/tls', 1, 60_000);
      const payload = new Webhook(endpoint.body.secret).verify(
        req!.body,
        req!.headers as Record<string, string>,
      ) as { type: string; data: { eventId: string } };
      assert.equal(payload.type, 'customer.registered');
      assert.equal(payload.data.eventId, reg.id);
      // Nothing secret reached the logs: not the client key.
      const key = readFileSync(file('client.key'), 'utf8').split('\n')[1]!;
      assert.ok(!worker.output().includes(key) && !api.output().includes(key));
    } finally {
      for (const p of [api, worker]) p.child.kill('SIGTERM');
      await Promise.all([api.exited, worker.exited]);
    }
  });
});
