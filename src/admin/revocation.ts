/**
 * Revocation that holds. A grant is revoked by one
 * conditional UPDATE of its status first, then every code, access token and
 * refresh token issued for it is marked revoked. Every check that lets a
 * partner in (token redemption and refresh, introspection, the proxy) reads
 * the grant's status and the token rows from the shared database on each
 * request, so the very next request on any instance is refused: there is no
 * per-process cache to wait out.
 *
 * Revocation is idempotent, as hydra's `revokeOAuth2ConsentSessions` is:
 * revoking a revoked grant succeeds again, sweeps its tokens again (a
 * token minted in a race with the first sweep dies too) and records nothing
 * new; the first revocation's who, when and why stay on the grant and in the
 * `grant.revoked` audit event.
 */
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AuditStore } from '../store/audit.js';
import type { GrantStore } from '../store/grants.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { TokenStore } from '../store/tokens.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import { decryptCredential } from '../upstream/connect.js';
import { notionClient, type NotionUpstream } from '../upstream/notion.js';
import { AdminError } from '../http/refusal.js';

/** Who acts: a signed-in person, an admin token's holder, or Gatehouse itself (membership sync). */
export interface Actor {
  type: 'person' | 'admin_token' | 'system';
  id: string | null;
  label: string;
  address: string | null;
}

export const systemActor = (label: string): Actor => ({ type: 'system', id: null, label, address: null });

export interface RevocationDeps {
  grants: GrantStore;
  tokens: TokenStore;
  audit: AuditStore;
  clock: Clock;
}

export interface RevokeResult {
  grantId: string;
  /** false: the grant was already revoked (idempotent success) */
  revoked: boolean;
}

/** How the grant row records who revoked it: a stable id, never only an email that may change. */
function revokedBy(actor: Actor): string {
  return actor.type === 'system' ? `system:${actor.label}` : `${actor.type}:${actor.id ?? actor.label}`;
}

export class GrantNotFound extends AdminError<'not_found'> {
  constructor() {
    super('not_found', 'No such grant.', 404);
  }
}

export async function revokeGrant(deps: RevocationDeps, grantId: string, actor: Actor, reason: string): Promise<RevokeResult> {
  const grant = await deps.grants.findById(grantId);
  if (!grant) throw new GrantNotFound();
  const now = deps.clock.now();
  // The status, the sweep of its codes and tokens and the audit event commit together (src/store/token-units.ts).
  const revoked = await deps.tokens.revokeGrant(grant.id, { by: revokedBy(actor), reason }, now, {
    action: 'grant.revoked',
    actor: { type: actor.type, id: actor.id, label: actor.label },
    target: { type: 'grant', id: grant.id },
    workspaceId: grant.workspaceId,
    address: actor.address,
    outcome: 'success',
    detail: { reason, appId: grant.appId, personId: grant.personId },
  });
  return { grantId: grant.id, revoked };
}

async function revokeMany(deps: RevocationDeps, ids: string[], actor: Actor, reason: string): Promise<RevokeResult[]> {
  const results: RevokeResult[] = [];
  for (const id of ids) results.push(await revokeGrant(deps, id, actor, reason));
  return results;
}

/** "Disconnect" / "Disconnect all users": every person's grant of one partner app in one workspace. */
export async function revokeGrantsOfApp(
  deps: RevocationDeps,
  workspaceId: string,
  appId: string,
  actor: Actor,
  reason: string,
): Promise<RevokeResult[]> {
  return revokeMany(deps, await deps.grants.listActiveIds({ workspaceId, appId }), actor, reason);
}

/** A person who left the workspace (membership sync): their grants there. */
export async function revokeGrantsOfPerson(
  deps: RevocationDeps,
  workspaceId: string,
  personId: string,
  actor: Actor,
  reason: string,
): Promise<RevokeResult[]> {
  return revokeMany(deps, await deps.grants.listActiveIds({ workspaceId, personId }), actor, reason);
}

/** A whole workspace disconnected from Gatehouse. */
export async function revokeGrantsOfWorkspace(
  deps: RevocationDeps,
  workspaceId: string,
  actor: Actor,
  reason: string,
): Promise<RevokeResult[]> {
  return revokeMany(deps, await deps.grants.listActiveIds({ workspaceId }), actor, reason);
}

export interface DisconnectDeps extends RevocationDeps {
  connections: UpstreamConnectionStore;
  keyring: Keyring;
  upstream: NotionUpstream;
  /**
   * Internal integrations reach their pages through the connecting owner's
   * upstream connection: when it goes, those page connections go too (else a
   * reconnect, which keeps the connection's id, would bring them back).
   */
  internalIntegrations?: Pick<InternalIntegrationStore, 'disconnectPagesOfConnection' | 'disconnectAllPages' | 'listForWorkspaces'>;
  /** Failures to revoke at Notion are logged, never fatal: the credential is destroyed either way. */
  warn?: (message: string, detail: Record<string, unknown>) => void;
}

