import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

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
    async listActiveForPerson(personId) {
      return (await base().where('g.person_id', '=', personId).execute()).map(map);
    },
    async listActiveForWorkspace(workspaceId) {
      return (await base().where('g.workspace_id', '=', workspaceId).execute()).map(map);
    },
  };
}
