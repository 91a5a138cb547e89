/**
 * The product's promises the fault run checks, one results row each: intake (every event accepted, the
 * API's answers, every event final), deliveries per receiver behaviour and POSTs per logged attempt, what
 * the receivers saw (no re-send after a 2xx, one webhook-id per event and endpoint, signatures), the
 * ledger (one CPA per qualifying customer), and recovery from each fault without a hand.
 */
import { receiverInvariants, unverified, type HostileReceiver } from '../test/support/hostile-receiver.js';
import { BEHAVIOURS, expectationText } from './behaviours.js';
import type { Injection } from './inject.js';
import type { SentEvent } from './load.js';
import type { FinalState } from './observe.js';
import type { Row } from './report.js';
import { FRESH_EVENTS, type Recovery } from './settle.js';
import { affiliateOf, type FaultEndpoint } from './setup.js';
import type { FaultSystem } from './system.js';
import type { Timeline } from './timeline.js';

/** Everything the run did and found. */
export interface RunFacts {
  events: SentEvent[];
  rate: number;
  killEveryMs: number;
  qualifying: Set<string>;
  endpoints: Map<string, FaultEndpoint>;
  rx: HostileReceiver;
  seen: FinalState;
  runningWorkflows: number | string;
  injection: Injection;
  recovery: Recovery;
  sys: FaultSystem;
  timeline: Timeline;
}

export function checks(f: RunFacts): Row[] {
  return [
    ...intakeChecks(f),
    ...deliveryChecks(f),
    ...receiverChecks(f),
    ledgerCheck(f),
    ...recoveryChecks(f),
  ];
}

const accepted = (f: RunFacts) => f.events.filter((e) => e.accepted);

function median(ms: number[]): string {
  if (!ms.length) return '?';
  const sorted = [...ms].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length / 2)]! / 1000).toFixed(1);
}

/** "name n, name n" per behaviour. */
function byBehaviour(list: { behaviour: string }[]): string {
  const m = new Map<string, number>();
  for (const x of list) m.set(x.behaviour, (m.get(x.behaviour) ?? 0) + 1);
  return [...m].map(([k, n]) => `${k} ${n}`).join(', ');
}

function intakeChecks(f: RunFacts): Row[] {
  const { events } = f;
  const ok = accepted(f);
  const rows: Row[] = [];
  const answerCounts = new Map<string, number>();
  for (const e of events) for (const a of e.answers) answerCounts.set(a, (answerCounts.get(a) ?? 0) + 1);
  const answersText = [...answerCounts].map(([a, n]) => `${a}: ${n}`).join(', ');
  rows.push({
    check: 'every event sent is accepted',
    injected: `${events.length} events at ${f.rate}/s; the sender retries 5xx and lost answers`,
    expected: `${events.length} accepted`,
    found: `${ok.length} accepted (${events.filter((e) => e.answers.length > 1).length} after retries)`,
    pass: ok.length === events.length,
  });
  const bad = [...answerCounts].filter(([a]) => !['202', '200', '503'].includes(a));
  rows.push({
    check: 'the API answers 202/200, or 503 while a dependency is away',
    injected: 'the faults below',
    expected: 'no 500, no lost answer',
    found: answersText,
    pass: bad.length === 0,
  });
  const { eventStates } = f.seen;
  const processed = eventStates.find((s) => s.status === 'processed')?.n ?? 0;
  rows.push({
    check: 'every accepted event reached its final state',
    injected: '',
    expected: `${ok.length} processed, 0 event workflows running`,
    found: `${eventStates.map((s) => `${s.status}: ${s.n}`).join(', ') || 'none'}; running: ${f.runningWorkflows}`,
    pass: processed === ok.length && f.runningWorkflows === 0,
  });
  return rows;
}

