/**
 * Members' requests that owners approve an app the install policy ("Only
 * from approved list") keeps them from connecting. One row per (workspace,
 * app, member): pressing "Request approval" again while it is pending changes
 * nothing; after an answer, a new press asks again.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Migration, type Selectable } from 'kysely';
import { isUuid } from './people.js';
import type { ApprovalRequestsTable, Database } from './schema.js';

export type ApprovalRequestStatus = 'pending' | 'approved' | 'declined';

export interface ApprovalRequest {
  id: string;
  workspaceId: string;
  appId: string;
  personId: string;
  status: ApprovalRequestStatus;
  requestedAt: Date;
  decidedAt: Date | null;
  decidedBy: string | null;
}

/** A request with the names owners and members read. */
export interface ApprovalRequestView extends ApprovalRequest {
  appName: string;
  workspaceName: string;
  personEmail: string;
  personName: string;
}

export interface ApprovalRequestStore {
  /** Pending after this call; `created` is false when it already was (a repeated press). */
  request(
    args: { workspaceId: string; appId: string; personId: string },
    now: Date,
  ): Promise<{ request: ApprovalRequest; created: boolean }>;
  find(workspaceId: string, appId: string, personId: string): Promise<ApprovalRequest | null>;
  findById(id: string): Promise<ApprovalRequest | null>;
  /** Answers a pending request, once: null when it was not pending. */
  decide(id: string, status: 'approved' | 'declined', decidedBy: string | null, now: Date): Promise<ApprovalRequest | null>;
  /** A workspace's pending requests, oldest first, paged. */
  listPending(workspaceId: string, page: { limit: number; offset: number }): Promise<{ rows: ApprovalRequestView[]; total: number }>;
  /** A person's requests, newest first (what "My connections" shows). */
  listForPerson(personId: string, limit: number): Promise<ApprovalRequestView[]>;
}

function toRequest(r: Selectable<ApprovalRequestsTable>): ApprovalRequest {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    appId: r.app_id,
    personId: r.person_id,
    status: r.status,
    requestedAt: r.requested_at,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
  };
}

export function approvalRequestStore(db: Kysely<Database>): ApprovalRequestStore {
  const views = () =>
    db
      .selectFrom('approval_requests as r')
      .innerJoin('partner_apps as a', 'a.id', 'r.app_id')
      .innerJoin('workspaces as w', 'w.id', 'r.workspace_id')
      .innerJoin('people as p', 'p.id', 'r.person_id')
      .selectAll('r')
      .select(['a.name as app_name', 'w.name as workspace_name', 'p.email as person_email', 'p.name as person_name']);
  type ViewRow = Selectable<ApprovalRequestsTable> & {
    app_name: string;
    workspace_name: string;
    person_email: string;
    person_name: string;
  };
  const toView = (r: ViewRow): ApprovalRequestView => ({
    ...toRequest(r),
    appName: r.app_name,
    workspaceName: r.workspace_name,
    personEmail: r.person_email,
    personName: r.person_name,
  });
  return {
    async request(args, now) {
      // One statement: of two presses at once, one inserts or re-opens and the other finds it pending.
      const row = await db
        .insertInto('approval_requests')
        .values({
          id: randomUUID(),
          workspace_id: args.workspaceId,
          app_id: args.appId,
          person_id: args.personId,
          status: 'pending',
          requested_at: now,
          decided_at: null,
          decided_by: null,
        })
        .onConflict((oc) =>
          oc
            .columns(['workspace_id', 'app_id', 'person_id'])
            .doUpdateSet({ status: 'pending', requested_at: now, decided_at: null, decided_by: null })
            .where('approval_requests.status', '<>', 'pending'),
        )
        .returningAll()
        .executeTakeFirst();
      if (row) return { request: toRequest(row), created: true };
      const existing = await this.find(args.workspaceId, args.appId, args.personId);
      return { request: existing!, created: false };
    },
    async find(workspaceId, appId, personId) {
      const row = await db
        .selectFrom('approval_requests')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('app_id', '=', appId)
        .where('person_id', '=', personId)
        .executeTakeFirst();
      return row ? toRequest(row) : null;
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('approval_requests').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toRequest(row) : null;
    },
    async decide(id, status, decidedBy, now) {
      if (!isUuid(id)) return null;
      const row = await db
        .updateTable('approval_requests')
        .set({ status, decided_at: now, decided_by: decidedBy })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      return row ? toRequest(row) : null;
    },
    async listPending(workspaceId, page) {
      const rows = await views()
        .where('r.workspace_id', '=', workspaceId)
        .where('r.status', '=', 'pending')
        .orderBy('r.requested_at')
        .orderBy('r.id')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      const count = await db
        .selectFrom('approval_requests')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .where('status', '=', 'pending')
        .executeTakeFirstOrThrow();
      return { rows: rows.map(toView), total: Number(count.n) };
    },
    async listForPerson(personId, limit) {
      const rows = await views().where('r.person_id', '=', personId).orderBy('r.requested_at', 'desc').limit(limit).execute();
      return rows.map(toView);
    },
  };
}

/** 0011_approval_requests: one row per (workspace, app, member), its status the latest answer. */
export const approvalRequestsMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('approval_requests')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull().references('partner_apps.id').onDelete('cascade'))
      .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'approved', 'declined')`))
      .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
      .addColumn('decided_at', 'timestamptz')
      .addColumn('decided_by', 'uuid', (c) => c.references('people.id').onDelete('set null'))
      .addUniqueConstraint('approval_requests_one_per_member', ['workspace_id', 'app_id', 'person_id'])
      .execute();
    await db.schema
      .createIndex('approval_requests_pending')
      .on('approval_requests')
      .columns(['workspace_id', 'requested_at'])
      .where(sql.ref('status'), '=', 'pending')
      .execute();
  },
};
