/**
 * RFC 8707 resource indicators. Gatehouse protects two resources: the
 * Notion API proxy (`/v1/...`, the default, stored as null so every token
 * issued before resources existed keeps its meaning) and the MCP endpoint
 * (`<issuer>/mcp`). A token is bound to the one its authorisation request
 * named; each resource refuses the other's tokens (MCP authorization:
 * "the server MUST validate audience", no token passthrough).
 */
import { OAuthError } from './errors.js';

/** The MCP endpoint's canonical URI: no trailing slash, no fragment. */
export function mcpResourceUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/mcp`;
}

/** RFC 8707 §2: a resource the server does not know, or one it will not issue for. */
export class InvalidTarget extends OAuthError {
  constructor(message: string) {
    super('invalid_target', 400, message);
  }
}

/**
 * The audience a `resource` parameter asks for: null when absent (the proxy),
 * the MCP URL when it names it (a trailing slash tolerated); anything else
 * is invalid_target, since a token for an unknown audience would be usable
 * nowhere or, worse, somewhere unintended.
 */
export function requestedResource(issuer: string | undefined, value: string | undefined): string | null {
  if (value === undefined) return null;
  const mcp = issuer ? mcpResourceUrl(issuer) : null;
  if (mcp !== null && value.replace(/\/$/, '') === mcp) return mcp;
  if (issuer && value.replace(/\/$/, '') === issuer.replace(/\/+$/, '')) return null;
  throw new InvalidTarget('resource names no resource this server issues tokens for.');
}

/** RFC 8707 §2.2: a token request may repeat the authorisation's resource, never name another one. */
export function requireSameResource(bound: string | null, issuer: string | undefined, value: string | undefined): string | null {
  if (value === undefined) return bound;
  if (requestedResource(issuer, value) !== bound) throw new InvalidTarget('resource differs from the one this grant was issued for.');
  return bound;
}
