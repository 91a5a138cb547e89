/**
 * The operator console and the affiliate portal, one bundle: the page's `data-app` says which runs. Both
 * call only the documented REST API (console/api.ts), with the credential in a header.
 */
import { render } from 'preact';
import { useState } from 'preact/hooks';
import './console.css';
import { ApiError, call, credential, forget, remember } from './api';
import { AffiliatePage, AffiliatesPage } from './pages/affiliates';
import { DeliveriesPage, DeliveryPage } from './pages/deliveries';
import { EndpointPage, EndpointsPage } from './pages/endpoints';
import { EventLookup, EventPage } from './pages/event';
import { SourcePage, SourcesPage } from './pages/sources';
import { PortalApp } from './portal';
import { Field, href, useHashRoute } from './ui';

const NAV: [string, string][] = [
  ['/deliveries', 'Deliveries'],
  ['/events', 'Events'],
  ['/endpoints', 'Endpoints'],
  ['/affiliates', 'Affiliates'],
  ['/sources', 'Inbound sources'],
];

function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      // Any operator route tells whether the key is good; this one is cheap.
      await call('operator', 'GET', '/v1/endpoints?limit=1', undefined, key.trim());
      remember('operator', key.trim());
      onSignedIn();
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 ? 'That API key was refused.' : (err as Error).message,
      );
    }
  };
  return (
    <main class="signin">
      <h1>affiliate-hooks console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <Field
          label="Operator API key"
          hint="Kept in this tab only (sessionStorage); sent as a header, never in a URL."
        >
          <input
            type="password"
            name="apiKey"
            autoComplete="off"
            required
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
          />
        </Field>
        <button type="submit">Sign in</button>
        {error ? (
          <p class="error" role="alert">
            {error}
          </p>
        ) : null}
      </form>
    </main>
  );
}

function Page({ path, params }: { path: string; params: URLSearchParams }) {
  const [, section, id] = path.split('/').map(decodeURIComponent);
  if (section === 'deliveries' && id) return <DeliveryPage who="operator" id={id} />;
  if (section === 'events' && id) return <EventPage id={id} />;
  if (section === 'events')
    return (
      <section>
        <h1>Events</h1>
        <p>An event's story: what came in, what was derived, where it went and what it earned.</p>
        <EventLookup />
      </section>
    );
  if (section === 'endpoints' && id) return <EndpointPage id={id} />;
  if (section === 'endpoints') return <EndpointsPage params={params} />;
  if (section === 'affiliates' && id) return <AffiliatePage id={id} params={params} />;
  if (section === 'affiliates') return <AffiliatesPage params={params} />;
  if (section === 'sources' && id) return <SourcePage id={id} params={params} />;
  if (section === 'sources') return <SourcesPage params={params} />;
  return <DeliveriesPage who="operator" params={params} />;
}

function ConsoleApp() {
  const [signedIn, setSignedIn] = useState(() => credential('operator') !== null);
  const { path, params } = useHashRoute();
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const current = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <strong>affiliate-hooks</strong>
        <nav aria-label="Console">
          {NAV.map(([to, label]) => (
            <a
              key={to}
              href={href(to)}
              aria-current={current === to || (current === '/' && to === '/deliveries') ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            forget('operator');
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={path} params={params} />
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the shell's "Loading…": render adds to what is there
render(root.dataset.app === 'portal' ? <PortalApp /> : <ConsoleApp />, root);