export class ConnectionNotFound extends AdminError<'not_found'> {
  constructor() {
    super('not_found', 'No such upstream connection.', 404);
  }
}

/**
 * Disconnecting a person's Notion credential for a workspace: revoke it at
 * Notion (`POST /v1/oauth/revoke`, OAuth credentials only: an internal
 * integration token is Notion's to rotate), destroy the ciphertext, mark the
 * connection disconnected, and revoke every grant made through it (they have
 * no credential left to act with). Idempotent like revokeGrant.
 */
export async function disconnectUpstreamConnection(
  deps: DisconnectDeps,
  connectionId: string,
  actor: Actor,
  reason: string,
): Promise<{ connectionId: string; disconnected: boolean; revokedAtNotion: boolean; grants: RevokeResult[]; internalPages: number }> {
  const connection = await deps.connections.findById(connectionId);
  if (!connection) throw new ConnectionNotFound();
  let revokedAtNotion = false;
  if (connection.kind === 'oauth' && connection.credentialCiphertext) {
    try {
      const credential = decryptCredential(deps.keyring, connection.credentialCiphertext, connection.id);
      await notionClient(deps.upstream).oauth.revoke({
        token: credential.accessToken,
        client_id: deps.upstream.clientId,
        client_secret: deps.upstream.clientSecret,
      });
      revokedAtNotion = true;
    } catch (err) {
      deps.warn?.('revoking the credential at Notion failed; destroying it anyway', { connectionId: connection.id, err: String(err) });
    }
  }
  const now = deps.clock.now();
  const disconnected = await deps.connections.disconnect(connection.id, now);
  const internalPages = (await deps.internalIntegrations?.disconnectPagesOfConnection(connection.id)) ?? [];
  if (disconnected || internalPages.length > 0) {
    await deps.audit.record(
      {
        action: 'upstream_connection.disconnected',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'upstream_connection', id: connection.id },
        workspaceId: connection.workspaceId,
        address: actor.address,
        outcome: 'success',
        detail: {
          reason,
          personId: connection.personId,
          revokedAtNotion,
          ...(internalPages.length > 0 ? { internalIntegrationPages: internalPages } : {}),
        },
      },
      now,
    );
  }
  const grants = await revokeMany(deps, await deps.grants.listActiveIds({ upstreamConnectionId: connection.id }), actor, reason);
  return { connectionId: connection.id, disconnected, revokedAtNotion, grants, internalPages: internalPages.length };
}

/**
 * "Disconnect" of an internal integration on the owners' console (Notion's
 * Settings > Connections): it leaves every page of its workspace at once, so
 * its token reaches nothing from the next call on (the proxy reads the page
 * connections on every call). The integration itself stays, its token still
 * retrievable, to be connected to pages again from the page's side.
 * Idempotent: a second call removes nothing and records nothing.
 */
export async function disconnectInternalIntegration(
  deps: { internalIntegrations: Pick<InternalIntegrationStore, 'disconnectAllPages'>; audit: AuditStore; clock: Clock },
  app: { id: string; name: string; workspaceId: string },
  actor: Actor,
  reason: string,
): Promise<{ appId: string; pagesDisconnected: string[] }> {
  const pages = await deps.internalIntegrations.disconnectAllPages(app.id);
  if (pages.length > 0) {
    await deps.audit.record(
      {
        action: 'internal_integration.disconnected',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'partner_app', id: app.id },
        workspaceId: app.workspaceId,
        address: actor.address,
        outcome: 'success',
        detail: { reason, appId: app.id, name: app.name, pageIds: pages },
      },
      deps.clock.now(),
    );
  }
  return { appId: app.id, pagesDisconnected: pages };
}

/**
 * A whole workspace disconnected from Gatehouse: every person's credential for
 * it (broken ones too: they still hold a ciphertext), every grant in it, and
 * every internal integration's page connections.
 */
export async function disconnectWorkspace(
  deps: DisconnectDeps,
  workspaceId: string,
  actor: Actor,
  reason: string,
): Promise<{ connections: number; grants: RevokeResult[]; internalIntegrations: number }> {
  const all = await deps.connections.listForWorkspace(workspaceId);
  const live = all.filter((c) => c.status !== 'disconnected' || c.credentialCiphertext !== null);
  const grants: RevokeResult[] = [];
  for (const c of live) grants.push(...(await disconnectUpstreamConnection(deps, c.id, actor, reason)).grants);
  // Grants through connections already broken or disconnected earlier.
  grants.push(...(await revokeGrantsOfWorkspace(deps, workspaceId, actor, reason)));
  let internalIntegrations = 0;
  if (deps.internalIntegrations) {
    for (const app of await deps.internalIntegrations.listForWorkspaces([workspaceId])) {
      if (
        (
          await disconnectInternalIntegration(
            { internalIntegrations: deps.internalIntegrations, audit: deps.audit, clock: deps.clock },
            app,
            actor,
            reason,
          )
        ).pagesDisconnected.length > 0
      )
        internalIntegrations++;
    }
  }
  return { connections: live.length, grants, internalIntegrations };
}
