import { randomUUID } from 'node:crypto';
import { CompiledQuery, type Kysely, type Selectable } from 'kysely';
import type { Capability } from '../oauth/capabilities.js';
import { prepared } from './database.js';
import { isUuid } from './people.js';
import type { Database, PartnerAppsTable } from './schema.js';

/** An integration: integration kind is Notion's word, client type is OAuth's. */
export interface PartnerApp {
  id: string;
  clientId: string | null;
  clientSecretHash: string | null;
  name: string;
  website: string | null;
  supportContact: string | null;
  hasLogo: boolean;
  redirectUris: string[];
  capabilities: Capability[];
  builtByOrganisation: boolean;
  integrationKind: 'public' | 'internal';
  clientType: 'confidential' | 'public';
  workspaceId: string | null;
  createdAt: Date;
  /** `agent`: an AI agent that registered itself (RFC 7591); `partner`: registered by an organisation admin. */
  clientKind: 'partner' | 'agent';
}

/** A partner app without its secret hash: what listings for people carry (the hash never leaves the database there). */
export type PartnerAppSummary = Omit<PartnerApp, 'clientSecretHash'>;

export interface NewPartnerApp {
  clientId: string;
  clientSecretHash: string | null;
  name: string;
  website: string | null;
  supportContact: string | null;
  logo: { contentType: string; bytes: Buffer } | null;
  redirectUris: string[];
  capabilities: Capability[];
  builtByOrganisation: boolean;
  clientType: 'confidential' | 'public';
  createdBy: string | null;
  clientKind?: 'partner' | 'agent';
}

export interface PartnerAppStore {
  create(app: NewPartnerApp, now: Date): Promise<PartnerApp>;
  findById(id: string): Promise<PartnerApp | null>;
  findByClientId(clientId: string): Promise<PartnerApp | null>;
  list(): Promise<PartnerApp[]>;
  /** Every app, newest first, without secret hashes (the admin page and API). */
  listForAdmin(): Promise<PartnerAppSummary[]>;
  setSecretHash(id: string, hash: string): Promise<boolean>;
  /** Where the app lives: its redirect URIs and website (the demo partner follows Gatehouse's public URL). */
  setAddresses(id: string, addresses: { redirectUris: string[]; website: string | null }): Promise<boolean>;
  logo(id: string): Promise<{ contentType: string; bytes: Buffer } | null>;
}

const COLUMNS = [
  'id',
  'client_id',
  'client_secret_hash',
  'name',
  'website',
  'support_contact',
  'logo_content_type',
  'redirect_uris',
  'capabilities',
  'built_by_organisation',
  'integration_kind',
  'client_type',
  'workspace_id',
  'created_at',
  'client_kind',
] as const;

function toApp(row: Pick<Selectable<PartnerAppsTable>, (typeof COLUMNS)[number]>): PartnerApp {
  return {
    id: row.id,
    clientId: row.client_id,
    clientSecretHash: row.client_secret_hash,
    name: row.name,
    website: row.website,
    supportContact: row.support_contact,
    hasLogo: row.logo_content_type !== null,
    redirectUris: row.redirect_uris,
    capabilities: row.capabilities as Capability[],
    builtByOrganisation: row.built_by_organisation,
    integrationKind: row.integration_kind,
    clientType: row.client_type,
    workspaceId: row.workspace_id,
    createdAt: row.created_at,
    clientKind: row.client_kind,
  };
}

/** For the token path's statements that read the client with what it presents (src/store/tokens.ts). */
export { COLUMNS as PARTNER_APP_COLUMNS, toApp as toPartnerApp };

export function partnerAppStore(db: Kysely<Database>): PartnerAppStore {
  // Every client-authenticated request reads its app: compiled once, prepared once per connection (./database.ts).
  const byClientId = prepared(
    'gh_app_by_client_id',
    db.selectFrom('partner_apps').select(COLUMNS).where('client_id', '=', '').compile().sql,
  );
  return {
    async create(app, now) {
      const row = await db
        .insertInto('partner_apps')
        .values({
          id: randomUUID(),
          client_id: app.clientId,
          client_secret_hash: app.clientSecretHash,
          name: app.name,
          website: app.website,
          support_contact: app.supportContact,
          logo_content_type: app.logo?.contentType ?? null,
          logo: app.logo?.bytes ?? null,
          redirect_uris: JSON.stringify(app.redirectUris),
          capabilities: JSON.stringify(app.capabilities),
          built_by_organisation: app.builtByOrganisation,
          integration_kind: 'public',
          client_type: app.clientType,
          workspace_id: null,
          internal_token_ciphertext: null,
          created_by: app.createdBy,
          created_at: now,
          client_kind: app.clientKind ?? 'partner',
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toApp(row);
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('partner_apps').select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? toApp(row) : null;
    },
    async findByClientId(clientId) {
      const {
        rows: [row],
      } = await db.executeQuery<Selectable<PartnerAppsTable>>(CompiledQuery.raw(byClientId, [clientId]));
      return row ? toApp(row) : null;
    },
    async list() {
      const rows = await db.selectFrom('partner_apps').select(COLUMNS).orderBy('name').execute();
      return rows.map(toApp);
    },
    async listForAdmin() {
      const rows = await db
        .selectFrom('partner_apps')
        .select(COLUMNS.filter((c) => c !== 'client_secret_hash'))
        .orderBy('created_at', 'desc')
        .orderBy('name')
        .execute();
      return rows.map((row) => {
        const { clientSecretHash: _omitted, ...summary } = toApp({ ...row, client_secret_hash: null });
        return summary;
      });
    },
    async setSecretHash(id, hash) {
      const result = await db
        .updateTable('partner_apps')
        .set({ client_secret_hash: hash })
        .where('id', '=', id)
        .where('client_type', '=', 'confidential')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setAddresses(id, addresses) {
      const result = await db
        .updateTable('partner_apps')
        .set({ redirect_uris: JSON.stringify(addresses.redirectUris), website: addresses.website })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async logo(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('partner_apps').select(['logo', 'logo_content_type']).where('id', '=', id).executeTakeFirst();
      return row?.logo && row.logo_content_type ? { contentType: row.logo_content_type, bytes: row.logo } : null;
    },
  };
}
