import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { generateToken, hashToken } from '../crypto/tokens.js';
import type { Database } from './schema.js';

export interface AdminTokenHolder {
  tokenId: string;
  personId: string | null; // null: the bootstrap organisation admin token
  bootstrap: boolean;
}

export interface AdminTokenStore {
  /** Creates a token and returns it once; only its hash is stored. */
  create(args: { personId: string | null; label: string; bootstrap: boolean }, now: Date): Promise<{ token: string; id: string }>;
  /** The bootstrap token of one instance (label) is replaced at each start: the old one stops working. */
  replaceBootstrap(label: string, now: Date): Promise<string>;
  authenticate(token: string, now: Date): Promise<AdminTokenHolder | null>;
}

export function adminTokenStore(db: Kysely<Database>): AdminTokenStore {
  const create: AdminTokenStore['create'] = async (args, now) => {
    const token = generateToken('gh_admin');
    const id = randomUUID();
    await db.insertInto('admin_tokens').values({
      id, token_hash: hashToken(token), person_id: args.personId, label: args.label, bootstrap: args.bootstrap,
      created_at: now, last_used_at: null, revoked_at: null,
    }).execute();
    return { token, id };
  };
  return {
    create,
    async replaceBootstrap(label, now) {
      await db.updateTable('admin_tokens').set({ revoked_at: now }).where('bootstrap', '=', true).where('label', '=', label).where('revoked_at', 'is', null).execute();
      return (await create({ personId: null, label, bootstrap: true }, now)).token;
    },
    async authenticate(token, now) {
      const row = await db.updateTable('admin_tokens').set({ last_used_at: now })
        .where('token_hash', '=', hashToken(token)).where('revoked_at', 'is', null)
        .returning(['id', 'person_id', 'bootstrap'])
        .executeTakeFirst();
      return row ? { tokenId: row.id, personId: row.person_id, bootstrap: row.bootstrap } : null;
    },
  };
}
