import type { Step } from '../test/support/hostile-receiver.js';

/**
 * The receivers of the fault run: one endpoint each, bound to an affiliate of its own, so every event of
 * that affiliate meets that behaviour. Each says what its deliveries must end as, by the README's outcome
 * rules: the status line decides (a 2xx is accepted whatever its body then does), 3xx/4xx/5xx, timeouts
 * and resets fail the attempt and are retried, 410 ends the delivery and disables the endpoint.
 *
 * Every script ends in an answer that decides (or repeats a failure until the policy is spent), and every
 * schedule has more attempts than the failures scripted, so a worker killed mid-attempt cannot turn a
 * delivery that must succeed into a dead letter.
 */
export type Expectation = 'succeeded' | 'failed' | 'gone';

export interface Behaviour {
  name: string;
  /** What the receiver does, in the results table. */
  injected: string;
  steps: Step[];
  expect: Expectation;
  /** Endpoint settings beside the url. */
  endpoint: Record<string, unknown>;
  /** The affiliate has a CPA deal: its customers' first deposits accrue a commission. */
  cpa?: boolean;
}

const policy = (...schedule: string[]) => ({ retryPolicy: { schedule, jitter: 0 } });
/**
 * Plenty of attempts, short waits, then a tail like a real schedule's: a delivery that must succeed outlives
 * several worker kills, and its schedule's time (118 s) outlasts the endpoint breaker's waits. The breaker
 * ends a delivery it holds once the schedule's whole span has passed; with 12 x 1 s (an 11 s span, shorter
 * than two worker kills) it dead-lettered 117 of 134 deliveries to the 500, 503, 200 receiver, each of which
 * would have succeeded at its third attempt.
 */
const patient = policy(...Array.from({ length: 8 }, () => '1s'), '5s', '15s', '30s', '60s');

export const BEHAVIOURS: Behaviour[] = [
  {
    name: 'healthy',
    injected: '200 ok',
    steps: [{ kind: 'ok' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
    cpa: true,
  },
  {
    name: 'healthy-2',
    injected: '204 no body',
    steps: [{ kind: 'ok', status: 204 }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'flaky-5xx',
    injected: '500, 503, then 200',
    steps: [{ kind: 'status', status: 500 }, { kind: 'status', status: 503 }, { kind: 'ok' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
    cpa: true,
  },
  {
    name: 'down-5xx',
    injected: 'always 500',
    steps: [{ kind: 'status', status: 500, body: 'boom' }],
    expect: 'failed',
    endpoint: { timeout: '3s', ...policy('1s', '2s') },
  },
  {
    name: 'timeout',
    injected: 'no answer (2 s timeout), then 200',
    steps: [{ kind: 'hang' }, { kind: 'ok' }],
    expect: 'succeeded',
    endpoint: { timeout: '2s', ...patient },
  },
  {
    name: 'trickle',
    injected: '200, body trickled 5 s (2 s timeout)',
    steps: [{ kind: 'trickle', forMs: 5_000, everyMs: 250 }],
    expect: 'succeeded',
    endpoint: { timeout: '2s', ...patient },
  },
  {
    name: 'redirect',
    injected: 'always 302',
    steps: [{ kind: 'status', status: 302, headers: { location: '/elsewhere' } }],
    expect: 'failed',
    endpoint: { timeout: '3s', ...policy('1s', '2s') },
  },
  {
    name: 'gone',
    injected: '410',
    steps: [{ kind: 'status', status: 410 }],
    expect: 'gone',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'throttled',
    injected: '429 Retry-After: 2, then 200',
    steps: [{ kind: 'status', status: 429, headers: { 'retry-after': '2' } }, { kind: 'ok' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'big-body',
    injected: '200 with a 10 MB body',
    steps: [{ kind: 'big' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'gif',
    injected: '200 with a 1x1 GIF (NUL bytes)',
    steps: [{ kind: 'gif' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'gzip',
    injected: '200, gzip body that does not decode',
    steps: [{ kind: 'gzip-garbage' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'utf16',
    injected: '200 with a UTF-16 body',
    steps: [{ kind: 'utf16' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'reset',
    injected: 'reset before answering, then 200',
    steps: [{ kind: 'reset' }, { kind: 'ok' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
  {
    name: 'reset-mid-body',
    injected: '200 headers, reset mid-body',
    steps: [{ kind: 'reset-after-headers' }],
    expect: 'succeeded',
    endpoint: { timeout: '3s', ...patient },
  },
];

export function expectationText(b: Behaviour): string {
  switch (b.expect) {
    case 'succeeded':
      return 'all succeeded';
    case 'failed':
      return 'all failed (dead letter)';
    case 'gone':
      return 'failed/cancelled, endpoint disabled (gone)';
  }
}
