/**
 * A floor for `npm run bench`: what Gatehouse's round trips cost in Node with
 * nothing of Gatehouse around them. A bare Express server with the same
 * client libraries and settings (node-postgres, a pool of 10, named prepared
 * statements, a query timeout; node-redis without an offline queue):
 *
 *   POST /introspect   one Redis script beside Gatehouse's own introspection
 *                      statement (src/store/tokens.ts), as introspection runs
 *   POST /write        one Redis script beside one read, then one durable
 *                      INSERT: the round trips of a code redemption or a refresh
 *
 * The gap between this and Gatehouse is Gatehouse's own code; the gap between
 * this and the bare Express POST is the cost of the round trips themselves.
 *
 * Env: FLOOR_PORT, FLOOR_DATABASE_URL, FLOOR_REDIS_URL, FLOOR_REDIS_PREFIX. Prints "round-trip floor ready".
 */
import { createHash } from 'node:crypto';
import express from 'express';
import pg from 'pg';
import { createClient } from 'redis';
import { APP_WITH_ACCESS } from '../../src/store/tokens.js';

const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10, connectionTimeoutMillis: 3000, query_timeout: 9000 });
const redis = createClient({ url: process.env.FLOOR_REDIS_URL, disableOfflineQueue: true });
await redis.connect();
await pool.query(
  'create table if not exists bench_floor_writes (token_hash text primary key, created_at timestamptz not null default now())',
);
const counterKey = `{floor}${process.env.FLOOR_REDIS_PREFIX ?? 'bench:'}failures`;
const SCRIPT = `return tonumber(redis.call('GET', KEYS[1]) or '0')`;

const app = express();
app.use(express.urlencoded({ extended: false, limit: '16kb' }));
app.post('/introspect', async (req, res) => {
  const clientId = Buffer.from(String(req.headers.authorization).slice(6), 'base64').toString('utf8').split(':')[0];
  const hash = createHash('sha256').update(String(req.body.token)).digest('base64url');
  const [, result] = await Promise.all([
    redis.sendCommand(['EVAL', SCRIPT, '1', counterKey]),
    pool.query({ name: 'floor_introspect', text: APP_WITH_ACCESS, values: [clientId, hash] }),
  ]);
  res.setHeader('Cache-Control', 'no-store').json({ active: result.rows[0]?.token_hash != null });
});
app.post('/write', async (req, res) => {
  const hash = createHash('sha256').update(String(req.body.code)).digest('base64url');
  await Promise.all([
    redis.sendCommand(['EVAL', SCRIPT, '1', counterKey]),
    pool.query({ name: 'floor_read', text: 'select created_at from bench_floor_writes where token_hash = $1', values: [hash] }),
  ]);
  await pool.query({ name: 'floor_write', text: 'insert into bench_floor_writes (token_hash) values ($1)', values: [hash] });
  res.setHeader('Cache-Control', 'no-store').json({ access_token: hash });
});
app.listen(Number(process.env.FLOOR_PORT), '127.0.0.1', () => process.stdout.write('round-trip floor ready\n'));
