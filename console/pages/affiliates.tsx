/**
 * Affiliates: the list, and one affiliate with its deal, balances
 * (payable included), commissions filtered by status with approve and reject for pending ones, and its
 * portal links (a new one is shown once, as the portal URL).
 */
import { useState } from 'preact/hooks';
import { call, query, type Page } from '../api';
import type { Affiliate, Balance, Commission } from '../types';
import {
  ErrorNote,
  Facts,
  Field,
  go,
  Json,
  Loading,
  Pager,
  Status,
  Table,
  useAction,
  useLoad,
  When,
} from '../ui';

export function AffiliatesPage({ params }: { params: URLSearchParams }) {
  const [id, setId] = useState('');
  const status = params.get('status') ?? '';
  const cursor = params.get('cursor');
  const path = `/v1/affiliates${query({ status, cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<Affiliate>>('operator', 'GET', path), path);
  return (
    <section aria-labelledby="affiliates-title">
      <h1 id="affiliates-title">Affiliates</h1>
      <div class="filters">
        <form class="inline" aria-label="Filter affiliates" onSubmit={(e) => e.preventDefault()}>
          <Field label="Status">
            <select
              name="status"
              value={status}
              onChange={(e) => go('/affiliates', { status: (e.target as HTMLSelectElement).value })}
            >
              <option value="">any</option>
              <option value="active">active</option>
              <option value="suspended">suspended</option>
            </select>
          </Field>
        </form>
        <form
          class="inline"
          aria-label="Open an affiliate"
          onSubmit={(e) => {
            e.preventDefault();
            if (id.trim()) go(`/affiliates/${encodeURIComponent(id.trim())}`);
          }}
        >
          <Field label="Affiliate id">
            <input
              name="affiliateId"
              value={id}
              onInput={(e) => setId((e.target as HTMLInputElement).value)}
            />
          </Field>
          <button type="submit">Open</button>
        </form>
      </div>
      <ErrorNote error={list.error} />
      <Loading loading={list.loading} />
      {list.data ? (
        <>
          <Table
            caption="Affiliates, newest first"
            head={['Affiliate', 'Name', 'Status', 'Deal', 'Updated']}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((a) => (
              <tr key={a.affiliateId}>
                <td>
                  <a href={`#/affiliates/${encodeURIComponent(a.affiliateId)}`}>{a.affiliateId}</a>
                </td>
                <td>{a.name}</td>
                <td>
                  <Status value={a.status} />
                </td>
                <td>{String(a.deal.model ?? '')}</td>
                <td>
                  <When at={a.updatedAt} />
                </td>
              </tr>
            ))}
          </Table>
          <Pager
            cursor={cursor}
            next={list.data.nextCursor}
            onPage={(c) => go('/affiliates', { status, cursor: c })}
          />
        </>
      ) : null}
    </section>
  );
}

export function AffiliatePage({ id, params }: { id: string; params: URLSearchParams }) {
  const base = `/v1/affiliates/${encodeURIComponent(id)}`;
  const aff = useLoad(() => call<Affiliate>('operator', 'GET', base), base);
  const bal = useLoad(
    () => call<{ balances: Balance[] }>('operator', 'GET', `${base}/balance`),
    `${base}/balance`,
  );
  const a = aff.data;
  return (
    <section aria-labelledby="affiliate-title">
      <h1 id="affiliate-title">Affiliate {id}</h1>
      <ErrorNote error={aff.error} />
      <Loading loading={aff.loading && !a} />
      {a ? (
        <>
          <Facts
            rows={[
              ['Name', a.name],
              ['Status', <Status value={a.status} />],
              ['Updated', <When at={a.updatedAt} />],
            ]}
          />
          <h2>Deal</h2>
          <Json value={a.deal} label="The affiliate's deal" />
          {bal.data ? (
            <Table
              caption="Balances"
              head={['Currency', 'Pending', 'Approved', 'Reversed', 'Payable']}
              empty={bal.data.balances.length === 0}
            >
              {bal.data.balances.map((b) => (
                <tr key={b.currency}>
                  <td>{b.currency}</td>
                  <td class="num">{b.pending}</td>
                  <td class="num">{b.approved}</td>
                  <td class="num">{b.reversed}</td>
                  <td class="num">{b.payable}</td>
                </tr>
              ))}
            </Table>
          ) : null}
          <Commissions id={id} base={base} params={params} onChange={bal.reload} />
          <PortalLinks base={base} />
        </>
      ) : null}
    </section>
  );
}

