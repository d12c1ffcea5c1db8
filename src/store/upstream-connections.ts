import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { isUuid } from './people.js';
import type { Database, UpstreamConnectionsTable } from './schema.js';

export type IndexState = 'pending' | 'running' | 'ready' | 'failed';

/** One person's Notion credential for one workspace. The credential stays encrypted here. */
export interface UpstreamConnection {
  id: string;
  personId: string;
  workspaceId: string;
  kind: 'oauth' | 'internal';
  credentialCiphertext: string | null;
  botId: string;
  notionUserId: string;
  notionUser: Record<string, unknown>;
  version: number;
  status: 'active' | 'broken' | 'disconnected';
  indexState: IndexState;
  indexCount: number;
  indexError: string | null;
  indexedAt: Date | null;
}

export interface UpstreamConnectionStore {
  /** Create, or replace the credential of, the person's connection to the workspace (one per person and workspace). */
  save(
    args: {
      personId: string;
      workspaceId: string;
      kind: 'oauth' | 'internal';
      botId: string;
      notionUserId: string;
      notionUser: Record<string, unknown>;
      encrypt: (connectionId: string) => string;
    },
    now: Date,
  ): Promise<UpstreamConnection>;
  findById(id: string): Promise<UpstreamConnection | null>;
  findForPersonAndWorkspace(personId: string, workspaceId: string): Promise<UpstreamConnection | null>;
  listForPerson(personId: string): Promise<UpstreamConnection[]>;
  listActive(): Promise<UpstreamConnection[]>;
  listActiveForWorkspace(workspaceId: string): Promise<UpstreamConnection[]>;
  /** Every connection to the workspace, whatever its status (a broken one still holds a credential). */
  listForWorkspace(workspaceId: string): Promise<UpstreamConnection[]>;
  /** Compare-and-swap on `version`: false when someone else changed the credential first. */
  replaceCredential(id: string, expectedVersion: number, ciphertext: string, now: Date): Promise<boolean>;
  setStatus(id: string, status: UpstreamConnection['status'], now: Date): Promise<boolean>;
  /** Destroys the credential (ciphertext set to null) and marks the connection disconnected; false when it already was. */
  disconnect(id: string, now: Date): Promise<boolean>;
  setIndexState(
    id: string,
    state: { indexState: IndexState; indexCount?: number; indexError?: string | null; indexedAt?: Date | null },
    now: Date,
  ): Promise<void>;
  /** For `keys rotate`: every stored ciphertext, re-encrypted by `reencrypt`, each row by compare-and-swap. */
  /** Index work is claimed, so two instances do not index the same connection at once; a claim older than `staleBefore` is abandoned. */
  claimIndexing(id: string, now: Date, staleBefore: Date): Promise<boolean>;
  listCiphertexts(): Promise<Array<{ id: string; version: number; ciphertext: string }>>;
}

export function toConnection(row: Selectable<UpstreamConnectionsTable>): UpstreamConnection {
  return {
    id: row.id,
    personId: row.person_id,
    workspaceId: row.workspace_id,
    kind: row.kind,
    credentialCiphertext: row.credential_ciphertext,
    botId: row.bot_id,
    notionUserId: row.notion_user_id,
    notionUser: row.notion_user,
    version: Number(row.version),
    status: row.status,
    indexState: row.index_state,
    indexCount: Number(row.index_count),
    indexError: row.index_error,
    indexedAt: row.indexed_at,
  };
}

export function upstreamConnectionStore(db: Kysely<Database>): UpstreamConnectionStore {
  const byId = async (id: string) => {
    if (!isUuid(id)) return null;
    const row = await db.selectFrom('upstream_connections').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConnection(row) : null;
  };
  return {
    async save(args, now) {
      const existing = await db
        .selectFrom('upstream_connections')
        .select(['id'])
        .where('person_id', '=', args.personId)
        .where('workspace_id', '=', args.workspaceId)
        .executeTakeFirst();
      const id = existing?.id ?? randomUUID();
      const ciphertext = args.encrypt(id);
      const row = await db
        .insertInto('upstream_connections')
        .values({
          id,
          person_id: args.personId,
          workspace_id: args.workspaceId,
          kind: args.kind,
          credential_ciphertext: ciphertext,
          bot_id: args.botId,
          notion_user_id: args.notionUserId,
          notion_user: JSON.stringify(args.notionUser),
          status: 'active',
          index_state: 'pending',
          index_error: null,
          indexed_at: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['person_id', 'workspace_id']).doUpdateSet((eb) => ({
            kind: args.kind,
            credential_ciphertext: ciphertext,
            bot_id: args.botId,
            notion_user_id: args.notionUserId,
            notion_user: JSON.stringify(args.notionUser),
            status: 'active',
            updated_at: now,
            index_state: 'pending',
            index_error: null,
            version: eb('upstream_connections.version', '+', 1),
          })),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toConnection(row);
    },
    findById: byId,
    async findForPersonAndWorkspace(personId, workspaceId) {
      const row = await db
        .selectFrom('upstream_connections')
        .selectAll()
        .where('person_id', '=', personId)
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return row ? toConnection(row) : null;
    },
    async listForPerson(personId) {
      const rows = await db.selectFrom('upstream_connections').selectAll().where('person_id', '=', personId).execute();
      return rows.map(toConnection);
    },
    async listActive() {
      const rows = await db.selectFrom('upstream_connections').selectAll().where('status', '=', 'active').execute();
      return rows.map(toConnection);
    },
    async listActiveForWorkspace(workspaceId) {
      const rows = await db
        .selectFrom('upstream_connections')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .where('status', '=', 'active')
        .execute();
      return rows.map(toConnection);
    },
    async listForWorkspace(workspaceId) {
      const rows = await db.selectFrom('upstream_connections').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
      return rows.map(toConnection);
    },
    async replaceCredential(id, expectedVersion, ciphertext, now) {
      const result = await db
        .updateTable('upstream_connections')
        .set((eb) => ({ credential_ciphertext: ciphertext, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('version', '=', expectedVersion)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setStatus(id, status, now) {
      const result = await db
        .updateTable('upstream_connections')
        .set({ status, updated_at: now })
        .where('id', '=', id)
        .where('status', '!=', status)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async disconnect(id, now) {
      if (!isUuid(id)) return false;
      const result = await db
        .updateTable('upstream_connections')
        .set((eb) => ({ status: 'disconnected', credential_ciphertext: null, updated_at: now, version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where((eb) => eb.or([eb('status', '!=', 'disconnected'), eb('credential_ciphertext', 'is not', null)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setIndexState(id, state, now) {
      await db
        .updateTable('upstream_connections')
        .set({
          index_state: state.indexState,
          ...(state.indexCount !== undefined ? { index_count: state.indexCount } : {}),
          ...(state.indexError !== undefined ? { index_error: state.indexError } : {}),
          ...(state.indexedAt !== undefined ? { indexed_at: state.indexedAt } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    },
    async claimIndexing(id, now, staleBefore) {
      const result = await db
        .updateTable('upstream_connections')
        .set({ index_state: 'running', updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'active')
        .where((eb) => eb.or([eb('index_state', '!=', 'running'), eb('updated_at', '<', staleBefore)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async listCiphertexts() {
      const rows = await db
        .selectFrom('upstream_connections')
        .select(['id', 'version', 'credential_ciphertext'])
        .where('credential_ciphertext', 'is not', null)
        .execute();
      return rows.map((r) => ({ id: r.id, version: Number(r.version), ciphertext: r.credential_ciphertext! }));
    },
  };
}
