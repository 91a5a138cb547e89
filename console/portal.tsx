/**
 * The affiliate portal, opened from a portal link `/portal#ahp_...`: the token is read from the fragment
 * (never sent to the server in a URL), kept for this tab, and the fragment is cleared. Every call goes to
 * /v1/portal/..., which answers the link's affiliate's data only.
 */
import { useState } from 'preact/hooks';
import { ApiError, call, credential, forget, remember, type Page } from './api';
import { DeliveriesPage, DeliveryPage } from './pages/deliveries';
import type { Balance, Commission, Endpoint } from './types';
import { ErrorNote, href, Loading, Status, Table, useAction, useHashRoute, useLoad, When } from './ui';

interface Me {
  affiliateId: string;
  name: string;
  status: string;
  link: { id: string; scope: string[]; expiresAt: string };
}

/** Takes a token from the link's fragment once, then leaves only the page's own routes in it. */
function tokenFromLink(): void {
  const fragment = location.hash.replace(/^#/, '');
  if (fragment.startsWith('ahp_')) {
    remember('portal', fragment);
    history.replaceState(null, '', `${location.pathname}#/`);
  }
}

export function PortalApp() {
  useState(tokenFromLink);
  const { path, params } = useHashRoute();
  const me = useLoad(() => call<Me>('portal', 'GET', '/v1/portal/me'), 'me');
  if (!credential('portal'))
    return (
      <main>
        <h1>Affiliate portal</h1>
        <p>Open the portal link your operator gave you.</p>
      </main>
    );
  const [, section, id] = path.split('/').map(decodeURIComponent);
  return (
    <>
      <header>
        <strong>Affiliate portal{me.data ? `: ${me.data.name} (${me.data.affiliateId})` : ''}</strong>
        <nav aria-label="Portal">
          <a href={href('/')}>Overview</a>
          <a href={href('/deliveries')}>Deliveries</a>
        </nav>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            forget('portal');
            location.reload();
          }}
        >
          Leave
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {me.error instanceof ApiError && me.error.status === 401 ? (
          <p class="error" role="alert">
            This portal link has expired or was revoked. Ask your operator for a new one.
          </p>
        ) : (
          <ErrorNote error={me.error} />
        )}
        <Loading loading={me.loading && !me.data} />
        {me.data ? (
          section === 'deliveries' && id ? (
            <DeliveryPage who="portal" id={id} />
          ) : section === 'deliveries' ? (
            <DeliveriesPage who="portal" params={params} />
          ) : (
            <Overview me={me.data} />
          )
        ) : null}
      </main>
    </>
  );
}

function Overview({ me }: { me: Me }) {
  const can = (scope: string) => me.link.scope.includes(scope);
  return (
    <>
      <h1>{me.name}</h1>
      <p>
        Affiliate <code>{me.affiliateId}</code>, <Status value={me.status} />; this link works until{' '}
        <When at={me.link.expiresAt} />.
      </p>
      {can('endpoints') ? <PortalEndpoints canTest={can('test')} /> : null}
      {can('commissions') ? <PortalMoney /> : null}
      {can('deliveries') ? (
        <p>
          <a href={href('/deliveries')}>Your deliveries and their attempt logs →</a>
        </p>
      ) : null}
    </>
  );
}

function PortalEndpoints({ canTest }: { canTest: boolean }) {
  const list = useLoad(
    () => call<Page<Endpoint>>('portal', 'GET', '/v1/portal/endpoints?limit=100'),
    'endpoints',
  );
  const action = useAction();
  const test = (id: string) =>
    action.run(async () => {
      const d = await call<{ id: string }>('portal', 'POST', `/v1/portal/endpoints/${id}/test`);
      return `Test sent: delivery ${d.id}.`;
    });
  return (
    <>
      <ErrorNote error={list.error} />
      {list.data ? (
        <Table
          caption="Your endpoints"
          head={['Endpoint', 'URL', 'Format', 'Events', 'Enabled', '']}
          empty={list.data.data.length === 0}
        >
          {list.data.data.map((e) => (
            <tr key={e.id}>
              <td>{e.id}</td>
              <td class="clip">{e.url}</td>
              <td>{e.format}</td>
              <td>{e.eventTypes.join(', ')}</td>
              <td>{e.enabled ? 'yes' : `no${e.disabledReason ? `: ${e.disabledReason}` : ''}`}</td>
              <td>
                {canTest ? (
                  <button
                    type="button"
                    disabled={action.busy}
                    onClick={() => test(e.id)}
                    aria-label={`Send a test to ${e.id}`}
                  >
                    Send test
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
      {action.note}
    </>
  );
}

function PortalMoney() {
  const balance = useLoad(
    () => call<{ balances: Balance[] }>('portal', 'GET', '/v1/portal/balance'),
    'balance',
  );
  const commissions = useLoad(
    () => call<Page<Commission>>('portal', 'GET', '/v1/portal/commissions?limit=50'),
    'commissions',
  );
  return (
    <>
      <ErrorNote error={balance.error ?? commissions.error} />
      {balance.data ? (
        <Table
          caption="Your balances"
          head={['Currency', 'Pending', 'Approved', 'Reversed', 'Payable']}
          empty={balance.data.balances.length === 0}
        >
          {balance.data.balances.map((b) => (
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
      {commissions.data ? (
        <Table
          caption="Your latest commissions"
          head={['Commission', 'Customer', 'Rule', 'Amount', 'Status', 'Created']}
          empty={commissions.data.data.length === 0}
        >
          {commissions.data.data.map((c) => (
            <tr key={c.id}>
              <td>{c.id}</td>
              <td>{c.customerId}</td>
              <td>{c.rule}</td>
              <td class="num">
                {c.amount} {c.currency}
              </td>
              <td>
                <Status value={c.status} />
              </td>
              <td>
                <When at={c.createdAt} />
              </td>
            </tr>
          ))}
        </Table>
      ) : null}
    </>
  );
}
