/**
 * One refresh per upstream credential across instances. Notion rotates
 * refresh tokens: a second refresh with the same token is refused
 * (invalid_grant) and, landing before the first one is stored, would lose the
 * credential. So only the holder of this lock refreshes; everyone else waits
 * for the connection's version to move and uses the stored result.
 *
 * - Redis (production): `SET key token NX PX ttl`, released by a
 *   compare-and-delete script, so a holder whose lease ran out never deletes
 *   its successor's lock. The fence on the data itself is the connection's
 *   version: the holder stores by compare-and-swap on the version it read
 *   under the lock, so a holder that outlived its lease cannot overwrite a
 *   newer credential. The lease (3× the upstream request timeout) outlives
 *   any refresh call, which times out first.
 * - PostgreSQL without Redis: a session advisory lock on one pooled
 *   connection (released by the server if the instance dies).
 * - Embedded (PGlite: one process): the in-process single-flight in
 *   credentials.ts is the lock; no lock object is needed.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import { luaScript, runScript, type RedisCommander } from './rate-budget.js';

export interface RefreshLease {
  release(): Promise<void>;
}

export interface RefreshLock {
  /** The lease, or null while someone else holds the lock. */
  tryAcquire(connectionId: string): Promise<RefreshLease | null>;
}

const RELEASE = luaScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);

export function redisRefreshLock(redis: RedisCommander, prefix: string, options: { ttlMs: number }): RefreshLock {
  return {
    async tryAcquire(connectionId) {
      const key = `${prefix}upstream:refresh:${connectionId}`;
      const token = randomUUID();
      const answer = await redis.sendCommand(['SET', key, token, 'NX', 'PX', String(options.ttlMs)]);
      if (answer !== 'OK') return null;
      return {
        async release() {
          await runScript(redis, RELEASE, [key], [token]);
        },
      };
    },
  };
}

/** PostgreSQL advisory lock, held on one pooled connection for the lease (not inside a transaction). */
export function postgresRefreshLock(db: Kysely<Database>): RefreshLock {
  return {
    tryAcquire(connectionId) {
      const key = `gatehouse:upstream-refresh:${connectionId}`;
      return new Promise<RefreshLease | null>((resolveLease, reject) => {
        let settled = false;
        db.connection()
          .execute(async (conn) => {
            const { rows } = await sql<{ got: boolean }>`select pg_try_advisory_lock(hashtextextended(${key}, 0)) as got`.execute(conn);
            if (!rows[0]?.got) {
              settled = true;
              resolveLease(null);
              return;
            }
            let release!: () => void;
            const released = new Promise<void>((resolve) => (release = resolve));
            let unlocked!: () => void;
            const done = new Promise<void>((resolve) => (unlocked = resolve));
            settled = true;
            resolveLease({
              async release() {
                release();
                await done;
              },
            });
            await released;
            try {
              await sql`select pg_advisory_unlock(hashtextextended(${key}, 0))`.execute(conn);
            } finally {
              unlocked();
            }
          })
          .catch((err: unknown) => {
            if (!settled) reject(err);
          });
      });
    },
  };
}
