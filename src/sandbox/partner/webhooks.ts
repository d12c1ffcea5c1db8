/**
 * The demo partner's webhook receiver, `POST /sandbox/partner/webhooks`,
 * written as a partner would write it against Notion and Standard Webhooks:
 *
 *   verification POST (one key, `verification_token`) → keep the token, 200
 *   every other POST → X-Notion-Signature checked with @notionhq/client's
 *   verifyWebhookSignature (keyed with that token) AND webhook-* headers
 *   checked with standardwebhooks' Webhook.verify (the whsec_ secret);
 *   either fails → 401, nothing kept; both pass → the event is kept (the
 *   last 50, in memory) and shown under "Events received".
 *
 * It proves it owns the URL as a real partner does: with the token it
 * received, at Gatehouse's `POST /v1/webhooks/subscriptions/<id>/verify`,
 * authenticated with its client credentials (HTTP Basic, RFC 6749 §2.3.1).
 * In the embedded default it subscribes at every start (the secrets live in
 * this process only, so the previous start's subscription is replaced).
 */
import { verifyWebhookSignature } from '@notionhq/client';
import express, { Router } from 'express';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../../clock.js';
import { PAGE_AND_COMMENT_EVENTS } from '../../webhooks/event-types.js';
import { subscriptionDeps, type SubscriptionRouteDeps } from '../../webhooks/subscription-routes.js';
import { createSubscription, deleteSubscription } from '../../webhooks/subscriptions.js';
import { DEMO_PARTNER_CLIENT_ID } from './index.js';

const KEPT_EVENTS = 50;

export interface ReceivedEvent {
  id: string;
  type: string;
  entity: string;
  workspace: string;
  receivedAt: string;
  attempt: number | null;
  /** Set by the delivery engine when access to a page was lost or gained by a move. */
  access: string | null;
}

interface KnownSubscription {
  verificationToken: string;
  signingSecret: string;
}

export interface DemoPartnerWebhooks {
  url: string;
  router: Router;
  /** Newest first. */
  events(): ReceivedEvent[];
  /** The subscription this partner holds, as its page shows it. */
  summary(): { id: string; verified: boolean } | null;
  /** The subscription just created: its id and the secret shown once, beside the token that reached the URL. */
  adopt(subscriptionId: string, signingSecret: string): void;
  /** POSTs the kept token to Gatehouse with the partner's client credentials. */
  verifyItself(subscriptionId: string): Promise<boolean>;
}

const RECEIVER_PATH = '/sandbox/partner/webhooks';

function isDemoReceiverUrl(text: string): boolean {
  try {
    return new URL(text).pathname === RECEIVER_PATH;
  } catch {
    return false;
  }
}

function isHandshake(body: unknown): body is { verification_token: string } {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Object.keys(body).length === 1 &&
    typeof (body as { verification_token?: unknown }).verification_token === 'string'
  );
}

