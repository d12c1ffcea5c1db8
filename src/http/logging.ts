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

const SECRET_PARAMS = /([?&](?:code|state|token|access_token|refresh_token|client_secret|code_verifier|password)=)[^&#]*/gi;

/** Query strings carry codes and state on OAuth redirects. */
export function redactUrl(url: string): string {
  return url.replace(SECRET_PARAMS, '$1[redacted]');
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
