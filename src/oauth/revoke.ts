/**
 * POST /v1/oauth/revoke (RFC 7009), as named steps:
 *
 *   no repeated parameter ─▶ client authenticated ─▶ token given
 *     ─▶ this client's access token: revoked ─▶ else this client's refresh token: its family revoked
 *     ─▶ 200 whatever was found (§2.2: unknown tokens too)
 *
 * Revoking a refresh token kills its family and the access tokens it issued
 * (§2.1), with its audit event in one unit of work; a client never revokes
 * another client's tokens.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { hashToken } from '../crypto/tokens.js';
import type { AuditEvent } from '../store/audit.js';
import type { PartnerApp } from '../store/partner-apps.js';
import { authenticateEndpointClient } from './client-auth.js';
import type { TokenDeps } from './grants/common.js';
import { requireTokenParam } from './introspect.js';
import { oauthRequest, type OAuthRequest } from './params.js';

async function revokedEvent(
  deps: Pick<TokenDeps, 'grants'>,
  request: OAuthRequest,
  app: PartnerApp,
  grantId: string,
  kind: 'access_token' | 'refresh_token',
): Promise<AuditEvent> {
  return {
    action: 'token.revoked',
    actor: { type: 'partner', id: app.id, label: app.name },
    target: { type: 'grant', id: grantId },
    workspaceId: (await deps.grants.findById(grantId))?.workspaceId ?? null,
    address: request.address,
    outcome: 'success',
    detail: { kind },
  };
}

/** The client's own access token; false when it is not one (or not the client's). */
export async function revokeOwnAccessToken(deps: TokenDeps, request: OAuthRequest, app: PartnerApp, tokenHash: string): Promise<boolean> {
  const access = await deps.tokens.findAccessToken(tokenHash);
  if (!access || access.appId !== app.id) return false;
  const now = deps.clock.now();
  if (await deps.tokens.revokeAccessToken(tokenHash, now))
    await deps.audit.record(await revokedEvent(deps, request, app, access.grantId, 'access_token'), now);
  return true;
}

/** The client's own refresh token: its whole family, with the audit event, at once. */
export async function revokeOwnRefreshFamily(deps: TokenDeps, request: OAuthRequest, app: PartnerApp, tokenHash: string): Promise<void> {
  const refresh = await deps.tokens.findRefreshToken(tokenHash);
  if (!refresh || refresh.appId !== app.id) return;
  await deps.tokens.revokeFamily(
    refresh.familyId,
    deps.clock.now(),
    await revokedEvent(deps, request, app, refresh.grantId, 'refresh_token'),
  );
}

export async function revoke(deps: TokenDeps, request: OAuthRequest): Promise<{ request_id: string }> {
  request.params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, request, 'revoke');
  const tokenHash = hashToken(requireTokenParam(request.params));
  if (!(await revokeOwnAccessToken(deps, request, app, tokenHash))) await revokeOwnRefreshFamily(deps, request, app, tokenHash);
  return { request_id: randomUUID() };
}

export function handleRevocation(deps: TokenDeps, req: Request): Promise<{ request_id: string }> {
  return revoke(deps, oauthRequest(req));
}
