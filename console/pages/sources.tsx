/**
 * Inbound sources: how each verifies its senders and where they send (never a secret or token), and one
 * source's recent requests: accepted, or refused and why.
 */
import { call, query, type Page } from '../api';
import type { Source } from '../types';
import { ErrorNote, go, href, Loading, Pager, Table, useLoad, When } from '../ui';

export function SourcesPage({ params }: { params: URLSearchParams }) {
  const cursor = params.get('cursor');
  const path = `/v1/sources${query({ cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<Source>>('operator', 'GET', path), path);
  return (
    <section aria-labelledby="sources-title">
      <h1 id="sources-title">Inbound sources</h1>
      <ErrorNote error={list.error} />
      <Loading loading={list.loading} />
      {list.data ? (
        <>
          <Table
            caption="Inbound sources, newest first"
            head={['Source', 'Name', 'Verification', 'IP allowlist', 'Inbound URL', 'Created']}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((s) => (
              <tr key={s.id}>
                <td>
                  <a href={href(`/sources/${s.id}`)}>{s.id}</a>
                </td>
                <td>{s.name}</td>
                <td>{s.verification.type}</td>
                <td>{s.ipAllowlist.join(', ') || 'any'}</td>
                <td>
                  <code>{s.inboundUrl}</code>
                </td>
                <td>
                  <When at={s.createdAt} />
                </td>
              </tr>
            ))}
          </Table>
          <Pager cursor={cursor} next={list.data.nextCursor} onPage={(c) => go('/sources', { cursor: c })} />
        </>
      ) : null}
    </section>
  );
}

interface InboundRequest {
  id: string;
  receivedAt: string;
  method: string;
  ip: string;
  status: number;
  outcome: 'accepted' | 'refused';
  reason: string | null;
  eventIds: string[];
}

export function SourcePage({ id, params }: { id: string; params: URLSearchParams }) {
  const base = `/v1/sources/${encodeURIComponent(id)}`;
  const source = useLoad(() => call<Source>('operator', 'GET', base), base);
  const cursor = params.get('cursor');
  const path = `${base}/requests${query({ cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<InboundRequest>>('operator', 'GET', path), path);
  return (
    <section aria-labelledby="source-title">
      <p>
        <a href={href('/sources')}>← Inbound sources</a>
      </p>
      <h1 id="source-title">
        Source {id}
        {source.data ? `: ${source.data.name}` : ''}
      </h1>
      <ErrorNote error={source.error ?? list.error} />
      <Loading loading={list.loading && !list.data} />
      {list.data ? (
        <>
          <Table
            caption="Requests of the last 7 days, newest first"
            head={['Received', 'Method', 'From', 'Answer', 'Outcome', 'Why', 'Events']}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((r) => (
              <tr key={r.id}>
                <td>
                  <When at={r.receivedAt} />
                </td>
                <td>{r.method}</td>
                <td>{r.ip}</td>
                <td class="num">{r.status}</td>
                <td>
                  <span class={`status status-${r.outcome === 'accepted' ? 'succeeded' : 'failed'}`}>
                    {r.outcome}
                  </span>
                </td>
                <td>{r.reason ?? ''}</td>
                <td>
                  {r.eventIds.slice(0, 5).map((e) => (
                    <a key={e} href={href(`/events/${encodeURIComponent(e)}`)} class="tag">
                      {e}
                    </a>
                  ))}
                  {r.eventIds.length > 5 ? ` and ${r.eventIds.length - 5} more` : ''}
                </td>
              </tr>
            ))}
          </Table>
          <Pager
            cursor={cursor}
            next={list.data.nextCursor}
            onPage={(c) => go(`/sources/${id}`, { cursor: c })}
          />
        </>
      ) : null}
    </section>
  );
}
