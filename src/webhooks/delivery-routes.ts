/**
 * A subscription's deliveries over HTTP (HTTP only; the rules are in
 * ./delivery-admin.ts). Organisation admins only.
 *
 *   GET  /api/admin/v1/webhooks/subscriptions/:id/deliveries   recent deliveries (?limit=1..200)
 *   POST /api/admin/v1/webhooks/subscriptions/:id/replay       { since, until? }: re-fan-out, today's grants
 *   POST /api/admin/v1/webhooks/deliveries/:id/retry           "Retry now" for a failed or skipped one
 *   GET  /admin/webhooks/subscriptions/:id                     the page
 *   POST /admin/webhooks/subscriptions/:id/replay              its "Replay" form → 303
 *   POST /admin/webhooks/deliveries/:id/retry                  its "Retry now" buttons → 303
 *
 * The API is declared as contracts (./delivery-api.ts) in the org-admin zone
 * (session with CSRF, or a Bearer admin token); the page needs a signed-in
 * organisation admin.
 * Every bad input is a 4xx in the admin error shape.
 */
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { DELIVERY_API } from './delivery-api.js';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { isOrganisationAdmin } from '../admin/auth.js';
import { describeZodError } from '../http/validation.js';
import { requireSignIn } from '../http/auth-guards.js';
import { badRequest, forbidden } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { Stores } from '../store/stores.js';
import { DeliveryAdminError, replaySubscription, requireSubscription, retryDelivery, type DeliveryAdminDeps } from './delivery-admin.js';
import type { Actor, WebhookPipeline } from './pipeline.js';

export interface DeliveryRouteDeps {
  stores: Pick<Stores, 'webhookSubscriptions' | 'webhookDeliveries' | 'partnerApps' | 'adminTokens' | 'people'>;
  config: Pick<Config, 'adminEmails'>;
  clock: Clock;
  pipeline: Pick<WebhookPipeline, 'retryNow' | 'replay'>;
}

const PAGE_LIMIT = 50;
const replayForm = z.object({ _csrf: z.string().optional(), since: z.string().max(40), until: z.string().max(40).optional() }).strict();
const retryForm = z.object({ _csrf: z.string().optional(), subscription_id: z.string().max(40).optional() }).strict();

const NOTICES: Record<string, string> = {
  retried: 'The delivery is due again and will be sent at once.',
  replayed: 'The replay is queued: its deliveries appear below as they are made.',
};

export function deliveryRoutes(deps: DeliveryRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const rules: DeliveryAdminDeps = { stores: deps.stores, pipeline: deps.pipeline, now: () => deps.clock.now() };
  // ---- JSON API (./delivery-api.ts) -------------------------------------------
  mountZone(router, 'org-admin', DELIVERY_API, rules, guards);

  // ---- The page ----------------------------------------------------------
  const requirePageAdmin = (req: Request) => {
    if (!isOrganisationAdmin(req.user!, deps.config.adminEmails)) throw forbidden('Only organisation admins see webhook deliveries.');
  };
  const pageActor = (req: Request): Actor => ({ type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null });

  const render = async (req: Request, res: Response, subscriptionId: string, extra: { error?: string; status?: number } = {}) => {
    const subscription = await requireSubscription(rules, subscriptionId);
    const app = await deps.stores.partnerApps.findById(subscription.appId);
    const deliveries = await deps.stores.webhookDeliveries.listForSubscription(subscription.id, PAGE_LIMIT);
    const notice = typeof req.query.notice === 'string' ? (NOTICES[req.query.notice] ?? null) : null;
    renderPage(
      res,
      'webhook-subscription',
      {
        title: 'Webhook subscription',
        subscription: {
          id: subscription.id,
          url: subscription.url,
          events: subscription.events.join(', '),
          status: subscription.status,
          disabledReason: subscription.disabledReason,
          failingSince: subscription.failingSince?.toISOString() ?? null,
          appName: app?.name ?? 'Deleted app',
        },
        deliveries: deliveries.map((d) => ({
          id: d.id,
          eventType: d.eventType,
          entity: `${d.entityType} ${d.entityId}`,
          status: d.status,
          attempts: d.attempts,
          access: d.access,
          replay: d.origin !== 'live',
          lastCode: d.lastStatusCode === null ? '' : String(d.lastStatusCode),
          lastAt: d.lastAttemptAt?.toISOString() ?? '',
          detail: d.lastError ?? '',
          excerpt: d.lastResponseExcerpt ?? '',
          retryable: d.status === 'failed' || d.status === 'skipped',
        })),
        defaultSince: new Date(deps.clock.now().getTime() - 86_400_000).toISOString().slice(0, 19) + 'Z',
        notice,
        error: extra.error ?? null,
      },
      extra.status ?? 200,
    );
  };

  router.get('/admin/webhooks/subscriptions/:id', requireSignIn, async (req, res) => {
    requirePageAdmin(req);
    await render(req, res, String(req.params.id));
  });

  router.post('/admin/webhooks/subscriptions/:id/replay', requireSignIn, async (req, res) => {
    requirePageAdmin(req);
    const id = String(req.params.id);
    const form = replayForm.safeParse(req.body);
    if (!form.success) throw badRequest(describeZodError(form.error, req.body));
    try {
      await replaySubscription(rules, id, form.data, pageActor(req));
    } catch (err) {
      if (!(err instanceof DeliveryAdminError) || err.code !== 'invalid_window') throw err;
      await render(req, res, id, { error: err.message, status: 400 });
      return;
    }
    res.redirect(303, `/admin/webhooks/subscriptions/${encodeURIComponent(id)}?notice=replayed`);
  });

  router.post('/admin/webhooks/deliveries/:id/retry', requireSignIn, async (req, res) => {
    requirePageAdmin(req);
    const form = retryForm.safeParse(req.body);
    if (!form.success) throw badRequest(describeZodError(form.error, req.body));
    const delivery = await retryDelivery(rules, String(req.params.id), pageActor(req));
    res.redirect(303, `/admin/webhooks/subscriptions/${encodeURIComponent(delivery.subscriptionId)}?notice=retried`);
  });

  return router;
}
