import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { sql } from 'kysely';
import { isUnavailableError } from '../../src/http/errors.js';
import { openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { POSTGRES_URL } from '../support/databases.js';

/** What PostgreSQL going away looks like to the stores: each must read as an outage (503), never as a 500. */
describe('PostgreSQL going away mid-transaction', () => {
  let handle: DatabaseHandle;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  beforeAll(async () => {
    handle = await openDatabase({ kind: 'postgres', url: POSTGRES_URL, onError: () => undefined });
    await admin.connect();
  });
  afterAll(async () => {
    await handle.close();
    await admin.end();
  });

  it('is an outage, also when the rollback on the dead connection fails in place of the statement', async () => {
    const failure = await handle.db
      .transaction()
      .execute(async (trx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx);
        // As a restart does: the server ends this backend (57P01) while the transaction is open.
        await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
        await sql`select 1`.execute(trx);
      })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(failure).not.toBeNull();
    expect({ message: (failure as Error).message, outage: isUnavailableError(failure) }).toEqual({
      message: expect.any(String),
      outage: true,
    });
  });

  it('is an outage when a client is queried after its connection broke', () => {
    for (const message of [
      'Client has encountered a connection error and is not queryable',
      'Client was closed and is not queryable',
      'timeout expired',
      'Query read timeout',
    ])
      expect({ message, outage: isUnavailableError(new Error(message)) }).toEqual({ message, outage: true });
  });

  it('is not an outage for a statement PostgreSQL refused', () => {
    expect(isUnavailableError(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
  });
});
