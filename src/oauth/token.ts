/**
 * POST /v1/oauth/token (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.6), in the
 * order the RFCs give the checks: authenticate the client, then the grant.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Clock } from '../clock.js';
import { constantTimeEqual, generateToken, hashToken } from '../crypto/tokens.js';
import type { AuditStore } from '../store/audit.js';
import type { Grant, GrantStore } from '../store/grants.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import type { TokenStore } from '../store/tokens.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import { authenticateClient } from './client-auth.js';
import { effectiveCapabilities, requestedCapabilities, type Capability } from './capabilities.js';
import { InvalidGrant, InvalidRequest, InvalidScope, UnsupportedGrantType } from './errors.js';
import type { FailureLimiter } from './failure-limiter.js';
import { checkInstallPolicy } from './grant-rules.js';
import { bodyParams, type OAuthParams } from './params.js';
import { tokenAnswer, type TokenAnswer } from './token-answer.js';

export interface TokenDeps {
  partnerApps: PartnerAppStore;
  tokens: TokenStore;
  grants: GrantStore;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  audit: AuditStore;
  limiter: FailureLimiter;
  clientAuthFailureLimit: number;
  clock: Clock;
  accessTokenLifetimeSeconds: number;
  refreshTokenLifetimeDays: number;
}

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function audit(
  deps: TokenDeps,
  req: Request,
  action: string,
  outcome: 'success' | 'failure',
  app: PartnerApp | null,
  grant: Pick<Grant, 'id' | 'workspaceId'> | null,
  detail: Record<string, unknown> = {},
) {
  return deps.audit.record(
    {
      action,
      actor: { type: 'partner', id: app?.id ?? null, label: app?.name ?? null },
      target: grant ? { type: 'grant', id: grant.id } : null,
      workspaceId: grant?.workspaceId ?? null,
      address: req.ip ?? null,
      outcome,
      detail,
    },
    deps.clock.now(),
  );
}

/** Client authentication as every client-authenticated endpoint does it: limited, and each failure audited. */
export function authenticateEndpointClient(
  deps: TokenDeps,
  req: Request,
  params: OAuthParams,
  endpoint: 'token' | 'introspect' | 'revoke',
): Promise<PartnerApp> {
  return authenticateClient(
    {
      partnerApps: deps.partnerApps,
      limiter: deps.limiter,
      failureLimit: deps.clientAuthFailureLimit,
      onFailure: (clientId, reason) =>
        deps.audit.record(
          {
            action: 'client.authentication_failed',
            actor: { type: 'partner', label: clientId },
            address: req.ip ?? null,
            outcome: 'failure',
            detail: { reason, endpoint },
          },
          deps.clock.now(),
        ),
    },
    req,
    params,
  );
}

export async function handleTokenRequest(deps: TokenDeps, req: Request): Promise<TokenAnswer> {
  const params = bodyParams(req);
  params.rejectDuplicates();
  const app = await authenticateEndpointClient(deps, req, params, 'token');
  const grantType = params.get('grant_type');
  if (grantType === undefined) throw new InvalidRequest('grant_type is required.');
  if (grantType === 'authorization_code') return redeemCode(deps, req, app, params);
  if (grantType === 'refresh_token') return rotateRefreshToken(deps, req, app, params);
  throw new UnsupportedGrantType();
}

async function issueTokens(
  deps: TokenDeps,
  args: { app: PartnerApp; grant: Grant; capabilities: string[]; familyId: string; absoluteExpiresAt: Date; codeHash: string | null },
): Promise<TokenAnswer> {
  const now = deps.clock.now();
  const workspace = await deps.workspaces.findById(args.grant.workspaceId);
  const connection = await deps.connections.findById(args.grant.upstreamConnectionId);
  if (!workspace || !connection) throw new InvalidGrant('The grant no longer has a workspace connection.');
  const accessToken = generateToken('gh_at');
  const refreshToken = generateToken('gh_rt');
  await deps.tokens.saveRefreshToken(
    {
      tokenHash: hashToken(refreshToken),
      familyId: args.familyId,
      grantId: args.grant.id,
      appId: args.app.id,
      codeHash: args.codeHash,
      capabilities: args.capabilities,
      absoluteExpiresAt: args.absoluteExpiresAt,
    },
    now,
  );
  await deps.tokens.saveAccessToken(
    {
      tokenHash: hashToken(accessToken),
      grantId: args.grant.id,
      appId: args.app.id,
      refreshTokenHash: hashToken(refreshToken),
      codeHash: args.codeHash,
      capabilities: args.capabilities,
      expiresAt: new Date(now.getTime() + deps.accessTokenLifetimeSeconds * 1000),
    },
    now,
  );
  return tokenAnswer({
    accessToken,
    refreshToken,
    expiresIn: deps.accessTokenLifetimeSeconds,
    grant: args.grant,
    capabilities: args.capabilities,
    workspace,
    notionUser: connection.notionUser,
  });
}

