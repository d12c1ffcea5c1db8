/**
 * One error renderer: JSON `{ error: { code, message } }` for APIs, a plain
 * HTML page for browsers. Unexpected errors never show their detail; an
 * unreachable database or Redis is a 503 with a plain message, not a hang.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import type { Logger } from 'pino';
import { AdminError, wireCodeOf } from './refusal.js';
import { eta } from './views.js';

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal_error';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string) => new HttpError(400, 'invalid_request', message);
export const unauthorized = (message = 'Sign in or present a valid admin token.') => new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'You are not allowed to do that.') => new HttpError(403, 'forbidden', message);
export const notFound = (message = 'Not found.') => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
]);

/** Infrastructure that is down or slow: PostgreSQL, Redis. */
export function isUnavailableError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; name?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  if (
    // node-postgres: a client queried after its connection broke (a transaction's ROLLBACK after a restart, which
    // Kysely throws in place of the statement's error) says "not queryable"; its connect and read timeouts say "timeout".
    /timed out|timeout exceeded|timeout expired|Query read timeout|not queryable|Connection terminated|The client is closed|client is offline|Socket closed|connect ECONNREFUSED|Connection is closed/i.test(
      message,
    )
  )
    return true;
  if (
    e.name === 'ClientClosedError' ||
    e.name === 'ClientOfflineError' ||
    e.name === 'SocketClosedUnexpectedlyError' ||
    e.name === 'ConnectionTimeoutError'
  )
    return true;
  return e.cause ? isUnavailableError(e.cause) : false;
}

export function wantsJson(req: Request): boolean {
  // The authorisation endpoint is where a person's browser lands: its errors are pages.
  if (req.path === '/v1/oauth/authorize') return false;
  if (req.path.startsWith('/api/') || req.path.startsWith('/v1/') || req.path === '/readyz' || req.path === '/healthz') return true;
  const accept = req.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

export function sendError(req: Request, res: Response, status: number, code: ErrorCode, message: string): void {
  if (res.headersSent) return;
  res.status(status);
  if (status === 429 || status === 503) res.setHeader('Retry-After', '5');
  if (wantsJson(req)) {
    res.json({ error: { code, message } });
    return;
  }
  const title =
    status === 503 ? 'Temporarily unavailable' : status === 404 ? 'Not found' : status === 403 ? 'Not allowed' : 'Something went wrong';
  // Inside the product when the page's chrome was already read (signed in, session and database up): the
  // person keeps the header and a way back. Otherwise (an outage, before sign-in) the bare page, which needs nothing.
  const chrome = res.locals.pageChrome as { person?: unknown } | undefined;
  if (chrome?.person && status !== 503) {
    res.type('html').send(
      eta.render('error-page', {
        title,
        status,
        message,
        person: chrome.person,
        csrfToken: res.locals.csrfToken,
        organisationName: res.app?.locals.organisationName ?? null,
        backHref: '/workspaces',
        backText: 'Back to your workspaces',
      }),
    );
    return;
  }
  res.type('html').send(eta.render('error', { title, status, message }));
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (err instanceof HttpError) {
      if (err.detail) logger.info({ err: err.detail, code: err.code }, 'request refused');
      sendError(req, res, err.status, err.code, err.message);
      return;
    }
    if (err instanceof AdminError) {
      const detail = err.logDetail();
      if (detail) logger.info({ err: detail, code: err.code }, 'request refused');
      sendError(req, res, err.status, wireCodeOf(err.status), err.message);
      return;
    }
    // body-parser and csrf-sync errors carry an HTTP status and a type.
    const status = typeof err?.status === 'number' ? err.status : typeof err?.statusCode === 'number' ? err.statusCode : 0;
    if (status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 403 ? 'forbidden' : 'invalid_request';
      const message =
        err?.code === 'EBADCSRFTOKEN' || /csrf/i.test(String(err?.message))
          ? 'The form expired or did not come from Gatehouse. Go back, reload and try again.'
          : status === 413
            ? 'The request body is too large.'
            : status === 400 && err?.type === 'entity.parse.failed'
              ? 'The request body is not valid JSON.'
              : 'The request could not be understood.';
      sendError(req, res, status, code, message);
      return;
    }
    if (isUnavailableError(err)) {
      logger.warn({ err: String(err?.message ?? err) }, 'dependency unavailable');
      sendError(req, res, 503, 'unavailable', 'Gatehouse is temporarily unavailable. Try again in a moment.');
      return;
    }
    logger.error({ err }, 'unexpected error');
    sendError(req, res, 500, 'internal_error', 'Something went wrong on our side.');
  };
}
