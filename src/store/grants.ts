import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { isUuid } from './people.js';
import type { Database, GrantsTable } from './schema.js';

export interface Grant {
  id: string;
  personId: string;
  appId: string;
  workspaceId: string;
  upstreamConnectionId: string;
  capabilities: string[];
  pageIds: string[];
  status: 'active' | 'revoked';
  createdAt: Date;
  updatedAt: Date;
}

export function toGrant(row: Selectable<GrantsTable>): Grant {
  return {
    id: row.id,
    personId: row.person_id,
    appId: row.app_id,
    workspaceId: row.workspace_id,
    upstreamConnectionId: row.upstream_connection_id,
    capabilities: row.capabilities,
    pageIds: row.page_ids,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** A person's authorisation of one partner app on one workspace. */
export interface GrantSummary {
  id: string;
  appId: string;
  appName: string;
  workspaceId: string;
  workspaceName: string;
  personId: string;
  personEmail: string;
  personName: string;
  capabilities: string[];
  pageCount: number;
  pageIds: string[];
  upstreamConnectionId: string;
  createdAt: Date;
}

/** Who revoked a grant, when and why: a grant is active, or revoked with all three kept. */
export interface Revocation {
  by: string;
  reason: string;
}

/** A workspace's approved list entry (the install policy's "Only from approved list"). */
export interface ApprovedApp {
  appId: string;
  addedBy: string | null;
  addedAt: Date;
}

export interface GrantStore {
  /** One grant per (person, app, workspace): authorising again updates it and keeps its id (the partner's bot_id). */
  upsert(
    args: { personId: string; appId: string; workspaceId: string; upstreamConnectionId: string; capabilities: string[]; pageIds: string[] },
    now: Date,
  ): Promise<{ grant: Grant; created: boolean }>;
  findById(id: string): Promise<Grant | null>;
  findFor(personId: string, appId: string, workspaceId: string): Promise<Grant | null>;
  isApproved(workspaceId: string, appId: string): Promise<boolean>;
  listActiveForPerson(personId: string): Promise<GrantSummary[]>;
  listActiveForWorkspace(workspaceId: string): Promise<GrantSummary[]>;
  /** Active grants of these apps in the workspace (one page of the console's connections). */
  listActiveForApps(workspaceId: string, appIds: string[]): Promise<GrantSummary[]>;
  /** Active grants by id, in no particular order. */
  listActiveByIds(ids: string[]): Promise<GrantSummary[]>;
  /** Active grants matching every given field (the targets of a bulk revocation). */
  listActiveIds(filter: { workspaceId?: string; personId?: string; appId?: string; upstreamConnectionId?: string }): Promise<string[]>;
  /** Every active grant (organisation admins' listing). */
  listActive(): Promise<GrantSummary[]>;
  /** Takes one picked page out of an active grant ("Disconnect" on that page's Connections): false when it was not picked there. */
  removePage(id: string, pageId: string, now: Date): Promise<boolean>;
  /** Marks an active grant revoked, once: false when it was already revoked or does not exist. */
  revoke(id: string, revocation: Revocation, now: Date): Promise<boolean>;
  approve(workspaceId: string, appId: string, addedBy: string | null, now: Date): Promise<boolean>;
  unapprove(workspaceId: string, appId: string): Promise<boolean>;
  listApproved(workspaceId: string): Promise<ApprovedApp[]>;
}

export function grantStore(db: Kysely<Database>): GrantStore {
  const base = () =>
    db
      .selectFrom('grants as g')
      .innerJoin('partner_apps as a', 'a.id', 'g.app_id')
      .innerJoin('workspaces as w', 'w.id', 'g.workspace_id')
      .innerJoin('people as p', 'p.id', 'g.person_id')
      .select([
        'g.id',
        'g.app_id',
        'a.name as app_name',
        'g.workspace_id',
        'w.name as workspace_name',
        'g.person_id',
        'p.email',
        'p.name as person_name',
        'g.capabilities',
        'g.page_ids',
        'g.upstream_connection_id',
        'g.created_at',
      ])
      .where('g.status', '=', 'active')
      .orderBy('g.created_at', 'desc');
  const map = (r: {
    id: string;
    app_id: string;
    app_name: string;
    workspace_id: string;
    workspace_name: string;
    person_id: string;
    email: string;
    person_name: string;
    capabilities: string[];
    page_ids: string[];
    upstream_connection_id: string;
    created_at: Date;
  }): GrantSummary => ({
    id: r.id,
    appId: r.app_id,
    appName: r.app_name,
    workspaceId: r.workspace_id,
    workspaceName: r.workspace_name,
    personId: r.person_id,
    personEmail: r.email,
    personName: r.person_name,
    capabilities: r.capabilities,
    pageCount: r.page_ids.length,
    pageIds: r.page_ids,
    upstreamConnectionId: r.upstream_connection_id,
    createdAt: r.created_at,
  });
  return {
    async upsert(args, now) {
      const existing = await db
        .selectFrom('grants')
        .select(['id'])
        .where('person_id', '=', args.personId)
        .where('app_id', '=', args.appId)
        .where('workspace_id', '=', args.workspaceId)
        .executeTakeFirst();
      const row = await db
        .insertInto('grants')
        .values({
          id: existing?.id ?? randomUUID(),
          person_id: args.personId,
          app_id: args.appId,
          workspace_id: args.workspaceId,
          upstream_connection_id: args.upstreamConnectionId,
          capabilities: JSON.stringify(args.capabilities),
          page_ids: JSON.stringify(args.pageIds),
          status: 'active',
          revoked_at: null,
          revoked_by: null,
          revoke_reason: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['person_id', 'app_id', 'workspace_id']).doUpdateSet({
            upstream_connection_id: args.upstreamConnectionId,
            capabilities: JSON.stringify(args.capabilities),
            page_ids: JSON.stringify(args.pageIds),
            status: 'active',
            revoked_at: null,
            revoked_by: null,
            revoke_reason: null,
            updated_at: now,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return { grant: toGrant(row), created: existing === undefined };
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async findFor(personId, appId, workspaceId) {
      const row = await db
        .selectFrom('grants')
        .selectAll()
        .where('person_id', '=', personId)
        .where('app_id', '=', appId)
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async isApproved(workspaceId, appId) {
      const row = await db
        .selectFrom('approved_apps')
        .select('app_id')
        .where('workspace_id', '=', workspaceId)
        .where('app_id', '=', appId)
        .executeTakeFirst();
      return row !== undefined;
    },
    async listActiveForPerson(personId) {
      return (await base().where('g.person_id', '=', personId).execute()).map(map);
    },
    async listActiveForWorkspace(workspaceId) {
      return (await base().where('g.workspace_id', '=', workspaceId).execute()).map(map);
    },
    async listActiveForApps(workspaceId, appIds) {
      const wanted = appIds.filter(isUuid);
      if (wanted.length === 0) return [];
      return (await base().where('g.workspace_id', '=', workspaceId).where('g.app_id', 'in', wanted).execute()).map(map);
    },
    async listActiveByIds(ids) {
      const wanted = ids.filter(isUuid);
      if (wanted.length === 0) return [];
      return (await base().where('g.id', 'in', wanted).execute()).map(map);
    },
    async listActiveIds(filter) {
      let query = db.selectFrom('grants').select('id').where('status', '=', 'active');
      if (filter.workspaceId !== undefined) query = query.where('workspace_id', '=', filter.workspaceId);
      if (filter.personId !== undefined) query = query.where('person_id', '=', filter.personId);
      if (filter.appId !== undefined) query = query.where('app_id', '=', filter.appId);
      if (filter.upstreamConnectionId !== undefined) query = query.where('upstream_connection_id', '=', filter.upstreamConnectionId);
      return (await query.orderBy('created_at').execute()).map((r) => r.id);
    },
    async listActive() {
      return (await base().execute()).map(map);
    },
    async removePage(id, pageId, now) {
      if (!isUuid(id)) return false;
      // One conditional UPDATE (jsonb minus a string drops that element): of two presses, one reports the change.
      const result = await db
        .updateTable('grants')
        .set({ page_ids: sql`page_ids - ${pageId}::text`, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .where(sql<boolean>`page_ids ? ${pageId}::text`)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async revoke(id, revocation, now) {
      if (!isUuid(id)) return false;
      // One conditional UPDATE: of two revocations at once, exactly one records who, when and why.
      const result = await db
        .updateTable('grants')
        .set({ status: 'revoked', revoked_at: now, revoked_by: revocation.by, revoke_reason: revocation.reason, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async approve(workspaceId, appId, addedBy, now) {
      const row = await db
        .insertInto('approved_apps')
        .values({ workspace_id: workspaceId, app_id: appId, added_by: addedBy, added_at: now })
        .onConflict((oc) => oc.columns(['workspace_id', 'app_id']).doNothing())
        .returning('app_id')
        .executeTakeFirst();
      return row !== undefined;
    },
    async unapprove(workspaceId, appId) {
      if (!isUuid(appId)) return false;
      const result = await db
        .deleteFrom('approved_apps')
        .where('workspace_id', '=', workspaceId)
        .where('app_id', '=', appId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async listApproved(workspaceId) {
      const rows = await db.selectFrom('approved_apps').selectAll().where('workspace_id', '=', workspaceId).orderBy('added_at').execute();
      return rows.map((r) => ({ appId: r.app_id, addedBy: r.added_by, addedAt: r.added_at }));
    },
  };
}
