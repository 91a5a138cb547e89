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
 *
 * This file runs the phases in order; each has its own module: options.ts (the command line), setup.ts
 * (operator, affiliates, endpoints), load.ts (the events and the sender), inject.ts (the faults),
 * settle.ts (waiting for the end, recovery), observe.ts (what is read back), checks.ts (the promises),
 * report.ts (the table and the results file), timeline.ts (t=0 and the noted lines).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type Pool } from '../src/db/pool.js';
import { startHostileReceiver } from '../test/support/hostile-receiver.js';
import { apiClient } from './api-client.js';
import { BEHAVIOURS } from './behaviours.js';
import { checks } from './checks.js';
import { injectFaults, type Injection } from './inject.js';
import { planEvents, qualifyingCustomers, sendAtRate, submit } from './load.js';
import { finalState, runningEventWorkflows } from './observe.js';
import { parseOptions } from './options.js';
import { printTable, writeResults } from './report.js';
import { checkRecovery, waitUntilFinal } from './settle.js';
import { setUp } from './setup.js';
import { startFaultSystem, type FaultSystem } from './system.js';
import { Timeline } from './timeline.js';

const o = parseOptions();
const say = (line: string) => console.log(`faults: ${line}`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(o.out, { recursive: true });
const logDir = join(o.out, `${stamp}-logs`);
mkdirSync(logDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'affiliate-hooks-faults-'));

let system: FaultSystem | undefined;
let injection: Injection | undefined;
const timeline = new Timeline(say);
let exitCode = 1;
const rx = await startHostileReceiver();
const cleanup = async () => {
  injection?.stopKiller();
  await system?.stop().catch(() => undefined);
  await rx.stop();
  if (!o.keep) rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

try {
  say(`${o.totalEvents} events at ${o.rate}/s over ${BEHAVIOURS.length} receivers; logs in ${logDir}`);
  system = await startFaultSystem({ tmpDir: tmp, logDir, say, keepDatabase: o.keep });
  const sys = system;
  const api = apiClient(sys.apiUrl);

  // --- set-up: one operator, an affiliate and an endpoint per behaviour --------------------------------
  const { op, endpoints } = await setUp(api, rx, sys.adminToken, stamp);
  const events = planEvents(o.totalEvents);

  // --- load and faults -----------------------------------------------------------------------------------
  const loadMs = (o.totalEvents / o.rate) * 1000;
  timeline.start();
  injection = injectFaults(sys, timeline, { loadMs, killEveryMs: o.killEveryMs });
  const sends = await sendAtRate(events, o.rate, timeline, (e) => submit(api, op.key, e));
  timeline.note('all events sent; waiting for the sender to finish its retries');
  await Promise.all([...sends, injection.done]);
  injection.stopKiller();
  timeline.note(`load over: ${events.filter((e) => e.accepted).length}/${events.length} accepted`);

  // --- settle: everything final, bounded ----------------------------------------------------------------
  const pool: Pool = createPool(sys.databaseUrl, 2);
  const accepted = events.filter((e) => e.accepted);
  const acceptedIds = accepted.map((e) => e.body.id as string);
  const qualifying = qualifyingCustomers(accepted);
  const { settledInMs } = await waitUntilFinal({
    pool,
    sys,
    operatorId: op.id,
    acceptedIds,
    qualifying,
    settleMs: o.settleMs,
    timeline,
  });

  // --- recovered without a hand: the API answers, new events still flow ----------------------------------
  const recovery = await checkRecovery(api, pool, sys, op);

  // --- what happened ----------------------------------------------------------------------------------------
  const seen = await finalState(pool, op.id, acceptedIds, recovery.freshIds);
  await pool.end();
  const runningWorkflows = await runningEventWorkflows(sys.temporalAddress);

  // --- checks -----------------------------------------------------------------------------------------------
  const rows = checks({
    events,
    rate: o.rate,
    killEveryMs: o.killEveryMs,
    qualifying,
    endpoints,
    rx,
    seen,
    runningWorkflows,
    injection,
    recovery,
    sys,
    timeline,
  });
  printTable(rows);
  const file = writeResults({
    out: o.out,
    stamp,
    rows,
    timeline: timeline.lines,
    events: events.length,
    rate: o.rate,
    loadMs,
    settledInMs,
    settleMs: o.settleMs,
    deliveries: seen.deliveries.length,
    requests: rx.requests().length,
  });
  say(`results: ${file}`);
  exitCode = rows.some((r) => !r.pass) ? 1 : 0;
} catch (err) {
  console.error(err);
  exitCode = 2;
} finally {
  await cleanup();
}
process.exit(exitCode);
