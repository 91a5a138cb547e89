import assert from 'node:assert/strict';
import type { z } from 'zod';
import { EVENT_DETAILS_SCHEMAS, webhookBodySchema } from '../../src/contract/emitted-events.js';
import { isInboundEventType, type EventType } from '../../src/domain/event-types.js';

/**
 * That `details` of a `type` is what docs/events.md and the OpenAPI `webhooks` say: valid under the type's
 * schema, and, for a type the orchestrator emits, no field the documentation leaves out.
 */
export function assertDocumentedDetails(type: string, details: Record<string, unknown>): void {
  const schema = EVENT_DETAILS_SCHEMAS[type as EventType] as z.ZodObject | undefined;
  assert.ok(schema, `${type} is in the event catalogue`);
  const parsed = schema.safeParse(details);
  assert.ok(parsed.success, `${type} details as documented: ${JSON.stringify(parsed.error?.issues)}`);
  if (isInboundEventType(type)) return; // operators may send more fields; they pass through as sent
  const undocumented = Object.keys(details).filter((k) => !(k in schema.shape));
  assert.deepEqual(undocumented, [], `${type} carries fields docs/events.md does not list`);
}

/** That a webhook body an endpoint received is what the OpenAPI `webhooks` entry of its type describes. */
export function assertDocumentedWebhook(body: { type: string; data: { details: Record<string, unknown> } }) {
  const parsed = webhookBodySchema(body.type as EventType).safeParse(body);
  assert.ok(parsed.success, `${body.type} body as documented: ${JSON.stringify(parsed.error?.issues)}`);
  assertDocumentedDetails(body.type, body.data.details);
}
