/**
 * An event's story (GET /v1/events/{id}): as received, what was derived (FTD, attribution), how the
 * commission engine took it, every delivery (its attempt log one click away) and the commissions it moved,
 * with links to its workflow and its customer's in the Temporal Web UI.
 */
import { useState } from 'preact/hooks';
import { call } from '../api';
import type { EventStory } from '../types';
import { ErrorNote, Facts, Field, go, href, Json, Loading, Status, Table, useLoad, When } from '../ui';

function temporalLink(workflowId: string): string | null {
  const ui = document.querySelector<HTMLMetaElement>('meta[name="temporal-ui-url"]')?.content;
  const ns = document.querySelector<HTMLMetaElement>('meta[name="temporal-namespace"]')?.content || 'default';
  if (!ui) return null;
  return `${ui.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(workflowId)}`;
}

function Workflow({ id, label }: { id: string; label: string }) {
  const link = temporalLink(id);
  return link ? (
    <a
      href={link}
      target="_blank"
      rel="noopener noreferrer"
      aria-label={`${label} ${id} in the Temporal Web UI`}
    >
      {id} ↗
    </a>
  ) : (
    <code>{id}</code>
  );
}

export function EventLookup() {
  const [id, setId] = useState('');
  return (
    <form
      class="inline"
      aria-label="Open an event"
      onSubmit={(e) => {
        e.preventDefault();
        if (id.trim()) go(`/events/${encodeURIComponent(id.trim())}`);
      }}
    >
      <Field label="Event id">
        <input name="eventId" value={id} onInput={(e) => setId((e.target as HTMLInputElement).value)} />
      </Field>
      <button type="submit">Open story</button>
    </form>
  );
}

export function EventPage({ id }: { id: string }) {
  const path = `/v1/events/${encodeURIComponent(id)}`;
  const ev = useLoad(() => call<EventStory>('operator', 'GET', path), path);
  const e = ev.data;
  return (
    <section aria-labelledby="event-title">
      <h1 id="event-title">Event {id}</h1>
      <ErrorNote error={ev.error} />
      <Loading loading={ev.loading && !e} />
      {e ? (
        <>
          <h2>As received</h2>
          <Facts
            rows={[
              ['Type', e.type],
              ['Customer', e.customerId || '—'],
              ['Brand', e.brand ?? '—'],
              ['Occurred', <When at={e.occurredAt} />],
              ['Received', <When at={e.receivedAt} />],
              ['Came through', e.sourceId ? `inbound source ${e.sourceId}` : 'the REST API'],
              ['Processing', <Status value={e.status} />],
              ['Processed', <When at={e.processedAt} />],
            ]}
          />
          <Json
            value={{ attribution: e.attribution, data: e.data }}
            label="The event's attribution and data as received"
          />
          <h2>Derived</h2>
          <Facts
            rows={[
              ['First-time deposit (FTD)', e.derived.ftd ? 'yes' : 'no'],
              ['Attributed to', String(e.effectiveAttribution?.affiliateId ?? '—')],
              [
                'Settlement',
                e.settlement
                  ? `${e.settlement.status}${e.settlement.error ? `: ${e.settlement.error}` : ''}`
                  : 'not a commission event',
              ],
              ['Event workflow', <Workflow id={e.workflowId} label="Event workflow" />],
              [
                'Customer workflow',
                e.customerWorkflowId ? <Workflow id={e.customerWorkflowId} label="Customer workflow" /> : '—',
              ],
            ]}
          />
          {e.evaluation?.length ? (
            <Table
              caption="How the deal judged it"
              head={['Affiliate', 'Rule', 'Outcome', 'Reason', 'Detail']}
              empty={false}
            >
              {e.evaluation.map((x, i) => (
                <tr key={i}>
                  <td>{x.affiliateId ?? '—'}</td>
                  <td>{x.rule ?? '—'}</td>
                  <td>{x.outcome}</td>
                  <td>{x.reason}</td>
                  <td>{x.detail}</td>
                </tr>
              ))}
            </Table>
          ) : null}
          <Table
            caption="Deliveries"
            head={['Delivery', 'Status', 'Type', 'Endpoint', 'Attempts', 'Last error']}
            empty={e.deliveries.length === 0}
          >
            {e.deliveries.map((d) => (
              <tr key={d.id}>
                <td>
                  <a href={href(`/deliveries/${d.id}`)}>{d.id}</a>
                </td>
                <td>
                  <Status value={d.status} />
                </td>
                <td>{d.eventType}</td>
                <td>
                  <a href={href(`/endpoints/${d.endpointId}`)}>{d.endpointId}</a>
                </td>
                <td class="num">{d.attemptCount}</td>
                <td class="clip">{d.lastError ?? ''}</td>
              </tr>
            ))}
          </Table>
          <Table
            caption="Commissions it moved"
            head={['Commission', 'Affiliate', 'Rule', 'Amount', 'Status', 'Reason']}
            empty={e.commissions.length === 0}
          >
            {e.commissions.map((c) => (
              <tr key={c.id}>
                <td>{c.id}</td>
                <td>
                  <a href={href(`/affiliates/${encodeURIComponent(c.affiliateId)}`)}>{c.affiliateId}</a>
                </td>
                <td>{c.rule}</td>
                <td class="num">
                  {c.amount} {c.currency}
                </td>
                <td>
                  <Status value={c.status} />
                </td>
                <td>{c.reason ?? ''}</td>
              </tr>
            ))}
          </Table>
        </>
      ) : null}
    </section>
  );
}
