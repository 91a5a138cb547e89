/** Inbound sources: how each verifies its senders and where they send (never a secret or token). */
import { call, query, type Page } from '../api';
import type { Source } from '../types';
import { ErrorNote, go, Loading, Pager, Table, useLoad, When } from '../ui';

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
                <td>{s.id}</td>
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
