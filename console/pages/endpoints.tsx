/**
 * Endpoints: each with its subscription, format (webhook, or postback and its preset), whether it is
 * enabled and why not, its breaker; and the actions the API has for one: rotate its secret, send a test,
 * and recover a window of failed deliveries (a dry run counts them first).
 */
import { useState } from 'preact/hooks';
import { call, query, type Page } from '../api';
import type { Endpoint } from '../types';
import {
  ErrorNote,
  Facts,
  Field,
  go,
  href,
  Loading,
  Pager,
  Status,
  Table,
  toIso,
  useAction,
  useLoad,
  When,
} from '../ui';

function format(e: Endpoint): string {
  return e.format === 'postback'
    ? `postback${e.postback?.preset ? ` (${e.postback.preset})` : ''}`
    : 'webhook';
}

export function EndpointsPage({ params }: { params: URLSearchParams }) {
  const cursor = params.get('cursor');
  const path = `/v1/endpoints${query({ cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<Endpoint>>('operator', 'GET', path), path);
  return (
    <section aria-labelledby="endpoints-title">
      <h1 id="endpoints-title">Endpoints</h1>
      <ErrorNote error={list.error} />
      <Loading loading={list.loading} />
      {list.data ? (
        <>
          <Table
            caption="Endpoints, newest first"
            head={['Endpoint', 'URL', 'Format', 'Subscribed to', 'Affiliate', 'Enabled', 'Breaker']}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((e) => (
              <tr key={e.id}>
                <td>
                  <a href={href(`/endpoints/${e.id}`)}>{e.id}</a>
                </td>
                <td class="clip">{e.url}</td>
                <td>{format(e)}</td>
                <td>{e.eventTypes.join(', ')}</td>
                <td>{e.affiliateId ?? '—'}</td>
                <td>{e.enabled ? 'yes' : `no: ${e.disabledReason ?? ''}`}</td>
                <td>{e.breaker ? <Status value={e.breaker.state} /> : null}</td>
              </tr>
            ))}
          </Table>
          <Pager
            cursor={cursor}
            next={list.data.nextCursor}
            onPage={(c) => go('/endpoints', { cursor: c })}
          />
        </>
      ) : null}
    </section>
  );
}

export function EndpointPage({ id }: { id: string }) {
  const path = `/v1/endpoints/${encodeURIComponent(id)}`;
  const ep = useLoad(() => call<Endpoint>('operator', 'GET', path), path);
  const health = useLoad(() => call<Health>('operator', 'GET', `${path}/health`), `${path}/health`);
  const action = useAction();
  const e = ep.data;
  return (
    <section aria-labelledby="endpoint-title">
      <p>
        <a href={href('/endpoints')}>← Endpoints</a>
      </p>
      <h1 id="endpoint-title">Endpoint {id}</h1>
      <ErrorNote error={ep.error} />
      <Loading loading={ep.loading && !e} />
      {e ? (
        <>
          <Facts
            rows={[
              ['URL', <code>{e.url}</code>],
              ['Description', e.description ?? '—'],
              ['Format', format(e)],
              ['Subscribed to', e.eventTypes.join(', ')],
              ...(e.eventTypesDelivered
                ? ([['Delivered (wildcards expanded)', e.eventTypesDelivered.join(', ')]] as [
                    string,
                    string,
                  ][])
                : []),
              ['Affiliate', e.affiliateId ?? 'operator-wide'],
              ['Enabled', e.enabled ? 'yes' : `no: ${e.disabledReason ?? 'disabled'}`],
              [
                'Breaker',
                e.breaker ? `${e.breaker.state}, ${e.breaker.consecutiveFailures} failures in a row` : '—',
              ],
              ['Retry schedule', e.retryPolicy?.schedule.join(', ') ?? '—'],
              ['Timeout', e.timeout ?? '—'],
              ['Created', <When at={e.createdAt} />],
            ]}
          />
          {health.data ? <HealthFacts h={health.data} /> : <ErrorNote error={health.error} />}
          <p>
            <a href={href(`/deliveries?endpointId=${e.id}`)}>Its deliveries</a> ·{' '}
            <a href={href(`/deliveries?endpointId=${e.id}&status=failed`)}>its dead letters</a>
          </p>
          <div class="actions">
            <button
              type="button"
              disabled={action.busy}
              onClick={() =>
                action.run(async () => {
                  const d = await call<{ id: string }>('operator', 'POST', `${path}/test`);
                  return `Test sent: delivery ${d.id}.`;
                })
              }
            >
              Send test event
            </button>
            <button
              type="button"
              class="secondary"
              disabled={action.busy}
              onClick={() =>
                action.run(async () => {
                  if (!confirm('Make a new signing secret? The old one keeps signing for the grace period.'))
                    return 'Not rotated.';
                  const r = await call<{ previousSecretExpiresAt: string | null }>(
                    'operator',
                    'POST',
                    `${path}/rotate-secret`,
                  );
                  return `Secret rotated; the previous one signs until ${r.previousSecretExpiresAt ?? 'now'}. Read the new one with GET ${path}/secret.`;
                })
              }
            >
              Rotate secret
            </button>
          </div>
          {action.note}
          <Recover path={path} />
        </>
      ) : null}
    </section>
  );
}

interface Health {
  attempts: number;
  succeeded: number;
  failed: number;
  successRate: string | null;
  lastFailure: {
    deliveryId: string;
    number: number;
    at: string;
    statusCode: number | null;
    error: string;
  } | null;
}

function HealthFacts({ h }: { h: Health }) {
  const rate = h.successRate === null ? 'no attempts' : `${(Number(h.successRate) * 100).toFixed(1)} %`;
  return (
    <>
      <h2>Last 24 hours</h2>
      <Facts
        rows={[
          ['Success rate', rate],
          ['Attempts', `${h.attempts} (${h.succeeded} succeeded, ${h.failed} failed)`],
          [
            'Last failure',
            h.lastFailure ? (
              <>
                <a href={href(`/deliveries/${h.lastFailure.deliveryId}`)}>
                  {h.lastFailure.deliveryId} #{h.lastFailure.number}
                </a>{' '}
                {h.lastFailure.error} (<When at={h.lastFailure.at} />)
              </>
            ) : (
              'none'
            ),
          ],
        ]}
      />
    </>
  );
}

function Recover({ path }: { path: string }) {
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [counted, setCounted] = useState<number | null>(null);
  const action = useAction();
  const window = () => ({ since: toIso(since), until: toIso(until) });
  return (
    <form class="filters" aria-label="Recover failed deliveries" onSubmit={(e) => e.preventDefault()}>
      <h2>Recover a window of failed deliveries</h2>
      <Field label="Failed from">
        <input
          type="datetime-local"
          name="since"
          required
          value={since}
          onInput={(e) => {
            setSince((e.target as HTMLInputElement).value);
            setCounted(null);
          }}
        />
      </Field>
      <Field label="Failed before (empty: now)">
        <input
          type="datetime-local"
          name="until"
          value={until}
          onInput={(e) => {
            setUntil((e.target as HTMLInputElement).value);
            setCounted(null);
          }}
        />
      </Field>
      <div class="actions">
        <button
          type="button"
          disabled={action.busy || !since}
          onClick={() =>
            action.run(async () => {
              const r = await call<{ count: number }>('operator', 'POST', `${path}/recover`, {
                ...window(),
                dryRun: true,
              });
              setCounted(r.count);
              return `${r.count} failed deliveries in that window would be sent again.`;
            })
          }
        >
          Count (dry run)
        </button>
        <button
          type="button"
          class="danger"
          disabled={action.busy || counted === null || counted === 0}
          onClick={() =>
            action.run(async () => {
              const r = await call<{ count: number }>('operator', 'POST', `${path}/recover`, {
                ...window(),
                dryRun: false,
              });
              setCounted(null);
              return `${r.count} deliveries re-driven.`;
            })
          }
        >
          Recover {counted ?? ''}
        </button>
      </div>
      {action.note}
    </form>
  );
}
