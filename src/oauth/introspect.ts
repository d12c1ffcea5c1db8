/**
 * POST /v1/oauth/introspect (RFC 7662), as named steps:
 *
 *   no repeated parameter ─▶ client authenticated (§2.1: the endpoint requires it) ─▶ token given
 *     ─▶ a live access token of this client ─▶ else a live refresh token of this client ─▶ else inactive
 *
 * A revoked, expired, unknown or other client's token answers exactly
 * {"active": false}: nothing about why (§2.2).
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { hashToken } from '../crypto/tokens.js';
import type { Grant } from '../store/grants.js';
import type { PartnerApp } from '../store/partner-apps.js';
import type { AccessTokenRow, RefreshTokenRow } from '../store/tokens.js';
import { effectiveCapabilities, toScope } from './capabilities.js';
import { authenticateEndpointClient } from './client-auth.js';
import { InvalidRequest } from './errors.js';
import type { TokenDeps } from './grants/common.js';
import { oauthRequest, type OAuthParams, type OAuthRequest } from './params.js';

const INACTIVE = { active: false } as const;
type Introspection = typeof INACTIVE | Record<string, unknown>;

// ── the steps ──────────────────────────────────────────────────────────────

/** A parameter's value if it is a valid one, else undefined (the steps then refuse it in their order). */
function peekParam(params: OAuthParams, name: string): string | undefined {
  try {
    return params.get(name);
  } catch {
    return undefined;
  }
}

export function requireTokenParam(params: OAuthParams): string {
  const token = params.get('token');
  if (token === undefined) throw new InvalidRequest('token is required.');
  return token;
}

/** Live: this client's, neither revoked nor expired, its grant active. */
export function isLiveAccessToken(access: AccessTokenRow, grant: Grant | null, app: PartnerApp, now: Date): grant is Grant {
  return access.appId === app.id && !access.revokedAt && access.expiresAt > now && grant !== null && grant.status === 'active';
}

/** Live: this client's, neither revoked, rotated nor past its absolute lifetime. */
export function isLiveRefreshToken(refresh: RefreshTokenRow, app: PartnerApp, now: Date): boolean {
  return refresh.appId === app.id && !refresh.revokedAt && !refresh.usedAt && refresh.absoluteExpiresAt > now;
}

/** RFC 7662 §2.2: an active token's answer; the grant's current capabilities narrow the token's. */
function activeAnswer(app: PartnerApp, grant: Grant, token: { capabilities: string[]; type: string; expiresAt: Date; issuedAt: Date }) {
  return {
    active: true,
    scope: toScope(effectiveCapabilities(token.capabilities, grant.capabilities)),
    client_id: app.clientId,
    token_type: token.type,
    exp: Math.floor(token.expiresAt.getTime() / 1000),
    iat: Math.floor(token.issuedAt.getTime() / 1000),
    sub: grant.id,
    bot_id: grant.id,
    workspace_id: grant.workspaceId,
    request_id: randomUUID(),
  };
}

// ── the endpoint ───────────────────────────────────────────────────────────

export async function introspect(deps: TokenDeps, request: OAuthRequest): Promise<Introspection> {
  request.params.rejectDuplicates();
  // The client's row and the access token are read in one round trip when the token is there to read; the client is
  // authenticated before anything of the token is used, and a request without a token still fails as it always did.
  const presented = peekParam(request.params, 'token');
  const hint = peekParam(request.params, 'token_type_hint');
  const presentedHash = presented === undefined ? undefined : hashToken(presented);
  let found: { access: AccessTokenRow; grant: Grant | null } | null = null;
  const withToken =
    presentedHash !== undefined && hint !== 'refresh_token'
      ? async (clientId: string) => {
          const both = await deps.tokens.findAppWithAccessToken(clientId, presentedHash);
          found = both.found;
          return both.app;
        }
      : undefined;
  const app = await authenticateEndpointClient(deps, request, 'introspect', withToken);
  const token = requireTokenParam(request.params);
  const tokenHash = token === presented ? presentedHash! : hashToken(token);
  request.params.get('token_type_hint'); // a malformed hint is still refused here, after client authentication
  const now = deps.clock.now();

  if (found) {
    const { access, grant } = found as { access: AccessTokenRow; grant: Grant | null };
    if (!isLiveAccessToken(access, grant, app, now)) return INACTIVE;
    // Its client holds the answer: the pair is in use and is never replaced as a lost answer (src/store/token-units.ts).
    if (access.firstUsedAt === null && (await deps.tokens.markAccessTokenUsed(tokenHash, now))?.revoked) return INACTIVE;
    return activeAnswer(app, grant, {
      capabilities: access.capabilities,
      type: 'bearer',
      expiresAt: access.expiresAt,
      issuedAt: access.createdAt,
    });
  }
  const withGrant = await deps.tokens.findRefreshWithGrant(tokenHash);
  if (!withGrant || !isLiveRefreshToken(withGrant.token, app, now)) return INACTIVE;
  const { token: refresh, grant } = withGrant;
  if (!grant || grant.status !== 'active') return INACTIVE;
  return activeAnswer(app, grant, {
    capabilities: refresh.capabilities,
    type: 'refresh_token',
    expiresAt: refresh.absoluteExpiresAt,
    issuedAt: refresh.createdAt,
  });
}

export function handleIntrospection(deps: TokenDeps, req: Request): Promise<Introspection> {
  return introspect(deps, oauthRequest(req));
}
