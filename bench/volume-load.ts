/**
 * What the volume bench sends and how it waits: operators and deals through the public API, events through
 * `POST /v1/events/batch` (500 a request, a few requests in flight), and the settlement state read from
 * PostgreSQL (when every event is settled, how large the customer's stored state is, what is pending).
 */
import type pg from 'pg';
import { sleep } from './stats.js';

export const BATCH = 500;

export interface VolumeEvent {
  id: string;
  type: string;
  occurredAt: string;
  customerId: string;
  attribution?: { affiliateId: string };
  data: Record<string, unknown>;
}

async function call(method: string, url: string, token: string, body: unknown, expect: number[]) {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!expect.includes(res.status))
    throw new Error(`${method} ${new URL(url).pathname} answered ${res.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function createOperator(apiUrl: string, adminToken: string, name: string) {
  const op = await call('POST', `${apiUrl}/v1/operators`, adminToken, { name }, [201]);
  return { id: op.id as string, apiKey: op.apiKey as string };
}

export async function putAffiliate(
  apiUrl: string,
  apiKey: string,
  id: string,
  deal: Record<string, unknown>,
) {
  await call('PUT', `${apiUrl}/v1/affiliates/${id}`, apiKey, { name: `volume ${id}`, deal }, [200, 201]);
}

/**
 * Sends the events in batches, `inFlight` requests at a time, retrying a batch answered 429 or 503 after
 * a pause (the API's own back-pressure); any item not accepted fails the run.
 */
export async function sendAll(
  apiUrl: string,
  apiKey: string,
  events: Iterable<VolumeEvent>,
  inFlight = 3,
): Promise<number> {
  const iterator = events[Symbol.iterator]();
  let sent = 0;
  const next = (): VolumeEvent[] => {
    const out: VolumeEvent[] = [];
    while (out.length < BATCH) {
      const r = iterator.next();
      if (r.done) break;
      out.push(r.value);
    }
    return out;
  };
  const lane = async () => {
    for (let batch = next(); batch.length; batch = next()) {
      for (let tries = 0; ; tries++) {
        const res = await fetch(`${apiUrl}/v1/events/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: batch }),
        });
        const text = await res.text();
        if ((res.status === 429 || res.status === 503) && tries < 30) {
          await sleep(1_000);
          continue;
        }
        if (res.status !== 200 && res.status !== 207)
          throw new Error(`POST /v1/events/batch answered ${res.status}: ${text.slice(0, 500)}`);
        const items = (JSON.parse(text) as { results?: { status?: string | number }[] }).results ?? [];
        const refused = items.filter((i) => !isAcceptedItem(i.status));
        if (refused.length) throw new Error(`batch items refused: ${JSON.stringify(refused.slice(0, 3))}`);
        sent += batch.length;
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return sent;
}

function isAcceptedItem(status: string | number | undefined): boolean {
  return status === 'accepted' || status === 'duplicate' || status === 202 || status === 200;
}

/** Waits until `expected` events of the operator (of these types) are settled; fails on a parked one. */
export async function waitSettled(
  db: pg.Pool,
  operatorId: string,
  types: string[],
  expected: number,
  timeoutMs: number,
  say: (line: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastSaid = 0;
  for (;;) {
    const { rows } = await db.query<{ settled: string; parked: string }>(
      `SELECT count(*) FILTER (WHERE settled_at IS NOT NULL)::text AS settled,
              count(*) FILTER (WHERE settlement_parked_at IS NOT NULL)::text AS parked
         FROM events WHERE operator_id = $1 AND type = ANY($2)`,
      [operatorId, types],
    );
    const settled = Number(rows[0]!.settled);
    if (Number(rows[0]!.parked))
      throw new Error(`${rows[0]!.parked} events parked: see their settlement_error`);
    if (settled >= expected) return;
    if (Date.now() > deadline) throw new Error(`only ${settled} of ${expected} events settled in time`);
    if (Date.now() - lastSaid > 30_000) {
      say(`  ${settled} of ${expected} settled`);
      lastSaid = Date.now();
    }
    await sleep(500);
  }
}

/**
 * Waits until every event of the operator, its own `commission.*` notifications included, is processed:
 * a probe sent while those still run would time the backlog, not the settlement step.
 */
export async function waitProcessed(db: pg.Pool, operatorId: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: string; failed: string }>(
      `SELECT count(*)::text AS n, count(*) FILTER (WHERE status = 'failed')::text AS failed
         FROM events WHERE operator_id = $1 AND status <> 'processed'`,
      [operatorId],
    );
    if (rows[0]!.failed !== '0') throw new Error(`${rows[0]!.failed} events failed`);
    if (rows[0]!.n === '0') return;
    if (Date.now() > deadline) throw new Error(`${rows[0]!.n} events still not processed`);
    await sleep(500);
  }
}

/** The customer's stored commission state (bytes as stored, compressed or not) and its open commissions. */
export async function customerState(db: pg.Pool, operatorId: string, customerId: string) {
  const { rows } = await db.query<{ bytes: number | null; text_bytes: number | null; pending: string }>(
    `SELECT (SELECT pg_column_size(state) FROM commission_customers WHERE operator_id = $1 AND customer_id = $2) AS bytes,
            (SELECT octet_length(state::text) FROM commission_customers WHERE operator_id = $1 AND customer_id = $2) AS text_bytes,
            (SELECT count(*) FROM commission_holds WHERE operator_id = $1 AND customer_id = $2)::text AS pending`,
    [operatorId, customerId],
  );
  return {
    stateBytes: rows[0]!.bytes,
    stateJsonBytes: rows[0]!.text_bytes,
    pendingCommissions: Number(rows[0]!.pending),
  };
}

/** Milliseconds from acceptance to settlement of one event, as PostgreSQL recorded them. */
export async function settledAfterMs(
  db: pg.Pool,
  operatorId: string,
  eventId: string,
): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM settled_at - received_at) * 1000)::float8 AS ms
       FROM events WHERE operator_id = $1 AND event_id = $2`,
    [operatorId, eventId],
  );
  return rows[0]?.ms ?? null;
}
