/**
 * Deliveries, for the operator (/v1/deliveries) and for an affiliate's portal (/v1/portal/deliveries): a
 * list filtered and paged by the server (never in the browser: a list may hold 100,000), and one delivery
 * with its attempt log.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, query, type Page, type Who } from '../api';
import { DELIVERY_STATUSES, type Attempt, type Delivery, type DeliveryDetail } from '../types';
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
  toLocal,
  useAction,
  useLoad,
  When,
} from '../ui';

const FILTERS = ['status', 'endpointId', 'eventType', 'eventId', 'affiliateId', 'since', 'until'] as const;

export interface DeliveriesProps {
  who: Who;
  params: URLSearchParams;
}

function apiBase(who: Who): string {
  return who === 'operator' ? '/v1/deliveries' : '/v1/portal/deliveries';
}

export function DeliveriesPage({ who, params }: DeliveriesProps) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Record<
    (typeof FILTERS)[number],
    string
  >;
  const cursor = params.get('cursor');
  const path = `${apiBase(who)}${query({ ...filters, ...(who === 'portal' ? { affiliateId: '' } : {}), cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<Delivery>>(who, 'GET', path), path);
  const apply = (next: Record<string, string | undefined>, c: string | null = null) =>
    go('/deliveries', { ...next, cursor: c });

  return (
    <section aria-labelledby="deliveries-title">
      <h1 id="deliveries-title">Deliveries</h1>
      <DeliveryFilters who={who} value={filters} onApply={(f) => apply(f)} />
      <ErrorNote error={list.error} />
      <Loading loading={list.loading} />
      {list.data ? (
        <>
          <Table
            caption="Deliveries, newest first"
            head={[
              'Delivery',
              'Status',
              'Event type',
              'Event',
              'Endpoint',
              'Attempts',
              'Last error',
              'Created',
            ]}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={href(`/deliveries/${d.id}`)}>{d.id}</a>
                </td>
                <td>
                  <Status value={d.status} />
                </td>
                <td>{d.eventType}</td>
                <td>
                  {who === 'operator' ? (
                    <a href={href(`/events/${encodeURIComponent(d.eventId)}`)}>{d.eventId}</a>
                  ) : (
                    d.eventId
                  )}
                </td>
                <td>
                  {who === 'operator' ? (
                    <a href={href(`/endpoints/${d.endpointId}`)}>{d.endpointId}</a>
                  ) : (
                    d.endpointId
                  )}
                </td>
                <td class="num">{d.attemptCount}</td>
                <td class="clip">{d.lastError ?? ''}</td>
                <td>
                  <When at={d.createdAt} />
                </td>
              </tr>
            ))}
          </Table>
          <Pager cursor={cursor} next={list.data.nextCursor} onPage={(c) => apply(filters, c)} />
        </>
      ) : null}
    </section>
  );
}

function DeliveryFilters(props: {
  who: Who;
  value: Record<string, string>;
  onApply: (f: Record<string, string | undefined>) => void;
}) {
  const [f, setF] = useState(props.value);
  useEffect(() => setF(props.value), [JSON.stringify(props.value)]);
  const set = (k: string) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  return (
    <form
      class="filters"
      aria-label="Filter deliveries"
      onSubmit={(e) => {
        e.preventDefault();
        props.onApply(f);
      }}
    >
      <Field label="Status">
        <select name="status" value={f.status} onChange={set('status')}>
          <option value="">any</option>
          {DELIVERY_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s === 'failed' ? 'failed (dead letter)' : s}
            </option>
          ))}
        </select>
      </Field>
      <Field label="Endpoint id">
        <input name="endpointId" value={f.endpointId} onInput={set('endpointId')} placeholder="ep_…" />
      </Field>
      <Field label="Event type">
        <input name="eventType" value={f.eventType} onInput={set('eventType')} placeholder="deposit.ftd" />
      </Field>
      <Field label="Event id">
        <input name="eventId" value={f.eventId} onInput={set('eventId')} />
      </Field>
      {props.who === 'operator' ? (
        <Field label="Affiliate id">
          <input name="affiliateId" value={f.affiliateId} onInput={set('affiliateId')} />
        </Field>
      ) : null}
      <Field label="Created from">
        <input
          type="datetime-local"
          name="since"
          value={toLocal(f.since ?? null)}
          onInput={(e) => setF({ ...f, since: toIso((e.target as HTMLInputElement).value) ?? '' })}
        />
      </Field>
      <Field label="Created before">
        <input
          type="datetime-local"
          name="until"
          value={toLocal(f.until ?? null)}
          onInput={(e) => setF({ ...f, until: toIso((e.target as HTMLInputElement).value) ?? '' })}
        />
      </Field>
      <div class="actions">
        <button type="submit">Apply filters</button>
        <button type="button" class="secondary" onClick={() => props.onApply({})}>
          Clear
        </button>
      </div>
    </form>
  );
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export function DeliveryPage({ who, id }: { who: Who; id: string }) {
  const path = `${apiBase(who)}/${encodeURIComponent(id)}`;
  const d = useLoad(() => call<DeliveryDetail>(who, 'GET', path), path);
  const action = useAction();
  // After retry or cancel, follow the delivery until it settles (the work runs in Temporal, not here).
  const [watchUntil, setWatchUntil] = useState(0);
  useEffect(() => {
    if (!watchUntil) return;
    const timer = setInterval(() => {
      if (Date.now() > watchUntil) setWatchUntil(0);
      else d.reload();
    }, 1000);
    return () => clearInterval(timer);
  }, [watchUntil]);
  const act = (verb: 'retry' | 'cancel') =>
    action.run(async () => {
      await call(who, 'POST', `${path}/${verb}`);
      setWatchUntil(Date.now() + 30_000);
      return verb === 'retry' ? 'Retry requested.' : 'Cancel requested.';
    });
  const v = d.data;
  useEffect(() => {
    if (watchUntil && v && FINAL.has(v.status) && v.status !== 'failed') setWatchUntil(0);
  }, [v?.status, v?.attemptCount]);

  return (
    <section aria-labelledby="delivery-title">
      <p>
        <a href={href('/deliveries')}>← Deliveries</a>
      </p>
      <h1 id="delivery-title">Delivery {id}</h1>
      <ErrorNote error={d.error} />
      {v ? (
        <>
          <Facts
            rows={[
              ['Status', <Status value={v.status} />],
              [
                'Event',
                who === 'operator' ? (
                  <a href={href(`/events/${encodeURIComponent(v.eventId)}`)}>{v.eventId}</a>
                ) : (
                  v.eventId
                ),
              ],
              ['Event type', v.eventType],
              [
                'Endpoint',
                who === 'operator' ? (
                  <a href={href(`/endpoints/${v.endpointId}`)}>{v.endpointId}</a>
                ) : (
                  v.endpointId
                ),
              ],
              ['Attempts', String(v.attemptCount)],
              ['Next attempt', <When at={v.nextAttemptAt} />],
              ['Last error', v.lastError ?? '—'],
              ...(v.waitingFor ? ([['Waiting for', v.waitingFor]] as [string, string][]) : []),
              ...(v.workflowId
                ? ([['Workflow', <code>{v.workflowId}</code>]] as [string, preact.JSX.Element][])
                : []),
            ]}
          />
          {who === 'operator' ? (
            <div class="actions">
              <button
                type="button"
                disabled={action.busy || !['retrying', 'failed'].includes(v.status)}
                onClick={() => act('retry')}
              >
                Retry now
              </button>
              <button
                type="button"
                class="danger"
                disabled={action.busy || !['pending', 'retrying'].includes(v.status)}
                onClick={() => act('cancel')}
              >
                Cancel delivery
              </button>
            </div>
          ) : null}
          {action.note}
          <AttemptLog delivery={v} />
        </>
      ) : (
        <Loading loading={d.loading} />
      )}
    </section>
  );
}

function AttemptLog({ delivery }: { delivery: DeliveryDetail }) {
  return (
    <Table
      caption="Attempt log"
      head={[
        '#',
        'Started',
        'Status code',
        'Duration',
        'Error',
        'Response body (preview)',
        'Request as sent',
      ]}
      empty={delivery.attempts.length === 0}
    >
      {delivery.attempts.map((a) => (
        <tr key={a.number}>
          <td class="num">{a.number}</td>
          <td>
            <When at={a.startedAt} />
          </td>
          <td class="num">{a.statusCode ?? '—'}</td>
          <td class="num">{a.durationMs} ms</td>
          <td>{a.error ?? ''}</td>
          <td>
            {a.responseBody !== null ? (
              <pre class="preview" tabIndex={0} aria-label={`Response body of attempt ${a.number}`}>
                {a.responseBody}
              </pre>
            ) : (
              <span class="muted">none</span>
            )}
            {a.responseContentType ? (
              <small class="muted">
                {a.responseContentType}, {a.responseBytes} bytes
              </small>
            ) : null}
          </td>
          <td>
            <RequestSent attempt={a} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** The request as it went out (the API masks secret header values), folded away until asked for. */
function RequestSent({ attempt }: { attempt: Attempt }) {
  const r = attempt.request;
  if (!r) return <span class="muted">not kept</span>;
  const text = [
    `${r.method} ${r.url}`,
    ...Object.entries(r.headers).map(([k, v]) => `${k}: ${v}`),
    ...(r.body === null ? [] : ['', r.body + (r.bodyBytes > r.body.length ? ' …' : '')]),
  ].join('\n');
  return (
    <details>
      <summary>
        {r.method} request of attempt {attempt.number}
      </summary>
      <pre class="preview" tabIndex={0} aria-label={`Request of attempt ${attempt.number}`}>
        {text}
      </pre>
    </details>
  );
}
