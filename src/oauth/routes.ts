/**
 * Partner-facing OAuth routes. The token, introspection and revocation
 * endpoints carry no session and sit before the session middleware (their
 * hot path never touches the session store); the authorisation endpoint
 * needs the person's session and sits after it.
 */
import express, { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { HttpError, isUnavailableError } from '../http/errors.js';
import { handleAuthorize } from './authorize.js';
import { OAuthError, sendOAuthError } from './errors.js';
import { handleIntrospection } from './introspect.js';
import { authorizationServerMetadata } from './metadata.js';
import { registerClient } from './register.js';
import { handleRevocation } from './revoke.js';
import { handleTokenRequest, type TokenDeps } from './token.js';
import type { PartnerAppStore } from '../store/partner-apps.js';
import type { Clock } from '../clock.js';

const BODY_LIMIT = '16kb';

export function oauthEndpointRoutes(deps: TokenDeps & { issuer: string; logger: Logger; registrationsPerWindow?: number }): Router {
  const router = Router();
  router.get('/.well-known/oauth-authorization-server', (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json(authorizationServerMetadata(deps.issuer));
  });

  const parsers = [
    express.json({ limit: BODY_LIMIT, strict: true }),
    express.urlencoded({ extended: false, limit: BODY_LIMIT, parameterLimit: 50 }),
  ];
  const endpoint = (handler: (d: TokenDeps, req: Request) => Promise<unknown>) => async (req: Request, res: Response) => {
    // Whatever the outcome, answers of these endpoints are never cached (RFC 6749 §5.1).
    res.setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache');
    try {
      const answer = await handler(deps, req);
      res.status(200).setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache').json(answer);
    } catch (err) {
      if (err instanceof OAuthError) {
        if (err.detail) deps.logger.info({ code: err.code, detail: err.detail }, 'oauth request refused');
        sendOAuthError(res, err);
        return;
      }
      // Partners read one error shape from these endpoints, failures of ours included.
      if (isUnavailableError(err)) {
        deps.logger.warn({ err: String((err as Error)?.message ?? err) }, 'oauth endpoint: dependency unavailable');
        sendOAuthError(res, new OAuthError('temporarily_unavailable', 503, 'Gatehouse is temporarily unavailable. Try again in a moment.'));
        return;
      }
      deps.logger.error({ err }, 'oauth endpoint failed');
      sendOAuthError(res, new OAuthError('server_error', 500, 'Something went wrong on our side.'));
    }
  };
  router.post('/v1/oauth/token', parsers, endpoint(handleTokenRequest));
  router.post('/v1/oauth/introspect', parsers, endpoint(handleIntrospection));
  router.post('/v1/oauth/revoke', parsers, endpoint(handleRevocation));
  // RFC 7591 §3.2.1: a registration answers 201 Created.
  router.post('/v1/oauth/register', parsers, async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache');
    try {
      const registration = { ...deps, registrationsPerWindow: deps.registrationsPerWindow ?? 20 };
      res.status(201).json(await registerClient(registration, req));
    } catch (err) {
      if (err instanceof OAuthError) return sendOAuthError(res, err);
      deps.logger.error({ err }, 'client registration failed');
      sendOAuthError(res, new OAuthError('server_error', 500, 'Something went wrong on our side.'));
    }
  });
  router.all(['/v1/oauth/token', '/v1/oauth/introspect', '/v1/oauth/revoke', '/v1/oauth/register'], (_req, res) => {
    res.setHeader('Allow', 'POST');
    sendOAuthError(res, new OAuthError('invalid_request', 405, 'Use POST.'));
  });

  // Body parser failures answer in the OAuth shape, never as a 500.
  const bodyErrors: ErrorRequestHandler = (err, req, res, next) => {
    if (!req.path.startsWith('/v1/oauth/')) return next(err);
    const status = typeof err?.status === 'number' ? err.status : 500;
    if (status === 413) return sendOAuthError(res, new OAuthError('invalid_request', 413, 'The request body is too large.'));
    if (status >= 400 && status < 500)
      return sendOAuthError(
        res,
        new OAuthError(
          'invalid_request',
          400,
          err?.type === 'entity.parse.failed' ? 'The request body is not valid JSON.' : 'The request body could not be read.',
        ),
      );
    next(err);
  };
  router.use(bodyErrors);
  return router;
}

export function authorizeRoutes(deps: { partnerApps: PartnerAppStore; clock: Clock; issuer: string }): Router {
  const router = Router();
  router.get('/v1/oauth/authorize', async (req, res, next) => {
    const outcome = await handleAuthorize(deps, req);
    if (outcome.kind === 'page_error') throw new HttpError(400, 'invalid_request', outcome.message);
    if (outcome.kind === 'redirect_error') {
      res.redirect(303, outcome.location);
      return;
    }
    const consentPath = `/consent/${outcome.transaction.id}`;
    // The transaction must be stored before the browser follows the redirect.
    req.session.save((err) => {
      if (err) return next(err);
      res.redirect(303, req.user ? consentPath : `/auth/sign-in?return_to=${encodeURIComponent(consentPath)}`);
    });
  });
  return router;
}
