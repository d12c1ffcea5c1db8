/**
 * The proxy's one error vocabulary: Notion's API error body
 * `{object:"error", status, code, message, request_id}`,
 * so a partner's @notionhq/client raises the APIResponseError it would raise
 * against Notion. `reason` is for the audit log and metrics only.
 */
import { isUnavailableError } from '../http/errors.js';

export type NotionErrorCode =
  | 'unauthorized'
  | 'restricted_resource'
  | 'object_not_found'
  | 'rate_limited'
  | 'invalid_json'
  | 'invalid_request_url'
  | 'invalid_request'
  | 'validation_error'
  | 'missing_version'
  | 'internal_server_error'
  | 'bad_gateway'
  | 'gateway_timeout'
  | 'service_unavailable';

export type RefusalReason =
  | 'bad_version'
  | 'missing_token'
  | 'unknown_token'
  | 'expired_token'
  | 'revoked_token'
  | 'grant_revoked'
  /** A token bound (RFC 8707) to another resource than the one it was presented to. */
  | 'wrong_audience'
  | 'invalid_request_url'
  | 'missing_capability'
  | 'invalid_body'
  | 'body_too_large'
  | 'out_of_scope'
  | 'connection_broken'
  | 'rate_limited'
  | 'unavailable';

export class NotionError extends Error {
  constructor(
    readonly status: number,
    /** One of NotionErrorCode, or a code Notion itself answered (passed through). */
    readonly code: NotionErrorCode | (string & {}),
    message: string,
    readonly reason: RefusalReason | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'NotionError';
  }
}

export type ObjectKind = 'page' | 'block' | 'database' | 'data_source' | 'user' | 'comment' | 'discussion';

/**
 * Notion's words for content it cannot see, whether it does not exist or is
 * not shared: out-of-scope content answers exactly this, so nothing leaks.
 */
export function objectNotFound(kind: ObjectKind, id: string): NotionError {
  const noun = kind === 'data_source' ? 'data source' : kind;
  const hint =
    kind === 'user' || kind === 'comment' || kind === 'discussion'
      ? ''
      : ' Make sure the relevant pages and databases are shared with your integration.';
  return new NotionError(404, 'object_not_found', `Could not find ${noun} with ID: ${id}.${hint}`, 'out_of_scope');
}

export const invalidRequestUrl = () => new NotionError(400, 'invalid_request_url', 'Invalid request URL.', 'invalid_request_url');
export const restricted = () =>
  new NotionError(403, 'restricted_resource', 'Insufficient permissions for this endpoint.', 'missing_capability');
export const unauthorized = (reason: RefusalReason) => new NotionError(401, 'unauthorized', 'API token is invalid.', reason);
export const validationError = (message: string, reason: RefusalReason = 'invalid_body') =>
  new NotionError(400, 'validation_error', message, reason);

/**
 * PostgreSQL or Redis unreachable (the classification every surface shares,
 * src/http/errors.ts) is an outage, answered as Notion answers its own: 503
 * `service_unavailable` with Retry-After, so a partner's client backs off and
 * retries instead of treating it as a bug. null for any other failure.
 */
export function unavailable(err: unknown): NotionError | null {
  if (!isUnavailableError(err)) return null;
  return new NotionError(503, 'service_unavailable', 'Gatehouse is temporarily unavailable. Try again in a moment.', 'unavailable', {
    'Retry-After': '5',
  });
}
