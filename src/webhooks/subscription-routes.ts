/**
 * Partner webhook subscriptions over HTTP (the rules are in ./subscriptions.ts):
 *
 *   POST   /api/admin/v1/webhooks/subscriptions                                       create → 201, pending, signing_secret once
 *   GET    /api/admin/v1/webhooks/subscriptions[?client_id=]                          list
 *   GET    /api/admin/v1/webhooks/subscriptions/:subscription_id                      one
 *   POST   /api/admin/v1/webhooks/subscriptions/:subscription_id/verify               the token entered back → active
 *   POST   /api/admin/v1/webhooks/subscriptions/:subscription_id/rotate-secret        a new whsec_ secret, once
 *   POST   /api/admin/v1/webhooks/subscriptions/:subscription_id/resend-verification  the verification POST again
 *   DELETE /api/admin/v1/webhooks/subscriptions/:subscription_id                      delete
 *   POST   /v1/webhooks/subscriptions/:id/verify                                      the partner, with its client credentials
 *
 * The admin API is declared as contracts (./subscription-api.ts) in the
 * org-admin zone (session with CSRF, or a Bearer admin token) and answers
 * `{ "error": { "code", "message" } }`. The partner endpoint stays on its own
 * route: it reads JSON or form bodies, authenticates clients as the OAuth
 * endpoints do and answers in their shape (RFC 6749 and Notion's
 * vocabularies in one body).
 */
import { mountZone, type ZoneGuards } from '../http/zones.js';
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import type { Actor } from '../admin/partner-apps.js';
import { isUnavailableError } from '../http/errors.js';
import { authenticateClient } from '../oauth/client-auth.js';
import { InvalidRequest, OAuthError, RateLimited, sendOAuthError } from '../oauth/errors.js';
import type { FailureLimiter } from '../oauth/failure-limiter.js';
import { bodyParams } from '../oauth/params.js';
import type { Stores } from '../store/stores.js';
import { createWebhookSender, type WebhookSender } from './outbound.js';
import { SUBSCRIPTION_API } from './subscription-api.js';
import {
  DEFAULT_SIGNING_SECRET_OVERLAP_MS,
  SUBSCRIPTION_ERROR_STATUS,
  SubscriptionError,
  verifySubscription,
  type SubscriptionDeps,
} from './subscriptions.js';
import { subscriptionToWire } from './subscription-wire.js';

export interface SubscriptionRouteDeps {
  stores: Pick<Stores, 'webhookSubscriptions' | 'partnerApps' | 'audit' | 'adminTokens' | 'people'>;
  config: Pick<Config, 'adminEmails' | 'sandboxAllowed' | 'tunables'>;
  keyring: Keyring;
  clock: Clock;
  limiter: FailureLimiter;
  logger: Logger;
  /** Tests may inject one; by default ./outbound.ts with loopback http where the sandboxes run. */
  sender?: WebhookSender;
  signingSecretOverlapMs?: number;
}

export function subscriptionDeps(deps: SubscriptionRouteDeps): SubscriptionDeps {
  const allowLoopbackHttp = deps.config.sandboxAllowed;
  return {
    subscriptions: deps.stores.webhookSubscriptions,
    partnerApps: deps.stores.partnerApps,
    audit: deps.stores.audit,
    keyring: deps.keyring,
    clock: deps.clock,
    sender: deps.sender ?? createWebhookSender({ allowLoopbackHttp }),
    allowLoopbackHttp,
    limiter: deps.limiter,
    failureLimit: deps.config.tunables.clientAuthFailuresPerWindow,
    signingSecretOverlapMs: deps.signingSecretOverlapMs ?? DEFAULT_SIGNING_SECRET_OVERLAP_MS,
  };
}

const BASE = '/api/admin/v1/webhooks/subscriptions';

/** The admin API's operations (./subscription-api.ts), in the org-admin zone. */
export function subscriptionAdminApi(deps: SubscriptionRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'org-admin', SUBSCRIPTION_API, subscriptionDeps(deps), guards);
  // Any other path under /subscriptions: a stranger 401, anyone but an organisation admin 403, before a 404.
  router.use(BASE, guards.api['org-admin']);
  return router;
}

/** Keys a partner may send beside its token: client_secret_post's, nothing else. */
const PARTNER_KEYS = new Set(['verification_token', 'client_id', 'client_secret']);

function partnerError(err: SubscriptionError): OAuthError {
  if (err.code === 'rate_limited') return new RateLimited(err.retryAfterSeconds ?? 60);
  return new OAuthError('invalid_request', SUBSCRIPTION_ERROR_STATUS[err.code], err.message);
}

/** `POST /v1/webhooks/subscriptions/:id/verify`: mounted before the Notion API proxy, which owns the rest of /v1. */
export function partnerVerifyRoutes(deps: SubscriptionRouteDeps): Router {
  const router = Router();
  const rules = subscriptionDeps(deps);
  const path = '/v1/webhooks/subscriptions/:id/verify';
  const parsers = [
    express.json({ limit: '16kb', strict: true }),
    express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 }),
  ];
  router.post(path, parsers, async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    try {
      const params = bodyParams(req);
      params.rejectDuplicates();
      const unknown = Object.keys(req.body as object).find((k) => !PARTNER_KEYS.has(k));
      if (unknown !== undefined) throw new InvalidRequest(`Unknown parameter "${unknown.slice(0, 60)}".`);
      const app = await authenticateClient(
        {
          partnerApps: deps.stores.partnerApps,
          limiter: deps.limiter,
          failureLimit: deps.config.tunables.clientAuthFailuresPerWindow,
          onFailure: (clientId, reason) =>
            deps.stores.audit.record(
              {
                action: 'client.authentication_failed',
                actor: { type: 'partner', label: clientId },
                address: req.ip ?? null,
                outcome: 'failure',
                detail: { reason, endpoint: 'webhook_verify' },
              },
              deps.clock.now(),
            ),
        },
        { params, authorization: req.headers.authorization, address: req.ip ?? null },
      );
      const token = params.get('verification_token');
      if (token === undefined) throw new InvalidRequest('verification_token is required.');
      const actor: Actor = { type: 'partner', id: app.id, label: app.clientId, address: req.ip ?? null };
      const { subscription } = await verifySubscription(rules, { id: String(req.params.id), token, onlyAppId: app.id }, actor);
      res.json(subscriptionToWire(subscription, app.clientId!));
    } catch (err) {
      const oauth = err instanceof SubscriptionError ? partnerError(err) : err;
      if (oauth instanceof OAuthError) return sendOAuthError(res, oauth);
      if (isUnavailableError(err))
        return sendOAuthError(
          res,
          new OAuthError('temporarily_unavailable', 503, 'Gatehouse is temporarily unavailable. Try again in a moment.'),
        );
      deps.logger.error({ err }, 'webhook verify endpoint failed');
      sendOAuthError(res, new OAuthError('server_error', 500, 'Something went wrong on our side.'));
    }
  });
  router.all(path, (_req, res) => {
    res.setHeader('Allow', 'POST');
    sendOAuthError(res, new OAuthError('invalid_request', 405, 'Use POST.'));
  });
  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (!req.path.startsWith('/v1/webhooks/')) return next(err);
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status === 413) return sendOAuthError(res, new OAuthError('invalid_request', 413, 'The request body is too large.'));
    if (status >= 400 && status < 500)
      return sendOAuthError(res, new OAuthError('invalid_request', 400, 'The request body is not valid JSON.'));
    next(err);
  };
  router.use(bodyErrors);
  return router;
}
