/**
 * A partner app's page (organisation admins), with its "Webhooks" section,
 * as declared page contracts in the org-admin zone (../http/contract.ts):
 *
 *   GET  /admin/apps/:clientId                                      the page
 *   POST /admin/apps/:clientId/webhooks                             add a subscription (URL, event checkboxes)
 *   POST /admin/apps/:clientId/webhooks/:id/verify                  "Verify subscription" (the token the URL received)
 *   POST /admin/apps/:clientId/webhooks/:id/resend-verification     "Resend verification"
 *   POST /admin/apps/:clientId/webhooks/:id/rotate-secret           "Rotate signing secret"
 *   POST /admin/apps/:clientId/webhooks/:id/delete                  "Delete", after its confirm step
 *
 * Plain forms with CSRF (checked globally), usable without JavaScript; each
 * answer is the page again, with the new signing secret shown once after
 * creation or rotation. Refusals are the page with the reason, nothing changed.
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { Actor } from '../admin/partner-apps.js';
import { confirmField, renderConfirmation } from '../http/confirmation.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { CAPABILITY_LABELS } from '../oauth/capabilities.js';
import type { PartnerApp } from '../store/partner-apps.js';
import type { WebhookSubscription } from '../store/webhook-subscriptions.js';
import { NOTION_EVENT_TYPES, PAGE_AND_COMMENT_EVENTS } from './event-types.js';
import { subscriptionDeps, type SubscriptionRouteDeps } from './subscription-routes.js';
import {
  createSubscription,
  deleteSubscription,
  findSubscription,
  requirePartnerApp,
  resendVerification,
  rotateSigningSecret,
  SUBSCRIPTION_ERROR_STATUS,
  SubscriptionError,
  verifySubscription,
  type SubscriptionDeps,
  type VerificationOutcome,
} from './subscriptions.js';

const GROUPS: Array<[prefix: string, legend: string]> = [
  ['page.', 'Pages'],
  ['database.', 'Databases'],
  ['data_source.', 'Data sources'],
  ['comment.', 'Comments'],
  ['view.', 'Views'],
  ['file_upload.', 'File uploads'],
];

const createFormSchema = z
  .object({
    _csrf: z.string().optional(),
    url: z.string().max(3000),
    events: z.union([z.string().max(100), z.array(z.string().max(100)).max(100)]).optional(),
  })
  .strict();
const verifyFormSchema = z.object({ _csrf: z.string().optional(), verification_token: z.string().max(1000) }).strict();
const buttonFormSchema = z.object({ _csrf: z.string().optional() }).strict();
/** "Delete" and its confirm step's second press (../http/confirmation.ts). */
const deleteFormSchema = buttonFormSchema.extend({ confirm: confirmField }).strict();

interface Notice {
  heading: string;
  lines: string[];
  signingSecret: string | null;
}

interface PageState {
  notice?: Notice;
  error?: string;
  form?: { url: string; events: string[] };
}

function statusText(s: WebhookSubscription): { label: string; reason: string | null } {
  if (s.status === 'active') return { label: 'Active', reason: null };
  if (s.status === 'disabled') return { label: 'Disabled', reason: s.disabledReason ?? 'Disabled.' };
  return {
    label: 'Pending verification',
    reason: s.disabledReason ? `The verification POST failed: ${s.disabledReason}` : null,
  };
}

function sentLine(url: string, outcome: VerificationOutcome): string {
  return outcome.delivered
    ? `A verification POST was sent to ${url}. Enter the token it carried under "Verify subscription", or let the partner verify with its client credentials.`
    : `The verification POST to ${url} failed: ${outcome.reason} The subscription stays pending: fix the URL's server, then press "Resend verification".`;
}

const ADMIN_ONLY = 'Only organisation admins manage partner apps.';
const appParams = z.object({ clientId: z.string() });
const subscriptionParams = z.object({ clientId: z.string(), id: z.string() });

const actorOf = ({ req }: HandlerContext): Actor => ({ type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null });

async function appOf(deps: SubscriptionDeps, clientId: string): Promise<PartnerApp> {
  try {
    return await requirePartnerApp(deps, clientId);
  } catch (err) {
    if (err instanceof SubscriptionError) throw notFound(err.message);
    throw err;
  }
}

