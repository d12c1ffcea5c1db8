/**
 * POST /v1/oauth/revoke (RFC 7009): 200 for unknown tokens (§2.2); revoking
 * a refresh token kills its family and the access tokens it issued; a client
 * never revokes another client's tokens.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { hashToken } from '../crypto/tokens.js';
import type { AuditEvent } from '../store/audit.js';
import { InvalidRequest } from './errors.js';
import { oauthRequest } from './params.js';
import { authenticateEndpointClient } from './client-auth.js';
import type { TokenDeps } from './grants/common.js';

export async function handleRevocation(deps: TokenDeps, req: Request): Promise<{ request_id: string }> {
  const request = oauthRequest(req);
  const { params } = request;
  params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, request, 'revoke');
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is required.');
  const now = deps.clock.now();
  const tokenHash = hashToken(token);
  const event = async (grantId: string, kind: string): Promise<AuditEvent> => ({
    action: 'token.revoked',
    actor: { type: 'partner', id: app.id, label: app.name },
    target: { type: 'grant', id: grantId },
    workspaceId: (await deps.grants.findById(grantId))?.workspaceId ?? null,
    address: request.address,
    outcome: 'success',
    detail: { kind },
  });
  const access = await deps.tokens.findAccessToken(tokenHash);
  if (access && access.appId === app.id) {
    if (await deps.tokens.revokeAccessToken(tokenHash, now)) await deps.audit.record(await event(access.grantId, 'access_token'), now);
  } else {
    const refresh = await deps.tokens.findRefreshToken(tokenHash);
    // The family and its audit event in one unit of work.
    if (refresh && refresh.appId === app.id)
      await deps.tokens.revokeFamily(refresh.familyId, now, await event(refresh.grantId, 'refresh_token'));
  }
  return { request_id: randomUUID() };
}
