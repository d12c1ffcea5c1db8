import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface Person {
  id: string;
  issuer: string;
  subject: string;
  email: string;
  emailVerified: boolean;
  name: string;
}

export interface PeopleStore {
  /** Insert or refresh the person keyed by (issuer, subject); email and name follow the provider. */
  upsertFromSignIn(claims: Omit<Person, 'id'>, now: Date): Promise<Person>;
  findById(id: string): Promise<Person | null>;
  findByEmail(email: string): Promise<Person[]>;
}

function toPerson(row: { id: string; issuer: string; subject: string; email: string; email_verified: boolean; name: string }): Person {
  return { id: row.id, issuer: row.issuer, subject: row.subject, email: row.email, emailVerified: row.email_verified, name: row.name };
}

export function peopleStore(db: Kysely<Database>): PeopleStore {
  return {
    async upsertFromSignIn(claims, now) {
      const row = await db
        .insertInto('people')
        .values({
          id: randomUUID(),
          issuer: claims.issuer,
          subject: claims.subject,
          email: claims.email.toLowerCase(),
          email_verified: claims.emailVerified,
          name: claims.name,
          created_at: now,
          last_sign_in_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['issuer', 'subject']).doUpdateSet({
            email: claims.email.toLowerCase(),
            email_verified: claims.emailVerified,
            name: claims.name,
            last_sign_in_at: now,
          }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      return toPerson(row);
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('people').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toPerson(row) : null;
    },
    async findByEmail(email) {
      const rows = await db.selectFrom('people').selectAll().where('email', '=', email.toLowerCase()).execute();
      return rows.map(toPerson);
    },
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids from URLs are checked before they reach a uuid column: a malformed one is "not found", not a 500. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