export function createDemoPartnerWebhooks(options: {
  publicUrl: string;
  clientSecret: string;
  clock: Clock;
  clientId?: string;
}): DemoPartnerWebhooks {
  const clientId = options.clientId ?? DEMO_PARTNER_CLIENT_ID;
  const url = `${options.publicUrl}${RECEIVER_PATH}`;
  const known = new Map<string, KnownSubscription>();
  let lastHandshakeToken: string | null = null;
  let current: { id: string; verified: boolean } | null = null;
  const received: ReceivedEvent[] = [];

  const router = Router();
  router.post('/webhooks', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      res.status(400).json({ error: 'the body is not JSON' });
      return;
    }
    if (isHandshake(body)) {
      // Notion's handshake carries no signature and no subscription id: keep the token until the subscription is adopted.
      lastHandshakeToken = body.verification_token;
      res.status(200).json({ ok: true });
      return;
    }
    const event = body as Record<string, unknown>;
    const secrets = typeof event.subscription_id === 'string' ? known.get(event.subscription_id) : undefined;
    if (!secrets) {
      res.status(401).json({ error: 'unknown subscription' });
      return;
    }
    const notionOk = await verifyWebhookSignature({
      body: raw,
      signature: req.headers['x-notion-signature'] as string | undefined,
      verificationToken: secrets.verificationToken,
    });
    let standardOk: boolean;
    try {
      new Webhook(secrets.signingSecret).verify(raw, {
        'webhook-id': String(req.headers['webhook-id'] ?? ''),
        'webhook-timestamp': String(req.headers['webhook-timestamp'] ?? ''),
        'webhook-signature': String(req.headers['webhook-signature'] ?? ''),
      });
      standardOk = true;
    } catch {
      standardOk = false;
    }
    if (!notionOk || !standardOk) {
      res.status(401).json({ error: notionOk ? 'bad webhook-signature' : 'bad X-Notion-Signature' });
      return;
    }
    const entity = (event.entity ?? {}) as { id?: unknown; type?: unknown };
    const gatehouse = (event.gatehouse ?? {}) as { access?: unknown };
    received.unshift({
      id: String(event.id ?? ''),
      type: String(event.type ?? ''),
      entity: `${String(entity.type ?? '')} ${String(entity.id ?? '')}`.trim(),
      workspace: String(event.workspace_name ?? event.workspace_id ?? ''),
      receivedAt: options.clock.now().toISOString(),
      attempt: typeof event.attempt_number === 'number' ? event.attempt_number : null,
      access: typeof gatehouse.access === 'string' ? gatehouse.access : null,
    });
    received.splice(KEPT_EVENTS);
    res.status(200).json({ ok: true });
  });

  return {
    url,
    router,
    events: () => [...received],
    summary: () => (current ? { ...current } : null),
    adopt(subscriptionId, signingSecret) {
      if (lastHandshakeToken === null) throw new Error('no verification POST reached the demo partner');
      known.set(subscriptionId, { verificationToken: lastHandshakeToken, signingSecret });
      current = { id: subscriptionId, verified: false };
    },
    async verifyItself(subscriptionId) {
      const secrets = known.get(subscriptionId);
      if (!secrets) return false;
      const form = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
      const basic = Buffer.from(`${form(clientId)}:${form(options.clientSecret)}`).toString('base64');
      const response = await fetch(`${options.publicUrl}/v1/webhooks/subscriptions/${encodeURIComponent(subscriptionId)}/verify`, {
        method: 'POST',
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ verification_token: secrets.verificationToken }),
        signal: AbortSignal.timeout(10_000),
      });
      const ok = response.ok && ((await response.json()) as { status?: string }).status === 'active';
      if (ok && current?.id === subscriptionId) current = { id: subscriptionId, verified: true };
      return ok;
    },
  };
}

/**
 * At start (embedded default): replaces the demo partner's subscription to
 * its receiver by a new one for every page and comment event, and verifies
 * it as the partner. It runs in the background (start-up does not wait on
 * its own verification POST); the returned function, for shutdown, waits
 * for it so the database is not closed under it. Failures are logged, never
 * fatal: the demo runs on.
 */
export function subscribeDemoPartner(routeDeps: SubscriptionRouteDeps, receiver: DemoPartnerWebhooks): () => Promise<void> {
  const running = replaceDemoSubscription(routeDeps, receiver);
  return () => running;
}

/** Resolves once the demo partner holds a verified subscription, or has logged why not. */
async function replaceDemoSubscription(routeDeps: SubscriptionRouteDeps, receiver: DemoPartnerWebhooks): Promise<void> {
  const rules = subscriptionDeps(routeDeps);
  const log = (message: string, detail: Record<string, unknown> = {}) => routeDeps.logger.info(detail, `demo partner: ${message}`);
  const actor = { type: 'system' as const, label: 'demo partner start-up' };
  try {
    const app = await rules.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID);
    if (!app) return;
    // Any earlier start's receiver, under whatever public URL it ran: the secrets to verify its deliveries are gone.
    for (const old of await rules.subscriptions.listForApp(app.id))
      if (isDemoReceiverUrl(old.url)) await deleteSubscription(rules, old.id, actor);
    const { subscription, signingSecret, verification } = await createSubscription(
      rules,
      { clientId: DEMO_PARTNER_CLIENT_ID, url: receiver.url, events: PAGE_AND_COMMENT_EVENTS },
      actor,
    );
    if (!verification.delivered) return log('its webhook subscription stays pending', { reason: verification.reason });
    receiver.adopt(subscription.id, signingSecret);
    if (!(await receiver.verifyItself(subscription.id))) log('its webhook subscription could not verify itself');
  } catch (err) {
    log('its webhook subscription failed', { err: String(err) });
  }
}
