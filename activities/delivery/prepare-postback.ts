import { ApplicationFailure } from '@temporalio/activity';
import { finishDelivery } from '../../src/db/deliveries.js';
import { postbackContext, type UndoneDelivery } from '../../src/db/postback-context.js';
import type { Pool } from '../../src/db/pool.js';
import type { SecretCipher } from '../../src/delivery/secrets.js';
import { ACTIVITY_FAILURES } from '../../src/domain/activity-failures.js';
import {
  isCommissionNotificationType,
  postbackInputFromEvent,
} from '../../src/domain/postback/from-event.js';
import { postbackCarriage, undoneConversionKey } from '../../src/domain/postback/meaning.js';
import { resolvePostbackConfig } from '../../src/domain/postback/presets.js';
import { buildPostbackRequest } from '../../src/domain/postback/request.js';
import { judgePostbackResponse } from '../../src/domain/postback/success.js';
import { customHeaders, type PreparedRequest } from './prepared.js';
import type { ActivityPorts } from '../ports.js';
import type { DeliveryContext } from './types.js';

/**
 * A postback endpoint's request, rendered from the stored event, the same on every attempt and redrive.
 * A string back is why the delivery is not sent at all: a first deposit reaches a postback endpoint once,
 * as `deposit.ftd`, so the tracker never counts one deposit as two conversions; an event the endpoint
 * cannot carry (a chargeback without a reversal, a type that means nothing to a tracker: a subscription
 * saved before such were refused, or matched by a wildcard) is not sent through the conversion template;
 * and a chargeback or refund of a conversion never received has nothing to reverse.
 */
export async function preparePostback(
  pool: Pool,
  cipher: SecretCipher,
  ctx: DeliveryContext,
  ports?: ActivityPorts,
): Promise<PreparedRequest | string> {
  const resolved = resolvePostbackConfig(ctx.url, ctx.postback ?? {});
  if (!resolved.ok) {
    // Settings are validated when saved; these were saved by another version, or by hand.
    throw ApplicationFailure.nonRetryable(
      `the endpoint's postback settings are not valid: ${resolved.errors.join('; ')}`,
      ACTIVITY_FAILURES.postbackConfig,
    );
  }
  const carriage = postbackCarriage(resolved.config, ctx.event_type);
  if (!carriage.carried) return `not sent: ${carriage.reason}`;
  const data = ctx.payload.data ?? {};
  const undone = undoneConversionKey(ctx.event_type, data);
  const conversionEventId =
    isCommissionNotificationType(ctx.event_type) && typeof data.conversionEventId === 'string'
      ? data.conversionEventId
      : null;
  const found = await postbackContext(pool, {
    operatorId: ctx.operator_id,
    customerId: ctx.payload.customerId ?? '',
    conversionEventId,
    eventId: ctx.event_id,
    endpointId: ctx.endpoint_id,
    eventType: ctx.event_type,
    undone,
  });
  if (found.ftdDeliveryId) {
    return `sent once, as deposit.ftd (${found.ftdDeliveryId}), with the same transaction id`;
  }
  if (undone && !found.undone) {
    // Sending it would name no conversion ({conversion_id} empty): a tracker may reverse by a broader key.
    return `not sent: the ${undone.type} it undoes (${undone.field} ${undone.value}) was never received`;
  }
  const unsent = undone
    ? await undoUnsentConversion(pool, ports, ctx, undone.type, found.undoneDelivery)
    : null;
  if (unsent) return unsent;
  const request = buildPostbackRequest(
    resolved.config,
    postbackInputFromEvent({
      eventId: ctx.event_id,
      deliveredType: ctx.event_type,
      occurredAt: ctx.occurred_at.toISOString(),
      customerId: ctx.payload.customerId ?? null,
      attribution: ctx.facts?.effectiveAttribution ?? ctx.payload.attribution ?? null,
      data,
      customerCountry: found.country,
      conversion:
        found.undone ??
        (found.conversionType ? { type: found.conversionType, ftd: found.conversionFtd } : null),
    }),
  );
  const { successMatch } = resolved.config;
  // No Standard Webhooks headers: a tracker authenticates a postback by what its URL carries.
  const headers = {
    'user-agent': 'affiliate-hooks/1',
    ...customHeaders(cipher, ctx),
    ...(request.contentType ? { 'content-type': request.contentType } : {}),
  };
  return {
    send: (http, _startedAt, signal) =>
      http.send(request.method, request.url, headers, request.body, ctx.timeout_ms, signal),
    judge: (outcome) => judgePostbackResponse(outcome.statusCode, outcome.body, successMatch),
    note: request.missing.length
      ? `sent empty for want of a value: ${request.missing.map((name) => `{${name}}`).join(', ')}`
      : null,
  };
}

/**
 * A chargeback or refund whose conversion has not reached this endpoint's tracker: the tracker must end up
 * with neither. A conversion still waiting to be sent (pending, or retrying between attempts) is cancelled
 * through its event's workflow, with the reason; one that was never delivered (failed, cancelled) has
 * nothing to reverse. Either way the negative event is not sent. A conversion sent, or on the wire now
 * (its outcome unknown: the tracker may count it), is reversed as usual (null).
 */
async function undoUnsentConversion(
  pool: Pool,
  ports: ActivityPorts | undefined,
  ctx: DeliveryContext,
  undoneType: string,
  conversion: UndoneDelivery | null,
): Promise<string | null> {
  if (!conversion || conversion.status === 'succeeded' || conversion.inFlight) return null;
  if (conversion.status === 'pending' || conversion.status === 'retrying') {
    const reason = `cancelled: ${ctx.event_type} ${ctx.event_id} undid it before it reached the tracker`;
    const told = ports ? await ports.cancelDelivery(conversion.workflowId, conversion.id, reason) : false;
    if (!told) await finishDelivery(pool, conversion.id, 'cancelled', reason);
    return `not sent: the ${undoneType} it undoes had not reached the tracker (${conversion.id}); that delivery is cancelled instead`;
  }
  return `not sent: the ${undoneType} it undoes never reached this endpoint (${conversion.id} ${conversion.status})`;
}
