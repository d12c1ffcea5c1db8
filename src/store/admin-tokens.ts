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
  /** A person's own tokens (never hashes), newest first, revoked ones included. */
  listForPerson(personId: string): Promise<PersonalAdminToken[]>;
  /** Revokes one of the person's own tokens; false when it is not theirs or already revoked. */
  revokeForPerson(personId: string, tokenId: string, now: Date): Promise<boolean>;
}

export interface PersonalAdminToken {
  id: string;
  label: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export function adminTokenStore(db: Kysely<Database>): AdminTokenStore {
  const create: AdminTokenStore['create'] = async (args, now) => {
    const token = generateToken('gh_admin');
    const id = randomUUID();
    await db
      .insertInto('admin_tokens')
      .values({
        id,
        token_hash: hashToken(token),
        person_id: args.personId,
        label: args.label,
        bootstrap: args.bootstrap,
        created_at: now,
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    return { token, id };
  };
  return {
    create,
    async replaceBootstrap(label, now) {
      await db
        .updateTable('admin_tokens')
        .set({ revoked_at: now })
        .where('bootstrap', '=', true)
        .where('label', '=', label)
        .where('revoked_at', 'is', null)
        .execute();
      return (await create({ personId: null, label, bootstrap: true }, now)).token;
    },
    async listForPerson(personId) {
      const rows = await db
        .selectFrom('admin_tokens')
        .select(['id', 'label', 'created_at', 'last_used_at', 'revoked_at'])
        .where('person_id', '=', personId)
        .where('bootstrap', '=', false)
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map((r) => ({ id: r.id, label: r.label, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
    },
    async revokeForPerson(personId, tokenId, now) {
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tokenId)) return false;
      const result = await db
        .updateTable('admin_tokens')
        .set({ revoked_at: now })
        .where('id', '=', tokenId)
        .where('person_id', '=', personId)
        .where('bootstrap', '=', false)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async authenticate(token, now) {
      const row = await db
        .updateTable('admin_tokens')
        .set({ last_used_at: now })
        .where('token_hash', '=', hashToken(token))
        .where('revoked_at', 'is', null)
        .returning(['id', 'person_id', 'bootstrap'])
        .executeTakeFirst();
      return row ? { tokenId: row.id, personId: row.person_id, bootstrap: row.bootstrap } : null;
    },
  };
}
