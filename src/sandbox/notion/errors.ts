/**
 * The two error vocabularies of the emulated service, never mixed:
 * - NotionApiError: Notion's API error body `{object:"error", status, code, message, request_id}`.
 * - OAuthError (token, introspect, revoke): RFC 6749 §5.2 `error`/`error_description`
 *   plus Notion's keys in one body, since which one Notion really sends is unconfirmed
 *   (developers.notion.com/reference/create-a-token) and clients may read either.
 */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

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
  | 'conflict_error'
  | 'internal_server_error';

export class NotionApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: NotionErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const REACH_HINT = 'Make sure the relevant pages and databases are shared with your integration.';

export function objectNotFound(kind: 'page' | 'block' | 'database' | 'data_source' | 'user' | 'comment', id: string): NotionApiError {
  const noun = kind === 'data_source' ? 'data source' : kind;
  const hint = kind === 'user' || kind === 'comment' ? '' : ` ${REACH_HINT}`;
  return new NotionApiError(404, 'object_not_found', `Could not find ${noun} with ID: ${id}.${hint}`);
}

export const unauthorized = () => new NotionApiError(401, 'unauthorized', 'API token is invalid.');
export const restricted = () => new NotionApiError(403, 'restricted_resource', 'Insufficient permissions for this endpoint.');
export const validationError = (message: string) => new NotionApiError(400, 'validation_error', message);
export const invalidRequestUrl = () => new NotionApiError(400, 'invalid_request_url', 'Invalid request URL.');

export type OAuthErrorCode = 'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unauthorized_client' | 'unsupported_grant_type';

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    readonly description: string,
  ) {
    super(description);
  }
}
export const invalidGrant = (description: string) => new OAuthError(400, 'invalid_grant', description);
export const invalidClient = () => new OAuthError(401, 'invalid_client', 'Client authentication failed.');
export const invalidOAuthRequest = (description: string) => new OAuthError(400, 'invalid_request', description);

export function requestId(res: Response): string {
  if (typeof res.locals.notionRequestId !== 'string') res.locals.notionRequestId = randomUUID();
  return res.locals.notionRequestId as string;
}

/** Last middleware of the router: every failure leaves in one of the two shapes above. */
export function notionErrorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const request_id = requestId(res);
  if (err instanceof OAuthError) {
    res.status(err.status).json({
      error: err.error,
      error_description: err.description,
      object: 'error',
      status: err.status,
      code: err.error,
      message: err.description,
      request_id,
    });
    return;
  }
  let apiError: NotionApiError;
  if (err instanceof NotionApiError) apiError = err;
  else if (isBodyParserError(err) && err.type === 'entity.parse.failed')
    apiError = new NotionApiError(400, 'invalid_json', 'Error parsing JSON body.');
  else if (isBodyParserError(err) && err.status === 413) apiError = new NotionApiError(413, 'validation_error', 'Request body too large.');
  else {
    console.error('[sandbox-notion] unexpected error', err);
    apiError = new NotionApiError(500, 'internal_server_error', 'Unexpected error occurred.');
  }
  for (const [name, value] of Object.entries(apiError.headers)) res.setHeader(name, value);
  res.status(apiError.status).json({
    object: 'error',
    status: apiError.status,
    code: apiError.code,
    message: apiError.message,
    request_id,
  });
}

function isBodyParserError(err: unknown): err is { type?: string; status?: number } {
  return typeof err === 'object' && err !== null && ('type' in err || 'status' in err);
}
