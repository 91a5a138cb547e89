/**
 * `npm run bench:lists [-- options]`: the lists the operator console and the affiliate portal page through
 * (issue 18: "fast on a list of 100,000 deliveries, server-side paging and filters only"), at volume.
 *
 * It starts the whole system (bench/system.ts), creates two operators, their affiliates and endpoints
 * through the API, then writes `--deliveries` deliveries (and their events) for each operator straight into
 * PostgreSQL, spread over 30 days (and 20 more for an eleventh affiliate's one endpoint), with the statuses a month of real traffic leaves (mostly succeeded, 1 %
 * failed with three attempts each, a few retrying and cancelled), and `--commissions` commission accruals
 * for the first operator's affiliates (a seventh of those past their hold approved). Only the lists are measured: seeding through the
 * pipeline would take the bench hours and measure the pipeline.
 *
 * Each request the console makes is then sent `--samples` times through HTTP (after 5 warm-ups) and timed
 * from the request to the last byte of the answer. The baseline is the first page of deliveries with no
 * filter; every other request is reported as p50 and p95 in ms and as a ratio of the baseline's p50.
 *
 * Writes bench/results/lists-<timestamp>.json and .md and prints the Markdown.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { encodeCursor } from '../src/api/cursor.js';
import { randomBase62 } from '../src/db/new-id.js';
import { Cleanup, runMain } from './cleanup.js';
import { percentiles, ratio } from './stats.js';
import { startSystem } from './system.js';
import { createOperator, putAffiliate } from './volume-load.js';

const { values: args } = parseArgs({
  options: {
    deliveries: { type: 'string', default: '100000' },
    commissions: { type: 'string', default: '100000' },
    samples: { type: 'string', default: '40' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
  },
});
const say = (line: string) => console.log(`lists: ${line}`);
const cleanup = new Cleanup(say);

const AFFILIATES = 10;
const EVENT_TYPES = ['customer.registered', 'deposit.completed', 'deposit.ftd', 'trade.closed'];
const DAY_MS = 86_400_000;

interface Seeded {
  operatorId: string;
  apiKey: string;
  /** Endpoint ids: two per affiliate (affiliate i's are 2i and 2i+1), then four operator-wide. */
  endpoints: string[];
}

export interface ListTiming {
  name: string;
  path: string;
  rows: number;
  p50: number;
  p95: number;
  /** p50 over the baseline's p50. */
  ratio: number | null;
}

await runMain('lists', cleanup, main);

