import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { randomBase62 } from '../../src/db/new-id.js';
import { freePort } from '../../src/main/host/dev-server.js';
import { testEnv } from '../support/env.js';
import { deposit, uniqueId } from '../support/factories.js';
import { startReceiver, webhookIdsByEvent, type Receiver } from '../support/receiver.js';
import { spawnApi, spawnWorker, type WorkerProcess } from '../support/worker-process.js';

/**
 * PostgreSQL cuts every connection (a restart, a failover, a pooler: `pg_terminate_backend`) three times,
 * then refuses connections for 3 s, while events flow at about 20/s into the API process (with its
 * embedded worker, as `npm run dev` runs it) and a worker process. Nothing may crash; the API answers 202
 * or a 503 it can be retried on, never a reset or a 500; every accepted event is delivered under one
 * webhook-id and its delivery succeeds; afterwards the API answers as before, without a restart.
 */
const env = testEnv();
let rx: Receiver;
let admin: pg.Client;
let db: pg.Pool;
let apiUrl: string;
const processes: WorkerProcess[] = [];
let api: WorkerProcess;
let worker: WorkerProcess;

const dbName = new URL(env.databaseUrl).pathname.slice(1);
const adminUrl = (() => {
  const u = new URL(env.databaseUrl);
  u.pathname = '/postgres';
  return u.toString();
})();

interface Answer {
  status: number | null;
  body?: any;
  retryAfter?: string | null;
  failure?: string;
}

async function call(
  method: string,
  path: string,
  apiKey: string | undefined,
  json?: unknown,
): Promise<Answer> {
  try {
    const res = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text, and the assertions say so
    }
    return { status: res.status, body, retryAfter: res.headers.get('retry-after') };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { status: null, failure: cause?.code ?? cause?.message ?? (err as Error).message };
  }
}

/**
 * Terminates every other connection to the test database while event transactions are in flight: a
 * transaction holds the operator's customer rows until a transaction applying an event (which locks its
 * customer) waits behind it (10 s at most), as on a busy database; then everything is cut.
 * Returns how many connections it cut and how many of them were waiting mid-transaction.
 */
async function cutConnections(operatorId: string): Promise<{ cut: number; waiting: number }> {
  const holder = new pg.Client({ connectionString: env.databaseUrl });
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT 1 FROM customers WHERE operator_id = $1 FOR UPDATE', [operatorId]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
      [dbName],
    );
    if (rows[0].n > 0 || Date.now() > deadline) break;
    await sleep(50);
  }
  const { rows } = await admin.query(
    `SELECT count(*) FILTER (WHERE wait_event_type = 'Lock')::int AS waiting,
            count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS cut
       FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [dbName],
  );
  await holder.end().catch(() => undefined);
  return rows[0];
}

/** PostgreSQL away for `ms`, as during a restart: every connection cut and new ones refused. */
async function refuseConnections(ms: number): Promise<void> {
  await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(dbName)} WITH ALLOW_CONNECTIONS false`);
  try {
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [dbName],
    );
    await sleep(ms);
  } finally {
    await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(dbName)} WITH ALLOW_CONNECTIONS true`);
  }
}

const alive = (p: WorkerProcess) => p.child.exitCode === null && p.child.signalCode === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  rx = await startReceiver();
  admin = new pg.Client({ connectionString: adminUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  db = new pg.Pool({ connectionString: env.databaseUrl, max: 2 });
  db.on('error', () => undefined);
  const port = await freePort();
  apiUrl = `http://127.0.0.1:${port}`;
  const taskQueue = `pg-cut-${randomBase62(8)}`;
  const quick = { RECONCILE_INTERVAL: '1s', RECONCILE_GRACE: '2s', LOG_LEVEL: 'warn' };
  api = spawnApi(taskQueue, port, quick);
  worker = spawnWorker(taskQueue, quick);
  processes.push(api, worker);
  const deadline = Date.now() + 60_000;
  while ((await call('GET', '/ready', undefined)).status !== 200) {
    assert.ok(alive(api) && Date.now() < deadline, `the API did not become ready:\n${api.output()}`);
    await sleep(200);
  }
});
after(async () => {
  await admin
    ?.query(`ALTER DATABASE ${pg.escapeIdentifier(dbName)} WITH ALLOW_CONNECTIONS true`)
    .catch(() => undefined);
  for (const p of processes) if (alive(p)) p.child.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited()));
  await rx?.stop();
  await admin?.end().catch(() => undefined);
  await db?.end().catch(() => undefined);
});

