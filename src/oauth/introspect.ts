/**
 * POST /v1/oauth/introspect (RFC 7662). A revoked, expired, unknown or other
 * client's token answers exactly {"active": false}: nothing about why.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { hashToken } from '../crypto/tokens.js';
import type { Grant } from '../store/grants.js';
import { InvalidRequest } from './errors.js';
import { oauthRequest } from './params.js';
import { effectiveCapabilities, toScope } from './capabilities.js';
import { authenticateEndpointClient } from './client-auth.js';
import type { TokenDeps } from './grants/common.js';

export async function handleIntrospection(deps: TokenDeps, req: Request): Promise<Record<string, unknown>> {
  const request = oauthRequest(req);
  const { params } = request;
  params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, request, 'introspect');
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is required.');
  const hint = params.get('token_type_hint');
  const now = deps.clock.now();
  const tokenHash = hashToken(token);
  const inactive = { active: false };

  // RFC 7662 §2.2: an active token's answer; the grant's current capabilities narrow the token's.
  const active = (grant: Grant, capabilities: string[], tokenType: string, expiresAt: Date, issuedAt: Date) => ({
    active: true,
    scope: toScope(effectiveCapabilities(capabilities, grant.capabilities)),
    client_id: app.clientId,
    token_type: tokenType,
    exp: Math.floor(expiresAt.getTime() / 1000),
    iat: Math.floor(issuedAt.getTime() / 1000),
    sub: grant.id,
    bot_id: grant.id,
    workspace_id: grant.workspaceId,
    request_id: randomUUID(),
  });

  const found = hint === 'refresh_token' ? null : await deps.tokens.findAccessTokenWithGrant(tokenHash);
  if (found) {
    const { access, grant } = found;
    if (access.appId !== app.id || access.revokedAt || access.expiresAt <= now || !grant || grant.status !== 'active') return inactive;
    // Its client holds the answer: the pair is in use and is never replaced as a lost answer (src/store/token-units.ts).
    if (access.firstUsedAt === null && (await deps.tokens.markAccessTokenUsed(tokenHash, now))?.revoked) return inactive;
    return active(grant, access.capabilities, 'bearer', access.expiresAt, access.createdAt);
  }
  const refresh = await deps.tokens.findRefreshToken(tokenHash);
  if (refresh) {
    if (refresh.appId !== app.id || refresh.revokedAt || refresh.usedAt || refresh.absoluteExpiresAt <= now) return inactive;
    const grant = await deps.grants.findById(refresh.grantId);
    if (!grant || grant.status !== 'active') return inactive;
    return active(grant, refresh.capabilities, 'refresh_token', refresh.absoluteExpiresAt, refresh.createdAt);
  }
  return inactive;
}
