import { createHttpSender } from '../../src/delivery/http.js';
import { signPayload } from '../../src/delivery/signing.js';
import { webhookJson } from '../payload.js';

/**
 * The one thing every shape does: POST the webhook the product would deliver for the event, signed the
 * Standard Webhooks way, through the product's own HTTP sender (keep-alive, SSRF guard allowing loopback).
 */
export interface PostInput {
  eventId: string;
}

export interface PostTarget {
  url: string;
  secret: string;
  padding: string;
}

export function createPoster(target: PostTarget) {
  const http = createHttpSender({ allow: ['127.0.0.0/8', '::1/128'], httpsOnly: false });
  return {
    http,
    /** Resolves with the status code, or throws on a transport error or a non-2xx answer. */
    async post(eventId: string): Promise<number> {
      const body = webhookJson(eventId, target.padding);
      const headers = {
        'user-agent': 'affiliate-hooks-bench/1',
        'content-type': 'application/json',
        ...signPayload({ msgId: `wh-${eventId}`, timestamp: new Date(), body, secrets: [target.secret] }),
      };
      const result = await http.post(target.url, headers, body, 15_000);
      if (result.statusCode === null || result.statusCode < 200 || result.statusCode >= 300) {
        throw new Error(`POST answered ${result.statusCode ?? result.errorMessage}`);
      }
      return result.statusCode;
    },
  };
}

export function createBaselineActivities(target: PostTarget) {
  const poster = createPoster(target);
  return {
    async postWebhook(input: PostInput): Promise<void> {
      await poster.post(input.eventId);
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
