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
 * (session with CSRF, or a Bearer admin token); the page and its forms are
 * page contracts (DELIVERY_PAGES) of the same zone, for a signed-in
 * organisation admin. Every bad input is a 4xx in the admin error shape.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { DELIVERY_API } from './delivery-api.js';
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

/** What the page's handlers are given: the rules' deps, and the app a subscription belongs to. */
export interface DeliveryPageDeps {
  rules: DeliveryAdminDeps;
  partnerApps: Stores['partnerApps'];
  clock: Clock;
}

const ADMIN_ONLY = 'Only organisation admins see webhook deliveries.';
const pageActor = ({ req }: HandlerContext): Actor => ({
  type: 'person',
  id: req.user!.id,
  label: req.user!.email,
  address: req.ip ?? null,
});
const idParams = z.object({ id: z.string() });

async function render(
  deps: DeliveryPageDeps,
  req: Request,
  res: Response,
  subscriptionId: string,
  extra: { error?: string; status?: number } = {},
) {
  const subscription = await requireSubscription(deps.rules, subscriptionId);
  const app = await deps.partnerApps.findById(subscription.appId);
  const deliveries = await deps.rules.stores.webhookDeliveries.listForSubscription(subscription.id, PAGE_LIMIT);
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
}

const { page } = contractsFor<DeliveryPageDeps>();

export const subscriptionDeliveriesPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'webhookSubscriptionDeliveriesPage',
    method: 'get',
    path: '/admin/webhooks/subscriptions/:id',
    summary: 'A subscription\'s recent deliveries, with "Replay" and "Retry now"; ?notice= names what was just done',
    params: idParams,
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ params }, { req, res }, deps) => render(deps, req, res, params.id),
);

export const replaySubscriptionPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'replayWebhookSubscriptionPage',
    method: 'post',
    path: '/admin/webhooks/subscriptions/:id/replay',
    summary: '"Replay": back to the page with ?notice=replayed, or the page with the reason (400)',
    params: idParams,
    body: replayForm,
    bodyRequired: true,
    answer: 'redirect',
    audit: 'webhook_subscription.replayed',
  },
  async ({ params, body }, ctx, deps) => {
    try {
      await replaySubscription(deps.rules, params.id, body, pageActor(ctx));
    } catch (err) {
      if (!(err instanceof DeliveryAdminError) || err.code !== 'invalid_window') throw err;
      await render(deps, ctx.req, ctx.res, params.id, { error: err.message, status: 400 });
      return;
    }
    ctx.res.redirect(303, `/admin/webhooks/subscriptions/${encodeURIComponent(params.id)}?notice=replayed`);
  },
);

export const retryDeliveryPage = page(
  {
    zone: 'org-admin',
    adminOnly: ADMIN_ONLY,
    name: 'retryWebhookDeliveryPage',
    method: 'post',
    path: '/admin/webhooks/deliveries/:id/retry',
    summary: '"Retry now": back to its subscription\'s page with ?notice=retried',
    params: idParams,
    body: retryForm,
    bodyRequired: true,
    answer: 'redirect',
    audit: 'webhook_delivery.retried',
  },
  async ({ params }, ctx, deps) => {
    const delivery = await retryDelivery(deps.rules, params.id, pageActor(ctx));
    ctx.res.redirect(303, `/admin/webhooks/subscriptions/${encodeURIComponent(delivery.subscriptionId)}?notice=retried`);
  },
);

export const DELIVERY_PAGES: ReadonlyArray<Contract<'org-admin', DeliveryPageDeps>> = [
  subscriptionDeliveriesPage,
  replaySubscriptionPage,
  retryDeliveryPage,
];

export function deliveryRoutes(deps: DeliveryRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const rules: DeliveryAdminDeps = { stores: deps.stores, pipeline: deps.pipeline, now: () => deps.clock.now() };
  mountZone(router, 'org-admin', DELIVERY_API, rules, guards);
  mountZone(router, 'org-admin', DELIVERY_PAGES, { rules, partnerApps: deps.stores.partnerApps, clock: deps.clock }, guards);
  return router;
}
