/**
 * Partner webhook subscriptions in the admin API, as declared contracts in
 * the org-admin zone (../http/contract.ts): each calls one rule of
 * ./subscriptions.ts; the wire shapes are ./subscription-wire.ts's. The
 * OpenAPI document is generated from SUBSCRIPTION_API (src/admin/openapi.ts);
 * ./subscription-routes.ts mounts it beside the partner's own verify endpoint.
 */
import type { Request } from 'express';
import { z } from 'zod';
import type { AdminPrincipal } from '../admin/auth.js';
import type { Actor } from '../admin/partner-apps.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import type { WebhookSubscription } from '../store/webhook-subscriptions.js';
import {
  clientIdOf,
  createSubscription,
  deleteSubscription,
  findSubscription,
  listSubscriptions,
  resendVerification,
  rotateSigningSecret,
  SubscriptionError,
  verifySubscription,
  type SubscriptionDeps,
} from './subscriptions.js';
import {
  listQuerySchema,
  newSubscriptionBodySchema,
  subscriptionToWire,
  subscriptionWireSchema,
  verifyBodySchema,
} from './subscription-wire.js';

export function adminActor(principal: AdminPrincipal, req: Request): Actor {
  return {
    type: principal.via === 'session' ? 'person' : 'admin_token',
    id: principal.person?.id ?? null,
    label: principal.label,
    address: req.ip ?? null,
  };
}

const { api } = contractsFor<SubscriptionDeps>();
const BASE = '/api/admin/v1/webhooks/subscriptions';
const idParams = z.object({ subscription_id: z.string() });
/** rotate-secret, resend-verification and delete take no body fields (an absent body is fine). */
const noBody = z.object({}).strict();
const NO_BODY = 'This request takes no body fields.';
const components = { answer: 'WebhookSubscription' };
const actorOf = ({ req, res }: HandlerContext) => adminActor(res.locals.principal!, req);

type Wire = z.input<typeof subscriptionWireSchema>;
// subscriptionToWire builds exactly this schema's shape; its own type keeps `events` as the stored strings.
const toWire = (subscription: WebhookSubscription, clientId: string, secret?: string) =>
  subscriptionToWire(subscription, clientId, secret) as Wire;
const wire = async (deps: SubscriptionDeps, subscription: WebhookSubscription, secret?: string) =>
  toWire(subscription, await clientIdOf(deps, subscription), secret);

const bad = { 400: 'Bad input; nothing changed' };
const noSuchApp = { 404: 'No partner app with this client id' };
const noSuchSubscription = { 404: 'No subscription with this id' };

export const listWebhookSubscriptions = api(
  {
    zone: 'org-admin',
    name: 'listWebhookSubscriptions',
    method: 'get',
    path: BASE,
    summary: "Partner webhook subscriptions (organisation admins): all, or one partner app's; never a secret",
    query: listQuerySchema,
    answer: z.object({ object: z.literal('list'), subscriptions: z.array(subscriptionWireSchema) }),
    audit: { none: 'a read' },
    refusals: { ...bad, ...noSuchApp },
  },
  async ({ query }, _ctx, deps) => {
    const found = await listSubscriptions(deps, query.client_id);
    return { object: 'list' as const, subscriptions: found.map((f) => toWire(f.subscription, f.clientId)) };
  },
);

export const createWebhookSubscription = api(
  {
    zone: 'org-admin',
    name: 'createWebhookSubscription',
    method: 'post',
    path: BASE,
    summary:
      'Subscribe a partner app\'s URL to Notion event types (organisation admins). Gatehouse POSTs { "verification_token" } to the URL; the subscription stays pending until the token is entered back (a failed verification POST leaves it pending: resend it). The whsec_ signing_secret is in this answer only',
    body: newSubscriptionBodySchema,
    bodyRequired: true,
    answer: subscriptionWireSchema,
    successStatus: 201,
    components: { body: 'NewWebhookSubscription', ...components },
    audit: ['webhook_subscription.created', 'webhook_subscription.verification_sent'],
    refusals: { ...bad, ...noSuchApp },
  },
  async ({ body }, ctx, deps) => {
    const { subscription, app, signingSecret } = await createSubscription(
      deps,
      { clientId: body.client_id, url: body.url, events: body.events },
      actorOf(ctx),
    );
    return toWire(subscription, app.clientId!, signingSecret);
  },
);

