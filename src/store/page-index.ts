import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface IndexedPage {
  pageId: string;
  parentId: string | null;
  parentType: string;
  title: string;
  objectType: 'page' | 'database' | 'data_source';
}

export interface PageIndexStore {
  /** Add or refresh a batch of pages seen during one sync run. */
  upsertBatch(connectionId: string, pages: IndexedPage[], seenAt: Date): Promise<void>;
  /** After a complete sync run: drop what the run did not see (unshared or deleted pages). */
  removeNotSeenSince(connectionId: string, runStartedAt: Date): Promise<number>;
  count(connectionId: string): Promise<number>;
  children(connectionId: string, parentId: string | null, limit: number, offset: number): Promise<IndexedPage[]>;
  search(connectionId: string, query: string, limit: number): Promise<IndexedPage[]>;
  get(connectionId: string, pageId: string): Promise<IndexedPage | null>;
  /** Every page, for small indexes rendered as one tree; at most `limit`. */
  listAll(connectionId: string, limit: number): Promise<IndexedPage[]>;
  /** Top of the tree: pages whose parent is the workspace or is not in the index (a block, an unshared page). */
  roots(connectionId: string, limit: number, offset: number): Promise<IndexedPage[]>;
  /** Which of these pages have children in the connection's index: one query however many pages a screen shows. */
  withChildren(connectionId: string, pageIds: string[]): Promise<Set<string>>;
  /** Which of these ids the connection's index holds. */
  presentIds(connectionId: string, pageIds: string[]): Promise<Set<string>>;
  /** Pages that left the connection's reach (deleted, or moved where its person cannot see them), as a webhook event says. */
  remove(connectionId: string, pageIds: string[]): Promise<number>;
  /**
   * These pages and their ancestors up to `depth` levels above them, in one
   * query (a recursive walk up the parent links, bounded so that a parent
   * cycle in the data ends); ids the index lacks are absent.
   */
  withAncestors(connectionId: string, pageIds: string[], depth: number): Promise<Map<string, IndexedPage>>;
  /** Titles of these ids in the connection's index (ids the index no longer holds are absent). */
  titles(connectionId: string, pageIds: string[]): Promise<Map<string, string>>;
}

function toPage(row: {
  page_id: string;
  parent_id: string | null;
  parent_type: string;
  title: string;
  object_type: IndexedPage['objectType'];
}): IndexedPage {
  return { pageId: row.page_id, parentId: row.parent_id, parentType: row.parent_type, title: row.title, objectType: row.object_type };
}

