/**
 * POST /v1/oauth/introspect (RFC 7662). A revoked, expired, unknown or other
 * client's token answers exactly {"active": false}: nothing about why.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { hashToken } from '../crypto/tokens.js';
import { InvalidRequest } from './errors.js';
import { bodyParams } from './params.js';
import { effectiveCapabilities, toScope } from './capabilities.js';
import { authenticateEndpointClient, type TokenDeps } from './token.js';

export async function handleIntrospection(deps: TokenDeps, req: Request): Promise<Record<string, unknown>> {
  const params = bodyParams(req);
  params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, req, params, 'introspect');
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is required.');
  const hint = params.get('token_type_hint');
  const now = deps.clock.now();
  const tokenHash = hashToken(token);
  const inactive = { active: false };

  const access = hint === 'refresh_token' ? null : await deps.tokens.findAccessToken(tokenHash);
  if (access) {
    if (access.appId !== app.id || access.revokedAt || access.expiresAt <= now) return inactive;
    const grant = await deps.grants.findById(access.grantId);
    if (!grant || grant.status !== 'active') return inactive;
    return {
      active: true, scope: toScope(effectiveCapabilities(access.capabilities, grant.capabilities)), client_id: app.clientId, token_type: 'bearer',
      exp: Math.floor(access.expiresAt.getTime() / 1000), iat: Math.floor(access.createdAt.getTime() / 1000),
      sub: grant.id, bot_id: grant.id, workspace_id: grant.workspaceId, request_id: randomUUID(),
    };
  }
  const refresh = await deps.tokens.findRefreshToken(tokenHash);
  if (refresh) {
    if (refresh.appId !== app.id || refresh.revokedAt || refresh.usedAt || refresh.absoluteExpiresAt <= now) return inactive;
    const grant = await deps.grants.findById(refresh.grantId);
    if (!grant || grant.status !== 'active') return inactive;
    return {
      active: true, scope: toScope(effectiveCapabilities(refresh.capabilities, grant.capabilities)), client_id: app.clientId, token_type: 'refresh_token',
      exp: Math.floor(refresh.absoluteExpiresAt.getTime() / 1000), iat: Math.floor(refresh.createdAt.getTime() / 1000),
      sub: grant.id, bot_id: grant.id, workspace_id: grant.workspaceId, request_id: randomUUID(),
    };
  }
  return inactive;
}
