/**
 * The one error type a rule refuses with, for pages and the API alike: its
 * area's own code (what the rule means), the HTTP status it answers with and
 * the sentence shown. Each area narrows the code to its own list and keeps
 * its status table beside it; errorHandler (./errors.ts) is the one place a
 * refusal becomes an answer, so no route maps errors itself.
 */
import type { ErrorCode } from './errors.js';

export class AdminError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly status: number,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }

  /** What the log says about the refusal (never shown). */
  logDetail(): string | undefined {
    return this.detail;
  }
}

/** The wire code of each status a refusal answers with. */
const WIRE_CODE: Record<number, ErrorCode> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  429: 'rate_limited',
  502: 'unavailable',
  503: 'unavailable',
};

export function wireCodeOf(status: number): ErrorCode {
  return WIRE_CODE[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request');
}
