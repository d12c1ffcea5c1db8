/**
 * Internal integrations: a partner_apps row that belongs to one workspace, with a
 * token kept twice: encrypted (`internal_token_ciphertext`, AAD
 * `partner_app:<id>`, so owners can retrieve it) and hashed
 * (`internal_token_hash`, so the proxy finds it without decrypting anything).
 * Pages are connected to it one by one, each through the upstream connection
 * of the owner who connected it.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Capability } from '../oauth/capabilities.js';
import { isUuid } from './people.js';
import type { Database } from './schema.js';

export interface InternalIntegration {
  id: string;
  name: string;
  workspaceId: string;
  capabilities: Capability[];
  hasLogo: boolean;
  createdBy: string | null;
  createdAt: Date;
}

export interface ConnectedPage {
  pageId: string;
  /** From the connector's page index; null when the page left it since. */
  title: string | null;
  connectionId: string;
  connectedBy: string;
  connectedByEmail: string;
  connectedAt: Date;
}

/** What the proxy needs for an internal token: the integration, its capabilities and its pages with their connections. */
export interface InternalTokenScope {
  app: InternalIntegration;
  pages: Array<{ pageId: string; connectionId: string; connectedBy: string }>;
}

export interface ConvertedGrant {
  id: string;
  personId: string;
  upstreamConnectionId: string;
  pageIds: string[];
}

export interface InternalIntegrationStore {
  create(
    args: {
      name: string;
      workspaceId: string;
      capabilities: Capability[];
      logo: { contentType: string; bytes: Buffer } | null;
      createdBy: string | null;
      tokenHash: string;
      encrypt: (appId: string) => string;
    },
    now: Date,
  ): Promise<InternalIntegration>;
  /** An internal integration by id (null for public ones and unknown ids). */
  findById(id: string): Promise<InternalIntegration | null>;
  listForWorkspaces(workspaceIds: string[]): Promise<Array<InternalIntegration & { pageCount: number }>>;
  tokenCiphertext(id: string): Promise<string | null>;
  findByTokenHash(hash: string): Promise<InternalTokenScope | null>;
  /** False when the page was already connected to this integration. */
  connectPage(args: { appId: string; pageId: string; connectionId: string; connectedBy: string }, now: Date): Promise<boolean>;
  disconnectPage(appId: string, pageId: string): Promise<boolean>;
  /** "Disconnect" on the owners' console: the integration off every page of its workspace; the ids of the pages it left. */
  disconnectAllPages(appId: string): Promise<string[]>;
  /** A person's upstream connection going away: every page connected through it, of any integration. */
  disconnectPagesOfConnection(connectionId: string): Promise<Array<{ appId: string; pageId: string }>>;
  listPages(appId: string): Promise<ConnectedPage[]>;
  /** Integrations connected to one page of a workspace. */
  listForPage(workspaceId: string, pageId: string): Promise<Array<InternalIntegration & { connectedBy: string; connectedAt: Date }>>;
  /**
   * Convert to public, atomically: the row becomes a confidential public
   * integration with a client id, secret hash and redirect URIs; the token is
   * retired; each owner's connected pages become that owner's grant.
   */
  convertToPublic(
    args: { appId: string; clientId: string; clientSecretHash: string; redirectUris: string[] },
    now: Date,
  ): Promise<ConvertedGrant[] | null>;
  /** For `keys rotate`. */
  listTokenCiphertexts(): Promise<Array<{ id: string; ciphertext: string }>>;
  /** Compare-and-swap on the old ciphertext. */
  replaceTokenCiphertext(id: string, expected: string, next: string): Promise<boolean>;
}

const COLUMNS = ['id', 'name', 'workspace_id', 'capabilities', 'logo_content_type', 'created_by', 'created_at'] as const;

function toIntegration(row: {
  id: string;
  name: string;
  workspace_id: string | null;
  capabilities: string[];
  logo_content_type: string | null;
  created_by: string | null;
  created_at: Date;
}): InternalIntegration {
  return {
    id: row.id,
    name: row.name,
    workspaceId: row.workspace_id!,
    capabilities: row.capabilities as Capability[],
    hasLogo: row.logo_content_type !== null,
    createdBy: row.created_by,
    createdAt: row.created_at,
  };
}

