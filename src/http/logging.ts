/**
 * Structured request logs with a request id. Secrets never reach the log:
 * authorization headers, cookies and any token, code or secret in a query
 * string are redacted before the line is written.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';

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

export function requestLogger(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers['x-request-id'];
      // Accept a load balancer's id only when it looks like one; never echo arbitrary input.
      return typeof incoming === 'string' && /^[A-Za-z0-9._-]{8,64}$/.test(incoming) ? incoming : randomUUID();
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url),
        remoteAddress: req.remoteAddress,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // Every answer is logged at info (an operator counts successes too); 5xx and thrown errors at error.
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
  });
}
