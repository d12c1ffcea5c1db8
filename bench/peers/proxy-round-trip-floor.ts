/**
 * The proxy's floor for `npm run bench`: the bare forwarder (Express and
 * `@notionhq/client`) plus the round trips Gatehouse's guarantees need on a
 * page read, with nothing else of Gatehouse around them, and the same client
 * libraries and settings (node-postgres, a pool of 10, a named prepared
 * statement; node-redis without an offline queue):
 *
 *   1. the token's statement (src/store/tokens.ts: token, grant and
 *      connection in one row), read on every call so that a revocation is
 *      seen at the next one;
 *   2. the workspace's rate budget, one Redis script (src/upstream/rate-budget.ts);
 *   3. the upstream read beside one Redis MGET of the page's cached ancestor
 *      chain (the scope check's warm cache).
 *
 * The gap between the bare forwarder and this is what the round trips cost;
 * the gap between this and Gatehouse is Gatehouse's own code.
 *
 * Env: FLOOR_PORT, FLOOR_DATABASE_URL, FLOOR_REDIS_URL, FLOOR_REDIS_PREFIX,
 * FLOOR_NOTION_URL, BENCH_UPSTREAM_TOKEN. Prints "proxy round-trip floor ready".
 */
import { createHash } from 'node:crypto';
import { Client } from '@notionhq/client';
import express from 'express';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createClient } from 'redis';
import type { Database } from '../../src/store/schema.js';
import { accessInContextQuery } from '../../src/store/tokens.js';
import { redisRateBudget } from '../../src/upstream/rate-budget.js';
import { BUDGET_OUT_OF_THE_WAY } from '../support.js';

const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 10, connectionTimeoutMillis: 3000, query_timeout: 9000 });
// Kysely only compiles the statement's text, once, as the token store does.
const accessInContext = accessInContextQuery(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })).sql;
const redis = createClient({ url: process.env.FLOOR_REDIS_URL, disableOfflineQueue: true });
await redis.connect();
const prefix = `${process.env.FLOOR_REDIS_PREFIX ?? 'bench:'}floor:`;
const budget = redisRateBudget(redis, prefix, {
  ratePerSecond: BUDGET_OUT_OF_THE_WAY.upstreamRequestsPerSecond,
  burst: BUDGET_OUT_OF_THE_WAY.upstreamBurst,
  maxWaitMs: 10_000,
});
const notion = new Client({
  auth: process.env.BENCH_UPSTREAM_TOKEN,
  baseUrl: process.env.FLOOR_NOTION_URL,
  retry: false,
  notionVersion: '2025-09-03',
  logger: () => undefined,
});

const app = express();
app.get('/v1/pages/:id', async (req, res) => {
  try {
    const hash = createHash('sha256').update(String(req.headers.authorization).slice(7)).digest('base64url');
    const { rows } = await pool.query({ name: 'floor_access_in_context', text: accessInContext, values: [hash] });
    const row = rows[0] as { app_id?: string; c__id?: string; c__workspace_id?: string } | undefined;
    if (!row?.app_id || !row.c__id || !row.c__workspace_id) return res.status(401).json({});
    // The budget is spent per workspace and partner app, as the gateway spends it.
    await budget.take(row.c__workspace_id, row.app_id);
    const [page] = await Promise.all([
      notion.request({ path: `pages/${req.params.id}`, method: 'get' }),
      redis.mGet([`${prefix}proxy:ancestry:{${row.c__id}}:${req.params.id}`]),
    ]);
    res.json(page);
  } catch {
    res.status(502).json({});
  }
});
app.listen(Number(process.env.FLOOR_PORT), '127.0.0.1', () => process.stdout.write('proxy round-trip floor ready\n'));
