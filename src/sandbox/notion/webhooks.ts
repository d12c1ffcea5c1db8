/**
 * Webhook subscriptions of the sandbox Notion, as Notion has them: one per
 * integration. A public integration's (an OAuth client's, Gatehouse's among
 * them) receives the events of every workspace where it is installed, at one
 * URL under one verification token; an internal integration's receives its
 * own. Creating one sends the verification request, a JSON object whose only
 * key is `verification_token`, to the URL; in Notion a person then pastes
 * the token into the integration's settings, here `verify(id, token)` does.
 * Only verified subscriptions receive events.
 *
 * `integration_id` in events is the OAuth client id for a public integration
 * and the bot id for an internal one (an internal integration is its bot).
 */
import { randomInt, timingSafeEqual } from 'node:crypto';
import { newId } from './ids.js';
import type { SandboxState, StateStore, WebhookApiVersion, WebhookSubscriptionRecord } from './state.js';
import { createContentEvents } from './webhook-events.js';
import type { ContentEvents } from './webhook-events.js';
import { DEFAULT_RETRY_DELAYS_MS, WebhookDelivery } from './webhook-delivery.js';
import { isWebhookEventType, WEBHOOK_API_VERSIONS } from './webhook-payloads.js';
import type { WebhookEventType } from './webhook-payloads.js';

export type { WebhookEventType } from './webhook-payloads.js';
export { WEBHOOK_EVENT_TYPES } from './webhook-payloads.js';

export interface WebhookOptions {
  /** false: no webhook request ever leaves the sandbox and subscribe() refuses. Default true. */
  enabled?: boolean;
  /** Delays before attempts 2..8 (the last repeats); default about a day in total, as Notion. Tests: a few ms. */
  retryDelaysMs?: number[];
  /** Per request; default 10 000. */
  timeoutMs?: number;
}

export type WebhookIntegrationRef = { clientId: string } | { internalIntegrationId: string };

/** A subscription as the sandbox shows it: never its verification token, which reaches only the URL. */
export interface WebhookSubscriptionView {
  id: string;
  /** Set for a public integration's subscription. */
  clientId?: string;
  /** Set for an internal integration's subscription (its bot id). */
  internalIntegrationId?: string;
  url: string;
  /** null: every event type. */
  eventTypes: WebhookEventType[] | null;
  apiVersion: WebhookApiVersion;
  status: 'pending' | 'active';
  createdTime: string;
}

export interface SandboxWebhooks {
  /** Creates the integration's subscription and sends the verification request (asynchronously). */
  subscribe(
    integration: WebhookIntegrationRef,
    url: string,
    eventTypes?: WebhookEventType[],
    apiVersion?: WebhookApiVersion,
  ): Promise<{ id: string }>;
  /** Marks the subscription verified when `token` is the one sent to its URL; else throws. */
  verify(id: string, token: string): Promise<void>;
  /** Sends the verification request again (Notion's "Resend token"), to a pending subscription. */
  resendVerification(id: string): Promise<void>;
  list(): WebhookSubscriptionView[];
  unsubscribe(id: string): Promise<void>;
  /** Resolves when nothing is queued or being retried (tests, and callers about to read what was sent). */
  idle(): Promise<void>;
}

/** A refusal with the status its control route answers. */
export class WebhookSubscriptionError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    readonly code: 'invalid_request' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Shaped like Notion's (`secret_` and 43 letters and digits). */
function verificationToken(): string {
  let token = 'secret_';
  for (let i = 0; i < 43; i += 1) token += BASE62[randomInt(BASE62.length)];
  return token;
}

