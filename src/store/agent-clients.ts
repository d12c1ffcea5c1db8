/**
 * Partner apps of kind `agent` as a group: those that came from a Client ID
 * Metadata Document (their client id is the document's URL) are kept in step
 * with the document, and self-registered ones that never got a grant are
 * swept away.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Capability } from '../oauth/capabilities.js';
import type { Database } from './schema.js';

export interface AgentDocumentClient {
  clientId: string;
  name: string;
  website: string | null;
  redirectUris: string[];
  capabilities: Capability[];
}

export interface AgentClientStore {
  /** Creates the agent's app, or brings its name, addresses and capabilities in line with the document. */
  upsertFromDocument(client: AgentDocumentClient, now: Date): Promise<{ id: string; created: boolean }>;
  /** Deletes agents created before `cutoff` that never got a grant; returns what was deleted. */
  deleteUnused(cutoff: Date): Promise<Array<{ id: string; name: string; clientId: string | null }>>;
}

export function agentClientStore(db: Kysely<Database>): AgentClientStore {
  return {
    async upsertFromDocument(client, now) {
      const values = {
        name: client.name,
        website: client.website,
        redirect_uris: JSON.stringify(client.redirectUris),
        capabilities: JSON.stringify(client.capabilities),
      };
      // Two instances may see the same document first at once: the unique client id decides, the other updates.
      const row = await db
        .insertInto('partner_apps')
        .values({
          id: randomUUID(),
          client_id: client.clientId,
          client_secret_hash: null,
          support_contact: null,
          logo_content_type: null,
          logo: null,
          built_by_organisation: false,
          integration_kind: 'public',
          client_type: 'public',
          workspace_id: null,
          internal_token_ciphertext: null,
          created_by: null,
          created_at: now,
          client_kind: 'agent',
          ...values,
        })
        .onConflict((oc) => oc.column('client_id').doUpdateSet(values).where('partner_apps.client_kind', '=', 'agent'))
        .returning(['id', sql<boolean>`(xmax = 0)`.as('inserted')])
        .executeTakeFirst();
      if (!row) throw new Error('client id taken by a partner app that is not an agent');
      return { id: row.id, created: row.inserted };
    },
    async deleteUnused(cutoff) {
      return db
        .deleteFrom('partner_apps')
        .where('client_kind', '=', 'agent')
        .where('created_at', '<', cutoff)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('grants').select('grants.id').whereRef('grants.app_id', '=', 'partner_apps.id'))),
        )
        .returning(['id', 'name', 'client_id as clientId'])
        .execute();
    },
  };
}
