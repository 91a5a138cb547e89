import assert from 'node:assert/strict';
import type { z } from 'zod';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { EVENT_DETAILS_SCHEMAS, webhookBodySchema } from '../../src/contract/emitted-events.js';
import { eventTypeEntry } from '../../src/contract/event-type-catalogue.js';
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

const ajv = new Ajv2020({ strict: false, allErrors: true });

/**
 * That a webhook body an endpoint received is what the OpenAPI `webhooks` entry of its type describes, and
 * what the JSON Schema `GET /v1/event-types` publishes for it accepts (read by Ajv, as a receiver would).
 */
export function assertDocumentedWebhook(body: { type: string; data: { details: Record<string, unknown> } }) {
  const parsed = webhookBodySchema(body.type as EventType).safeParse(body);
  assert.ok(parsed.success, `${body.type} body as documented: ${JSON.stringify(parsed.error?.issues)}`);
  const validate = ajv.compile(eventTypeEntry(body.type as EventType).schema);
  assert.ok(
    validate(body),
    `${body.type} body under its published schema: ${JSON.stringify(validate.errors)}`,
  );
  assertDocumentedDetails(body.type, body.data.details);
}