export const getWebhookSubscription = api(
  {
    zone: 'org-admin',
    name: 'getWebhookSubscription',
    method: 'get',
    path: `${BASE}/:subscription_id`,
    summary: 'One subscription',
    params: idParams,
    answer: subscriptionWireSchema,
    components,
    audit: { none: 'a read' },
    refusals: noSuchSubscription,
  },
  async ({ params }, _ctx, deps) => wire(deps, await findSubscription(deps, params.subscription_id)),
);

export const verifyWebhookSubscription = api(
  {
    zone: 'org-admin',
    name: 'verifyWebhookSubscription',
    method: 'post',
    path: `${BASE}/:subscription_id/verify`,
    summary:
      'Enter back the token the verification POST carried: pending → active. A wrong token changes nothing and is rate-limited. Partners verify their own at POST /v1/webhooks/subscriptions/{subscription_id}/verify with their client credentials',
    params: idParams,
    body: verifyBodySchema,
    bodyRequired: true,
    answer: subscriptionWireSchema,
    components: { body: 'WebhookVerification', ...components },
    audit: ['webhook_subscription.verified', 'webhook_subscription.verification_failed'],
    refusals: {
      ...bad,
      ...noSuchSubscription,
      409: 'Disabled: resend the verification POST first',
      429: 'Too many wrong tokens',
    },
  },
  async ({ params, body }, ctx, deps) => {
    const { subscription } = await verifySubscription(deps, { id: params.subscription_id, token: body.verification_token }, actorOf(ctx));
    return wire(deps, subscription);
  },
);

export const rotateWebhookSigningSecret = api(
  {
    zone: 'org-admin',
    name: 'rotateWebhookSigningSecret',
    method: 'post',
    path: `${BASE}/:subscription_id/rotate-secret`,
    summary: 'A new whsec_ signing secret, in this answer only; the previous one keeps signing through the overlap (24 hours by default)',
    params: idParams,
    body: noBody,
    invalidBody: NO_BODY,
    answer: subscriptionWireSchema,
    components,
    audit: 'webhook_subscription.secret_rotated',
    refusals: noSuchSubscription,
  },
  async ({ params }, ctx, deps) => {
    const { subscription, signingSecret } = await rotateSigningSecret(deps, params.subscription_id, actorOf(ctx));
    return wire(deps, subscription, signingSecret);
  },
);

export const resendWebhookVerification = api(
  {
    zone: 'org-admin',
    name: 'resendWebhookVerification',
    method: 'post',
    path: `${BASE}/:subscription_id/resend-verification`,
    summary:
      'Send the verification POST again (pending or disabled subscriptions; a disabled one goes back to pending); answered once the URL answered with 2xx',
    params: idParams,
    body: noBody,
    invalidBody: NO_BODY,
    answer: subscriptionWireSchema,
    components,
    audit: 'webhook_subscription.verification_sent',
    refusals: {
      ...noSuchSubscription,
      409: 'Verified already',
      502: 'The URL did not answer with 2xx: the subscription stays pending',
    },
  },
  async ({ params }, ctx, deps) => {
    const { subscription, verification } = await resendVerification(deps, params.subscription_id, actorOf(ctx));
    if (!verification.delivered)
      throw new SubscriptionError('verification_post_failed', `${verification.reason} The subscription stays pending.`);
    return wire(deps, subscription);
  },
);

export const deleteWebhookSubscription = api(
  {
    zone: 'org-admin',
    name: 'deleteWebhookSubscription',
    method: 'delete',
    path: `${BASE}/:subscription_id`,
    summary: 'Delete a subscription: nothing more is delivered to its URL',
    params: idParams,
    body: noBody,
    invalidBody: NO_BODY,
    answer: z.object({ id: z.string(), deleted: z.literal(true) }),
    audit: 'webhook_subscription.deleted',
    refusals: noSuchSubscription,
  },
  async ({ params }, ctx, deps) => {
    const subscription = await deleteSubscription(deps, params.subscription_id, actorOf(ctx));
    return { id: subscription.id, deleted: true as const };
  },
);

export const SUBSCRIPTION_API: ReadonlyArray<Contract<'org-admin', SubscriptionDeps>> = [
  createWebhookSubscription,
  listWebhookSubscriptions,
  getWebhookSubscription,
  verifyWebhookSubscription,
  rotateWebhookSigningSecret,
  resendWebhookVerification,
  deleteWebhookSubscription,
];
