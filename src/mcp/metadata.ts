/**
 * The MCP endpoint as an OAuth resource server: its protected resource
 * metadata (RFC 9728) and the `WWW-Authenticate` challenges that point
 * clients to it. Gatehouse is both the resource and its authorisation
 * server, so `authorization_servers` names its own issuer.
 */
import { CAPABILITIES } from '../oauth/capabilities.js';
import { mcpResourceUrl } from '../oauth/resource.js';

/** RFC 9728 §3.1: the well-known URI is inserted before the resource's path. */
export function resourceMetadataUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/oauth-protected-resource/mcp`;
}

export function protectedResourceMetadata(issuer: string): Record<string, unknown> {
  return {
    // RFC 9728 §3.3: `resource` is exactly the URL clients connect to (strict clients compare them).
    resource: mcpResourceUrl(issuer),
    authorization_servers: [issuer],
    scopes_supported: [...CAPABILITIES],
    bearer_methods_supported: ['header'],
    resource_name: 'Gatehouse Notion MCP',
    resource_documentation: `${issuer}/`,
  };
}

function quoted(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/**
 * RFC 6750 §3 challenge. No token: no error code (§3.1), only where to
 * learn more and the scope to ask for, which the MCP client treats as what
 * to request; a bad token: invalid_token; a missing capability:
 * insufficient_scope with the wider scope, so the client asks again (step-up).
 */
export function bearerChallenge(
  issuer: string,
  scope: string,
  error?: { code: 'invalid_token' | 'insufficient_scope' | 'invalid_request'; description: string },
): string {
  const parts = [`resource_metadata=${quoted(resourceMetadataUrl(issuer))}`, `scope=${quoted(scope)}`];
  if (error) parts.unshift(`error=${quoted(error.code)}`, `error_description=${quoted(error.description)}`);
  return `Bearer ${parts.join(', ')}`;
}
