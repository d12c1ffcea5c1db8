/**
 * POST /v1/oauth/token (RFC 6749 §3.2, §4.1.3, §6; RFC 7636 §4.6), in the
 * order the RFCs give the checks: authenticate the client, then the grant.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Clock } from '../clock.js';
import { constantTimeEqual, generateToken, hashToken } from '../crypto/tokens.js';
import type { AuditEvent, AuditStore } from '../store/audit.js';
import type { Grant, GrantStore } from '../store/grants.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import type { RevokedCount, NewPair } from '../store/token-units.js';
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
  /** How long after a rotation a retry with the same refresh token may replace its lost, unused answer (0: never). */
  refreshReuseGraceSeconds: number;
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

/** The pair an answer carries: secrets for the partner, hashes for the store. */
function newPair(
  deps: TokenDeps,
  args: { app: PartnerApp; grant: Grant; capabilities: string[]; familyId: string; absoluteExpiresAt: Date },
): { accessToken: string; refreshToken: string; pair: NewPair } {
  const accessToken = generateToken('gh_at');
  const refreshToken = generateToken('gh_rt');
  return {
    accessToken,
    refreshToken,
    pair: {
      accessTokenHash: hashToken(accessToken),
      refreshTokenHash: hashToken(refreshToken),
      familyId: args.familyId,
      grantId: args.grant.id,
      appId: args.app.id,
      capabilities: args.capabilities,
      accessExpiresAt: new Date(deps.clock.now().getTime() + deps.accessTokenLifetimeSeconds * 1000),
      absoluteExpiresAt: args.absoluteExpiresAt,
    },
  };
}

/** The answer's workspace and person, read before anything is spent (a missing one spends nothing). */
async function answerFor(
  deps: TokenDeps,
  grant: Grant,
  capabilities: string[],
  tokens: { accessToken: string; refreshToken: string },
): Promise<TokenAnswer> {
  const workspace = await deps.workspaces.findById(grant.workspaceId);
  const connection = await deps.connections.findById(grant.upstreamConnectionId);
  if (!workspace || !connection) throw new InvalidGrant('The grant no longer has a workspace connection.');
  return tokenAnswer({
    ...tokens,
    expiresIn: deps.accessTokenLifetimeSeconds,
    grant,
    capabilities,
    workspace,
    notionUser: connection.notionUser,
  });
}

function event(
  req: Request,
  action: string,
  outcome: 'success' | 'failure',
  app: PartnerApp,
  grant: Pick<Grant, 'id' | 'workspaceId'> | null,
  detail: Record<string, unknown> = {},
): AuditEvent {
  return {
    action,
    actor: { type: 'partner', id: app.id, label: app.name },
    target: grant ? { type: 'grant', id: grant.id } : null,
    workspaceId: grant?.workspaceId ?? null,
    address: req.ip ?? null,
    outcome,
    detail,
  };
}

const revokedDetail = (revoked: RevokedCount) => ({
  revokedAccessTokens: revoked.accessTokens,
  revokedRefreshTokens: revoked.refreshTokens,
});

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
  const grant = await deps.grants.findById(found.grantId);
  // RFC 6749 §4.1.2: a replayed code MUST be refused and SHOULD revoke the tokens issued from it.
  const replayed = (revoked: RevokedCount) =>
    event(req, 'code.replayed', 'failure', app, { id: found.grantId, workspaceId: grant?.workspaceId ?? '' }, revokedDetail(revoked));
  if (found.consumedAt !== null) {
    await deps.tokens.revokeReplayedCode(codeHash, deps.clock.now(), replayed);
    throw new InvalidGrant('The code is invalid, expired, or was already used.');
  }
  // Checks run before the code is consumed, so a stolen code posted with a wrong verifier or redirect URI does not burn it for its client.
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
  if (!grant || grant.status !== 'active') throw new InvalidGrant('The grant was revoked.');
  // A policy change between consent and redemption wins.
  const policy = await checkInstallPolicy(deps, { workspaceId: grant.workspaceId, personId: grant.personId, app });
  if (!policy.allowed) {
    await audit(deps, req, 'code.redeem_failed', 'failure', app, grant, { reason: 'install policy' });
    throw new InvalidGrant("The workspace's install policy no longer allows this connection.");
  }
  const capabilities = effectiveCapabilities(found.capabilities, grant.capabilities);
  const now = deps.clock.now();
  const { pair, ...tokens } = newPair(deps, {
    app,
    grant,
    capabilities,
    familyId: randomUUID(),
    absoluteExpiresAt: new Date(now.getTime() + deps.refreshTokenLifetimeDays * 86_400_000),
  });
  const answer = await answerFor(deps, grant, capabilities, tokens);
  // One unit of work: the code is spent exactly when its pair and audit events are stored.
  const outcome = await deps.tokens.redeemCode({
    codeHash,
    pair,
    now,
    issued: [
      event(req, 'code.redeemed', 'success', app, grant),
      event(req, 'token.issued', 'success', app, grant, { grantType: 'authorization_code' }),
    ],
    replayed,
  });
  if (outcome.kind === 'replayed') throw new InvalidGrant('The code is invalid, expired, or was already used.');
  return answer;
}

async function rotateRefreshToken(deps: TokenDeps, req: Request, app: PartnerApp, params: OAuthParams): Promise<TokenAnswer> {
  const presented = params.get('refresh_token');
  if (presented === undefined) throw new InvalidRequest('refresh_token is required.');
  const tokenHash = hashToken(presented);
  const found = await deps.tokens.findRefreshToken(tokenHash);
  if (!found || found.appId !== app.id) throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
  const now = deps.clock.now();
  if (found.absoluteExpiresAt.getTime() <= now.getTime())
    throw new InvalidGrant('The refresh token is invalid, expired or revoked.', 'absolute lifetime');
  const grant = await deps.grants.findById(found.grantId);
  if (!grant || grant.status !== 'active') throw new InvalidGrant('The grant was revoked.');
  let capabilities: string[] = effectiveCapabilities(found.capabilities, grant.capabilities);
  // RFC 6749 §6: a scope on refresh may narrow what is issued, never widen it; checked before the token is spent.
  const scope = params.get('scope');
  if (scope !== undefined) {
    const asked = requestedCapabilities(capabilities as Capability[], scope);
    if (!asked.ok) throw new InvalidScope(asked.reason);
    capabilities = asked.capabilities;
  }
  const { pair, ...tokens } = newPair(deps, {
    app,
    grant,
    capabilities,
    familyId: found.familyId,
    absoluteExpiresAt: found.absoluteExpiresAt,
  });
  const answer = await answerFor(deps, grant, capabilities, tokens);
  const outcome = await deps.tokens.rotateRefreshToken({
    tokenHash,
    pair,
    now,
    graceMs: deps.refreshReuseGraceSeconds * 1000,
    audit: (result) =>
      result.kind === 'rotated'
        ? event(req, 'token.refreshed', 'success', app, grant)
        : result.kind === 'replaced'
          ? event(req, 'token.refreshed', 'success', app, grant, { lostAnswerReplaced: true, ...revokedDetail(result.revoked) })
          : // RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole family.
            event(req, 'refresh.reused', 'failure', app, grant, revokedDetail(result.revoked)),
  });
  if (outcome.kind === 'reused') throw new InvalidGrant('The refresh token is invalid, expired or revoked.');
  return answer;
}
