/**
 * CSRF: synchroniser tokens in the session (csrf-sync) on every state-changing
 * request made with a session cookie. Bearer-token API calls and the partner
 * OAuth endpoints carry no ambient credential, so they are exempt.
 */
import type { Request, RequestHandler } from 'express';
import { csrfSync } from 'csrf-sync';

const csrf = csrfSync({
  getTokenFromRequest: (req) => {
    const fromBody = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (typeof fromBody === 'string') return fromBody;
    const header = req.headers['x-csrf-token'];
    return typeof header === 'string' ? header : undefined;
  },
  // CSRF rides on an ambient session: API calls with a bearer token, or without anyone signed in, carry none (they get 401 instead).
  skipCsrfProtection: (req: Request) =>
    req.path.startsWith('/v1/') || (req.path.startsWith('/api/') && (/^Bearer /i.test(req.headers.authorization ?? '') || !req.user)),
  errorConfig: { statusCode: 403, code: 'EBADCSRFTOKEN', message: 'invalid csrf token' },
});

export const csrfProtection: RequestHandler = csrf.csrfSynchronisedProtection;

/** Exposes the token to views for signed-in people only, so anonymous visits create no session. */
export const csrfTokenForViews: RequestHandler = (req, res, next) => {
  if (req.user) res.locals.csrfToken = csrf.generateToken(req);
  next();
};
