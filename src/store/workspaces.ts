import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type WorkspaceRole = 'owner' | 'member';

export interface Workspace {
  id: string;
  name: string;
  icon: string | null;
  installPolicy: 'no_restrictions' | 'approved_only';
  autoApproveOrganisation: boolean;
}

export interface Membership {
  workspaceId: string;
  personId: string;
  role: WorkspaceRole;
  status: 'active' | 'left';
}

export interface WorkspaceStore {
  /**
   * Record a workspace met through a new upstream connection, and the person
   * connecting it: the first person to connect a workspace is its first
   * owner, others join as members. Atomic, so two first
   * connections at once cannot both become "first".
   */
  upsertWithConnector(
    ws: { id: string; name: string; icon: string | null },
    personId: string,
    now: Date,
  ): Promise<{ workspace: Workspace; role: WorkspaceRole; created: boolean }>;
  findById(id: string): Promise<Workspace | null>;
  listAll(): Promise<Workspace[]>;
  /** Active memberships of a person, with the workspace. */
  listForPerson(personId: string): Promise<Array<Workspace & { role: WorkspaceRole }>>;
  membership(workspaceId: string, personId: string): Promise<Membership | null>;
  listMembers(workspaceId: string): Promise<Membership[]>;
  /** Adds an active member (from the Notion member list) unless already known; a returning person is reactivated. */
  ensureMember(workspaceId: string, personId: string, now: Date): Promise<void>;
  markLeft(workspaceId: string, personId: string, now: Date): Promise<boolean>;
  /**
   * Changes an active member's role. Atomic with the last-owner rule: the
   * workspace row is locked, so two owners demoting each other at once
   * cannot leave the workspace without an owner.
   */
  setRole(workspaceId: string, personId: string, role: WorkspaceRole): Promise<'changed' | 'unchanged' | 'not_member' | 'last_owner'>;
  setPolicy(
    workspaceId: string,
    policy: { installPolicy: Workspace['installPolicy']; autoApproveOrganisation: boolean },
  ): Promise<Workspace | null>;
}

type WorkspaceRow = Database['workspaces'] extends infer _
  ? { id: string; name: string; icon: string | null; install_policy: Workspace['installPolicy']; auto_approve_organisation: boolean }
  : never;

function toWorkspace(row: WorkspaceRow): Workspace {
  return {
    id: row.id,
    name: row.name,
    icon: row.icon,
    installPolicy: row.install_policy,
    autoApproveOrganisation: row.auto_approve_organisation,
  };
}

export function workspaceStore(db: Kysely<Database>): WorkspaceStore {
  return {
    async upsertWithConnector(ws, personId, now) {
      return db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('workspaces')
          .values({
            id: ws.id,
            name: ws.name,
            icon: ws.icon,
            install_policy: 'no_restrictions',
            auto_approve_organisation: true,
            created_at: now,
          })
          .onConflict((oc) => oc.column('id').doNothing())
          .returning('id')
          .executeTakeFirst();
        const created = inserted !== undefined;
        if (!created) await trx.updateTable('workspaces').set({ name: ws.name, icon: ws.icon }).where('id', '=', ws.id).execute();
        const existing = await trx
          .selectFrom('workspace_members')
          .selectAll()
          .where('workspace_id', '=', ws.id)
          .where('person_id', '=', personId)
          .executeTakeFirst();
        let role: WorkspaceRole;
        if (existing) {
          role = existing.role;
          if (existing.status !== 'active') {
            await trx
              .updateTable('workspace_members')
              .set({ status: 'active', left_at: null })
              .where('workspace_id', '=', ws.id)
              .where('person_id', '=', personId)
              .execute();
          }
        } else {
          role = created ? 'owner' : 'member';
          await trx
            .insertInto('workspace_members')
            .values({ workspace_id: ws.id, person_id: personId, role, status: 'active', joined_at: now, left_at: null })
            .execute();
        }
        const row = await trx.selectFrom('workspaces').selectAll().where('id', '=', ws.id).executeTakeFirstOrThrow();
        return { workspace: toWorkspace(row), role, created };
      });
    },
    async findById(id) {
      const row = await db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toWorkspace(row) : null;
    },
    async listAll() {
      const rows = await db.selectFrom('workspaces').selectAll().orderBy('name').execute();
      return rows.map(toWorkspace);
    },
    async listForPerson(personId) {
      const rows = await db
        .selectFrom('workspace_members as m')
        .innerJoin('workspaces as w', 'w.id', 'm.workspace_id')
        .select(['w.id', 'w.name', 'w.icon', 'w.install_policy', 'w.auto_approve_organisation', 'm.role'])
        .where('m.person_id', '=', personId)
        .where('m.status', '=', 'active')
        .orderBy('w.name')
        .execute();
      return rows.map((r) => ({ ...toWorkspace(r), role: r.role }));
    },
    async membership(workspaceId, personId) {
      const row = await db
        .selectFrom('workspace_members')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return row ? { workspaceId: row.workspace_id, personId: row.person_id, role: row.role, status: row.status } : null;
    },
    async listMembers(workspaceId) {
      const rows = await db.selectFrom('workspace_members').selectAll().where('workspace_id', '=', workspaceId).execute();
      return rows.map((row) => ({ workspaceId: row.workspace_id, personId: row.person_id, role: row.role, status: row.status }));
    },
    async ensureMember(workspaceId, personId, now) {
      await db
        .insertInto('workspace_members')
        .values({ workspace_id: workspaceId, person_id: personId, role: 'member', status: 'active', joined_at: now, left_at: null })
        .onConflict((oc) => oc.columns(['workspace_id', 'person_id']).doUpdateSet({ status: 'active', left_at: null }))
        .execute();
    },
    async setRole(workspaceId, personId, role) {
      return db.transaction().execute(async (trx) => {
        await trx.selectFrom('workspaces').select('id').where('id', '=', workspaceId).forUpdate().executeTakeFirst();
        const member = await trx
          .selectFrom('workspace_members')
          .selectAll()
          .where('workspace_id', '=', workspaceId)
          .where('person_id', '=', personId)
          .executeTakeFirst();
        if (!member || member.status !== 'active') return 'not_member';
        if (member.role === role) return 'unchanged';
        if (member.role === 'owner') {
          const owners = await trx
            .selectFrom('workspace_members')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .where('workspace_id', '=', workspaceId)
            .where('role', '=', 'owner')
            .where('status', '=', 'active')
            .executeTakeFirstOrThrow();
          if (Number(owners.n) <= 1) return 'last_owner';
        }
        await trx
          .updateTable('workspace_members')
          .set({ role })
          .where('workspace_id', '=', workspaceId)
          .where('person_id', '=', personId)
          .execute();
        return 'changed';
      });
    },
    async setPolicy(workspaceId, policy) {
      const row = await db
        .updateTable('workspaces')
        .set({ install_policy: policy.installPolicy, auto_approve_organisation: policy.autoApproveOrganisation })
        .where('id', '=', workspaceId)
        .returningAll()
        .executeTakeFirst();
      return row ? toWorkspace(row) : null;
    },
    async markLeft(workspaceId, personId, now) {
      const result = await db
        .updateTable('workspace_members')
        .set({ status: 'left', left_at: now })
        .where('workspace_id', '=', workspaceId)
        .where('person_id', '=', personId)
        .where('status', '=', 'active')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
