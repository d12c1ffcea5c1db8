/**
 * OAuth errors, named after RFC 6749's codes. Each carries a public message
 * and a log-only detail, and is answered in one body with both vocabularies:
 * the RFC's `error`/`error_description` and Notion's
 * `object: "error"`, `status`, `code`, `message`.
 */
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'rate_limited'
  /** RFC 8707 §2. */
  | 'invalid_target'
  /** RFC 7591 §3.2.2. */
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata';

export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    readonly status: number,
    message: string,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'OAuthError';
  }
}

export class InvalidRequest extends OAuthError {
  constructor(message: string, detail?: string) {
    super('invalid_request', 400, message, detail);
  }
}
export class InvalidClient extends OAuthError {
  constructor(message = 'Client authentication failed.', detail?: string) {
    super('invalid_client', 401, message, detail);
  }
}
export class InvalidGrant extends OAuthError {
  constructor(message: string, detail?: string) {
    super('invalid_grant', 400, message, detail);
  }
}
export class UnauthorizedClient extends OAuthError {
  constructor(message: string, detail?: string) {
    super('unauthorized_client', 400, message, detail);
  }
}
export class UnsupportedGrantType extends OAuthError {
  constructor(message = 'This grant type is not supported.') {
    super('unsupported_grant_type', 400, message);
  }
}
export class InvalidScope extends OAuthError {
  constructor(message: string) {
    super('invalid_scope', 400, message);
  }
}
export class RateLimited extends OAuthError {
  constructor(readonly retryAfterSeconds: number) {
    super('rate_limited', 429, 'Too many failed attempts; try again later.');
  }
}

export function oauthErrorBody(err: OAuthError): Record<string, unknown> {
  return {
    error: err.code === 'rate_limited' ? 'invalid_request' : err.code,
    error_description: err.message,
    object: 'error',
    status: err.status,
    code: err.code,
    message: err.message,
    request_id: randomUUID(),
  };
}

/** Token, introspection and revocation answers: never cached (RFC 6749 §5.1). */
export function sendOAuthError(res: Response, err: OAuthError): void {
  res.status(err.status).setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache');
  if (err instanceof InvalidClient) res.setHeader('WWW-Authenticate', 'Basic realm="gatehouse", charset="UTF-8"');
  if (err instanceof RateLimited) res.setHeader('Retry-After', String(err.retryAfterSeconds));
  // An outage of ours: a partner's client backs off and retries, as with the proxy's 503.
  if (err.status === 503) res.setHeader('Retry-After', '5');
  res.json(oauthErrorBody(err));
}