/** The app and the subscription named in the path, only if it is this app's. */
async function subscriptionOf(deps: SubscriptionDeps, params: z.output<typeof subscriptionParams>) {
  const app = await appOf(deps, params.clientId);
  const subscription = await findSubscription(deps, params.id).catch(() => null);
  if (!subscription || subscription.appId !== app.id) throw notFound('This app has no webhook subscription with this id.');
  return { app, subscription };
}

async function render(deps: SubscriptionDeps, res: Response, app: PartnerApp, state: PageState = {}, status = 200) {
  const subscriptions = await deps.subscriptions.listForApp(app.id);
  const chosen = state.form?.events ?? PAGE_AND_COMMENT_EVENTS;
  renderPage(
    res,
    'admin-app',
    {
      title: app.name,
      app: {
        name: app.name,
        clientId: app.clientId!,
        clientType: app.clientType,
        capabilities: app.capabilities.map((c) => CAPABILITY_LABELS[c]).join(', '),
        redirectUris: app.redirectUris,
        logoUrl: app.hasLogo ? `/apps/${app.id}/logo` : null,
      },
      base: `/admin/apps/${encodeURIComponent(app.clientId!)}/webhooks`,
      subscriptions: subscriptions.map((s) => ({
        id: s.id,
        url: s.url,
        events: s.events.join(', '),
        status: s.status,
        ...statusText(s),
        pending: s.status === 'pending',
        canResend: s.status !== 'active',
        createdAt: s.createdAt.toISOString(),
        deliveriesUrl: `/admin/webhooks/subscriptions/${s.id}`,
      })),
      groups: GROUPS.map(([prefix, legend]) => ({
        legend,
        events: NOTION_EVENT_TYPES.filter((t) => t.startsWith(prefix)).map((t) => ({
          value: t,
          id: `event-${t.replace(/[._]/g, '-')}`,
          checked: (chosen as readonly string[]).includes(t),
        })),
      })),
      formUrl: state.form?.url ?? '',
      notice: state.notice ?? null,
      error: state.error ?? null,
    },
    status,
  );
}

/** A rule's refusal is the page again with the reason; anything else is an error. */
async function refusal(deps: SubscriptionDeps, res: Response, app: PartnerApp, err: unknown, form?: PageState['form']) {
  if (!(err instanceof SubscriptionError)) throw err;
  const status = SUBSCRIPTION_ERROR_STATUS[err.code];
  await render(deps, res, app, { error: err.message, form }, status === 502 ? 200 : status);
}

const { page } = contractsFor<SubscriptionDeps>();
const base = { zone: 'org-admin', adminOnly: ADMIN_ONLY, answer: 'html' } as const;

export const partnerAppPage = page(
  {
    ...base,
    name: 'partnerAppPage',
    method: 'get',
    path: '/admin/apps/:clientId',
    summary: 'A partner app and its webhook subscriptions',
    params: appParams,
    audit: { none: 'a page' },
  },
  async ({ params }, { res }, deps) => render(deps, res, await appOf(deps, params.clientId)),
);

export const addSubscriptionPage = page(
  {
    ...base,
    name: 'addWebhookSubscriptionPage',
    method: 'post',
    path: '/admin/apps/:clientId/webhooks',
    summary: '"Add subscription": the URL and the ticked event types; the signing secret is shown once',
    params: appParams,
    body: createFormSchema,
    bodyRequired: true,
    audit: ['webhook_subscription.created', 'webhook_subscription.verification_sent'],
  },
  async ({ params, body }, ctx, deps) => {
    const app = await appOf(deps, params.clientId);
    const events = body.events === undefined ? [] : Array.isArray(body.events) ? body.events : [body.events];
    const form = { url: body.url.trim(), events };
    try {
      const created = await createSubscription(deps, { clientId: app.clientId!, url: form.url, events }, actorOf(ctx));
      const notice = {
        heading: 'Subscription added',
        lines: [sentLine(created.subscription.url, created.verification), 'Copy the signing secret now: it will not be shown again.'],
        signingSecret: created.signingSecret,
      };
      await render(deps, ctx.res, app, { notice }, 201);
    } catch (err) {
      await refusal(deps, ctx.res, app, err, form);
    }
  },
);

