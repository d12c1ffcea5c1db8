/**
 * CSRF: synchroniser tokens in the session (csrf-sync) on every state-changing
 * request made with a session cookie. Bearer-token API calls and the partner
 * OAuth endpoints carry no ambient credential, so they are exempt.
 */
import type { Request, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';
import { constantTimeEqual } from '../crypto/tokens.js';

function skipCsrf(req: Request): boolean {
  return req.path.startsWith('/v1/') || (req.path.startsWith('/api/') && (/^Bearer /i.test(req.headers.authorization ?? '') || !req.user));
}

const csrf = csrfSync({
  getTokenFromRequest: (req) => {
    const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (typeof fromBody === 'string') return fromBody;
    const header = req.headers['x-csrf-token'];
    return typeof header === 'string' ? header : undefined;
  },
  // CSRF rides on an ambient session: API calls with a bearer token, or without anyone signed in, carry none (they get 401 instead).
  skipCsrfProtection: (req: Request) => skipCsrf(req),
  errorConfig: { statusCode: 403, code: 'EBADCSRFTOKEN', message: 'invalid csrf token' },
});

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * csrf-sync keeps the synchroniser token in the session; the comparison is
 * ours so it runs in constant time, and a browser that says the request is
 * cross-site (Sec-Fetch-Site) is refused whatever it carries.
 */
export const csrfProtection: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method) || skipCsrf(req)) return next();
  const expected = csrf.getTokenFromState(req);
  const given = csrf.getTokenFromRequest(req);
  const crossSite = req.headers['sec-fetch-site'] === 'cross-site';
  if (crossSite || typeof expected !== 'string' || typeof given !== 'string' || !constantTimeEqual(expected, given)) {
    next(csrf.invalidCsrfTokenError);
    return;
  }
  next();
};

/** Exposes the token to views for signed-in people only, so anonymous visits create no session. */
export const csrfTokenForViews: RequestHandler = (req, res, next) => {
  if (req.user) res.locals.csrfToken = csrf.generateToken(req);
  next();
};
