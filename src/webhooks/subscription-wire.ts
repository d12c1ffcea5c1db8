/**
 * A subscription on the wire (admin API, command line), exactly the documented
 * shape: `id`, `client_id`, `url`, `events`, `status`, `created_at`, and
 * `signing_secret` only in the answer that creates or rotates it. The
 * verification token has no field here at all.
 */
import { z } from 'zod';
import type { WebhookSubscription } from '../store/webhook-subscriptions.js';
import { NOTION_EVENT_TYPES } from './event-types.js';
import { TOKEN_MAX, URL_MAX } from './subscriptions.js';

export interface SubscriptionWire {
  id: string;
  client_id: string;
  url: string;
  events: string[];
  status: WebhookSubscription['status'];
  created_at: string;
  signing_secret?: string;
}

export function subscriptionToWire(subscription: WebhookSubscription, clientId: string, signingSecret?: string): SubscriptionWire {
  return {
    id: subscription.id,
    client_id: clientId,
    url: subscription.url,
    events: subscription.events,
    status: subscription.status,
    created_at: subscription.createdAt.toISOString(),
    ...(signingSecret !== undefined ? { signing_secret: signingSecret } : {}),
  };
}

export const newSubscriptionBodySchema = z
  .object({
    client_id: z.string().min(1).max(200).describe("The partner app's client id"),
    url: z
      .string()
      .min(1)
      .max(URL_MAX)
      .describe('https; http only for localhost and 127.0.0.1 where the sandboxes run; public addresses only'),
    events: z
      .array(z.string().min(1).max(100))
      .min(1)
      .max(NOTION_EVENT_TYPES.length * 2)
      .describe(`Notion's event type names: ${NOTION_EVENT_TYPES.join(', ')}`),
  })
  .strict();

export const verifyBodySchema = z
  .object({ verification_token: z.string().min(1).max(TOKEN_MAX).describe('The token the verification POST carried to the URL') })
  .strict();

export const listQuerySchema = z.object({ client_id: z.string().min(1).max(200).optional() }).strict();

export const subscriptionWireSchema = z.object({
  id: z.string().describe('UUID'),
  client_id: z.string(),
  url: z.string(),
  events: z.array(z.enum(NOTION_EVENT_TYPES)),
  status: z.enum(['pending', 'active', 'disabled']).describe('pending: verification POST sent, waiting for the token'),
  created_at: z.string().describe('ISO 8601 time'),
  signing_secret: z.string().optional().describe('whsec_...: in the answer that creates or rotates it only'),
});