export const verifySubscriptionPage = page(
  {
    ...base,
    name: 'verifyWebhookSubscriptionPage',
    method: 'post',
    path: '/admin/apps/:clientId/webhooks/:id/verify',
    summary: '"Verify subscription": the token the URL received, entered back',
    params: subscriptionParams,
    body: verifyFormSchema,
    bodyRequired: true,
    audit: ['webhook_subscription.verified', 'webhook_subscription.verification_failed'],
  },
  async ({ params, body }, ctx, deps) => {
    const { app, subscription } = await subscriptionOf(deps, params);
    try {
      await verifySubscription(deps, { id: subscription.id, token: body.verification_token.trim() }, actorOf(ctx));
      const notice = { heading: 'Subscription verified', lines: [`${subscription.url} now receives its events.`], signingSecret: null };
      await render(deps, ctx.res, app, { notice });
    } catch (err) {
      await refusal(deps, ctx.res, app, err);
    }
  },
);

export const resendVerificationPage = page(
  {
    ...base,
    name: 'resendWebhookVerificationPage',
    method: 'post',
    path: '/admin/apps/:clientId/webhooks/:id/resend-verification',
    summary: '"Resend verification"',
    params: subscriptionParams,
    body: buttonFormSchema,
    bodyRequired: true,
    audit: 'webhook_subscription.verification_sent',
  },
  async ({ params }, ctx, deps) => {
    const { app, subscription } = await subscriptionOf(deps, params);
    try {
      const { verification } = await resendVerification(deps, subscription.id, actorOf(ctx));
      const notice = { heading: 'Verification sent again', lines: [sentLine(subscription.url, verification)], signingSecret: null };
      await render(deps, ctx.res, app, { notice });
    } catch (err) {
      await refusal(deps, ctx.res, app, err);
    }
  },
);

export const rotateSigningSecretPage = page(
  {
    ...base,
    name: 'rotateWebhookSigningSecretPage',
    method: 'post',
    path: '/admin/apps/:clientId/webhooks/:id/rotate-secret',
    summary: '"Rotate signing secret": the new one is shown once',
    params: subscriptionParams,
    body: buttonFormSchema,
    bodyRequired: true,
    audit: 'webhook_subscription.secret_rotated',
  },
  async ({ params }, ctx, deps) => {
    const { app, subscription } = await subscriptionOf(deps, params);
    try {
      const rotated = await rotateSigningSecret(deps, subscription.id, actorOf(ctx));
      const notice = {
        heading: 'New signing secret',
        lines: [
          `For ${subscription.url}. The previous secret keeps signing until ${rotated.previousExpiresAt.toISOString()}, beside this one.`,
          'Copy the signing secret now: it will not be shown again.',
        ],
        signingSecret: rotated.signingSecret,
      };
      await render(deps, ctx.res, app, { notice });
    } catch (err) {
      await refusal(deps, ctx.res, app, err);
    }
  },
);

export const deleteSubscriptionPage = page(
  {
    ...base,
    name: 'deleteWebhookSubscriptionPage',
    method: 'post',
    path: '/admin/apps/:clientId/webhooks/:id/delete',
    summary: '"Delete", after its confirm step (../http/confirmation.ts)',
    params: subscriptionParams,
    body: deleteFormSchema,
    bodyRequired: true,
    audit: 'webhook_subscription.deleted',
  },
  async ({ params, body }, ctx, deps) => {
    const { app, subscription } = await subscriptionOf(deps, params);
    const appPage = `/admin/apps/${encodeURIComponent(params.clientId)}`;
    if (!body.confirm)
      return renderConfirmation(ctx.res, {
        heading: `Delete the subscription to ${subscription.url}?`,
        consequences: [
          `${subscription.url} receives no more events of ${app.name}. Deliveries not yet made are dropped; this cannot be undone.`,
        ],
        action: `${appPage}/webhooks/${encodeURIComponent(subscription.id)}/delete`,
        button: { text: 'Delete' },
        cancelHref: appPage,
      });
    try {
      await deleteSubscription(deps, subscription.id, actorOf(ctx));
      const notice = { heading: 'Subscription deleted', lines: [`${subscription.url} receives nothing more.`], signingSecret: null };
      await render(deps, ctx.res, app, { notice });
    } catch (err) {
      await refusal(deps, ctx.res, app, err);
    }
  },
);

export const SUBSCRIPTION_PAGES: ReadonlyArray<Contract<'org-admin', SubscriptionDeps>> = [
  partnerAppPage,
  addSubscriptionPage,
  verifySubscriptionPage,
  resendVerificationPage,
  rotateSigningSecretPage,
  deleteSubscriptionPage,
];

export function subscriptionPageRoutes(deps: SubscriptionRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'org-admin', SUBSCRIPTION_PAGES, subscriptionDeps(deps), guards);
  return router;
}
