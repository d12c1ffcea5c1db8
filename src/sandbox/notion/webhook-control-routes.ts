/**
 * Webhook subscriptions over HTTP, under the control area (/_sandbox/webhooks
 * on a standalone instance), so a test in another process can subscribe a
 * receiver, verify it with the token the receiver got, and wait for delivery.
 * Answers `{ error: { code, message } }` on bad input, as the other control routes.
 */
import { Router } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { WEBHOOK_API_VERSIONS } from './webhook-payloads.js';
import type { WebhookEventType } from './webhook-payloads.js';
import { WebhookSubscriptionError } from './webhooks.js';
import type { SandboxWebhooks, WebhookIntegrationRef } from './webhooks.js';
import type { WebhookApiVersion } from './state.js';

type Handler = (req: Request, res: Response) => Promise<void> | void;

function invalid(message: string): WebhookSubscriptionError {
  return new WebhookSubscriptionError(400, 'invalid_request', message);
}

/** Refusals become the control area's error body; anything else is a bug and goes to Express. */
const handle =
  (handler: Handler) =>
  async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      await handler(req, res);
    } catch (err) {
      if (!(err instanceof WebhookSubscriptionError)) return next(err);
      res.status(err.status).json({ error: { code: err.code, message: err.message } });
    }
  };

function bodyOf(req: Request): Record<string, unknown> {
  const body: unknown = req.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('Expected a JSON object.');
  return body as Record<string, unknown>;
}

function integrationRef(body: Record<string, unknown>): WebhookIntegrationRef {
  const hasClient = typeof body.clientId === 'string';
  const hasInternal = typeof body.internalIntegrationId === 'string';
  if (hasClient === hasInternal) throw invalid('Expected exactly one of clientId or internalIntegrationId.');
  return hasClient ? { clientId: body.clientId as string } : { internalIntegrationId: body.internalIntegrationId as string };
}

export function webhookControlRouter(webhooks: SandboxWebhooks): Router {
  const router = Router();

  router.get(
    '/subscriptions',
    handle((_req, res) => {
      res.json({ subscriptions: webhooks.list() });
    }),
  );

  router.post(
    '/subscriptions',
    handle(async (req, res) => {
      const body = bodyOf(req);
      const eventTypes = body.eventTypes;
      if (typeof body.url !== 'string') throw invalid('Expected { clientId | internalIntegrationId, url, eventTypes?, apiVersion? }.');
      if (eventTypes !== undefined && !(Array.isArray(eventTypes) && eventTypes.every((t) => typeof t === 'string')))
        throw invalid('eventTypes must be an array of event type names.');
      const apiVersion = body.apiVersion;
      if (apiVersion !== undefined && !(WEBHOOK_API_VERSIONS as readonly unknown[]).includes(apiVersion))
        throw invalid(`apiVersion must be one of ${WEBHOOK_API_VERSIONS.join(', ')}.`);
      const created = await webhooks.subscribe(
        integrationRef(body),
        body.url,
        eventTypes as WebhookEventType[] | undefined,
        apiVersion as WebhookApiVersion | undefined,
      );
      res.status(201).json(created);
    }),
  );

  router.post(
    '/subscriptions/:id/verify',
    handle(async (req, res) => {
      const token = bodyOf(req).verificationToken;
      if (typeof token !== 'string') throw invalid('Expected { verificationToken }.');
      await webhooks.verify(String(req.params.id), token);
      res.status(204).end();
    }),
  );

  router.post(
    '/subscriptions/:id/resend-verification',
    handle(async (req, res) => {
      await webhooks.resendVerification(String(req.params.id));
      res.status(202).end();
    }),
  );

  router.delete(
    '/subscriptions/:id',
    handle(async (req, res) => {
      await webhooks.unsubscribe(String(req.params.id));
      res.status(204).end();
    }),
  );

  /** Answers once every queued request, retries included, has been sent or given up. */
  router.post(
    '/idle',
    handle(async (_req, res) => {
      await webhooks.idle();
      res.status(204).end();
    }),
  );

  return router;
}
