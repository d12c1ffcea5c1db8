/**
 * The console's long lists, paged in SQL (limit/offset, with the total for
 * "page 2 of 7") and searched without case: a workspace's connections by
 * app name, an app's users by email or name, the approved list by app name.
 * Each answers ids in display order; the rules load the rows of one page.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface PageRequest {
  /** Text to look for; empty or unset: everything. */
  q?: string;
  limit: number;
  offset: number;
}

export interface IdPage {
  ids: string[];
  total: number;
}

export interface ConsoleListStore {
  /** Partner apps with an active grant in the workspace, by name. */
  connectedApps(workspaceId: string, page: PageRequest): Promise<IdPage>;
  /** Active grants of one app in the workspace, oldest first; `personId` narrows to one person. */
  appGrants(workspaceId: string, appId: string, page: PageRequest & { personId?: string }): Promise<IdPage>;
  /** The approved list, by name. */
  approvedApps(workspaceId: string, page: PageRequest): Promise<IdPage>;
  /** "+ Add approved connection": public apps installed in the workspace and not approved yet, by name, at most `limit`. */
  approvableApps(workspaceId: string, limit: number): Promise<Array<{ id: string; name: string }>>;
  /** Active grants of the workspace picking any of these pages (a page and its ancestors), oldest first, at most 200; `personId` narrows to one person's. */
  grantsPicking(workspaceId: string, pageIds: string[], personId?: string): Promise<string[]>;
}

/** ILIKE pattern for a search text: its own % and _ match themselves. */
export function containsPattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const bounded = (page: PageRequest) => ({ limit: Math.max(1, Math.min(page.limit, 200)), offset: Math.max(0, page.offset) });

export function consoleListStore(db: Kysely<Database>): ConsoleListStore {
  return {
    async approvableApps(workspaceId, limit) {
      return db
        .selectFrom('partner_apps as a')
        .select(['a.id', 'a.name'])
        .where('a.integration_kind', '=', 'public')
        .where((eb) =>
          eb.and([
            eb.exists(
              eb
                .selectFrom('grants as g')
                .select('g.id')
                .whereRef('g.app_id', '=', 'a.id')
                .where('g.workspace_id', '=', workspaceId)
                .where('g.status', '=', 'active'),
            ),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('approved_apps as x')
                  .select('x.app_id')
                  .whereRef('x.app_id', '=', 'a.id')
                  .where('x.workspace_id', '=', workspaceId),
              ),
            ),
          ]),
        )
        .orderBy(sql`lower(a.name)`)
        .orderBy('a.id')
        .limit(Math.max(1, Math.min(limit, 1000)))
        .execute();
    },
    async grantsPicking(workspaceId, pageIds, personId) {
      if (pageIds.length === 0) return [];
      let query = db
        .selectFrom('grants')
        .select('id')
        .where('workspace_id', '=', workspaceId)
        .where('status', '=', 'active')
        .where(sql<boolean>`page_ids ?| ${sql.val(pageIds)}::text[]`);
      if (personId) query = query.where('person_id', '=', personId);
      return (await query.orderBy('created_at').orderBy('id').limit(200).execute()).map((r) => r.id);
    },
    async connectedApps(workspaceId, page) {
      const { limit, offset } = bounded(page);
      let query = db
        .selectFrom('partner_apps as a')
        .where((eb) =>
          eb.exists(
            eb
              .selectFrom('grants as g')
              .select('g.id')
              .whereRef('g.app_id', '=', 'a.id')
              .where('g.workspace_id', '=', workspaceId)
              .where('g.status', '=', 'active'),
          ),
        );
      if (page.q) query = query.where('a.name', 'ilike', containsPattern(page.q));
      const [rows, count] = await Promise.all([
        query
          .select(['a.id'])
          .orderBy(sql`lower(a.name)`)
          .orderBy('a.id')
          .limit(limit)
          .offset(offset)
          .execute(),
        query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { ids: rows.map((r) => r.id), total: Number(count.n) };
    },
    async appGrants(workspaceId, appId, page) {
      const { limit, offset } = bounded(page);
      let query = db
        .selectFrom('grants as g')
        .innerJoin('people as p', 'p.id', 'g.person_id')
        .where('g.workspace_id', '=', workspaceId)
        .where('g.app_id', '=', appId)
        .where('g.status', '=', 'active');
      if (page.personId) query = query.where('g.person_id', '=', page.personId);
      if (page.q) {
        const pattern = containsPattern(page.q);
        query = query.where((eb) => eb.or([eb('p.email', 'ilike', pattern), eb('p.name', 'ilike', pattern)]));
      }
      const [rows, count] = await Promise.all([
        query.select(['g.id']).orderBy('g.created_at').orderBy('g.id').limit(limit).offset(offset).execute(),
        query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { ids: rows.map((r) => r.id), total: Number(count.n) };
    },
    async approvedApps(workspaceId, page) {
      const { limit, offset } = bounded(page);
      let query = db
        .selectFrom('approved_apps as x')
        .innerJoin('partner_apps as a', 'a.id', 'x.app_id')
        .where('x.workspace_id', '=', workspaceId);
      if (page.q) query = query.where('a.name', 'ilike', containsPattern(page.q));
      const [rows, count] = await Promise.all([
        query
          .select(['a.id'])
          .orderBy(sql`lower(a.name)`)
          .orderBy('a.id')
          .limit(limit)
          .offset(offset)
          .execute(),
        query.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { ids: rows.map((r) => r.id), total: Number(count.n) };
    },
  };
}
