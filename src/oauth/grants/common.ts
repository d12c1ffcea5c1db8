/**
 * What both grants of the token endpoint share: their dependencies, the new
 * pair (secrets for the partner, hashes for the store), the answer, and the
 * audit events the unit of work stores with it.
 */
import type { Clock } from '../../clock.js';
import { generateToken, hashToken } from '../../crypto/tokens.js';
import type { AuditEvent, AuditStore } from '../../store/audit.js';
import type { Grant, GrantStore } from '../../store/grants.js';
import type { PartnerApp, PartnerAppStore } from '../../store/partner-apps.js';
import type { AnswerContext } from '../../store/token-queries.js';
import type { NewPair, RevokedCount } from '../../store/token-units.js';
import type { TokenStore } from '../../store/tokens.js';
import type { UpstreamConnectionStore } from '../../store/upstream-connections.js';
import type { WorkspaceStore } from '../../store/workspaces.js';
import { InvalidGrant } from '../errors.js';
import type { FailureLimiter } from '../failure-limiter.js';
import { tokenAnswer, type TokenAnswer } from '../token-answer.js';

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
  /** Gatehouse's public URL: the MCP resource (RFC 8707) is named after it. */
  issuer?: string;
}

/** The same answer for an unknown, expired, spent or other client's credential: nothing about which (RFC 6749 §5.2). */
export const CODE_REFUSED = 'The code is invalid, expired, or was already used.';
export const REFRESH_REFUSED = 'The refresh token is invalid, expired or revoked.';

/** A grant revoked (or gone) since the code or refresh token was issued. */
export function requireActiveGrant(grant: Grant | null): Grant {
  if (!grant || grant.status !== 'active') throw new InvalidGrant('The grant was revoked.');
  return grant;
}

export interface PairToIssue {
  tokens: { accessToken: string; refreshToken: string };
  pair: NewPair;
}

export function newPair(
  deps: Pick<TokenDeps, 'clock' | 'accessTokenLifetimeSeconds'>,
  args: { app: PartnerApp; grant: Grant; capabilities: string[]; familyId: string; absoluteExpiresAt: Date; resource?: string | null },
): PairToIssue {
  const accessToken = generateToken('gh_at');
  const refreshToken = generateToken('gh_rt');
  return {
    tokens: { accessToken, refreshToken },
    pair: {
      accessTokenHash: hashToken(accessToken),
      refreshTokenHash: hashToken(refreshToken),
      familyId: args.familyId,
      grantId: args.grant.id,
      appId: args.app.id,
      capabilities: args.capabilities,
      accessExpiresAt: new Date(deps.clock.now().getTime() + deps.accessTokenLifetimeSeconds * 1000),
      absoluteExpiresAt: args.absoluteExpiresAt,
      resource: args.resource ?? null,
    },
  };
}

/** The answer's workspace and person, read with the code or refresh token before anything is spent: a missing one spends nothing. */
export function answerFor(
  deps: Pick<TokenDeps, 'accessTokenLifetimeSeconds'>,
  grant: Grant,
  capabilities: string[],
  tokens: PairToIssue['tokens'],
  { workspace, notionUser }: AnswerContext,
): TokenAnswer {
  if (!workspace || !notionUser) throw new InvalidGrant('The grant no longer has a workspace connection.');
  return tokenAnswer({ ...tokens, expiresIn: deps.accessTokenLifetimeSeconds, grant, capabilities, workspace, notionUser });
}

export function partnerEvent(
  address: string | null,
  action: AuditEvent['action'],
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
    address,
    outcome,
    detail,
  };
}

export const revokedDetail = (revoked: RevokedCount) => ({
  revokedAccessTokens: revoked.accessTokens,
  revokedRefreshTokens: revoked.refreshTokens,
});