async function main(): Promise<void> {
  const startedAt = new Date();
  const deliveries = Number(args.deliveries);
  const commissions = Number(args.commissions);
  const samples = Number(args.samples);
  const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-lists-'));
  cleanup.add('temp dir', () => rmSync(tmp, { recursive: true, force: true }));
  const sys = await startSystem({ tmpDir: tmp, say }, cleanup);
  const db = new pg.Pool({ connectionString: sys.databaseUrl!, max: 2 });
  cleanup.add('bench pool', () => db.end());

  const main = await seedOperator(sys.apiUrl, sys.adminToken, db, 'lists main', deliveries);
  // A second tenant as large, so every list must find its operator's rows among others'.
  await seedOperator(sys.apiUrl, sys.adminToken, db, 'lists neighbour', deliveries);
  const seedStart = Date.now();
  await seedCommissions(db, main.operatorId, commissions);
  say(`${commissions} commissions written in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);
  await db.query('ANALYZE');

  const now = Date.now();
  const deep = await db.query<{ created_at: Date; id: string }>(
    `SELECT created_at, id FROM deliveries WHERE operator_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
    [main.operatorId, Math.floor(deliveries / 2)],
  );
  const failed = await db.query<{ id: string }>(
    `SELECT id FROM deliveries WHERE operator_id = $1 AND status = 'failed' ORDER BY created_at DESC LIMIT 1`,
    [main.operatorId],
  );
  const iso = (ms: number) => new Date(ms).toISOString();
  const requests: [string, string][] = [
    ['deliveries, first page (baseline)', '/v1/deliveries'],
    [
      'deliveries, a page half-way down (cursor)',
      `/v1/deliveries?cursor=${deep.rows[0] ? encodeCursor({ createdAt: deep.rows[0].created_at, id: deep.rows[0].id }) : ''}`,
    ],
    ['deliveries, status=failed (1 %)', '/v1/deliveries?status=failed'],
    ['deliveries, status=retrying (0.1 %)', '/v1/deliveries?status=retrying'],
    ['deliveries, status=pending (none)', '/v1/deliveries?status=pending'],
    ['deliveries, one endpoint (1 of 24)', `/v1/deliveries?endpointId=${main.endpoints[4]}`],
    ['deliveries, one endpoint, failed', `/v1/deliveries?endpointId=${main.endpoints[4]}&status=failed`],
    ['deliveries, one event type (1 of 4)', '/v1/deliveries?eventType=trade.closed'],
    ['deliveries, an event type with none', '/v1/deliveries?eventType=affiliate.updated'],
    ['deliveries, one affiliate (1 of 10)', '/v1/deliveries?affiliateId=aff-3'],
    ['deliveries, an affiliate with 20 (one endpoint)', '/v1/deliveries?affiliateId=aff-rare'],
    ['deliveries, an affiliate with none', '/v1/deliveries?affiliateId=aff-none'],
    ['deliveries, one affiliate, failed', '/v1/deliveries?affiliateId=aff-3&status=failed'],
    ['deliveries, the last hour', `/v1/deliveries?since=${iso(now - 3_600_000)}`],
    [
      'deliveries, a day three weeks ago',
      `/v1/deliveries?since=${iso(now - 21 * DAY_MS)}&until=${iso(now - 20 * DAY_MS)}`,
    ],
    ['a failed delivery with its attempts', `/v1/deliveries/${failed.rows[0]?.id ?? 'none'}`],
    ['commissions of an affiliate, first page', '/v1/affiliates/aff-3/commissions'],
    ['commissions of an affiliate, approved', '/v1/affiliates/aff-3/commissions?status=approved'],
    ['balance of an affiliate', '/v1/affiliates/aff-3/balance'],
    ['affiliates, first page', '/v1/affiliates'],
  ];

  const timings: ListTiming[] = [];
  for (const [name, path] of requests) {
    const url = `${sys.apiUrl}${path}`;
    let rows = 0;
    for (let i = 0; i < 5; i++) rows = await timedGet(url, main.apiKey).then((r) => r.rows);
    const ms: number[] = [];
    for (let i = 0; i < samples; i++) ms.push((await timedGet(url, main.apiKey)).ms);
    const p = percentiles(ms);
    timings.push({ name, path, rows, p50: p.p50 ?? 0, p95: p.p95 ?? 0, ratio: null });
    say(`${name}: p50 ${p.p50} ms, p95 ${p.p95} ms (${rows} rows)`);
  }
  const base = timings[0]!.p50;
  for (const t of timings) t.ratio = ratio(t.p50, base);

  const result = {
    startedAt: startedAt.toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', node: process.version },
    deliveriesPerOperator: deliveries,
    commissions,
    samples,
    timings,
  };
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  mkdirSync(args.out, { recursive: true });
  const md = render(result);
  writeFileSync(join(args.out, `lists-${stamp}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(args.out, `lists-${stamp}.md`), md);
  console.log(md);
}

async function timedGet(url: string, apiKey: string): Promise<{ ms: number; rows: number }> {
  const start = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
  const text = await res.text();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { data?: unknown[] };
  return { ms, rows: Array.isArray(body.data) ? body.data.length : 1 };
}

/**
 * An operator with ten affiliates (two endpoints each) and four operator-wide endpoints, made through the
 * API; then its month of deliveries and their events, written in SQL.
 */
async function seedOperator(
  apiUrl: string,
  adminToken: string,
  db: pg.Pool,
  name: string,
  count: number,
): Promise<Seeded> {
  const op = await createOperator(apiUrl, adminToken, name);
  const endpoints: string[] = [];
  const post = async (body: Record<string, unknown>) => {
    const res = await fetch(`${apiUrl}/v1/endpoints`, {
      method: 'POST',
      headers: { authorization: `Bearer ${op.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { id: string };
    if (res.status !== 201)
      throw new Error(`POST /v1/endpoints answered ${res.status}: ${JSON.stringify(json)}`);
    endpoints.push(json.id);
  };
  for (let a = 0; a < AFFILIATES; a++) {
    await putAffiliate(apiUrl, op.apiKey, `aff-${a}`, {
      model: 'cpa',
      amount: '100.00',
      currency: 'EUR',
      holdPeriod: '30d',
      clawbackWindow: '90d',
    });
    for (let k = 0; k < 2; k++)
      await post({
        url: `https://tracker-${a}.example/postback/${k}`,
        eventTypes: ['*'],
        affiliateId: `aff-${a}`,
      });
  }
  for (let k = 0; k < 4; k++) await post({ url: `https://crm.example/hooks/${k}`, eventTypes: ['*'] });
  // A new affiliate with one endpoint and a handful of deliveries among the operator's many.
  await putAffiliate(apiUrl, op.apiKey, 'aff-rare', {
    model: 'cpa',
    amount: '100.00',
    currency: 'EUR',
    holdPeriod: '30d',
    clawbackWindow: '90d',
  });
  await post({ url: 'https://tracker-rare.example/postback', eventTypes: ['*'], affiliateId: 'aff-rare' });
  const rare = endpoints.pop()!;
  // The endpoints existed, as subscribed now, for the whole month the deliveries cover.
  await db.query(
    `UPDATE endpoint_subscriptions SET valid_from = valid_from - interval '40 days' WHERE endpoint_id = ANY($1)`,
    [endpoints],
  );
  const start = Date.now();
  // One event every ~26 s over 30 days; each goes to one endpoint (its affiliate's, or an operator-wide one).
  await db.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         received_at, workflow_started_at, acknowledged_at, status, processed_at, settled_at)
     SELECT $1, 'evt-' || i, ($3::text[])[1 + i % 4], t, 'cus-' || (i % 20000), '{}', 'seed', 'seed-' || i,
            t, t, t, 'processed', t, t
       FROM generate_series(1, $2::int) i, LATERAL (SELECT now() - i * ($4::numeric / $2) * interval '1 ms' AS t) x`,
    [op.id, count, EVENT_TYPES, 30 * DAY_MS],
  );
  await db.query(
    `INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, status, retry_policy, attempt_count,
                             last_error, workflow_id, created_at, updated_at, completed_at)
     SELECT 'dlv_' || $6 || i, $1, 'evt-' || i, ($3::text[])[1 + (i * 7) % array_length($3, 1)], ($4::text[])[1 + i % 4],
            s, '{"kind":"schedule"}', CASE s WHEN 'failed' THEN 3 WHEN 'retrying' THEN 2 ELSE 1 END,
            CASE WHEN s IN ('failed', 'retrying') THEN 'HTTP 503' END, 'seed-' || i, t, t,
            CASE WHEN s IN ('succeeded', 'failed', 'cancelled') THEN t END
       FROM generate_series(1, $2::int) i,
            LATERAL (SELECT now() - i * ($5::numeric / $2) * interval '1 ms' AS t,
                            CASE WHEN i % 101 = 0 THEN 'failed' WHEN i % 997 = 7 THEN 'retrying'
                                 WHEN i % 251 = 1 THEN 'cancelled' ELSE 'succeeded' END AS s) x`,
    [op.id, count, endpoints, EVENT_TYPES, 30 * DAY_MS, randomBase62(8)],
  );
  await db.query(
    `INSERT INTO delivery_attempts (delivery_id, number, started_at, duration_ms, status_code, error_class,
                                    error_message, response_body, response_bytes, response_content_type)
     SELECT d.id, n, d.created_at + (n - 1) * interval '5 s', 120, 503, 'http_status', 'HTTP 503',
            '{"error":"unavailable"}', 23, 'application/json'
       FROM deliveries d, generate_series(1, 3) n
      WHERE d.operator_id = $1 AND d.status = 'failed'`,
    [op.id],
  );
  await db.query(
    `INSERT INTO events (operator_id, event_id, type, occurred_at, customer_id, payload, body_hash, workflow_id,
                         received_at, workflow_started_at, acknowledged_at, status, processed_at, settled_at)
     SELECT $1, 'evt-rare-' || i, 'deposit.completed', t, 'cus-rare-' || i, '{}', 'seed', 'seed-rare-' || i,
            t, t, t, 'processed', t, t
       FROM generate_series(1, 20) i, LATERAL (SELECT now() - i * interval '1 day' AS t) x`,
    [op.id],
  );
  await db.query(
    `INSERT INTO deliveries (id, operator_id, event_id, endpoint_id, event_type, status, retry_policy,
                             attempt_count, workflow_id, created_at, updated_at, completed_at)
     SELECT 'dlv_' || $3 || 'rare' || i, $1, 'evt-rare-' || i, $2, 'deposit.completed', 'succeeded',
            '{"kind":"schedule"}', 1, 'seed-rare-' || i, t, t, t
       FROM generate_series(1, 20) i, LATERAL (SELECT now() - i * interval '1 day' AS t) x`,
    [op.id, rare, randomBase62(8)],
  );
  say(
    `${name}: ${count} deliveries and their events written in ${((Date.now() - start) / 1000).toFixed(1)} s`,
  );
  return { operatorId: op.id, apiKey: op.apiKey, endpoints };
}

/** Accruals for the operator's affiliates, one every 5 minutes back from now; a seventh of those past their 30-day hold approved. */
async function seedCommissions(db: pg.Pool, operatorId: string, count: number): Promise<void> {
  if (count <= 0) return;
  await db.query(
    `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind, amount,
                                     currency, status, occurred_at, hold_until, clawback_until, idempotency_key,
                                     created_at)
     SELECT 'com-' || i, $1, 'aff-' || (i % $3), 'cus-' || i, 'evt-c-' || i, 'cpa', 'cpa', 'accrual', 100.00,
            'EUR', 'pending', t, t + interval '30 days', t + interval '90 days', 'cpa/cus-' || i, t
       FROM generate_series(1, $2::int) i, LATERAL (SELECT now() - i * interval '5 minutes' AS t) x`,
    [operatorId, count, AFFILIATES],
  );
  await db.query(
    `INSERT INTO commission_entries (id, operator_id, affiliate_id, customer_id, event_id, rule, model, kind, amount,
                                     currency, status, occurred_at, related_entry, idempotency_key, created_at)
     SELECT 'com-' || i || '-ok', $1, 'aff-' || (i % $3), 'cus-' || i, 'evt-c-' || i, 'cpa', 'cpa', 'approval',
            100.00, 'EUR', 'approved', t + interval '30 days', 'com-' || i, 'cpa/cus-' || i || '/approval',
            t + interval '30 days'
       FROM generate_series(1, $2::int) i, LATERAL (SELECT now() - i * interval '5 minutes' AS t) x
      WHERE i % 7 = 0 AND t + interval '30 days' < now()`,
    [operatorId, count, AFFILIATES],
  );
}

function render(r: {
  startedAt: string;
  machine: { cpus: number; model: string; node: string };
  deliveriesPerOperator: number;
  commissions: number;
  samples: number;
  timings: ListTiming[];
}): string {
  const lines = [
    `# Console lists at volume (${r.startedAt})`,
    '',
    `${r.deliveriesPerOperator.toLocaleString('en')} deliveries for each of two operators over 30 days, ` +
      `${r.commissions.toLocaleString('en')} commission accruals for the first operator's 10 affiliates; ` +
      `${r.samples} timed requests each after 5 warm-ups, through HTTP. ${r.machine.cpus} cores, Node ${r.machine.node}.`,
    '',
    '| request | rows | p50 ms | p95 ms | p50 vs baseline |',
    '|---|---|---|---|---|',
    ...r.timings.map((t) => `| ${t.name} | ${t.rows} | ${t.p50} | ${t.p95} | ${t.ratio ?? ''}x |`),
    '',
  ];
  return lines.join('\n');
}
