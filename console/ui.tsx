/** Small shared pieces: the hash router, data loading, tables, status labels, errors, forms. */
import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

/** The route after `#`: path and query, e.g. `/deliveries?status=failed`. */
export function useHashRoute(): { path: string; params: URLSearchParams } {
  const read = () => {
    const [path = '', q = ''] = location.hash.replace(/^#/, '').split('?');
    return { path: path || '/', params: new URLSearchParams(q) };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => setRoute(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

export function go(path: string, params: Record<string, string | undefined | null> = {}): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = `${path}${s ? `?${s}` : ''}`;
}

export function href(path: string): string {
  return `#${path}`;
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` whenever `key` changes; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [key, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const code = error instanceof ApiError ? ` (${error.status} ${error.code})` : '';
  return (
    <p class="error" role="alert">
      {error.message}
      {code}
    </p>
  );
}

export function Loading({ loading }: { loading: boolean }) {
  return loading ? (
    <p class="muted" role="status">
      Loading…
    </p>
  ) : null;
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value}`}>{value}</span>;
}

export function When({ at }: { at: string | null | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const d = new Date(at);
  return (
    <time dateTime={at}>
      {d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')}
    </time>
  );
}

export function Json({ value, label }: { value: unknown; label: string }) {
  return (
    <pre class="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/** A table with a caption (read by screen readers) and a note when empty. */
export function Table(props: {
  caption: string;
  head: string[];
  children: ComponentChildren;
  empty: boolean;
}) {
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.empty ? (
            <tr>
              <td colSpan={props.head.length} class="muted">
                Nothing here.
              </td>
            </tr>
          ) : (
            props.children
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Server-side paging: the API's cursor for the next page; the first page is the one without a cursor. */
export function Pager(props: {
  cursor: string | null | undefined;
  next: string | null;
  onPage: (c: string | null) => void;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={!props.cursor} onClick={() => props.onPage(null)}>
        First page
      </button>
      <button type="button" disabled={!props.next} onClick={() => props.onPage(props.next)}>
        Next page
      </button>
    </nav>
  );
}

export function Field(props: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      {props.children}
      {props.hint ? <small class="muted">{props.hint}</small> : null}
    </label>
  );
}

export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Runs an action from a button, showing what it answered or why it failed. */
export function useAction(): {
  run: (what: () => Promise<string>) => Promise<void>;
  busy: boolean;
  note: JSX.Element | null;
} {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async (what: () => Promise<string>) => {
    setBusy(true);
    setResult(null);
    try {
      setResult({ ok: true, text: await what() });
    } catch (err) {
      const e = err as Error;
      setResult({
        ok: false,
        text: e instanceof ApiError ? `${e.message} (${e.status} ${e.code})` : e.message,
      });
    } finally {
      setBusy(false);
    }
  };
  const note = result ? (
    <p class={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'}>
      {result.text}
    </p>
  ) : null;
  return { run, busy, note };
}

/** `datetime-local` (the browser's local time) as RFC 3339 UTC, or undefined when empty. */
export function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** RFC 3339 as the value of a `datetime-local` control (local time). */
export function toLocal(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