async function redeemCode(deps: TokenDeps, req: Request, app: PartnerApp, params: OAuthParams): Promise<TokenAnswer> {
  const code = params.get('code');
  if (code === undefined) throw new InvalidRequest('code is required.');
  const codeHash = hashToken(code);
  const found = await deps.tokens.findCode(codeHash);
  // Ownership before anything else: another client's attempt neither consumes the code nor revokes its tokens (RFC 6749 §4.1.3).
  if (!found || found.appId !== app.id) {
    await audit(deps, req, 'code.redeem_failed', 'failure', app, null, { reason: found ? 'other client' : 'unknown code' });
    throw new InvalidGrant('The code is invalid, expired, or was already used.');
  }
  // Checks run before the code is consumed, so a stolen code posted with a wrong verifier or redirect URI does not burn it for its client.
  if (found.consumedAt === null) {
    if (found.expiresAt.getTime() <= deps.clock.now().getTime())
      throw new InvalidGrant('The code is invalid, expired, or was already used.', 'expired');
    const redirectUri = params.get('redirect_uri');
    if (found.redirectUriExplicit && redirectUri === undefined)
      throw new InvalidGrant('redirect_uri must repeat the one of the authorisation request.');
    if (redirectUri !== undefined && redirectUri !== found.redirectUri)
      throw new InvalidGrant('redirect_uri does not match the authorisation request.');
    const verifier = params.get('code_verifier');
    if (found.codeChallenge !== null) {
      if (verifier === undefined) throw new InvalidGrant('code_verifier is required: the authorisation request sent a code_challenge.');
      if (!VERIFIER.test(verifier) || !constantTimeEqual(s256(verifier), found.codeChallenge))
        throw new InvalidGrant('code_verifier does not match the code_challenge.');
    } else if (verifier !== undefined) {
      // RFC 9700 §4.8.2: a verifier where no challenge was sent is a downgrade attempt.
      throw new InvalidGrant('code_verifier sent, but the authorisation request had no code_challenge.');
    }
  }
  const consumed = await deps.tokens.consumeCode(codeHash, deps.clock.now());
  if (!consumed) {
    // RFC 6749 §4.1.2: a replayed code MUST be refused and SHOULD revoke the tokens issued from it.
    const revoked = await deps.tokens.revokeIssuedFromCode(codeHash, deps.clock.now());
    await audit(
      deps,
      req,
      'code.replayed',
      'failure',
      app,
      { id: found.grantId, workspaceId: (await deps.grants.findById(found.grantId))?.workspaceId ?? '' },
      { revokedAccessTokens: revoked },
    );
    throw new InvalidGrant('The code is invalid, expired, or was already used.');
  }
  const grant = await deps.grants.findById(consumed.grantId);
  if (!grant || grant.status !== 'active') throw new InvalidGrant('The grant was revoked.');
  // A policy change between consent and redemption wins.
  const policy = await checkInstallPolicy(deps, { workspaceId: grant.workspaceId, personId: grant.personId, app });
  if (!policy.allowed) {
    await audit(deps, req, 'code.redeem_failed', 'failure', app, grant, { reason: 'install policy' });
    throw new InvalidGrant("The workspace's install policy no longer allows this connection.");
  }
  const now = deps.clock.now();
  const answer = await issueTokens(deps, {
    app,
    grant,
    capabilities: effectiveCapabilities(consumed.capabilities, grant.capabilities),
    familyId: randomUUID(),
    absoluteExpiresAt: new Date(now.getTime() + deps.refreshTokenLifetimeDays * 86_400_000),
    codeHash,
  });
  await audit(deps, req, 'code.redeemed', 'success', app, grant);
  await audit(deps, req, 'token.issued', 'success', app, grant, { grantType: 'authorization_code' });
  return answer;
}

async function rotateRefreshToken(deps: TokenDeps, req: Request, app: PartnerApp, params: OAuthParams): Promise<TokenAnswer> {
  const presented = params.get('refresh_token');
  if (presented === undefined) throw new InvalidRequest('refresh_token is required.');
  const tokenHash = hashToken(presented);
  const found = await deps.tokens.findRefreshToken(tokenHash);
  if (!found || found.appId !== app.id || found.revokedAt !== null)
    throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
  const now = deps.clock.now();
  if (found.absoluteExpiresAt.getTime() <= now.getTime())
    throw new InvalidGrant('The refresh token is invalid, expired or revoked.', 'absolute lifetime');
  const grant = await deps.grants.findById(found.grantId);
  let capabilities: string[] = grant ? effectiveCapabilities(found.capabilities, grant.capabilities) : [];
  // RFC 6749 §6: a scope on refresh may narrow what is issued, never widen it; checked before the token is spent.
  const scope = params.get('scope');
  if (scope !== undefined) {
    const asked = requestedCapabilities(capabilities as Capability[], scope);
    if (!asked.ok) throw new InvalidScope(asked.reason);
    capabilities = asked.capabilities;
  }
  const used = await deps.tokens.useRefreshToken(tokenHash, now);
  if (!used) {
    // RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family.
    await deps.tokens.revokeFamily(found.familyId, now);
    await audit(deps, req, 'refresh.reused', 'failure', app, grant);
    throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
  }
  if (!grant || grant.status !== 'active') throw new InvalidGrant('The grant was revoked.');
  const answer = await issueTokens(deps, {
    app,
    grant,
    capabilities,
    familyId: found.familyId,
    absoluteExpiresAt: found.absoluteExpiresAt,
    codeHash: null,
  });
  await audit(deps, req, 'token.refreshed', 'success', app, grant);
  return answer;
}