/** Each behaviour's deliveries as its outcome rule says, then POSTs seen against attempts logged. */
function deliveryChecks(f: RunFacts): Row[] {
  const { deliveries, endpointRows } = f.seen;
  const ok = accepted(f);
  const rows: Row[] = [];
  const requestsById = new Map<string, number>();
  for (const r of f.rx.requests())
    requestsById.set(r.webhookId ?? '', (requestsById.get(r.webhookId ?? '') ?? 0) + 1);
  // A worker SIGKILLed between taking an attempt and logging its answer leaves a line "outcome unknown":
  // the receiver may or may not have seen that POST. Every other logged attempt is exactly one POST.
  const mismatches: { behaviour: string; more: boolean }[] = [];
  const unknowns: { behaviour: string }[] = [];
  for (const b of BEHAVIOURS) {
    const ep = [...f.endpoints.values()].find((x) => x.behaviour === b)!;
    const mine = deliveries.filter((d) => d.endpoint_id === ep.id);
    const routed = ok.filter((e) => e.behaviour === b).length;
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
  rows.push({
    check:
      'POSTs the receiver saw = logged attempts, per delivery (an attempt its worker died in may have none)',
    injected: `worker SIGKILL ${f.killEveryMs / 1000} s after each start (${f.injection.kills} kills)`,
    expected: `0 of ${deliveries.length} deliveries differ`,
    found:
      (mismatches.length
        ? `${mismatches.length} differ (${mismatches.filter((m) => m.more).length} with more POSTs): ${byBehaviour(mismatches)}`
        : '0 differ') +
      `; ${unknowns.length} attempts logged "outcome unknown"${unknowns.length ? ` (${byBehaviour(unknowns)})` : ''}`,
    pass: mismatches.length === 0,
  });
  return rows;
}

/** What the receivers saw: no re-send after a 2xx (but for a killed worker), one webhook-id, signatures. */
function receiverChecks(f: RunFacts): Row[] {
  const rows: Row[] = [];
  const resent: { behaviour: string }[] = [];
  const resentAfterKill: { behaviour: string }[] = [];
  const lostById = new Map(f.seen.deliveries.map((d) => [d.id, d.lost]));
  const split: { behaviour: string }[] = [];
  const unsigned: { behaviour: string }[] = [];
  for (const ep of f.endpoints.values()) {
    const reqs = f.rx.requests(ep.path);
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
    expected: `0 of ${f.rx.requests().length} fail`,
    found: unsigned.length ? `${unsigned.length} fail: ${byBehaviour(unsigned)}` : '0 fail',
    pass: unsigned.length === 0,
  });
  return rows;
}

function ledgerCheck(f: RunFacts): Row {
  const { accruals } = f.seen;
  const { qualifying } = f;
  const twice = accruals.filter((a) => a.n > 1).length;
  const missing = [...qualifying].filter((c) => !accruals.some((a) => a.customer_id === c)).length;
  const unexpected = accruals.filter((a) => !qualifying.has(a.customer_id)).length;
  return {
    check: 'ledger: one CPA accrual per qualifying first deposit',
    injected: `CPA deal on ${BEHAVIOURS.filter((b) => b.cpa)
      .map((b) => affiliateOf(b))
      .join(', ')}`,
    expected: `${qualifying.size} accruals, none twice`,
    found: `${accruals.length} customers accrued; ${twice} twice, ${missing} missing, ${unexpected} unexpected`,
    pass: twice === 0 && missing === 0 && unexpected === 0,
  };
}

/** Each fault survived without a hand: worker kills, the Temporal restart, the PostgreSQL cut; new events flow. */
function recoveryChecks(f: RunFacts): Row[] {
  const { sys, injection: inj, recovery: r, timeline } = f;
  const exits = (list: { at: number; what: string }[]) => timeline.exits(list);
  const rows: Row[] = [];
  rows.push({
    check: 'the worker recovers from SIGKILL without a hand',
    injected: `${inj.kills} SIGKILLs, each followed by a new worker (ready in ${median(sys.worker.startupMs)} s, median)`,
    expected: 'no worker exits on its own',
    found: sys.worker.unexpectedExits.length ? exits(sys.worker.unexpectedExits) : 'none',
    pass: sys.worker.unexpectedExits.length === 0,
  });
  rows.push({
    check: 'Temporal restart survived',
    injected: `SIGKILL, down ${inj.temporalBackAt && inj.temporalDownAt ? ((inj.temporalBackAt - inj.temporalDownAt) / 1000).toFixed(1) : '?'} s, restart on the same SQLite file`,
    expected: 'API and worker reconnect on their own',
    found: `API /ready ${r.ready}; fresh events ${r.freshDelivered}/${FRESH_EVENTS} delivered`,
    pass: r.ready === 200 && r.freshDelivered === FRESH_EVENTS,
  });
  // Exits during the cut or within 10 s of its end are the cut's doing.
  const duringCut = [...sys.api.unexpectedExits, ...sys.worker.unexpectedExits].filter(
    (e) => inj.cutAt && e.at >= inj.cutAt && e.at <= inj.cutAt + 15_000,
  );
  rows.push({
    check: 'PostgreSQL cut survived',
    injected: `pg_terminate_backend on every backend for 5 s (${inj.terminated} terminated)`,
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
    found: `answers ${r.freshAnswers.join(',')}; ${r.freshDelivered} delivered in ${(r.freshMs / 1000).toFixed(1)} s`,
    pass: r.freshAnswers.every((s) => s === 202) && r.freshDelivered === FRESH_EVENTS,
  });
  return rows;
}
