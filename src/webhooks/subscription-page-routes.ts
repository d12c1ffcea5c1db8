/**
 * A partner app's page (organisation admins), with its "Webhooks" section:
 *
 *   GET  /admin/apps/:clientId                                      the page
 *   POST /admin/apps/:clientId/webhooks                             add a subscription (URL, event checkboxes)
 *   POST /admin/apps/:clientId/webhooks/:id/verify                  "Verify subscription" (the token the URL received)
 *   POST /admin/apps/:clientId/webhooks/:id/resend-verification     "Resend verification"
 *   POST /admin/apps/:clientId/webhooks/:id/rotate-secret           "Rotate signing secret"
 *   POST /admin/apps/:clientId/webhooks/:id/delete                  "Delete"
 *
 * Plain forms with CSRF (checked globally), usable without JavaScript; each
 * answer is the page again, with the new signing secret shown once after
 * creation or rotation. Refusals are the page with the reason, nothing changed.
 */
import { confirmField, isConfirmed, renderConfirmation } from '../http/confirmation.js';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isOrganisationAdmin } from '../admin/auth.js';
import { describeZodError } from '../http/validation.js';
import type { Actor } from '../admin/partner-apps.js';
import { requireSignIn } from '../http/auth-guards.js';
import { badRequest, forbidden, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
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

export function subscriptionPageRoutes(deps: SubscriptionRouteDeps): Router {
  const router = Router();
  const rules: SubscriptionDeps = subscriptionDeps(deps);

  const requireAdmin = (req: Request) => {
    if (!isOrganisationAdmin(req.user!, deps.config.adminEmails)) throw forbidden('Only organisation admins manage partner apps.');
  };
  const actorOf = (req: Request): Actor => ({ type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null });
  const appOf = async (req: Request): Promise<PartnerApp> => {
    try {
      return await requirePartnerApp(rules, String(req.params.clientId));
    } catch (err) {
      if (err instanceof SubscriptionError) throw notFound(err.message);
      throw err;
    }
  };
  /** The subscription named in the path, only if it is this app's. */
  const subscriptionOf = async (req: Request, app: PartnerApp): Promise<WebhookSubscription> => {
    const found = await findSubscription(rules, String(req.params.id)).catch(() => null);
    if (!found || found.appId !== app.id) throw notFound('This app has no webhook subscription with this id.');
    return found;
  };

  const render = async (res: Response, app: PartnerApp, state: PageState = {}, status = 200) => {
    const subscriptions = await deps.stores.webhookSubscriptions.listForApp(app.id);
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
  };
  /** A rule's refusal is the page again with the reason; anything else is an error. */
  const refusal = async (res: Response, app: PartnerApp, err: unknown, form?: PageState['form']) => {
    if (!(err instanceof SubscriptionError)) throw err;
    await render(
      res,
      app,
      { error: err.message, form },
      SUBSCRIPTION_ERROR_STATUS[err.code] === 502 ? 200 : SUBSCRIPTION_ERROR_STATUS[err.code],
    );
  };
  const parse = <T>(schema: z.ZodType<T>, req: Request): T => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    return parsed.data;
  };

  router.get('/admin/apps/:clientId', requireSignIn, async (req, res) => {
    requireAdmin(req);
    await render(res, await appOf(req));
  });

  router.post('/admin/apps/:clientId/webhooks', requireSignIn, async (req, res) => {
    requireAdmin(req);
    const app = await appOf(req);
    const body = parse(createFormSchema, req);
    const events = body.events === undefined ? [] : Array.isArray(body.events) ? body.events : [body.events];
    const form = { url: body.url.trim(), events };
    try {
      const created = await createSubscription(rules, { clientId: app.clientId!, url: form.url, events }, actorOf(req));
      const notice = {
        heading: 'Subscription added',
        lines: [sentLine(created.subscription.url, created.verification), 'Copy the signing secret now: it will not be shown again.'],
        signingSecret: created.signingSecret,
      };
      await render(res, app, { notice }, 201);
    } catch (err) {
      await refusal(res, app, err, form);
    }
  });

  router.post('/admin/apps/:clientId/webhooks/:id/verify', requireSignIn, async (req, res) => {
    requireAdmin(req);
    const app = await appOf(req);
    const subscription = await subscriptionOf(req, app);
    const body = parse(verifyFormSchema, req);
    try {
      await verifySubscription(rules, { id: subscription.id, token: body.verification_token.trim() }, actorOf(req));
      const notice = { heading: 'Subscription verified', lines: [`${subscription.url} now receives its events.`], signingSecret: null };
      await render(res, app, { notice });
    } catch (err) {
      await refusal(res, app, err);
    }
  });

  router.post('/admin/apps/:clientId/webhooks/:id/resend-verification', requireSignIn, async (req, res) => {
    requireAdmin(req);
    const app = await appOf(req);
    const subscription = await subscriptionOf(req, app);
    parse(buttonFormSchema, req);
    try {
      const { verification } = await resendVerification(rules, subscription.id, actorOf(req));
      const notice = { heading: 'Verification sent again', lines: [sentLine(subscription.url, verification)], signingSecret: null };
      await render(res, app, { notice });
    } catch (err) {
      await refusal(res, app, err);
    }
  });

  router.post('/admin/apps/:clientId/webhooks/:id/rotate-secret', requireSignIn, async (req, res) => {
    requireAdmin(req);
    const app = await appOf(req);
    const subscription = await subscriptionOf(req, app);
    parse(buttonFormSchema, req);
    try {
      const rotated = await rotateSigningSecret(rules, subscription.id, actorOf(req));
      const notice = {
        heading: 'New signing secret',
        lines: [
          `For ${subscription.url}. The previous secret keeps signing until ${rotated.previousExpiresAt.toISOString()}, beside this one.`,
          'Copy the signing secret now: it will not be shown again.',
        ],
        signingSecret: rotated.signingSecret,
      };
      await render(res, app, { notice });
    } catch (err) {
      await refusal(res, app, err);
    }
  });

  router.post('/admin/apps/:clientId/webhooks/:id/delete', requireSignIn, async (req, res) => {
    requireAdmin(req);
    const app = await appOf(req);
    const subscription = await subscriptionOf(req, app);
    parse(deleteFormSchema, req);
    if (!isConfirmed(req.body))
      return renderConfirmation(res, {
        heading: `Delete the subscription to ${subscription.url}?`,
        consequences: [
          `${subscription.url} receives no more events of ${app.name}. Deliveries not yet made are dropped; this cannot be undone.`,
        ],
        action: `/admin/apps/${encodeURIComponent(String(req.params.clientId))}/webhooks/${encodeURIComponent(subscription.id)}/delete`,
        button: { text: 'Delete' },
        cancelHref: `/admin/apps/${encodeURIComponent(String(req.params.clientId))}`,
      });
    try {
      await deleteSubscription(rules, subscription.id, actorOf(req));
      const notice = { heading: 'Subscription deleted', lines: [`${subscription.url} receives nothing more.`], signingSecret: null };
      await render(res, app, { notice });
    } catch (err) {
      await refusal(res, app, err);
    }
  });

  return router;
}