export function createWebhooks(args: { store: StateStore; clock: () => Date; options?: WebhookOptions }): {
  webhooks: SandboxWebhooks;
  events: ContentEvents;
  close: () => void;
} {
  const { store, clock } = args;
  const { state } = store;
  const enabled = args.options?.enabled ?? true;
  const delivery = new WebhookDelivery(
    (id) => {
      const subscription = state.webhookSubscriptions[id];
      return subscription ? { url: subscription.url, verificationToken: subscription.verificationToken } : null;
    },
    { retryDelaysMs: args.options?.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS, timeoutMs: args.options?.timeoutMs ?? 10_000 },
  );

  const sendVerification = (subscription: WebhookSubscriptionRecord) => {
    const body = JSON.stringify({ verification_token: subscription.verificationToken });
    delivery.enqueue(subscription.id, { body: () => body });
  };

  const find = (id: string): WebhookSubscriptionRecord => {
    const subscription = state.webhookSubscriptions[id];
    if (!subscription) throw new WebhookSubscriptionError(404, 'not_found', `No webhook subscription ${id}.`);
    return subscription;
  };

  const events = createContentEvents({
    state,
    clock,
    activeSubscriptions: () => (enabled ? Object.values(state.webhookSubscriptions).filter((s) => s.status === 'active') : []),
    deliver: (subscription, event) =>
      delivery.enqueue(subscription.id, { body: (attempt) => JSON.stringify({ ...event, attempt_number: attempt }) }),
  });

  const webhooks: SandboxWebhooks = {
    async subscribe(integration, url, eventTypes, apiVersion = '2025-09-03') {
      if (!enabled) throw new WebhookSubscriptionError(400, 'invalid_request', 'Webhooks are turned off in this sandbox.');
      const target = integrationTarget(state, integration);
      checkUrl(url);
      if (eventTypes !== undefined && (eventTypes.length === 0 || !eventTypes.every((t) => isWebhookEventType(t))))
        throw new WebhookSubscriptionError(400, 'invalid_request', 'eventTypes must be a non-empty list of Notion webhook event types.');
      if (!WEBHOOK_API_VERSIONS.includes(apiVersion))
        throw new WebhookSubscriptionError(400, 'invalid_request', `apiVersion must be one of ${WEBHOOK_API_VERSIONS.join(', ')}.`);
      const existing = Object.values(state.webhookSubscriptions).find((s) => sameIntegration(s.integration, target));
      if (existing)
        throw new WebhookSubscriptionError(409, 'conflict', `This integration already has webhook subscription ${existing.id}.`);
      const subscription: WebhookSubscriptionRecord = {
        id: newId(),
        integration: target,
        url,
        eventTypes: eventTypes === undefined ? null : [...new Set(eventTypes)],
        apiVersion,
        status: 'pending',
        verificationToken: verificationToken(),
        createdTime: clock().toISOString(),
      };
      state.webhookSubscriptions[subscription.id] = subscription;
      store.changed();
      sendVerification(subscription);
      return { id: subscription.id };
    },

    async verify(id, token) {
      const subscription = find(id);
      const expected = Buffer.from(subscription.verificationToken, 'utf8');
      const given = Buffer.from(token, 'utf8');
      if (given.length !== expected.length || !timingSafeEqual(given, expected))
        throw new WebhookSubscriptionError(400, 'invalid_request', 'The verification token does not match.');
      subscription.status = 'active';
      store.changed();
    },

    async resendVerification(id) {
      const subscription = find(id);
      if (subscription.status !== 'pending')
        throw new WebhookSubscriptionError(409, 'conflict', 'The subscription is already verified; its token is not sent again.');
      if (enabled) sendVerification(subscription);
    },

    list: () => Object.values(state.webhookSubscriptions).map(view),

    async unsubscribe(id) {
      find(id);
      delete state.webhookSubscriptions[id];
      delivery.drop(id);
      store.changed();
    },

    idle: () => delivery.idle(),
  };

  return { webhooks, events, close: () => delivery.close() };
}

function integrationTarget(state: SandboxState, ref: WebhookIntegrationRef): WebhookSubscriptionRecord['integration'] {
  if ('clientId' in ref && typeof ref.clientId === 'string') {
    if (!state.oauthClients[ref.clientId]) throw new WebhookSubscriptionError(404, 'not_found', `No OAuth client ${ref.clientId}.`);
    return { type: 'public', clientId: ref.clientId };
  }
  if ('internalIntegrationId' in ref && typeof ref.internalIntegrationId === 'string') {
    const bot = state.integrations[ref.internalIntegrationId];
    if (!bot || bot.kind !== 'internal')
      throw new WebhookSubscriptionError(404, 'not_found', `No internal integration ${ref.internalIntegrationId}.`);
    return { type: 'internal', botId: bot.botId };
  }
  throw new WebhookSubscriptionError(400, 'invalid_request', 'Name the integration: { clientId } or { internalIntegrationId }.');
}

/** Notion wants public https URLs; the sandbox also takes http, since its receivers are local. */
function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookSubscriptionError(400, 'invalid_request', 'url must be an absolute http or https URL.');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new WebhookSubscriptionError(400, 'invalid_request', 'url must be an absolute http or https URL.');
}

function sameIntegration(a: WebhookSubscriptionRecord['integration'], b: WebhookSubscriptionRecord['integration']): boolean {
  return a.type === 'public' ? b.type === 'public' && a.clientId === b.clientId : b.type === 'internal' && a.botId === b.botId;
}

function view(s: WebhookSubscriptionRecord): WebhookSubscriptionView {
  return {
    id: s.id,
    ...(s.integration.type === 'public' ? { clientId: s.integration.clientId } : { internalIntegrationId: s.integration.botId }),
    url: s.url,
    eventTypes: s.eventTypes === null ? null : (s.eventTypes as WebhookEventType[]),
    apiVersion: s.apiVersion,
    status: s.status,
    createdTime: s.createdTime,
  };
}