function Commissions(props: { id: string; base: string; params: URLSearchParams; onChange: () => void }) {
  const status = props.params.get('status') ?? '';
  const cursor = props.params.get('cursor');
  const path = `${props.base}/commissions${query({ status, cursor, limit: '50' })}`;
  const list = useLoad(() => call<Page<Commission>>('operator', 'GET', path), path);
  const action = useAction();
  const here = `/affiliates/${encodeURIComponent(props.id)}`;
  const decide = (c: Commission, verb: 'approve' | 'reject') =>
    action.run(async () => {
      let body: unknown;
      if (verb === 'reject') {
        const reason = prompt(`Why reject ${c.id}?`);
        if (!reason) return 'Not rejected.';
        body = { reason };
      }
      await call('operator', 'POST', `/v1/commissions/${c.id}/${verb}`, body);
      list.reload();
      props.onChange();
      return `${c.id} ${verb === 'approve' ? 'approved' : 'rejected'}.`;
    });
  return (
    <>
      <h2>Commissions</h2>
      <form class="inline" aria-label="Filter commissions" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          <select
            name="status"
            value={status}
            onChange={(e) => go(here, { status: (e.target as HTMLSelectElement).value })}
          >
            <option value="">any</option>
            {['pending', 'approved', 'rejected', 'reversed'].map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <ErrorNote error={list.error} />
      {action.note}
      {list.data ? (
        <>
          <Table
            caption="Commissions, newest first"
            head={['Commission', 'Customer', 'Event', 'Rule', 'Amount', 'Status', 'Hold until', 'Reason', '']}
            empty={list.data.data.length === 0}
          >
            {list.data.data.map((c) => (
              <tr key={c.id}>
                <td>{c.id}</td>
                <td>{c.customerId}</td>
                <td>
                  {c.eventId ? <a href={`#/events/${encodeURIComponent(c.eventId)}`}>{c.eventId}</a> : '—'}
                </td>
                <td>{c.rule}</td>
                <td class="num">
                  {c.amount} {c.currency}
                </td>
                <td>
                  <Status value={c.status} />
                </td>
                <td>
                  <When at={c.holdUntil} />
                </td>
                <td>{c.reason ?? ''}</td>
                <td>
                  {c.status === 'pending' ? (
                    <span class="actions">
                      <button
                        type="button"
                        disabled={action.busy}
                        onClick={() => decide(c, 'approve')}
                        aria-label={`Approve ${c.id}`}
                      >
                        Approve
                      </button>
                      <button
                        type="button"
                        class="danger"
                        disabled={action.busy}
                        onClick={() => decide(c, 'reject')}
                        aria-label={`Reject ${c.id}`}
                      >
                        Reject
                      </button>
                    </span>
                  ) : null}
                </td>
              </tr>
            ))}
          </Table>
          <Pager
            cursor={cursor}
            next={list.data.nextCursor}
            onPage={(c) => go(here, { status, cursor: c })}
          />
        </>
      ) : null}
    </>
  );
}

function PortalLinks({ base }: { base: string }) {
  const action = useAction();
  const [url, setUrl] = useState<string | null>(null);
  return (
    <>
      <h2>Portal link</h2>
      <p>
        A read-only view for the affiliate: its endpoints, deliveries, commissions and balances, for 24 hours.
      </p>
      <div class="actions">
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const link = await call<{ id: string; token: string; expiresAt: string }>(
                'operator',
                'POST',
                `${base}/portal-links`,
                {},
              );
              setUrl(`${location.origin}/portal#${link.token}`);
              return `Link ${link.id} made; it works until ${link.expiresAt}. It is shown once: copy it now.`;
            })
          }
        >
          Make a portal link
        </button>
      </div>
      {action.note}
      {url ? (
        <Field label="Portal link (give it to the affiliate)">
          <input
            readOnly
            value={url}
            name="portalLink"
            onFocus={(e) => (e.target as HTMLInputElement).select()}
          />
        </Field>
      ) : null}
    </>
  );
}
