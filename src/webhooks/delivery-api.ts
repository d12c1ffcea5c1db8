/**
 * A subscription's deliveries, replays and "Retry now" in the admin API, as
 * declared contracts in the org-admin zone (../http/contract.ts); the rules
 * are in ./delivery-admin.ts, the page in ./delivery-routes.ts. The OpenAPI
 * document is generated from DELIVERY_API (src/admin/openapi.ts).
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { AdminPrincipal } from '../admin/auth.js';
import { contractsFor, type Contract } from '../http/contract.js';
import { deliveryToWire, listDeliveries, MAX_LISTED, replaySubscription, retryDelivery, type DeliveryAdminDeps } from './delivery-admin.js';
import type { Actor } from './pipeline.js';

export const replayBodySchema = z.object({ since: z.string().max(40), until: z.string().max(40).optional() }).strict();

const instant = z.string().describe('ISO 8601 time');

/** A delivery as the API shows it (src/webhooks/delivery-admin.ts `deliveryToWire`). */
export const deliveryWireSchema = z.object({
  id: z.string().describe('Also the Standard Webhooks webhook-id the partner receives, the same on every attempt'),
  subscription_id: z.string(),
  event_id: z.string(),
  event_type: z.string(),
  entity: z.object({ id: z.string(), type: z.string() }),
  origin: z.enum(['live', 'replay']),
  status: z.enum(['pending', 'sending', 'delivered', 'failed', 'skipped']),
  attempts: z.number().int(),
  access: z.enum(['lost', 'gained']).nullable(),
  next_attempt_at: instant.nullable(),
  last_attempt_at: instant.nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  last_response_excerpt: z.string().nullable().describe('At most 1 KB of the last answer'),
  delivered_at: instant.nullable(),
  created_at: instant,
});

const replayWireSchema = z.object({
  replay_id: z.string(),
  subscription_id: z.string(),
  events: z.number().int().describe('Stored events queued for fan-out to this subscription'),
  since: instant,
  until: instant.nullable(),
});

const PAGE_LIMIT = 50;
const limitQuery = z.object({ limit: z.coerce.number().int().min(1).max(MAX_LISTED).optional() }).strict();
const idParams = z.object({ id: z.string() });

function apiActor(principal: AdminPrincipal, req: Request): Actor {
  return {
    type: principal.via === 'session' ? 'person' : 'admin_token',
    id: principal.person?.id ?? null,
    label: principal.label,
    address: req.ip ?? null,
  };
}

const { api } = contractsFor<DeliveryAdminDeps>();
type DeliveryWire = z.input<typeof deliveryWireSchema>;
// deliveryToWire (./delivery-admin.ts) builds exactly this schema's shape; its own return type is looser.
const toWire = (d: Parameters<typeof deliveryToWire>[0]) => deliveryToWire(d) as DeliveryWire;
const notFound = 'No such subscription or delivery';

export const listDeliveriesOperation = api(
  {
    zone: 'org-admin',
    name: 'listWebhookDeliveries',
    method: 'get',
    path: '/api/admin/v1/webhooks/subscriptions/:id/deliveries',
    summary: "A subscription's recent deliveries, newest first",
    params: idParams,
    query: limitQuery,
    answer: z.object({ object: z.literal('list'), deliveries: z.array(deliveryWireSchema) }),
    audit: { none: 'a read' },
    refusals: { 400: 'Invalid request', 404: notFound },
  },
  async ({ params, query }, _ctx, deps) => {
    const deliveries = await listDeliveries(deps, params.id, query.limit ?? PAGE_LIMIT);
    return { object: 'list' as const, deliveries: deliveries.map(toWire) };
  },
);

export const replayOperation = api(
  {
    zone: 'org-admin',
    name: 'replayWebhookSubscription',
    method: 'post',
    path: '/api/admin/v1/webhooks/subscriptions/:id/replay',
    summary: "Replay: the stored events of a time range, fanned out again to this subscription on today's grants (audited)",
    params: idParams,
    body: replayBodySchema,
    bodyRequired: true,
    answer: replayWireSchema,
    successStatus: 202,
    components: { body: 'WebhookReplayRequest', answer: 'WebhookReplay' },
    audit: 'webhook_subscription.replayed',
    refusals: { 400: 'Invalid request', 404: notFound },
  },
  async ({ params, body }, { req, res }, deps) => {
    const result = await replaySubscription(deps, params.id, body, apiActor(res.locals.principal!, req));
    return {
      replay_id: result.replayId,
      subscription_id: params.id,
      events: result.events,
      since: result.since.toISOString(),
      until: result.until?.toISOString() ?? null,
    };
  },
);

export const retryOperation = api(
  {
    zone: 'org-admin',
    name: 'retryWebhookDelivery',
    method: 'post',
    path: '/api/admin/v1/webhooks/deliveries/:id/retry',
    summary: '"Retry now": a failed or skipped delivery is due again at once (audited)',
    params: idParams,
    body: z.object({}).strict(),
    invalidBody: 'This request takes no body fields.',
    answer: deliveryWireSchema,
    successStatus: 202,
    components: { answer: 'WebhookDelivery' },
    audit: 'webhook_delivery.retried',
    refusals: { 400: 'Invalid request', 404: notFound, 409: 'The delivery is not failed or skipped' },
  },
  async ({ params }, { req, res }, deps) => toWire(await retryDelivery(deps, params.id, apiActor(res.locals.principal!, req))),
);

export const DELIVERY_API: ReadonlyArray<Contract<'org-admin', DeliveryAdminDeps>> = [
  listDeliveriesOperation,
  replayOperation,
  retryOperation,
];
