/**
 * The fault run's set-up through the API: one operator, and per receiver behaviour an affiliate (with a CPA
 * deal for the behaviours that have one) and an endpoint whose requests the hostile receiver verifies.
 */
import type { HostileReceiver } from '../test/support/hostile-receiver.js';
import type { Api } from './api-client.js';
import { BEHAVIOURS, type Behaviour } from './behaviours.js';

export const CPA = {
  model: 'cpa',
  amount: '100.00',
  currency: 'EUR',
  qualification: { minFirstDeposit: '20.00' },
  holdPeriod: '30d',
  clawbackWindow: '90d',
};

export interface FaultEndpoint {
  behaviour: Behaviour;
  id: string;
  secret: string;
  path: string;
}

/** Each behaviour's affiliate: every event of its customers meets that behaviour. */
export const affiliateOf = (b: Behaviour) => `aff-${b.name}`;

export async function setUp(
  api: Api,
  rx: HostileReceiver,
  adminToken: string,
  stamp: string,
): Promise<{ op: { id: string; key: string }; endpoints: Map<string, FaultEndpoint> }> {
  const opRes = await api('POST', '/v1/operators', adminToken, { name: `faults ${stamp}` });
  if (opRes.status !== 201) throw new Error(`operator: ${opRes.status} ${JSON.stringify(opRes.body)}`);
  const op = { id: opRes.body.id as string, key: opRes.body.apiKey as string };
  const endpoints = new Map<string, FaultEndpoint>();
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
  return { op, endpoints };
}
