/**
 * `npm run faults`: the fault suite under load. Boots its own system as separate processes (faults/system.ts),
 * sends events at a steady rate to receivers that misbehave in every way trackers do (faults/behaviours.ts)
 * and to an affiliate on a CPA deal, while it SIGKILLs each worker 10 s after it started polling (a new one
 * starts at once), kills and restarts the Temporal server once and cuts PostgreSQL's connections once. Then
 * it waits (bounded) for everything to be final and checks the product's promises, printing a table (check,
 * injected, expected, found, pass) and writing it as markdown to faults/results/. Exits non-zero on any
 * failed check. RELIABILITY.md describes it.
 *
 *   npm run faults                      2,000 events at 10/s (load 200 s, settle up to 900 s)
 *   npm run faults -- --quick           200 events at 4/s: a smoke run (settle up to 240 s)
 *   npm run faults -- --events 500 --rate 8 --settle-seconds 300
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection, Client } from '@temporalio/client';
import { LOST_ATTEMPT_MESSAGE } from '../src/db/delivery-claim.js';
import { createPool, type Pool } from '../src/db/pool.js';
import { randomBase62 } from '../src/db/new-id.js';
import { receiverInvariants, startHostileReceiver, unverified } from '../test/support/hostile-receiver.js';
import { BEHAVIOURS, expectationText, type Behaviour } from './behaviours.js';
import { cutDatabase, startFaultSystem, type FaultSystem } from './system.js';
import { markdownTable, printTable, type Row } from './report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    rate: { type: 'string' },
    'kill-every': { type: 'string', default: '10' },
    'settle-seconds': { type: 'string' },
    out: { type: 'string', default: join(import.meta.dirname, 'results') },
    keep: { type: 'boolean', default: false },
  },
});
const quick = args.quick;
const totalEvents = Number(args.events ?? (quick ? 200 : 2000));
const rate = Number(args.rate ?? (quick ? 4 : 10));
const killEveryMs = Number(args['kill-every']) * 1000;
const settleMs = Number(args['settle-seconds'] ?? (quick ? 240 : 900)) * 1000;
const SENDER_GIVE_UP_MS = 180_000;
const FRESH_EVENTS = 5;
const CPA = {
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '20.00' },
  holdPeriod: '30d',
  clawbackWindow: '90d',
};

/** The commit under test, marked when the tree has changes. */
function commit(): string {
  try {
    const at = (args: string[]) =>
      execFileSync('git', args, { cwd: import.meta.dirname })
        .toString()
        .trim();
    return `${at(['rev-parse', '--short', 'HEAD'])}${at(['status', '--porcelain']) ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}

function exits(list: { at: number; what: string }[]): string {
  return list.map((e) => `${e.what} at t=${((e.at - t0) / 1000).toFixed(1)}s`).join('; ');
}

function median(ms: number[]): string {
  if (!ms.length) return '?';
  const sorted = [...ms].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1);
}

const say = (line: string) => console.log(`faults: ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(args.out, { recursive: true });
const logDir = join(args.out, `${stamp}-logs`);
mkdirSync(logDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-faults-'));

interface SentEvent {
  body: Record<string, unknown>;
  behaviour: Behaviour;
  customerId: string;
  accepted: boolean;
  answers: string[];
}

let system: FaultSystem | undefined;
let killer: NodeJS.Timeout | undefined;
/** When the load began: the timeline's t=0. */
let t0 = Date.now();
let exitCode = 1;
const rx = await startHostileReceiver();
const cleanup = async () => {
  clearInterval(killer);
  await system?.stop().catch(() => undefined);
  await rx.stop();
  if (!args.keep) rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  say(`${totalEvents} events at ${rate}/s over ${BEHAVIOURS.length} receivers; logs in ${logDir}`);
  system = await startFaultSystem({ tmpDir: tmp, logDir, say, keepDatabase: args.keep });
  const sys = system;
  const api = async (method: string, path: string, key: string, json?: unknown) => {
    const res = await fetch(`${sys.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: json === undefined ? undefined : JSON.stringify(json),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the API's JSON answers, read by field
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = text; // an answer that is not JSON (a proxy's error page, say)
    }
    return { status: res.status, body, headers: res.headers };
  };

  // --- set-up: one operator, an affiliate and an endpoint per behaviour --------------------------------
  const opRes = await api('POST', '/v1/operators', sys.adminToken, { name: `faults ${stamp}` });
  if (opRes.status !== 201) throw new Error(`operator: ${opRes.status} ${JSON.stringify(opRes.body)}`);
  const op = { id: opRes.body.id as string, key: opRes.body.apiKey as string };
  const endpoints = new Map<string, { behaviour: Behaviour; id: string; secret: string; path: string }>();
  const affiliateOf = (b: Behaviour) => `aff-${b.name}`;
  for (const b of BEHAVIOURS) {
    const path = `/${b.name}`;
    rx.script(path, b.steps);
    if (b.cpa) {
      // Only these affiliates exist with a deal: the others' customers cost the commission engine nothing.
      const aff = await api('PUT', `/v1/affiliates/${affiliateOf(b)}`, op.key, {
        name: `Affiliate ${b.name}`,
        deal: CPA,
      });
      if (aff.status !== 201)
        throw new Error(`affiliate ${b.name}: ${aff.status} ${JSON.stringify(aff.body)}`);
    }
    const ep = await api('POST', '/v1/endpoints', op.key, {
      url: rx.url(path),
      eventTypes: ['customer.registered', 'deposit.completed'],
      affiliateId: affiliateOf(b),
      ...b.endpoint,
    });
    if (ep.status !== 201) throw new Error(`endpoint ${b.name}: ${ep.status} ${JSON.stringify(ep.body)}`);
    rx.verifyWith(path, ep.body.secret);
    endpoints.set(ep.body.id, { behaviour: b, id: ep.body.id, secret: ep.body.secret, path });
  }

  // --- the events: a registration then a first deposit per customer, customers round-robin over behaviours
  const events: SentEvent[] = [];
  for (let i = 0; events.length < totalEvents; i++) {
    const behaviour = BEHAVIOURS[i % BEHAVIOURS.length]!;
    const customerId = `player-${i}-${randomBase62(6)}`;
    const at = new Date().toISOString();
    events.push({
      behaviour,
      customerId,
      accepted: false,
      answers: [],
      body: {
        id: `reg-${customerId}`,
        type: 'customer.registered',
        occurredAt: at,
        customerId,
        attribution: { affiliateId: affiliateOf(behaviour), clickId: `click-${i}` },
        data: { country: 'DE' },
      },
    });
    if (events.length < totalEvents) {
      events.push({
        behaviour,
        customerId,
        accepted: false,
        answers: [],
        body: {
          id: `dep-${customerId}`,
          type: 'deposit.completed',
          occurredAt: at,
          customerId,
          data: { depositId: `d-${customerId}`, amount: '50.00', currency: 'EUR' },
        },
      });
    }
  }

  /** Sends one event as a real client would: 5xx and lost answers are retried with the same body. */
  const submit = async (e: SentEvent) => {
    const started = Date.now();
    while (Date.now() - started < SENDER_GIVE_UP_MS) {
      let wait = 500;
      try {
        const res = await api('POST', '/v1/events', op.key, e.body);
        e.answers.push(String(res.status));
        if (res.status === 202 || res.status === 200) {
          e.accepted = true;
          return;
        }
        if (res.status < 500 && res.status !== 429) return; // refused: a client does not resend that
        const after = Number(res.headers.get('retry-after'));
        if (after > 0) wait = Math.min(3_000, after * 1000);
      } catch (err) {
        e.answers.push(`no answer (${(err as Error).name})`);
      }
      await sleep(wait);
    }
  };

  // --- load and faults -----------------------------------------------------------------------------------
  const loadMs = (totalEvents / rate) * 1000;
  t0 = Date.now();
  const timeline: string[] = [];
  const note = (what: string) => {
    const line = `t=${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`;
    timeline.push(line);
    say(line);
  };
  // Each worker is killed once it has been polling for killEveryMs: on a loaded machine a worker can take
  // longer than that to start, and a kill before it polls would test nothing.
  let kills = 0;
  killer = setInterval(() => {
    const readyAt = sys.worker.readyAt();
    if (readyAt === null || Date.now() - readyAt < killEveryMs) return;
    kills += 1;
    note(
      `worker SIGKILL #${kills} (${((Date.now() - readyAt) / 1000).toFixed(1)} s after it was ready), a new one started`,
    );
    sys.worker.killAndRestart();
  }, 250);
  let temporalDownAt = 0;
  let temporalBackAt = 0;
  const temporalFault = sleep(loadMs * 0.35).then(async () => {
    note('Temporal server SIGKILL');
    temporalDownAt = Date.now();
    await sys.restartTemporal(3_000);
    temporalBackAt = Date.now();
    note(`Temporal server restarted on the same SQLite file (${temporalBackAt - temporalDownAt} ms)`);
  });
  let terminated = 0;
  let cutAt = 0;
  const pgFault = sleep(loadMs * 0.65).then(async () => {
    note('PostgreSQL: terminating every backend of the database, for 5 s');
    cutAt = Date.now();
    terminated = await cutDatabase(sys.databaseName, 5_000);
    note(`PostgreSQL cut over (${terminated} backends terminated)`);
  });
  const sends: Promise<void>[] = [];
  for (let i = 0; i < events.length; i++) {
    const due = t0 + (i / rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(submit(events[i]!));
    if (i > 0 && i % (rate * 20) === 0) note(`${i} events sent`);
  }
  note('all events sent; waiting for the sender to finish its retries');
  await Promise.all([...sends, temporalFault, pgFault]);
  clearInterval(killer);
  note(`load over: ${events.filter((e) => e.accepted).length}/${events.length} accepted`);

  // --- settle: everything final, bounded ----------------------------------------------------------------
  const pool: Pool = createPool(sys.databaseUrl, 2);
  const accepted = events.filter((e) => e.accepted);
  const acceptedIds = accepted.map((e) => e.body.id as string);
  const qualifying = new Set(
    accepted
      .filter((e) => e.behaviour.cpa && e.body.type === 'deposit.completed')
      .filter((e) =>
        accepted.some((r) => r.customerId === e.customerId && r.body.type === 'customer.registered'),
      )
      .map((e) => e.customerId),
  );
  const settleStart = Date.now();
  let lastProgress = 0;
  let settled = false;
  for (;;) {
    const { rows } = await pool.query(
      `SELECT (SELECT count(*)::int FROM events WHERE operator_id = $1 AND event_id = ANY($2) AND status = 'processed') AS processed,
              (SELECT count(*)::int FROM deliveries WHERE operator_id = $1 AND status NOT IN ('succeeded', 'failed', 'cancelled')) AS open,
              (SELECT count(*)::int FROM commission_entries WHERE operator_id = $1 AND kind = 'accrual') AS accruals`,
      [op.id, acceptedIds],
    );
    const s = rows[0]!;
    // The rows can be final a moment before their workflows close (a last workflow task waiting out a
    // killed worker's sticky timeout): final means both.
    if (
      s.processed === acceptedIds.length &&
      s.open === 0 &&
      s.accruals >= qualifying.size &&
      (await runningEventWorkflows(sys.temporalAddress)) === 0
    ) {
      settled = true;
      break;
    }
    if (Date.now() - settleStart > settleMs) break;
    if (Date.now() - lastProgress > 15_000) {
      lastProgress = Date.now();
      note(
        `settling: ${s.processed}/${acceptedIds.length} events processed, ${s.open} deliveries open, ` +
          `${s.accruals}/${qualifying.size} accruals`,
      );
    }
    await sleep(1_000);
  }
  const settledInMs = Date.now() - settleStart;
  note(settled ? 'everything final' : `still not final after ${settleMs / 1000} s: checking as it stands`);

  // --- recovered without a hand: the API answers, new events still flow ----------------------------------
  const ready = await fetch(`${sys.apiUrl}/ready`).then(
    (r) => r.status,
    () => 0,
  );
  const healthy = BEHAVIOURS.find((b) => b.name === 'healthy')!;
  const fresh = Array.from({ length: FRESH_EVENTS }, (_, i) => ({
    id: `fresh-${i}-${randomBase62(6)}`,
    type: 'customer.registered',
    occurredAt: new Date().toISOString(),
    customerId: `fresh-${i}-${randomBase62(6)}`,
    attribution: { affiliateId: affiliateOf(healthy) },
    data: { country: 'DE' },
  }));
  const freshAnswers: number[] = [];
  for (const e of fresh)
    freshAnswers.push((await api('POST', '/v1/events', op.key, e).catch(() => null))?.status ?? 0);
  let freshDelivered = 0;
  const freshStart = Date.now();
  while (Date.now() - freshStart < 60_000) {
    const { rows } = await pool.query(
      `SELECT count(*)::int AS n FROM deliveries WHERE operator_id = $1 AND event_id = ANY($2) AND status = 'succeeded'`,
      [op.id, fresh.map((e) => e.id)],
    );
    freshDelivered = rows[0]!.n;
    if (freshDelivered === FRESH_EVENTS) break;
    await sleep(500);
  }
  const freshMs = Date.now() - freshStart;

  // --- what happened ----------------------------------------------------------------------------------------
  const { rows: deliveries } = await pool.query<{
    id: string;
    status: string;
    endpoint_id: string;
    event_id: string;
    attempts: number;
    lost: number;
  }>(
    `SELECT d.id, d.status, d.endpoint_id, d.event_id,
            (SELECT count(*)::int FROM delivery_attempts a WHERE a.delivery_id = d.id) AS attempts,
            (SELECT count(*)::int FROM delivery_attempts a
              WHERE a.delivery_id = d.id AND a.error_message = $3) AS lost
       FROM deliveries d WHERE d.operator_id = $1 AND NOT (d.event_id = ANY($2))`,
    [op.id, fresh.map((e) => e.id), LOST_ATTEMPT_MESSAGE],
  );
  const { rows: endpointRows } = await pool.query<{
    id: string;
    enabled: boolean;
    disabled_reason: string | null;
  }>('SELECT id, enabled, disabled_reason FROM endpoints WHERE operator_id = $1', [op.id]);
  const { rows: accruals } = await pool.query<{ customer_id: string; event_id: string; n: number }>(
    `SELECT customer_id, min(event_id) AS event_id, count(*)::int AS n FROM commission_entries
      WHERE operator_id = $1 AND kind = 'accrual' GROUP BY customer_id`,
    [op.id],
  );
  const { rows: eventStates } = await pool.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM events WHERE operator_id = $1 AND event_id = ANY($2) GROUP BY status`,
    [op.id, acceptedIds],
  );
  await pool.end();
  const runningWorkflows = await runningEventWorkflows(sys.temporalAddress);

  // --- checks -----------------------------------------------------------------------------------------------
  const rows: Row[] = [];
  const answerCounts = new Map<string, number>();
  for (const e of events) for (const a of e.answers) answerCounts.set(a, (answerCounts.get(a) ?? 0) + 1);
  const answersText = [...answerCounts].map(([a, n]) => `${a}: ${n}`).join(', ');
  rows.push({
    check: 'every event sent is accepted',
    injected: `${events.length} events at ${rate}/s; the sender retries 5xx and lost answers`,
    expected: `${events.length} accepted`,
    found: `${accepted.length} accepted (${events.filter((e) => e.answers.length > 1).length} after retries)`,
    pass: accepted.length === events.length,
  });
  const bad = [...answerCounts].filter(([a]) => !['202', '200', '503'].includes(a));
  rows.push({
    check: 'the API answers 202/200, or 503 while a dependency is away',
    injected: 'the faults below',
    expected: 'no 500, no lost answer',
    found: answersText,
    pass: bad.length === 0,
  });
  const processed = eventStates.find((s) => s.status === 'processed')?.n ?? 0;
  rows.push({
    check: 'every accepted event reached its final state',
    injected: '',
    expected: `${accepted.length} processed, 0 event workflows running`,
    found: `${eventStates.map((s) => `${s.status}: ${s.n}`).join(', ') || 'none'}; running: ${runningWorkflows}`,
    pass: processed === accepted.length && runningWorkflows === 0,
  });

  const requestsById = new Map<string, number>();
  for (const r of rx.requests())
    requestsById.set(r.webhookId ?? '', (requestsById.get(r.webhookId ?? '') ?? 0) + 1);
  // A worker SIGKILLed between taking an attempt and logging its answer leaves a line "outcome unknown":
  // the receiver may or may not have seen that POST. Every other logged attempt is exactly one POST.
  const mismatches: { behaviour: string; more: boolean }[] = [];
  const unknowns: { behaviour: string }[] = [];
  for (const b of BEHAVIOURS) {
    const ep = [...endpoints.values()].find((x) => x.behaviour === b)!;
    const mine = deliveries.filter((d) => d.endpoint_id === ep.id);
    const routed = accepted.filter((e) => e.behaviour === b).length;
    const counts = new Map<string, number>();
    for (const d of mine) counts.set(d.status, (counts.get(d.status) ?? 0) + 1);
    const found = [...counts].map(([s, n]) => `${s} ${n}`).join(', ') || 'no deliveries';
    const state = endpointRows.find((r) => r.id === ep.id)!;
    let pass: boolean;
    if (b.expect === 'succeeded' || b.expect === 'failed') {
      pass = mine.length === routed && mine.every((d) => d.status === b.expect);
    } else {
      pass =
        mine.length > 0 &&
        mine.every(
          (d) => (d.status === 'failed' && d.attempts >= 1) || (d.status === 'cancelled' && d.attempts === 0),
        ) &&
        mine.some((d) => d.status === 'failed') &&
        !state.enabled &&
        state.disabled_reason === 'gone';
    }
    rows.push({
      check: `deliveries to "${b.name}"`,
      injected: b.injected,
      expected: `${expectationText(b)}${b.expect === 'gone' ? '' : ` (${routed})`}`,
      found: `${found}${b.expect === 'gone' ? `; endpoint ${state.enabled ? 'enabled' : `disabled (${state.disabled_reason})`}` : ''}`,
      pass,
    });
    for (const d of mine) {
      const posts = requestsById.get(d.id) ?? 0;
      for (let i = 0; i < d.lost; i++) unknowns.push({ behaviour: b.name });
      if (posts > d.attempts || posts < d.attempts - d.lost)
        mismatches.push({ behaviour: b.name, more: posts > d.attempts });
    }
  }
  const byBehaviour = (list: { behaviour: string }[]) => {
    const m = new Map<string, number>();
    for (const x of list) m.set(x.behaviour, (m.get(x.behaviour) ?? 0) + 1);
    return [...m].map(([k, n]) => `${k} ${n}`).join(', ');
  };
  rows.push({
    check:
      'POSTs the receiver saw = logged attempts, per delivery (an attempt its worker died in may have none)',
    injected: `worker SIGKILL ${killEveryMs / 1000} s after each start (${kills} kills)`,
    expected: `0 of ${deliveries.length} deliveries differ`,
    found:
      (mismatches.length
        ? `${mismatches.length} differ (${mismatches.filter((m) => m.more).length} with more POSTs): ${byBehaviour(mismatches)}`
        : '0 differ') +
      `; ${unknowns.length} attempts logged "outcome unknown"${unknowns.length ? ` (${byBehaviour(unknowns)})` : ''}`,
    pass: mismatches.length === 0,
  });
  const resent: { behaviour: string }[] = [];
  const resentAfterKill: { behaviour: string }[] = [];
  const lostById = new Map(deliveries.map((d) => [d.id, d.lost]));
  const split: { behaviour: string }[] = [];
  const unsigned: { behaviour: string }[] = [];
  for (const ep of endpoints.values()) {
    const reqs = rx.requests(ep.path);
    const inv = receiverInvariants(reqs);
    // A re-send after a 2xx is explained only by a worker that died between the answer and its log line.
    const resentById = new Map<string, number>();
    for (const r of inv.resentAfterSuccess)
      resentById.set(r.webhookId ?? '', (resentById.get(r.webhookId ?? '') ?? 0) + 1);
    for (const [id, n] of resentById) {
      const lost = lostById.get(id) ?? 0;
      for (let i = 0; i < n; i++)
        (i < lost ? resentAfterKill : resent).push({ behaviour: ep.behaviour.name });
    }
    for (const _ of inv.splitDeliveries) split.push({ behaviour: ep.behaviour.name });
    for (const _ of unverified(reqs)) unsigned.push({ behaviour: ep.behaviour.name });
  }
  rows.push({
    check:
      'no webhook-id sent again after the receiver answered it 2xx, but for a worker killed before its log line',
    injected: 'every receiver above',
    expected: '0 unexplained requests',
    found:
      (resent.length ? `${resent.length} unexplained: ${byBehaviour(resent)}` : '0 unexplained') +
      `; ${resentAfterKill.length} after a worker died mid-attempt${resentAfterKill.length ? ` (${byBehaviour(resentAfterKill)})` : ''}`,
    pass: resent.length === 0,
  });
  rows.push({
    check: 'one webhook-id per (event, endpoint)',
    injected: '',
    expected: '0 split',
    found: split.length ? `${split.length}: ${byBehaviour(split)}` : '0',
    pass: split.length === 0,
  });
  rows.push({
    check: 'every request verifies (standardwebhooks)',
    injected: '',
    expected: `0 of ${rx.requests().length} fail`,
    found: unsigned.length ? `${unsigned.length} fail: ${byBehaviour(unsigned)}` : '0 fail',
    pass: unsigned.length === 0,
  });
  const twice = accruals.filter((a) => a.n > 1).length;
  const missing = [...qualifying].filter((c) => !accruals.some((a) => a.customer_id === c)).length;
  const unexpected = accruals.filter((a) => !qualifying.has(a.customer_id)).length;
  rows.push({
    check: 'ledger: one CPA accrual per qualifying first deposit',
    injected: `CPA deal on ${BEHAVIOURS.filter((b) => b.cpa)
      .map((b) => affiliateOf(b))
      .join(', ')}`,
    expected: `${qualifying.size} accruals, none twice`,
    found: `${accruals.length} customers accrued; ${twice} twice, ${missing} missing, ${unexpected} unexpected`,
    pass: twice === 0 && missing === 0 && unexpected === 0,
  });
  rows.push({
    check: 'the worker recovers from SIGKILL without a hand',
    injected: `${kills} SIGKILLs, each followed by a new worker (ready in ${median(sys.worker.startupMs)} s, median)`,
    expected: 'no worker exits on its own',
    found: sys.worker.unexpectedExits.length ? exits(sys.worker.unexpectedExits) : 'none',
    pass: sys.worker.unexpectedExits.length === 0,
  });
  rows.push({
    check: 'Temporal restart survived',
    injected: `SIGKILL, down ${temporalBackAt && temporalDownAt ? ((temporalBackAt - temporalDownAt) / 1000).toFixed(1) : '?'} s, restart on the same SQLite file`,
    expected: 'API and worker reconnect on their own',
    found: `API /ready ${ready}; fresh events ${freshDelivered}/${FRESH_EVENTS} delivered`,
    pass: ready === 200 && freshDelivered === FRESH_EVENTS,
  });
  // Exits during the cut or within 10 s of its end are the cut's doing.
  const duringCut = [...sys.api.unexpectedExits, ...sys.worker.unexpectedExits].filter(
    (e) => cutAt && e.at >= cutAt && e.at <= cutAt + 15_000,
  );
  rows.push({
    check: 'PostgreSQL cut survived',
    injected: `pg_terminate_backend on every backend for 5 s (${terminated} terminated)`,
    expected: 'API and worker keep running (503 meanwhile)',
    found: duringCut.length ? exits(duringCut) : 'no process exited',
    pass: duringCut.length === 0,
  });
  rows.push({
    check: 'the API recovers without a hand',
    injected: 'the Temporal kill and the PostgreSQL cut',
    expected: 'no API exit',
    found: sys.api.unexpectedExits.length ? exits(sys.api.unexpectedExits) : 'none',
    pass: sys.api.unexpectedExits.length === 0,
  });
  rows.push({
    check: 'new events still flow at the end',
    injected: `${FRESH_EVENTS} events after everything settled`,
    expected: `${FRESH_EVENTS} accepted and delivered within 60 s`,
    found: `answers ${freshAnswers.join(',')}; ${freshDelivered} delivered in ${(freshMs / 1000).toFixed(1)} s`,
    pass: freshAnswers.every((s) => s === 202) && freshDelivered === FRESH_EVENTS,
  });

  printTable(rows);
  const failed = rows.filter((r) => !r.pass).length;
  const heading = [
    `# Fault run ${new Date().toISOString()}`,
    '',
    `Code: ${commit()}; Node ${process.versions.node}; ${cpus().length} cores.`,
    '',
    `${events.length} events at ${rate}/s over ${BEHAVIOURS.length} receivers; load ${(loadMs / 1000).toFixed(0)} s, ` +
      `settle ${(settledInMs / 1000).toFixed(0)} s (bound ${settleMs / 1000} s); ` +
      `${deliveries.length} deliveries, ${rx.requests().length} requests received. ${failed} of ${rows.length} checks failed.`,
    '',
  ];
  const md = [
    ...heading,
    markdownTable(rows),
    '',
    '## Timeline',
    '',
    ...timeline.map((l) => `- ${l}`),
    '',
  ].join('\n');
  const file = join(args.out, `${stamp}.md`);
  writeFileSync(file, md);
  say(`results: ${file}`);
  exitCode = failed ? 1 : 0;
} catch (err) {
  console.error(err);
  exitCode = 2;
} finally {
  await cleanup();
}
process.exit(exitCode);

/** How many event workflows are still running, or why that could not be told. */
async function runningEventWorkflows(address: string): Promise<number | string> {
  try {
    const connection = await Connection.connect({ address });
    try {
      const client = new Client({ connection, namespace: 'default' });
      return (await client.workflow.count(`WorkflowType = 'processEvent' AND ExecutionStatus = 'Running'`))
        .count;
    } finally {
      await connection.close();
    }
  } catch (err) {
    return `unknown (${(err as Error).message})`;
  }
}
