import { BENCH_AFFILIATE_ID, BENCH_EVENT_TYPE } from './payload.js';
import type { BenchReceiver } from './receiver.js';

/** Operators and endpoints of the bench, created through the public API like any client would. */
export interface BenchOperator {
  name: string;
  id: string;
  apiKey: string;
  /** Receiver path prefix of its endpoints (`/<name>/`). */
  prefix: string;
  endpoints: { id: string; path: string }[];
}

async function call(url: string, token: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${new URL(url).pathname} answered ${res.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

export async function createBenchOperator(opts: {
  apiUrl: string;
  adminToken: string;
  receiver: BenchReceiver;
  name: string;
  endpoints: number;
  retrySchedule: string[];
  /** A send-rate limit on every endpoint (none by default). */
  rateLimitPerSecond?: number;
}): Promise<BenchOperator> {
  const op = await call(`${opts.apiUrl}/v1/operators`, opts.adminToken, { name: `bench ${opts.name}` });
  const apiKey = op.apiKey as string;
  const prefix = `/${opts.name}/`;
  const endpoints: BenchOperator['endpoints'] = [];
  for (let i = 0; i < opts.endpoints; i++) {
    const path = `${prefix}${i}`;
    const ep = await call(`${opts.apiUrl}/v1/endpoints`, apiKey, {
      url: opts.receiver.url(path),
      description: `bench receiver ${path}`,
      eventTypes: [BENCH_EVENT_TYPE],
      retryPolicy: { schedule: opts.retrySchedule },
      ...(opts.rateLimitPerSecond ? { rateLimitPerSecond: opts.rateLimitPerSecond } : {}),
    });
    opts.receiver.setSecret(path, ep.secret as string);
    endpoints.push({ id: ep.id as string, path });
  }
  return { name: opts.name, id: op.id as string, apiKey, prefix, endpoints };
}

/** Gives the bench events' affiliate (`aff-bench`) a CPA deal, so every event wakes its customer's workflow. */
export async function putBenchDeal(apiUrl: string, apiKey: string): Promise<void> {
  const res = await fetch(`${apiUrl}/v1/affiliates/${BENCH_AFFILIATE_ID}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'bench affiliate',
      deal: { model: 'cpa', amount: '100.00', currency: 'EUR', holdPeriod: '30d', clawbackWindow: '90d' },
    }),
  });
  if (res.status !== 201) throw new Error(`PUT /v1/affiliates answered ${res.status}: ${await res.text()}`);
}