export function internalIntegrationStore(db: Kysely<Database>): InternalIntegrationStore {
  const internal = () => db.selectFrom('partner_apps').where('integration_kind', '=', 'internal');
  return {
    async create(args, now) {
      const id = randomUUID();
      const row = await db
        .insertInto('partner_apps')
        .values({
          id,
          client_id: null,
          client_secret_hash: null,
          name: args.name,
          website: null,
          support_contact: null,
          logo_content_type: args.logo?.contentType ?? null,
          logo: args.logo?.bytes ?? null,
          redirect_uris: JSON.stringify([]),
          capabilities: JSON.stringify(args.capabilities),
          built_by_organisation: true,
          integration_kind: 'internal',
          client_type: 'confidential',
          workspace_id: args.workspaceId,
          internal_token_ciphertext: args.encrypt(id),
          internal_token_hash: args.tokenHash,
          created_by: args.createdBy,
          created_at: now,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toIntegration(row);
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await internal().select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? toIntegration(row) : null;
    },
    async listForWorkspaces(workspaceIds) {
      if (workspaceIds.length === 0) return [];
      const rows = await internal()
        .select(COLUMNS)
        .select((eb) =>
          eb
            .selectFrom('internal_integration_pages as p')
            .select((e) => e.fn.countAll<string>().as('n'))
            .whereRef('p.app_id', '=', 'partner_apps.id')
            .as('page_count'),
        )
        .where('workspace_id', 'in', workspaceIds)
        .orderBy('name')
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({ ...toIntegration(r), pageCount: Number(r.page_count ?? 0) }));
    },
    async tokenCiphertext(id) {
      if (!isUuid(id)) return null;
      const row = await internal().select('internal_token_ciphertext').where('id', '=', id).executeTakeFirst();
      return row?.internal_token_ciphertext ?? null;
    },
    async findByTokenHash(hash) {
      const row = await internal().select(COLUMNS).where('internal_token_hash', '=', hash).executeTakeFirst();
      if (!row) return null;
      const pages = await db
        .selectFrom('internal_integration_pages')
        .select(['page_id', 'connection_id', 'connected_by'])
        .where('app_id', '=', row.id)
        .orderBy('page_id')
        .execute();
      return {
        app: toIntegration(row),
        pages: pages.map((p) => ({ pageId: p.page_id, connectionId: p.connection_id, connectedBy: p.connected_by })),
      };
    },
    async connectPage(args, now) {
      const inserted = await db
        .insertInto('internal_integration_pages')
        .values({
          app_id: args.appId,
          page_id: args.pageId,
          connection_id: args.connectionId,
          connected_by: args.connectedBy,
          connected_at: now,
        })
        .onConflict((oc) => oc.columns(['app_id', 'page_id']).doNothing())
        .returning('page_id')
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async disconnectPage(appId, pageId) {
      const result = await db
        .deleteFrom('internal_integration_pages')
        .where('app_id', '=', appId)
        .where('page_id', '=', pageId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async disconnectAllPages(appId) {
      if (!isUuid(appId)) return [];
      const rows = await db.deleteFrom('internal_integration_pages').where('app_id', '=', appId).returning('page_id').execute();
      return rows.map((r) => r.page_id).sort();
    },
    async disconnectPagesOfConnection(connectionId) {
      if (!isUuid(connectionId)) return [];
      const rows = await db
        .deleteFrom('internal_integration_pages')
        .where('connection_id', '=', connectionId)
        .returning(['app_id', 'page_id'])
        .execute();
      return rows
        .map((r) => ({ appId: r.app_id, pageId: r.page_id }))
        .sort((a, b) => a.appId.localeCompare(b.appId) || a.pageId.localeCompare(b.pageId));
    },
    async listPages(appId) {
      if (!isUuid(appId)) return [];
      const rows = await db
        .selectFrom('internal_integration_pages as c')
        .innerJoin('people as p', 'p.id', 'c.connected_by')
        .leftJoin('page_index as i', (join) => join.onRef('i.connection_id', '=', 'c.connection_id').onRef('i.page_id', '=', 'c.page_id'))
        .select(['c.page_id', 'c.connection_id', 'c.connected_by', 'c.connected_at', 'p.email', 'i.title'])
        .where('c.app_id', '=', appId)
        .orderBy('i.title')
        .orderBy('c.page_id')
        .execute();
      return rows.map((r) => ({
        pageId: r.page_id,
        title: r.title,
        connectionId: r.connection_id,
        connectedBy: r.connected_by,
        connectedByEmail: r.email,
        connectedAt: r.connected_at,
      }));
    },
    async listForPage(workspaceId, pageId) {
      const rows = await db
        .selectFrom('internal_integration_pages as c')
        .innerJoin('partner_apps as a', 'a.id', 'c.app_id')
        .select([
          'a.id',
          'a.name',
          'a.workspace_id',
          'a.capabilities',
          'a.logo_content_type',
          'a.created_by',
          'a.created_at',
          'c.connected_by',
          'c.connected_at',
        ])
        .where('a.integration_kind', '=', 'internal')
        .where('a.workspace_id', '=', workspaceId)
        .where('c.page_id', '=', pageId)
        .orderBy('a.name')
        .execute();
      return rows.map((r) => ({ ...toIntegration(r), connectedBy: r.connected_by, connectedAt: r.connected_at }));
    },
    async convertToPublic(args, now) {
      return db.transaction().execute(async (trx) => {
        // PGlite runs on one connection: only `trx` inside.
        const app = await trx
          .selectFrom('partner_apps')
          .select(['id', 'workspace_id', 'capabilities'])
          .where('id', '=', args.appId)
          .where('integration_kind', '=', 'internal')
          .forUpdate()
          .executeTakeFirst();
        if (!app || app.workspace_id === null) return null;
        const pages = await trx
          .selectFrom('internal_integration_pages')
          .select(['page_id', 'connection_id', 'connected_by'])
          .where('app_id', '=', app.id)
          .orderBy('connected_at')
          .orderBy('page_id')
          .execute();
        const byPerson = new Map<string, { connectionId: string; pageIds: string[] }>();
        for (const p of pages) {
          const entry = byPerson.get(p.connected_by) ?? { connectionId: p.connection_id, pageIds: [] };
          entry.pageIds.push(p.page_id);
          byPerson.set(p.connected_by, entry);
        }
        await trx
          .updateTable('partner_apps')
          .set({
            integration_kind: 'public',
            client_type: 'confidential',
            client_id: args.clientId,
            client_secret_hash: args.clientSecretHash,
            redirect_uris: JSON.stringify(args.redirectUris),
            internal_token_ciphertext: null,
            internal_token_hash: null,
          })
          .where('id', '=', app.id)
          .execute();
        const grants: ConvertedGrant[] = [];
        for (const [personId, entry] of byPerson) {
          const id = randomUUID();
          await trx
            .insertInto('grants')
            .values({
              id,
              person_id: personId,
              app_id: app.id,
              workspace_id: app.workspace_id,
              upstream_connection_id: entry.connectionId,
              capabilities: JSON.stringify(app.capabilities),
              page_ids: JSON.stringify(entry.pageIds),
              status: 'active',
              revoked_at: null,
              revoked_by: null,
              revoke_reason: null,
              created_at: now,
              updated_at: now,
            })
            .execute();
          grants.push({ id, personId, upstreamConnectionId: entry.connectionId, pageIds: entry.pageIds });
        }
        await trx.deleteFrom('internal_integration_pages').where('app_id', '=', app.id).execute();
        return grants;
      });
    },
    async listTokenCiphertexts() {
      const rows = await internal()
        .select(['id', 'internal_token_ciphertext'])
        .where('internal_token_ciphertext', 'is not', null)
        .execute();
      return rows.map((r) => ({ id: r.id, ciphertext: r.internal_token_ciphertext! }));
    },
    async replaceTokenCiphertext(id, expected, next) {
      const result = await db
        .updateTable('partner_apps')
        .set({ internal_token_ciphertext: next })
        .where('id', '=', id)
        .where('internal_token_ciphertext', '=', expected)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
