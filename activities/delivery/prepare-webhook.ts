import type { SecretCipher } from '../../src/delivery/secrets.js';
import { signPayload } from '../../src/delivery/signing.js';
import { judgeAttempt } from '../../src/domain/delivery-outcome.js';
import { recordedWebhookBody } from '../../src/domain/webhook-payload.js';
import { customHeaders, type PreparedRequest } from './prepared.js';
import type { DeliveryContext } from './types.js';

/**
 * A webhook endpoint's request: the Standard Webhooks JSON body, signed afresh on every attempt with the
 * current secret and those still in their grace period. The delivery id is the `webhook-id`.
 */
export function prepareWebhook(
  cipher: SecretCipher,
  ctx: DeliveryContext,
  deliveryId: string,
  now: Date,
): PreparedRequest {
  const body = JSON.stringify(
    recordedWebhookBody(ctx.event_type, {
      eventId: ctx.event_id,
      type: ctx.event_kind,
      occurredAt: ctx.occurred_at,
      payload: ctx.payload,
      facts: ctx.facts,
    }),
  );
  const secrets = [
    cipher.decrypt(ctx.secret_sealed, ctx.endpoint_id),
    ...ctx.previous_secrets
      .filter((s) => new Date(s.expiresAt) > now)
      .map((s) => cipher.decrypt(s.sealed, ctx.endpoint_id)),
  ];
  const custom = customHeaders(cipher, ctx);
  return {
    send(http, startedAt, signal) {
      const headers = {
        'user-agent': 'affiliate-hooks/1',
        ...custom,
        'content-type': 'application/json',
        ...signPayload({ msgId: deliveryId, timestamp: startedAt, body, secrets }),
      };
      return http.post(ctx.url, headers, body, ctx.timeout_ms, signal);
    },
    judge: (outcome) => judgeAttempt(outcome.statusCode),
    note: null,
  };
}
