/**
 * Bearer token → what the token may do. Runs on every call: the token is
 * looked up by its hash, its expiry, its revocation and its grant's status
 * are checked each time, and nothing is cached in the process, so a revoked
 * token or grant stops working at the next call on every instance.
 */
import { hashToken } from '../crypto/tokens.js';
import type { Capability } from '../oauth/capabilities.js';
import { effectiveCapabilities } from '../oauth/capabilities.js';
import type { GrantStore } from '../store/grants.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { TokenStore } from '../store/tokens.js';
import type { RefusalReason } from './errors.js';
import { normaliseNotionId } from './endpoints.js';

/** What a token may do: the one shape every kind of token resolves to. */
export interface TokenScope {
  grantId: string;
  appId: string;
  workspaceId: string;
  upstreamConnectionId: string;
  /** Content capabilities plus exactly one user-information level. */
  capabilities: Capability[];
  /** Picked pages and databases (dashed ids): they and everything below them are in scope. */
  pageIds: string[];
  /** RFC 8707 audience the token is bound to: null = the Notion API proxy, else the MCP endpoint's URL. */
  audience: string | null;
  /** The upstream connection as read with the token on this call (saves the gateway reading it again). */
  connection?: UpstreamConnection;
}

export type Authentication =
  | { ok: true; scope: TokenScope }
  | {
      ok: false;
      reason: Extract<
        RefusalReason,
        'missing_token' | 'unknown_token' | 'expired_token' | 'revoked_token' | 'grant_revoked' | 'wrong_audience'
      >;
      known?: { grantId: string; appId: string; workspaceId: string | null };
    };

export interface AuthenticateDeps {
  tokens: Pick<TokenStore, 'findAccessTokenWithGrant' | 'markAccessTokenUsed'>;
  grants: Pick<GrantStore, 'findById'>;
  /** Internal integration tokens (`gh_int_`), when wired: looked up by hash like access tokens. */
  internalIntegrations?: Pick<InternalIntegrationStore, 'findByTokenHash'>;
  connections?: Pick<UpstreamConnectionStore, 'findById'>;
}

/**
 * The one token check, for every resource Gatehouse protects: `audience` is
 * the resource the caller is (null = the Notion API proxy); a token bound to
 * another one is refused like an unknown token (RFC 8707, no passthrough).
 */
export async function authenticateFor(
  deps: AuthenticateDeps,
  token: string | null,
  now: Date,
  audience: string | null,
): Promise<Authentication> {
  const auth = await authenticateBearer(deps, token, now);
  if (auth.ok && auth.scope.audience !== audience) {
    const { grantId, appId, workspaceId } = auth.scope;
    return { ok: false, reason: 'wrong_audience', known: { grantId, appId, workspaceId } };
  }
  return auth;
}

export async function authenticateBearer(deps: AuthenticateDeps, token: string | null, now: Date): Promise<Authentication> {
  if (!token) return { ok: false, reason: 'missing_token' };
  if (token.startsWith('gh_int_') && deps.internalIntegrations) return authenticateInternalToken(deps, token);
  const found = await deps.tokens.findAccessTokenWithGrant(hashToken(token));
  if (!found) return { ok: false, reason: 'unknown_token' };
  const { access, grant, connection } = found;
  const known = { grantId: access.grantId, appId: access.appId, workspaceId: grant?.workspaceId ?? null };
  if (access.revokedAt !== null) return { ok: false, reason: 'revoked_token', known };
  if (access.expiresAt.getTime() <= now.getTime()) return { ok: false, reason: 'expired_token', known };
  if (!grant || grant.status !== 'active' || grant.appId !== access.appId) return { ok: false, reason: 'grant_revoked', known };
  // A used pair is never replaced as a lost answer: its first use is recorded (once per token), and a replacement that won the race wins.
  if (access.firstUsedAt === null && (await deps.tokens.markAccessTokenUsed(access.tokenHash, now))?.revoked)
    return { ok: false, reason: 'revoked_token', known };
  return {
    ok: true,
    scope: {
      grantId: grant.id,
      appId: grant.appId,
      workspaceId: grant.workspaceId,
      upstreamConnectionId: grant.upstreamConnectionId,
      capabilities: effectiveCapabilities(access.capabilities, grant.capabilities),
      pageIds: grant.pageIds.map((id) => normaliseNotionId(id) ?? id),
      audience: access.resource ?? null,
      ...(connection?.id === grant.upstreamConnectionId ? { connection } : {}),
    },
  };
}

/** `Authorization: Bearer <token>`, case-insensitive scheme (RFC 6750 §2.1). */
export function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header ?? '');
  return match ? match[1]! : null;
}

/**
 * An internal integration's token: it reaches exactly the
 * pages connected to it, through the upstream connection of the owner who
 * connected them (one connection per integration, src/admin/internal-integrations.ts),
 * with the integration's capabilities. There is no grant: the integration's
 * id stands in as `grantId` (it is also its bot id). Looked up by hash on
 * every call, like access tokens: converting the integration or deleting it
 * stops the token at the next call.
 */
async function authenticateInternalToken(deps: AuthenticateDeps, token: string): Promise<Authentication> {
  const found = await deps.internalIntegrations!.findByTokenHash(hashToken(token));
  if (!found) return { ok: false, reason: 'unknown_token' };
  const known = { grantId: found.app.id, appId: found.app.id, workspaceId: found.app.workspaceId };
  const connectionId = found.pages[0]?.connectionId;
  // No page connected yet: the token is real but reaches nothing, and there is no connection to call Notion with.
  if (!connectionId) return { ok: false, reason: 'grant_revoked', known };
  const connection = deps.connections ? await deps.connections.findById(connectionId) : null;
  if (deps.connections && (!connection || connection.status !== 'active')) return { ok: false, reason: 'grant_revoked', known };
  return {
    ok: true,
    scope: {
      grantId: found.app.id,
      appId: found.app.id,
      workspaceId: found.app.workspaceId,
      upstreamConnectionId: connectionId,
      capabilities: effectiveCapabilities(found.app.capabilities, found.app.capabilities),
      pageIds: found.pages.filter((p) => p.connectionId === connectionId).map((p) => normaliseNotionId(p.pageId) ?? p.pageId),
      audience: null,
      ...(connection ? { connection } : {}),
    },
  };
}
