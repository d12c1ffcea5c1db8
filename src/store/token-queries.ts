/**
 * The token path's statements, written once as SQL text and run with
 * parameters only (no query builder or compiler per request: building and
 * compiling a Kysely query cost more CPU than PostgreSQL spent running it).
 *
 *   codeContext     a code with its grant, workspace, the person's membership,
 *                   the app's approval and the connection's Notion user: every
 *                   fact a redemption's checks read, in one round trip
 *   refreshContext  a refresh token with its grant, workspace and Notion user
 *   refreshWithGrant  introspection's fallback: a refresh token and its grant
 *   spendAndIssue   the winning path of a redemption or rotation as ONE
 *                   statement: the conditional UPDATE that spends the code or
 *                   refresh token, the new pair and the audit events, each
 *                   insert reading the UPDATE's result, so nothing is written
 *                   unless the spend won (run inside the unit of work's
 *                   transaction, ./token-units.ts)
 *
 * Plain SQL, so PostgreSQL and PGlite run the same text.
 */
import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import { isAuditAction } from '../audit/actions.js';
import type { AuditEvent } from './audit.js';
import { prepared } from './database.js';
import { toGrant, type Grant } from './grants.js';
import type { AuthorizationCodesTable, Database, GrantsTable, RefreshTokensTable } from './schema.js';
import type { NewPair } from './token-units.js';
import type { AuthorizationCodeRow, RefreshTokenRow } from './tokens.js';
import type { Workspace } from './workspaces.js';

type Row = Record<string, unknown>;

export const GRANT_COLUMNS = [
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
const grantSelect = GRANT_COLUMNS.map((column) => `g.${column} as g__${column}`).join(', ');
const workspaceSelect = ['id', 'name', 'icon', 'install_policy', 'auto_approve_organisation']
  .map((column) => `w.${column} as w__${column}`)
  .join(', ');

const CODE_CONTEXT = prepared(
  'gh_code_context',
  `select t.*, ${grantSelect}, ${workspaceSelect},
    m.role as m__role, m.status as m__status,
    exists (select 1 from approved_apps a where a.workspace_id = g.workspace_id and a.app_id = g.app_id) as approved,
    c.id as c__id, c.notion_user as c__notion_user
  from authorization_codes t
  left join grants g on g.id = t.grant_id
  left join workspaces w on w.id = g.workspace_id
  left join workspace_members m on m.workspace_id = g.workspace_id and m.person_id = g.person_id
  left join upstream_connections c on c.id = g.upstream_connection_id
  where t.code_hash = $1`,
);

const REFRESH_CONTEXT = prepared(
  'gh_refresh_context',
  `select t.*, ${grantSelect}, ${workspaceSelect}, c.id as c__id, c.notion_user as c__notion_user
  from refresh_tokens t
  left join grants g on g.id = t.grant_id
  left join workspaces w on w.id = g.workspace_id
  left join upstream_connections c on c.id = g.upstream_connection_id
  where t.token_hash = $1`,
);

const REFRESH_WITH_GRANT = prepared(
  'gh_refresh_with_grant',
  `select t.*, ${grantSelect} from refresh_tokens t left join grants g on g.id = t.grant_id where t.token_hash = $1`,
);

/** The first CTE spends the code or the refresh token; the rest read its row, so they write only when it won. */
const SPEND = {
  code: `update authorization_codes set consumed_at = $2::timestamptz
      where code_hash = $1 and consumed_at is null returning code_hash, null::text as parent_hash`,
  refresh: `update refresh_tokens set used_at = $2::timestamptz
      where token_hash = $1 and used_at is null and revoked_at is null returning null::text as code_hash, token_hash as parent_hash`,
} as const;

const spendAndIssueSql = (spend: keyof typeof SPEND) => `with spent as (${SPEND[spend]}),
  refresh as (
    insert into refresh_tokens (token_hash, family_id, grant_id, app_id, code_hash, parent_hash, capabilities,
        absolute_expires_at, used_at, revoked_at, created_at, resource)
      select $3, $4::uuid, $5::uuid, $6::uuid, spent.code_hash, spent.parent_hash, $7::jsonb, $8::timestamptz, null, null, $2::timestamptz, $9::text
      from spent returning token_hash, code_hash),
  access as (
    insert into access_tokens (token_hash, grant_id, app_id, refresh_token_hash, code_hash, capabilities, expires_at,
        revoked_at, created_at, resource)
      select $10, $5::uuid, $6::uuid, refresh.token_hash, refresh.code_hash, $7::jsonb, $11::timestamptz, null, $2::timestamptz, $9::text
      from refresh returning 1),
  audit as (
    insert into audit_events (action, actor_type, actor_id, actor_label, target_type, target_id, workspace_id, occurred_at,
        address, outcome, detail)
      select e.action, e.actor_type, e.actor_id, e.actor_label, e.target_type, e.target_id, e.workspace_id, $2::timestamptz,
        e.address, e.outcome, coalesce(e.detail, '{}'::jsonb)
      from spent, jsonb_to_recordset($12::jsonb) as e(action text, actor_type text, actor_id text, actor_label text,
        target_type text, target_id text, workspace_id text, address text, outcome text, detail jsonb)
      returning 1)
  select (select count(*) from spent)::int as spent, (select count(*) from access)::int as issued`;

const SPEND_AND_ISSUE = {
  code: prepared('gh_spend_code', spendAndIssueSql('code')),
  refresh: prepared('gh_spend_refresh', spendAndIssueSql('refresh')),
};

function auditRows(events: AuditEvent[]): string {
  return JSON.stringify(
    events.map((event) => {
      // As auditStore.record: an action that reached here as a plain string off the list is refused.
      if (!isAuditAction(event.action)) throw new Error(`audit action "${String(event.action).slice(0, 80)}" is not on the list`);
      return {
        action: event.action,
        actor_type: event.actor.type,
        actor_id: event.actor.id ?? null,
        actor_label: event.actor.label ?? null,
        target_type: event.target?.type ?? null,
        target_id: event.target?.id ?? null,
        workspace_id: event.workspaceId ?? null,
        address: event.address ?? null,
        outcome: event.outcome,
        detail: event.detail ?? {},
      };
    }),
  );
}

/**
 * Spends `spentHash` (a code or a refresh token) and, only if that spend
 * won, stores the pair and the audit events: true when it won.
 */
export async function spendAndIssue(
  db: Kysely<Database>,
  spend: 'code' | 'refresh',
  args: { spentHash: string; pair: NewPair; now: Date; audit: AuditEvent[] },
): Promise<boolean> {
  const { pair, now } = args;
  const capabilities = JSON.stringify(pair.capabilities);
  const { rows } = await db.executeQuery<{ spent: number; issued: number }>(
    CompiledQuery.raw(SPEND_AND_ISSUE[spend], [
      args.spentHash,
      now,
      pair.refreshTokenHash,
      pair.familyId,
      pair.grantId,
      pair.appId,
      capabilities,
      pair.absoluteExpiresAt,
      pair.resource ?? null,
      pair.accessTokenHash,
      pair.accessExpiresAt,
      auditRows(args.audit),
    ]),
  );
  return rows[0]!.spent === 1;
}

function unprefixed(row: Row, prefix: string, columns: readonly string[]): Row {
  const out: Row = {};
  for (const column of columns) out[column] = row[`${prefix}${column}`];
  return out;
}

function grantOf(row: Row): Grant | null {
  return row.g__id === null ? null : toGrant(unprefixed(row, 'g__', GRANT_COLUMNS) as Selectable<GrantsTable>);
}

function workspaceOf(row: Row): Workspace | null {
  if (row.w__id === null) return null;
  return {
    id: row.w__id as string,
    name: row.w__name as string,
    icon: row.w__icon as string | null,
    installPolicy: row.w__install_policy as Workspace['installPolicy'],
    autoApproveOrganisation: row.w__auto_approve_organisation as boolean,
  };
}

export function toCode(row: Selectable<AuthorizationCodesTable>): AuthorizationCodeRow {
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
    resource: row.resource ?? null,
  };
}