export function pageIndexStore(db: Kysely<Database>): PageIndexStore {
  return {
    async upsertBatch(connectionId, pages, seenAt) {
      if (pages.length === 0) return;
      await db
        .insertInto('page_index')
        .values(
          pages.map((p) => ({
            connection_id: connectionId,
            page_id: p.pageId,
            parent_id: p.parentId,
            parent_type: p.parentType,
            title: p.title,
            object_type: p.objectType,
            seen_at: seenAt,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['connection_id', 'page_id']).doUpdateSet((eb) => ({
            parent_id: eb.ref('excluded.parent_id'),
            parent_type: eb.ref('excluded.parent_type'),
            title: eb.ref('excluded.title'),
            object_type: eb.ref('excluded.object_type'),
            seen_at: eb.ref('excluded.seen_at'),
          })),
        )
        .execute();
    },
    async removeNotSeenSince(connectionId, runStartedAt) {
      const result = await db
        .deleteFrom('page_index')
        .where('connection_id', '=', connectionId)
        .where('seen_at', '<', runStartedAt)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async count(connectionId) {
      const row = await db
        .selectFrom('page_index')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('connection_id', '=', connectionId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
    async children(connectionId, parentId, limit, offset) {
      let query = db.selectFrom('page_index').selectAll().where('connection_id', '=', connectionId);
      query = parentId === null ? query.where('parent_id', 'is', null) : query.where('parent_id', '=', parentId);
      const rows = await query.orderBy('title').orderBy('page_id').limit(limit).offset(offset).execute();
      return rows.map(toPage);
    },
    async search(connectionId, query, limit) {
      const pattern = `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await db
        .selectFrom('page_index')
        .selectAll()
        .where('connection_id', '=', connectionId)
        .where('title', 'ilike', pattern)
        .orderBy('title')
        .limit(limit)
        .execute();
      return rows.map(toPage);
    },
    async listAll(connectionId, limit) {
      const rows = await db
        .selectFrom('page_index')
        .selectAll()
        .where('connection_id', '=', connectionId)
        .orderBy('title')
        .orderBy('page_id')
        .limit(limit)
        .execute();
      return rows.map(toPage);
    },
    async roots(connectionId, limit, offset) {
      const rows = await db
        .selectFrom('page_index as p')
        .selectAll('p')
        .where('p.connection_id', '=', connectionId)
        .where((eb) =>
          eb.or([
            eb('p.parent_id', 'is', null),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('page_index as q')
                  .select('q.page_id')
                  .whereRef('q.connection_id', '=', 'p.connection_id')
                  .whereRef('q.page_id', '=', 'p.parent_id'),
              ),
            ),
          ]),
        )
        .orderBy('p.title')
        .orderBy('p.page_id')
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map(toPage);
    },
    async withChildren(connectionId, pageIds) {
      if (pageIds.length === 0) return new Set();
      const rows = await db
        .selectFrom('page_index')
        .select('parent_id')
        .where('connection_id', '=', connectionId)
        .where('parent_id', 'in', pageIds)
        .groupBy('parent_id')
        .execute();
      return new Set(rows.map((r) => r.parent_id!));
    },
    async presentIds(connectionId, pageIds) {
      if (pageIds.length === 0) return new Set();
      const rows = await db
        .selectFrom('page_index')
        .select('page_id')
        .where('connection_id', '=', connectionId)
        .where('page_id', 'in', pageIds)
        .execute();
      return new Set(rows.map((r) => r.page_id));
    },
    async remove(connectionId, pageIds) {
      if (pageIds.length === 0) return 0;
      const result = await db
        .deleteFrom('page_index')
        .where('connection_id', '=', connectionId)
        .where('page_id', 'in', pageIds)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async withAncestors(connectionId, pageIds, depth) {
      if (pageIds.length === 0) return new Map();
      const { rows } = await sql<{
        page_id: string;
        parent_id: string | null;
        parent_type: string;
        title: string;
        object_type: IndexedPage['objectType'];
      }>`
        with recursive up as (
          select page_id, parent_id, parent_type, title, object_type, 0 as level
            from page_index
           where connection_id = ${connectionId} and page_id in (${sql.join(pageIds)})
          union
          select p.page_id, p.parent_id, p.parent_type, p.title, p.object_type, up.level + 1
            from page_index p join up on p.page_id = up.parent_id
           where p.connection_id = ${connectionId} and up.level < ${depth}
        )
        select distinct page_id, parent_id, parent_type, title, object_type from up`.execute(db);
      return new Map(rows.map((r) => [r.page_id, toPage(r)]));
    },
    async titles(connectionId, pageIds) {
      if (pageIds.length === 0) return new Map();
      const rows = await db
        .selectFrom('page_index')
        .select(['page_id', 'title'])
        .where('connection_id', '=', connectionId)
        .where('page_id', 'in', pageIds)
        .execute();
      return new Map(rows.map((r) => [r.page_id, r.title]));
    },
    async get(connectionId, pageId) {
      const row = await db
        .selectFrom('page_index')
        .selectAll()
        .where('connection_id', '=', connectionId)
        .where('page_id', '=', pageId)
        .executeTakeFirst();
      return row ? toPage(row) : null;
    },
  };
}
