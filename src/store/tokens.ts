/**
 * Authorization codes, access tokens and refresh tokens: stored by the
 * SHA-256 hash of the secret only. Spending a code or a refresh token is one
 * conditional UPDATE inside a unit of work that also stores what replaces it
 * (./token-units.ts), so concurrent redemptions cannot both win (RFC 6749
 * §4.1.2, §10.5) and a crash half-way spends nothing.
 */
import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { prepared } from './database.js';
import { toGrant, type Grant } from './grants.js';
import type { AccessTokensTable, Database, GrantsTable, UpstreamConnectionsTable } from './schema.js';
import {
  findCodeContext,
  findRefreshContext,
  findRefreshWithGrant,
  GRANT_COLUMNS,
  toCode,
  toRefresh,
  type CodeContext,
  type RefreshContext,
} from './token-queries.js';
import { tokenUnits, type TokenUnits } from './token-units.js';
import { toConnection, type UpstreamConnection } from './upstream-connections.js';
import { PARTNER_APP_COLUMNS, toPartnerApp, type PartnerApp } from './partner-apps.js';
import type { PartnerAppsTable } from './schema.js';

export interface AuthorizationCodeRow {
  codeHash: string;
  grantId: string;
  appId: string;
  personId: string | null;
  redirectUri: string;
  redirectUriExplicit: boolean;
  codeChallenge: string | null;
  capabilities: string[];
  expiresAt: Date;
  consumedAt: Date | null;
  /** RFC 8707 audience asked for; null = the Notion API proxy. */
  resource?: string | null;
}

export interface AccessTokenRow {
  tokenHash: string;
  grantId: string;
  appId: string;
  refreshTokenHash: string | null;
  capabilities: string[];
  expiresAt: Date;
  revokedAt: Date | null;
  createdAt: Date;
  /** Recorded once, at the first presentation: a pair someone used is never replaced as a lost answer. */
  firstUsedAt: Date | null;
  /** RFC 8707 audience; null = the Notion API proxy. */
  resource: string | null;
}

export interface RefreshTokenRow {
  tokenHash: string;
  familyId: string;
  grantId: string;
  appId: string;
  capabilities: string[];
  absoluteExpiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  resource: string | null;
}

export interface TokenStore extends TokenUnits {
  saveCode(code: Omit<AuthorizationCodeRow, 'consumedAt'>, now: Date): Promise<void>;
  findCode(codeHash: string): Promise<AuthorizationCodeRow | null>;
  saveAccessToken(
    token: {
      tokenHash: string;
      grantId: string;
      appId: string;
      refreshTokenHash: string | null;
      codeHash: string | null;
      capabilities: string[];
      expiresAt: Date;
    },
    now: Date,
  ): Promise<void>;
  findAccessToken(tokenHash: string): Promise<AccessTokenRow | null>;
  /**
   * The proxy's hot path: the token, its grant and the grant's upstream
   * connection in one round trip (grant or connection null when it no longer exists).
   */
  findAccessTokenWithGrant(
    tokenHash: string,
  ): Promise<{ access: AccessTokenRow; grant: Grant | null; connection: UpstreamConnection | null } | null>;
  /**
   * Records an access token's first use (one write per token, only while
   * none is recorded); `revoked` when it was revoked meanwhile, e.g. replaced
   * as a lost answer by a concurrent retry. null when already recorded.
   */
  markAccessTokenUsed(tokenHash: string, now: Date): Promise<{ revoked: boolean } | null>;
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null>;
  /**
   * Introspection's one round trip: the client presenting the token (null when
   * unknown) and the access token with its grant (null when unknown). The
   * client is still authenticated before anything of the token is used.
   */
  findAppWithAccessToken(
    clientId: string,
    tokenHash: string,
  ): Promise<{ app: PartnerApp | null; found: { access: AccessTokenRow; grant: Grant | null } | null }>;
  /** A code with every fact its redemption checks and answers with, in one round trip (./token-queries.ts). */
  findCodeContext(codeHash: string): Promise<CodeContext | null>;
  /** A refresh token with its grant, workspace and Notion user, in one round trip. */
  findRefreshContext(tokenHash: string): Promise<RefreshContext | null>;
  /** A refresh token and its grant, in one round trip (introspection). */
  findRefreshWithGrant(tokenHash: string): Promise<{ token: RefreshTokenRow; grant: Grant | null } | null>;
  revokeAccessToken(tokenHash: string, now: Date): Promise<boolean>;
}

function toAccess(row: Selectable<AccessTokensTable>): AccessTokenRow {
  return {
    tokenHash: row.token_hash,
    grantId: row.grant_id,
    appId: row.app_id,
    refreshTokenHash: row.refresh_token_hash,
    capabilities: row.capabilities,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
    firstUsedAt: row.first_used_at ?? null,
    resource: row.resource ?? null,
  };
}

/** An access token with its grant and the grant's upstream connection, columns prefixed g__ and c__. */
const CONNECTION_COLUMNS = [
  'id',
  'person_id',
  'workspace_id',
  'kind',
  'credential_ciphertext',
  'bot_id',
  'notion_user_id',
  'notion_user',
  'version',
  'status',
  'index_state',
  'index_count',
  'index_error',
  'indexed_at',
] as const;

