/**
 * Structured request logs with a request id. Secrets never reach the log:
 * authorization headers, cookies and any token, code or secret in a query
 * string are redacted before the line is written.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import type { RequestHandler } from 'express';

/** Logs go to stderr: stdout carries only the start-up line (and the command line's JSON). */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.access_token',
          '*.refresh_token',
          '*.client_secret',
          '*.code',
          '*.token',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

/** Query parameters that carry codes, tokens or secrets (OAuth redirects, webhook verification, token exchange). */
const SECRET_PARAMS = new Set([
  'code',
  'state',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'subject_token',
  'actor_token',
  'client_secret',
  'client_assertion',
  'code_verifier',
  'verification_token',
  'password',
]);

const decoded = (text: string): string => {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
};

/**
 * A URL with the values of secret query parameters replaced, by parameter
 * name (case-insensitive, however encoded); a value that is itself a URL
 * with a query (a `return_to` after sign-in) is redacted the same way.
 */
export function redactUrl(url: string, depth = 0): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash === -1 ? undefined : hash);
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq === -1) return part;
    const name = decoded(part.slice(0, eq)).toLowerCase();
    if (SECRET_PARAMS.has(name)) return `${part.slice(0, eq)}=[redacted]`;
    const value = decoded(part.slice(eq + 1));
    if (depth < 3 && value.includes('?')) {
      const inner = redactUrl(value, depth + 1);
      if (inner !== value) return `${part.slice(0, eq)}=${encodeURIComponent(inner)}`;
    }
    return part;
  });
  return `${url.slice(0, q + 1)}${parts.join('&')}${hash === -1 ? '' : url.slice(hash)}`;
}

/**
 * One line per answer, at info (an operator counts successes too), 5xx at
 * error, with a request id. Written here rather than with pino-http, which
 * built a child logger (serialising the request) and three listeners for
 * every request before knowing whether a line would be written: that was
 * the largest single cost of a token introspection. Same line shape:
 * `req` {id, method, url, remoteAddress}, `res` {statusCode}, `responseTime`.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const started = Date.now();
    res.once('close', () => {
      const failed = res.statusCode >= 500;
      const level = failed ? 'error' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const line = {
        req: { id: requestId(req), method: req.method, url: redactUrl(req.originalUrl), remoteAddress: req.socket.remoteAddress },
        res: { statusCode: res.statusCode },
        responseTime: Date.now() - started,
      };
      const message = !res.writableFinished ? 'request aborted' : failed ? 'request errored' : 'request completed';
      logger[level](line, message);
    });
    next();
  };
}

/** Accept a load balancer's id only when it looks like one; never echo arbitrary input. */
function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : randomUUID();
}
