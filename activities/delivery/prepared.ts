import type { HttpOutcome, HttpSender } from '../../src/delivery/http.js';
import type { SecretCipher } from '../../src/delivery/secrets.js';
import { openHeaders } from '../../src/delivery/sealed-headers.js';
import type { PostbackVerdict } from '../../src/domain/postback/success.js';
import { RESERVED_HEADERS } from '../../src/domain/webhook-payload.js';
import type { DeliveryContext } from './types.js';

/** A request ready to go out: how to send it and how to read its answer. */
export interface PreparedRequest {
  /** Sends the request once; `startedAt` is the attempt's time (a webhook signs with it). */
  send(http: HttpSender, startedAt: Date, signal: AbortSignal): Promise<HttpOutcome>;
  /** What a response (a status line arrived) means for this kind of endpoint. */
  judge(outcome: HttpOutcome): PostbackVerdict;
  /** Logged with the attempt without failing it. */
  note: string | null;
}

/** The endpoint's own headers (stored sealed), less those the delivery sets itself. */
export function customHeaders(cipher: SecretCipher, ctx: DeliveryContext): Record<string, string> {
  return Object.fromEntries(
    Object.entries(openHeaders(cipher, ctx.endpoint_id, ctx.headers)).filter(
      ([name]) => !RESERVED_HEADERS.has(name.toLowerCase()),
    ),
  );
}
