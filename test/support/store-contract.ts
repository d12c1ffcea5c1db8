/**
 * The store contract suites' shared bench: a migrated store on PGlite or on
 * this machine's PostgreSQL (a schema of its own, dropped afterwards), and
 * the fixtures several suites start from.
 */
import { afterAll, beforeAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { createStores, type Stores } from '../../src/store/stores.js';
import { dropSchema, POSTGRES_URL, uniqueName } from './databases.js';

export const T0 = new Date('2026-11-01T10:00:00Z');
export const later = (ms: number) => new Date(T0.getTime() + ms);

/** For `describe.each(STORE_KINDS)`: every store suite runs on both. */
export const STORE_KINDS = [['pglite'], ['postgres']] as const;
export type StoreKind = (typeof STORE_KINDS)[number][0];

export interface StoreBench {
  handle: DatabaseHandle;
  stores: Stores;
  /** The PostgreSQL schema (unused on PGlite). */
  schema: string;
}

/** Registers the enclosing describe's hooks: the store opens before its tests and closes (and is dropped) after them. */
export function storeBench(kind: StoreKind): StoreBench {
  const bench = { schema: uniqueName('contract') } as StoreBench;
  beforeAll(async () => {
    bench.handle =
      kind === 'pglite'
        ? await openDatabase({ kind: 'pglite', dataDir: null })
        : await openDatabase({ kind: 'postgres', url: POSTGRES_URL, schema: bench.schema });
    await migrateToLatest(bench.handle, kind === 'postgres' ? bench.schema : undefined);
    bench.stores = createStores(bench.handle.db);
  });
  afterAll(async () => {
    await bench.handle.close();
    if (kind === 'postgres') await dropSchema(bench.schema);
  });
  return bench;
}

/** A person, a workspace they connected first (so they own it) and their upstream connection to it. */
export async function owner(stores: Stores, subject: string, workspaceId: string) {
  const person = await stores.people.upsertFromSignIn(
    { issuer: 'https://idp', subject, email: `${subject}@example.com`, emailVerified: true, name: subject },
    T0,
  );
  await stores.workspaces.upsertWithConnector({ id: workspaceId, name: workspaceId, icon: null }, person.id, T0);
  const connection = await stores.connections.save(
    {
      personId: person.id,
      workspaceId,
      kind: 'oauth',
      botId: 'b',
      notionUserId: `n-${subject}`,
      notionUser: {},
      encrypt: (id) => `cipher-${id}`,
    },
    T0,
  );
  return { person, connection };
}

/** A confidential partner app asking for read content and no user information. */
export function partnerApp(stores: Stores, name: string) {
  return stores.partnerApps.create(
    {
      clientId: `client-${randomUUID()}`,
      clientSecretHash: 'hash',
      name,
      website: null,
      supportContact: null,
      logo: null,
      redirectUris: ['https://partner.example/cb'],
      capabilities: ['read_content', 'no_user_info'],
      builtByOrganisation: false,
      clientType: 'confidential',
      createdBy: null,
    },
    T0,
  );
}
