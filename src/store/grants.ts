import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUuid } from './people.js';
import type { Database } from './schema.js';

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

function toGrant(row: any): Grant {
  return {
    id: row.id, personId: row.person_id, appId: row.app_id, workspaceId: row.workspace_id, upstreamConnectionId: row.upstream_connection_id,
    capabilities: row.capabilities, pageIds: row.page_ids, status: row.status, createdAt: row.created_at, updatedAt: row.updated_at,
  };
}

/** A person's authorisation of one partner app on one workspace (DESIGN.md "Grant"). */
export interface GrantSummary {
  id: string;
  appName: string;
  workspaceId: string;
  workspaceName: string;
  personId: string;
  personEmail: string;
  capabilities: string[];
  pageCount: number;
  createdAt: Date;
}

export interface GrantStore {
  /** One grant per (person, app, workspace): authorising again updates it and keeps its id (the partner's bot_id). */
  upsert(args: { personId: string; appId: string; workspaceId: string; upstreamConnectionId: string; capabilities: string[]; pageIds: string[] }, now: Date): Promise<{ grant: Grant; created: boolean }>;
  findById(id: string): Promise<Grant | null>;
  findFor(personId: string, appId: string, workspaceId: string): Promise<Grant | null>;
  isApproved(workspaceId: string, appId: string): Promise<boolean>;
  listActiveForPerson(personId: string): Promise<GrantSummary[]>;
  listActiveForWorkspace(workspaceId: string): Promise<GrantSummary[]>;
}

export function grantStore(db: Kysely<Database>): GrantStore {
  const base = () => db.selectFrom('grants as g')
    .innerJoin('partner_apps as a', 'a.id', 'g.app_id')
    .innerJoin('workspaces as w', 'w.id', 'g.workspace_id')
    .innerJoin('people as p', 'p.id', 'g.person_id')
    .select(['g.id', 'a.name as app_name', 'g.workspace_id', 'w.name as workspace_name', 'g.person_id', 'p.email', 'g.capabilities', 'g.page_ids', 'g.created_at'])
    .where('g.status', '=', 'active')
    .orderBy('g.created_at', 'desc');
  const map = (r: { id: string; app_name: string; workspace_id: string; workspace_name: string; person_id: string; email: string; capabilities: string[]; page_ids: string[]; created_at: Date }): GrantSummary => ({
    id: r.id, appName: r.app_name, workspaceId: r.workspace_id, workspaceName: r.workspace_name, personId: r.person_id,
    personEmail: r.email, capabilities: r.capabilities, pageCount: r.page_ids.length, createdAt: r.created_at,
  });
  return {
    async upsert(args, now) {
      const existing = await db.selectFrom('grants').select(['id']).where('person_id', '=', args.personId).where('app_id', '=', args.appId).where('workspace_id', '=', args.workspaceId).executeTakeFirst();
      const row = await db.insertInto('grants').values({
        id: existing?.id ?? randomUUID(), person_id: args.personId, app_id: args.appId, workspace_id: args.workspaceId,
        upstream_connection_id: args.upstreamConnectionId, capabilities: JSON.stringify(args.capabilities), page_ids: JSON.stringify(args.pageIds),
        status: 'active', revoked_at: null, revoked_by: null, revoke_reason: null, created_at: now, updated_at: now,
      }).onConflict((oc) => oc.columns(['person_id', 'app_id', 'workspace_id']).doUpdateSet({
        upstream_connection_id: args.upstreamConnectionId, capabilities: JSON.stringify(args.capabilities), page_ids: JSON.stringify(args.pageIds),
        status: 'active', revoked_at: null, revoked_by: null, revoke_reason: null, updated_at: now,
      })).returningAll().executeTakeFirstOrThrow();
      return { grant: toGrant(row), created: existing === undefined };
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async findFor(personId, appId, workspaceId) {
      const row = await db.selectFrom('grants').selectAll().where('person_id', '=', personId).where('app_id', '=', appId).where('workspace_id', '=', workspaceId).executeTakeFirst();
      return row ? toGrant(row) : null;
    },
    async isApproved(workspaceId, appId) {
      const row = await db.selectFrom('approved_apps').select('app_id').where('workspace_id', '=', workspaceId).where('app_id', '=', appId).executeTakeFirst();
      return row !== undefined;
    },
    async listActiveForPerson(personId) {
      return (await base().where('g.person_id', '=', personId).execute()).map(map);
    },
    async listActiveForWorkspace(workspaceId) {
      return (await base().where('g.workspace_id', '=', workspaceId).execute()).map(map);
    },
  };
}