export function toRefresh(row: Selectable<RefreshTokensTable>): RefreshTokenRow {
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
    resource: row.resource ?? null,
  };
}

/** What the token answer shows of the grant's workspace and person, as read with the code or refresh token. */
export interface AnswerContext {
  workspace: Workspace | null;
  /** The grant's upstream connection's Notion user; null when the connection is gone. */
  notionUser: Record<string, unknown> | null;
}

export interface CodeContext extends AnswerContext {
  code: AuthorizationCodeRow;
  grant: Grant | null;
  /** The person's membership of the grant's workspace (the install policy reads it). */
  membership: { role: 'owner' | 'member'; status: 'active' | 'left' } | null;
  /** The grant's app is on the workspace's approved list. */
  approved: boolean;
}

export interface RefreshContext extends AnswerContext {
  token: RefreshTokenRow;
  grant: Grant | null;
}

async function firstRow(db: Kysely<Database>, text: string, hash: string): Promise<Row | undefined> {
  const { rows } = await db.executeQuery<Row>(CompiledQuery.raw(text, [hash]));
  return rows[0];
}

const answerContext = (row: Row): AnswerContext => ({
  workspace: workspaceOf(row),
  notionUser: row.c__id === null ? null : (row.c__notion_user as Record<string, unknown>),
});

export async function findCodeContext(db: Kysely<Database>, codeHash: string): Promise<CodeContext | null> {
  const row = await firstRow(db, CODE_CONTEXT, codeHash);
  if (!row) return null;
  return {
    code: toCode(row as Selectable<AuthorizationCodesTable>),
    grant: grantOf(row),
    membership: row.m__role === null ? null : { role: row.m__role as 'owner' | 'member', status: row.m__status as 'active' | 'left' },
    approved: row.approved === true,
    ...answerContext(row),
  };
}

export async function findRefreshContext(db: Kysely<Database>, tokenHash: string): Promise<RefreshContext | null> {
  const row = await firstRow(db, REFRESH_CONTEXT, tokenHash);
  if (!row) return null;
  return { token: toRefresh(row as Selectable<RefreshTokensTable>), grant: grantOf(row), ...answerContext(row) };
}

export async function findRefreshWithGrant(
  db: Kysely<Database>,
  tokenHash: string,
): Promise<{ token: RefreshTokenRow; grant: Grant | null } | null> {
  const row = await firstRow(db, REFRESH_WITH_GRANT, tokenHash);
  return row ? { token: toRefresh(row as Selectable<RefreshTokensTable>), grant: grantOf(row) } : null;
}
