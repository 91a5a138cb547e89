import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { z } from 'zod';
import { findEndpoint, type Endpoint } from '../../db/endpoints.js';
import type { Pool } from '../../db/pool.js';
import type { DeliveryRuntime } from '../../delivery/deps.js';
import { openHeaders, sealHeaders } from '../../delivery/sealed-headers.js';
import { validateEndpointUrl } from '../../delivery/ssrf.js';
import { parseDuration } from '../../domain/duration.js';
import { renderTemplate } from '../../domain/postback/macros.js';
import { resolvePostbackConfig, type PostbackSettings } from '../../domain/postback/presets.js';
import { errors, type AppError } from '../../errors.js';
import { ErrorOut } from '../../contract/common.js';
import { toEndpointOut } from '../schemas/endpoints.js';

/** What the endpoint routes (endpoints.ts, endpoint-actions.ts) share: deps, input checks, lookups. */

export interface EndpointRouteDeps {
  pool: Pool;
  delivery: DeliveryRuntime;
  client: () => Promise<Client>;
  taskQueue: string;
  secretRotationGraceMs: number;
  defaultTimeoutMs: number;
  /** Where the sweep that ends a disabled or deleted endpoint's waiting deliveries reports. */
  logger: Logger;
}

const MAX_TIMEOUT_MS = 60_000;
export const IdParams = z.object({ id: z.string().regex(/^ep_[A-Za-z0-9]{1,40}$/, 'an endpoint id') });
export const notFound = { description: 'No such endpoint for this operator', schema: ErrorOut };

export function invalid(path: string, message: string): AppError {
  return errors.validation([{ code: 'custom', path: path.split('.'), message, input: undefined }]);
}

export type EndpointContext = ReturnType<typeof endpointContext>;

export function endpointContext(deps: EndpointRouteDeps) {
  const checkUrl = (url: string | undefined) => {
    if (url === undefined) return;
    const problem = validateEndpointUrl(url, deps.delivery.ssrf);
    if (problem) throw invalid('url', problem);
  };
  // A postback goes to its template's host, not necessarily the url's: that host passes the same guard.
  const checkPostbackUrls = (url: string, postback: PostbackSettings | null | undefined) => {
    if (!postback) return;
    const resolved = resolvePostbackConfig(url, postback);
    if (!resolved.ok) return; // refused by validation already
    const { template, reversalTemplate } = resolved.config;
    for (const [path, parsed] of [
      ['postback.template', template],
      ['postback.reversalTemplate', reversalTemplate],
    ] as const) {
      if (!parsed) continue;
      // Hosts are literal in a valid template, so the URL with every macro empty has the host sent to.
      const problem = validateEndpointUrl(renderTemplate(parsed, {}, 'url').text, deps.delivery.ssrf);
      if (problem) throw invalid(path, problem);
    }
  };
  const timeoutMs = (timeout: string | null | undefined): number | undefined => {
    if (timeout === undefined) return undefined;
    if (timeout === null) return deps.defaultTimeoutMs;
    const ms = parseDuration(timeout);
    if (ms < 100 || ms > MAX_TIMEOUT_MS) throw invalid('timeout', 'between 100ms and 60s');
    return ms;
  };
  const mustFind = async (operatorId: string, id: string) => {
    const endpoint = await findEndpoint(deps.pool, operatorId, id);
    if (!endpoint) throw errors.notFound(`Endpoint ${id}`);
    return endpoint;
  };
  // Custom headers are stored sealed (they often hold the receiver's credentials); the operator reads them.
  const out = (e: Endpoint, secret?: string) =>
    toEndpointOut(e, openHeaders(deps.delivery.cipher, e.id, e.headers), secret);
  const seal = (id: string, headers: Record<string, string>) =>
    sealHeaders(deps.delivery.cipher, id, headers);
  return { deps, checkUrl, checkPostbackUrls, timeoutMs, mustFind, out, seal };
}
