/**
 * OAuth parameters from a query string, a form body (the RFC's, as
 * openid-client sends it) or a JSON body (Notion's, as @notionhq/client sends
 * it). RFC 6749 §3.1/§3.2: empty values count as omitted, unknown ones are
 * ignored, a repeated parameter is invalid_request.
 */
import type { Request } from 'express';
import { InvalidRequest } from './errors.js';

export class OAuthParams {
  constructor(private readonly values: Record<string, unknown>) {}

  /** A single string value, undefined when absent or empty. */
  get(name: string): string | undefined {
    const value = this.values[name];
    if (value === undefined || value === null || value === '') return undefined;
    if (Array.isArray(value)) throw new InvalidRequest(`The parameter ${name} is repeated.`);
    if (typeof value !== 'string') throw new InvalidRequest(`The parameter ${name} must be a string.`);
    // PostgreSQL text cannot hold NUL; no legitimate parameter carries one.
    if (value.includes('\u0000')) throw new InvalidRequest(`The parameter ${name} contains a NUL character.`);
    return value;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Any repeated parameter at all (checked before anything else is read). */
  rejectDuplicates(names?: string[]): void {
    for (const [name, value] of Object.entries(this.values)) {
      if ((names === undefined || names.includes(name)) && Array.isArray(value))
        throw new InvalidRequest(`The parameter ${name} is repeated.`);
    }
  }
}

/** Query parameters, duplicates kept as arrays. */
export function queryParams(req: Request): OAuthParams {
  const search = new URL(req.originalUrl, 'http://x').searchParams;
  const values: Record<string, string | string[]> = {};
  for (const [key, value] of search) {
    const existing = values[key];
    values[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return new OAuthParams(values);
}

/** Body parameters of a POST: form or JSON only; credentials never in the query string (RFC 6749 §2.3.1). */
export function bodyParams(req: Request): OAuthParams {
  if (req.method !== 'POST') throw new InvalidRequest('Use POST.');
  const query = new URL(req.originalUrl, 'http://x').searchParams;
  if ([...query.keys()].length > 0) throw new InvalidRequest('Parameters belong in the request body, not the URL.');
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(json|x-www-form-urlencoded)\b/i.test(type))
    throw new InvalidRequest('Send the parameters as application/x-www-form-urlencoded or application/json.');
  const body = req.body as unknown;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new InvalidRequest('The request body must be an object of parameters.');
  return new OAuthParams(body as Record<string, unknown>);
}

/**
 * What the token, introspection and revocation rules read of a request, as
 * plain values: its body parameters, its Authorization header and the
 * caller's address. Express stops here.
 */
export interface OAuthRequest {
  params: OAuthParams;
  authorization: string | undefined;
  address: string | null;
}

export function oauthRequest(req: Request): OAuthRequest {
  return { params: bodyParams(req), authorization: req.headers.authorization, address: req.ip ?? null };
}