/** Exported for the proxy's round-trip floor (bench/peers/proxy-round-trip-floor.ts), which runs this very statement. */
export function accessInContextQuery(db: Kysely<Database>): CompiledQuery {
  return db
    .selectFrom('access_tokens as t')
    .leftJoin('grants as g', 'g.id', 't.grant_id')
    .leftJoin('upstream_connections as c', 'c.id', 'g.upstream_connection_id')
    .selectAll('t')
    .select(GRANT_COLUMNS.map((column) => `g.${column} as g__${column}` as const))
    .select(CONNECTION_COLUMNS.map((column) => `c.${column} as c__${column}` as const))
    .where('t.token_hash', '=', '')
    .compile();
}

/** Exported for the bench's round-trip floor (bench/peers/round-trip-floor.ts), which runs this very statement. */
export const APP_WITH_ACCESS = prepared(
  'gh_app_with_access',
  `select ${PARTNER_APP_COLUMNS.map((column) => `a.${column} as a__${column}`).join(', ')}, t.*,
    ${GRANT_COLUMNS.map((column) => `g.${column} as g__${column}`).join(', ')}
  from partner_apps a
  left join access_tokens t on t.token_hash = $2
  left join grants g on g.id = t.grant_id
  where a.client_id = $1`,
);

function unprefixed(row: Record<string, unknown>, prefix: string, columns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of columns) out[column] = row[`${prefix}${column}`];
  return out;
}

export function tokenStore(db: Kysely<Database>): TokenStore {
  const accessInContext = { sql: prepared('gh_access_in_context', accessInContextQuery(db).sql) };
  return {
    ...tokenUnits(db),
    async saveCode(code, now) {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: code.codeHash,
          grant_id: code.grantId,
          app_id: code.appId,
          person_id: code.personId,
          redirect_uri: code.redirectUri,
          redirect_uri_explicit: code.redirectUriExplicit,
          code_challenge: code.codeChallenge,
          capabilities: JSON.stringify(code.capabilities),
          expires_at: code.expiresAt,
          consumed_at: null,
          created_at: now,
          resource: code.resource ?? null,
        })
        .execute();
    },
    async findCode(codeHash) {
      const row = await db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      return row ? toCode(row) : null;
    },
    async saveAccessToken(token, now) {
      await db
        .insertInto('access_tokens')
        .values({
          token_hash: token.tokenHash,
          grant_id: token.grantId,
          app_id: token.appId,
          refresh_token_hash: token.refreshTokenHash,
          code_hash: token.codeHash,
          capabilities: JSON.stringify(token.capabilities),
          expires_at: token.expiresAt,
          revoked_at: null,
          created_at: now,
        })
        .execute();
    },
    async findAccessToken(tokenHash) {
      const row = await db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toAccess(row) : null;
    },
    async findAccessTokenWithGrant(tokenHash) {
      // Compiled once (building and compiling the query cost more CPU than running it): see accessInContextQuery.
      const {
        rows: [row],
      } = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(accessInContext.sql, [tokenHash]));
      if (!row) return null;
      return {
        access: toAccess(row as Selectable<AccessTokensTable>),
        grant: row.g__id === null ? null : toGrant(unprefixed(row, 'g__', GRANT_COLUMNS) as Selectable<GrantsTable>),
        connection:
          row.c__id === null ? null : toConnection(unprefixed(row, 'c__', CONNECTION_COLUMNS) as Selectable<UpstreamConnectionsTable>),
      };
    },
    async findAppWithAccessToken(clientId, tokenHash) {
      const {
        rows: [row],
      } = await db.executeQuery<Record<string, unknown>>(CompiledQuery.raw(APP_WITH_ACCESS, [clientId, tokenHash]));
      if (!row) return { app: null, found: null };
      const app = toPartnerApp(unprefixed(row, 'a__', PARTNER_APP_COLUMNS) as Selectable<PartnerAppsTable>);
      if (row.token_hash === null) return { app, found: null };
      return {
        app,
        found: {
          access: toAccess(row as Selectable<AccessTokensTable>),
          grant: row.g__id === null ? null : toGrant(unprefixed(row, 'g__', GRANT_COLUMNS) as Selectable<GrantsTable>),
        },
      };
    },
    async markAccessTokenUsed(tokenHash, now) {
      const row = await db
        .updateTable('access_tokens')
        .set({ first_used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('first_used_at', 'is', null)
        .returning('revoked_at')
        .executeTakeFirst();
      return row ? { revoked: row.revoked_at !== null } : null;
    },
    async findRefreshToken(tokenHash) {
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toRefresh(row) : null;
    },
    findCodeContext: (codeHash) => findCodeContext(db, codeHash),
    findRefreshContext: (tokenHash) => findRefreshContext(db, tokenHash),
    findRefreshWithGrant: (tokenHash) => findRefreshWithGrant(db, tokenHash),
    async revokeAccessToken(tokenHash, now) {
      const result = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
