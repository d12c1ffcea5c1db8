/**
 * The token path's statements on PGlite and PostgreSQL: the same text runs
 * on both; on PostgreSQL each runs as a named prepared statement, parsed once
 * per connection, and one whose result columns changed under it (a column
 * added by a migration, `select t.*`) is prepared again instead of failing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { createStores, type Stores } from '../../src/store/stores.js';
import { dropSchema, POSTGRES_URL, uniqueName } from '../support/databases.js';

const T0 = new Date('2026-11-01T10:00:00Z');

describe.each([['pglite'], ['postgres']] as const)('prepared token statements on %s', (kind) => {
  let handle: DatabaseHandle;
  let stores: Stores;
  const schema = uniqueName('prepared');

  beforeAll(async () => {
    handle =
      kind === 'pglite'
        ? await openDatabase({ kind: 'pglite', dataDir: null })
        : // One connection, so what it prepared is what the next query sees.
          await openDatabase({ kind: 'postgres', url: POSTGRES_URL, schema, poolSize: 1 });
    await migrateToLatest(handle, kind === 'postgres' ? schema : undefined);
    stores = createStores(handle.db);
  });

  afterAll(async () => {
    await handle.close();
    if (kind === 'postgres') await dropSchema(schema);
  });

  const newApp = async () => {
    const clientId = `client-${randomUUID()}`;
    const app = await stores.partnerApps.create(
      {
        clientId,
        clientSecretHash: 'hash',
        name: 'Prepared',
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
    return { ...app, clientId };
  };

  const preparedNames = async () =>
    (await sql<{ name: string }>`select name from pg_prepared_statements`.execute(handle.db)).rows.map((r) => r.name);

  it('reads a client and its token with the same answers every time; PostgreSQL keeps the statements prepared', async () => {
    const app = await newApp();
    for (let i = 0; i < 3; i++) {
      expect((await stores.partnerApps.findByClientId(app.clientId))?.id).toBe(app.id);
      const both = await stores.tokens.findAppWithAccessToken(app.clientId, 'no-such-token');
      expect(both.app?.id).toBe(app.id);
      expect(both.found).toBeNull();
      expect(await stores.tokens.findAccessTokenWithGrant('no-such-token')).toBeNull();
      expect(await stores.tokens.findCodeContext('no-such-code')).toBeNull();
      expect(await stores.tokens.findRefreshContext('no-such-token')).toBeNull();
    }
    if (kind === 'postgres')
      expect(await preparedNames()).toEqual(
        expect.arrayContaining([
          'gh_app_by_client_id_0',
          'gh_app_with_access_0',
          'gh_access_in_context_0',
          'gh_code_context_0',
          'gh_refresh_context_0',
        ]),
      );
  });

  it('a column added under a prepared `select t.*` is read on the next call, not an error', async () => {
    const app = await newApp();
    await stores.tokens.findAppWithAccessToken(app.clientId, 'no-such-token');
    await sql.raw('alter table access_tokens add column added_later integer').execute(handle.db);
    const both = await stores.tokens.findAppWithAccessToken(app.clientId, 'no-such-token');
    expect(both.app?.id).toBe(app.id);
    expect((await stores.tokens.findAppWithAccessToken(app.clientId, 'no-such-token')).app?.id).toBe(app.id);
  });
});