describe('when PostgreSQL cuts every connection under load', () => {
  it(
    'the API and the worker live on, answer 202 or 503, and every accepted event is delivered once',
    { timeout: 240_000 },
    async (t) => {
      const created = await call('POST', '/v1/operators', env.adminToken, { name: 'pg cut' });
      assert.equal(created.status, 201, JSON.stringify(created));
      const op = created.body as { id: string; apiKey: string };
      const endpoint = await call('POST', '/v1/endpoints', op.apiKey, {
        url: rx.url('/hook'),
        eventTypes: ['deposit.completed'],
        retryPolicy: { schedule: Array.from({ length: 15 }, () => '1s'), jitter: 0 },
      });
      assert.equal(endpoint.status, 201, JSON.stringify(endpoint));

      // About 20 events a second, of 8 customers. Once events are being delivered, the connections are cut
      // three times, a second apart, then refused for 3 s; the load goes on for 2 s after that.
      const customers = Array.from({ length: 8 }, () => uniqueId('player'));
      const events: ReturnType<typeof deposit>[] = [];
      const sent: Promise<{ event: ReturnType<typeof deposit>; answer: Answer }>[] = [];
      let loadDone = false;
      const started = Date.now();
      const load = (async () => {
        while (!loadDone && events.length < 300) {
          const event = deposit(customers[events.length % customers.length]!);
          events.push(event);
          sent.push(call('POST', '/v1/events', op.apiKey, event).then((answer) => ({ event, answer })));
          await sleep(50);
        }
      })();
      await rx.waitFor('/hook', 10, 60_000);
      const cut: { cut: number; waiting: number }[] = [];
      for (let i = 0; i < 3; i++) {
        if (i) await sleep(1_000);
        cut.push(await cutConnections(op.id));
      }
      await sleep(1_000);
      await refuseConnections(3_000);
      await sleep(2_000);
      loadDone = true;
      await load;
      const answers = await Promise.all(sent);

      assert.ok(alive(api), `the API process died:\n${api.output().slice(-3000)}`);
      assert.ok(alive(worker), `the worker process died:\n${worker.output().slice(-3000)}`);
      assert.ok(
        cut.every((c) => c.cut > 0 && c.waiting > 0),
        `each cut terminated connections, some in a transaction: ${JSON.stringify(cut)}`,
      );
      const count = (status: number) => answers.filter(({ answer }) => answer.status === status).length;
      t.diagnostic(
        `${events.length} events: ${count(202)} answered 202, ${count(503)} 503; cuts ${JSON.stringify(cut)}`,
      );
      const failed = answers.filter(({ answer }) => answer.status === null);
      assert.deepEqual(
        failed.map(({ answer }) => answer.failure),
        [],
        'no request may fail at the connection level',
      );
      assert.ok(
        answers.some(({ answer }) => answer.status === 503 && /database/.test(answer.body?.error?.message)),
        'while PostgreSQL refused connections, the API said so with 503',
      );
      for (const { answer } of answers) {
        assert.ok([202, 503].includes(answer.status!), JSON.stringify(answer));
        if (answer.status === 503) {
          assert.equal(answer.body?.error?.code, 'service_unavailable', JSON.stringify(answer));
          assert.equal(typeof answer.body.error.message, 'string');
          assert.match(answer.retryAfter ?? '', /^\d+$/);
        }
      }

      // A sender retries what got 503, with the same body, until it is accepted.
      let retry = answers.filter(({ answer }) => answer.status === 503).map(({ event }) => event);
      const retryDeadline = Date.now() + 30_000;
      while (retry.length) {
        assert.ok(Date.now() < retryDeadline, `still refused after 30 s: ${retry.length} events`);
        const again = await Promise.all(
          retry.map(async (event) => ({ event, answer: await call('POST', '/v1/events', op.apiKey, event) })),
        );
        for (const { answer } of again)
          assert.ok([200, 202, 503].includes(answer.status!), JSON.stringify(answer));
        retry = again.filter(({ answer }) => answer.status === 503).map(({ event }) => event);
        if (retry.length) await sleep(500);
      }

      // Every event is delivered, its delivery succeeded, under exactly one webhook-id.
      const deliveredDeadline = Date.now() + 120_000;
      for (;;) {
        const { rows } = await db.query(
          `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS ok, count(*)::int AS n
             FROM deliveries WHERE operator_id = $1`,
          [op.id],
        );
        if (rows[0].ok === events.length) {
          assert.equal(rows[0].n, events.length, 'one delivery per event');
          break;
        }
        assert.ok(
          Date.now() < deliveredDeadline,
          `${rows[0].ok}/${events.length} deliveries succeeded after 120 s (${rows[0].n} created)`,
        );
        await sleep(500);
      }
      t.diagnostic(`all delivered ${Date.now() - started} ms after the first event`);
      const wh = new Webhook(endpoint.body.secret);
      const ids = webhookIdsByEvent(
        rx.requests('/hook'),
        (r) => wh.verify(r.body, r.headers as Record<string, string>) as { data: { eventId: string } },
      );
      assert.deepEqual([...ids.keys()].sort(), events.map((e) => e.id).sort());
      for (const [eventId, set] of ids) assert.equal(set.size, 1, `${eventId} under ${[...set].join(', ')}`);

      // And it answers normally afterwards, without a restart.
      assert.equal((await call('GET', '/ready', undefined)).status, 200);
      const after = deposit(uniqueId('player'));
      assert.equal((await call('POST', '/v1/events', op.apiKey, after)).status, 202);
      const afterDeadline = Date.now() + 30_000;
      while (!rx.requests('/hook').some((r) => r.body.includes(after.id))) {
        assert.ok(Date.now() < afterDeadline, 'the event sent afterwards was not delivered within 30 s');
        await sleep(100);
      }
      assert.ok(alive(api) && alive(worker));
    },
  );
});
