/**
 * Authorization codes, access tokens and refresh tokens: stored by the
 * SHA-256 hash of the secret only. Every consuming step is one atomic UPDATE
 * so concurrent redemptions cannot both win (RFC 6749 §4.1.2, §10.5).
 */
import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { toGrant, type Grant } from './grants.js';
import type {
  AccessTokensTable,
  AuthorizationCodesTable,
  Database,
  GrantsTable,
  RefreshTokensTable,
  UpstreamConnectionsTable,
} from './schema.js';
import { toConnection, type UpstreamConnection } from './upstream-connections.js';

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
}

export interface TokenStore {
  saveCode(code: Omit<AuthorizationCodeRow, 'consumedAt'>, now: Date): Promise<void>;
  /** Marks the code used and returns it, or null when it was already used or never existed. */
  consumeCode(codeHash: string, now: Date): Promise<AuthorizationCodeRow | null>;
  findCode(codeHash: string): Promise<AuthorizationCodeRow | null>;
  /** RFC 6749 §4.1.2: a replayed code SHOULD revoke every token issued from it. */
  revokeIssuedFromCode(codeHash: string, now: Date): Promise<number>;
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
  saveRefreshToken(
    token: {
      tokenHash: string;
      familyId: string;
      grantId: string;
      appId: string;
      codeHash: string | null;
      capabilities: string[];
      absoluteExpiresAt: Date;
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
  findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null>;
  /** Marks a live refresh token used (rotation) and returns it; null when used, revoked or unknown. */
  useRefreshToken(tokenHash: string, now: Date): Promise<RefreshTokenRow | null>;
  /** A reused refresh token revokes its whole family: every refresh token and the access tokens they issued. */
  revokeFamily(familyId: string, now: Date): Promise<void>;
  revokeAccessToken(tokenHash: string, now: Date): Promise<boolean>;
  revokeByGrant(grantId: string, now: Date): Promise<void>;
}

function toCode(row: Selectable<AuthorizationCodesTable>): AuthorizationCodeRow {
  return {
    codeHash: row.code_hash,
    grantId: row.grant_id,
    appId: row.app_id,
    personId: row.person_id,
    redirectUri: row.redirect_uri,
    redirectUriExplicit: row.redirect_uri_explicit,
    codeChallenge: row.code_challenge,
    capabilities: row.capabilities,
    expiresAt: row.expires_at,
    consumedAt: row.consumed_at,
  };
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
  };
}
function toRefresh(row: Selectable<RefreshTokensTable>): RefreshTokenRow {
  return {
    tokenHash: row.token_hash,
    familyId: row.family_id,
    grantId: row.grant_id,
    appId: row.app_id,
    capabilities: row.capabilities,
    absoluteExpiresAt: row.absolute_expires_at,
    usedAt: row.used_at,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}

/** An access token with its grant and the grant's upstream connection, columns prefixed g__ and c__. */
const GRANT_COLUMNS = [
  'id',
  'person_id',
  'app_id',
  'workspace_id',
  'upstream_connection_id',
  'capabilities',
  'page_ids',
  'status',
  'created_at',
  'updated_at',
] as const;
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

function accessInContextQuery(db: Kysely<Database>): CompiledQuery {
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

export function tokenStore(db: Kysely<Database>): TokenStore {
  const accessInContext = accessInContextQuery(db);
  return {
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
        })
        .execute();
    },
    async consumeCode(codeHash, now) {
      const row = await db
        .updateTable('authorization_codes')
        .set({ consumed_at: now })
        .where('code_hash', '=', codeHash)
        .where('consumed_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row ? toCode(row) : null;
    },
    async findCode(codeHash) {
      const row = await db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst();
      return row ? toCode(row) : null;
    },
    async revokeIssuedFromCode(codeHash, now) {
      const families = await db.selectFrom('refresh_tokens').select('family_id').where('code_hash', '=', codeHash).execute();
      for (const { family_id } of families) await this.revokeFamily(family_id, now);
      const result = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('code_hash', '=', codeHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
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
    async saveRefreshToken(token, now) {
      await db
        .insertInto('refresh_tokens')
        .values({
          token_hash: token.tokenHash,
          family_id: token.familyId,
          grant_id: token.grantId,
          app_id: token.appId,
          code_hash: token.codeHash,
          capabilities: JSON.stringify(token.capabilities),
          absolute_expires_at: token.absoluteExpiresAt,
          used_at: null,
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
      const unprefixed = (prefix: string, columns: readonly string[]) => {
        const out: Record<string, unknown> = {};
        for (const column of columns) out[column] = row[`${prefix}${column}`];
        return out;
      };
      return {
        access: toAccess(row as Selectable<AccessTokensTable>),
        grant: row.g__id === null ? null : toGrant(unprefixed('g__', GRANT_COLUMNS) as Selectable<GrantsTable>),
        connection: row.c__id === null ? null : toConnection(unprefixed('c__', CONNECTION_COLUMNS) as Selectable<UpstreamConnectionsTable>),
      };
    },
    async findRefreshToken(tokenHash) {
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return row ? toRefresh(row) : null;
    },
    async useRefreshToken(tokenHash, now) {
      const row = await db
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('revoked_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      return row ? toRefresh(row) : null;
    },
    async revokeFamily(familyId, now) {
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
      await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('revoked_at', 'is', null)
        .where('refresh_token_hash', 'in', db.selectFrom('refresh_tokens').select('token_hash').where('family_id', '=', familyId))
        .execute();
    },
    async revokeAccessToken(tokenHash, now) {
      const result = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async revokeByGrant(grantId, now) {
      await db
        .updateTable('authorization_codes')
        .set({ consumed_at: now })
        .where('grant_id', '=', grantId)
        .where('consumed_at', 'is', null)
        .execute();
      await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('grant_id', '=', grantId)
        .where('revoked_at', 'is', null)
        .execute();
      await db
        .updateTable('refresh_tokens')
        .set({ revoked_at: now })
        .where('grant_id', '=', grantId)
        .where('revoked_at', 'is', null)
        .execute();
    },
  };
}
