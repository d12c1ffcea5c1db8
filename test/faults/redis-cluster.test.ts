/**
 * Every Redis part of Gatehouse on a real three-master Redis Cluster, through
 * the cluster client that GATEHOUSE_REDIS_CLUSTER=1 selects: sessions, the
 * upstream budget (a Lua script over three keys), the refresh lock, the
 * ancestry cache (one MGET over many keys), the failure limiter, and one
 * Gatehouse instance serving a partner's proxied call on the cluster.
 * Keys used together share a hash tag; the cluster answers CROSSSLOT to any
 * that do not, so each part passing here is the proof.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type session from 'express-session';
import { pino } from 'pino';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { HashedSessionIdStore } from '../../src/identity/hashed-session-store.js';
import { redisFailureLimiter } from '../../src/oauth/failure-limiter.js';
import { redisAncestryCache } from '../../src/proxy/scope.js';
import { connectRedis, type RedisHandle } from '../../src/runtime/redis.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { redisRateBudget } from '../../src/upstream/rate-budget.js';
import { redisRefreshLock } from '../../src/upstream/refresh-lock.js';
import { connectPartner } from '../proxy/partner-session.js';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, uniqueName, type TestGatehouse } from '../support/harness.js';
import { startRedisCluster, type OwnRedisCluster } from './redis-cluster.js';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const prefix = `${uniqueName('cluster')}:`;
/** Enough distinct ids that their keys land on every master. */
const ids = Array.from({ length: 24 }, (_, i) => `id-${i}`);

let cluster: OwnRedisCluster;
let redis: RedisHandle;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  redis = await connectRedis({ url: cluster.url, cluster: true }, logger);
}, 60_000);

afterAll(async () => {
  await redis?.close();
  await cluster?.destroy();
});

function promised<T>(call: (done: (err: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => call((err, value) => (err ? reject(err) : resolve(value))));
}

describe('Redis parts on a three-master cluster', () => {
  it('the cluster is what the test says: three masters, and untagged keys cannot meet in one script', async () => {
    for (const node of cluster.nodes) {
      const info = await fetchInfo(node.port);
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_size:3');
    }
    // Without a shared tag, keys on different slots cannot meet in one script (node-redis splits a plain MGET itself).
    const untagged = ids.map((id) => `${prefix}untagged:${id}`);
    const script = ['EVAL', "return redis.call('MGET', unpack(KEYS))", String(untagged.length), ...untagged];
    await expect(redis.commander.sendCommand(script)).rejects.toThrow(/CROSSSLOT|slot/i);
  });

  it('sessions: stored under hashed ids on whichever node owns them, read back, touched and destroyed', async () => {
    const store = new HashedSessionIdStore(redis.sessionStore(`${prefix}sess:`, 600));
    const data = (n: number) => ({ cookie: { originalMaxAge: 600_000, expires: new Date(Date.now() + 600_000) }, n }) as never;
    for (const [i, sid] of ids.entries()) await promised<void>((done) => store.set(sid, data(i), done));
    for (const [i, sid] of ids.entries()) {
      const got = await promised<session.SessionData | null>((done) => store.get(sid, done));
      expect((got as unknown as { n: number }).n).toBe(i);
    }
    await promised<void>((done) => store.touch(ids[0]!, data(0), done));
    await promised<void>((done) => store.destroy(ids[0]!, done));
    expect(await promised((done) => store.get(ids[0]!, done))).toBeFalsy();
  });

  it('budget: the fair-share script runs per workspace on the node of its tag; usage and blocks read back', async () => {
    const budget = redisRateBudget(redis.commander, prefix, { ratePerSecond: 3, burst: 3, maxWaitMs: 0 });
    for (const workspace of ids.slice(0, 6)) {
      const verdicts = await Promise.all(Array.from({ length: 5 }, () => budget.take(workspace, 'partner-a')));
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(3);
      expect(verdicts.filter((v) => !v.allowed)).toHaveLength(2);
      const usage = await budget.usageLastHour!(workspace);
      expect(usage.find((u) => u.partnerKey === 'partner-a')).toMatchObject({ partnerKey: 'partner-a' });
    }
    await budget.block(ids[0]!, 30);
    expect(await budget.blockedForMs(ids[0]!)).toBeGreaterThan(25_000);
    expect(await budget.blockedForMs(ids[1]!)).toBe(0);
  });

  it('refresh lock: one holder per connection, released by compare-and-delete', async () => {
    const lock = redisRefreshLock(redis.commander, prefix, { ttlMs: 10_000 });
    const leases = await Promise.all(ids.map((id) => lock.tryAcquire(id)));
    expect(leases.every((lease) => lease !== null)).toBe(true);
    expect(await Promise.all(ids.map((id) => lock.tryAcquire(id)))).toEqual(ids.map(() => null));
    await Promise.all(leases.map((lease) => lease!.release()));
    const again = await lock.tryAcquire(ids[0]!);
    expect(again).not.toBeNull();
    await again!.release();
  });

  it('ancestry cache: one MGET over many pages of a connection (one tag per connection)', async () => {
    const clock = new ManualClock();
    const cache = redisAncestryCache(redis.cache, prefix, clock);
    await cache.set(
      'connection-1',
      ids.map((id) => ({ id, chain: [id, 'root'] })),
    );
    const found = await cache.get('connection-1', ids);
    expect([...found.keys()].sort()).toEqual([...ids].sort());
    expect(found.get(ids[3]!)?.chain).toEqual([ids[3], 'root']);
    expect((await cache.get('connection-2', ids)).size).toBe(0);
  });

  it('failure limiter: a client and its address counted on their own nodes, refused at the limit', async () => {
    const limiter = redisFailureLimiter(redis.commander, prefix, { windowSeconds: 60 });
    const keys = [
      { key: 'client:abc:192.0.2.1', limit: 3 },
      { key: 'address:192.0.2.1', limit: 15 },
    ];
    expect(await limiter.blockedFor(keys)).toBeNull();
    for (let i = 0; i < 3; i++) await limiter.recordFailure(keys);
    expect(await limiter.blockedFor(keys)).toBeGreaterThan(0);
    // Another client from the same address is not locked out by the first one's failures.
    expect(await limiter.blockedFor([{ key: 'client:other:192.0.2.1', limit: 3 }, keys[1]!])).toBeNull();
  });
});

describe('the setting', () => {
  const configError = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (err) {
      if (err instanceof ConfigError) return err.key;
      throw err;
    }
    return null;
  };

  it('GATEHOUSE_REDIS_CLUSTER=1 takes several seeds in REDIS_URL; one server takes one URL; bad values name the setting', () => {
    const seeds = 'redis://10.0.0.1:6379,redis://10.0.0.2:6379';
    expect(loadConfig({ REDIS_URL: seeds, GATEHOUSE_REDIS_CLUSTER: '1' })).toMatchObject({ redisUrl: seeds, redisCluster: true });
    expect(loadConfig({ REDIS_URL: 'redis://cache:6379' }).redisCluster).toBe(false);
    expect(configError({ REDIS_URL: seeds })).toBe('REDIS_URL');
    expect(configError({ REDIS_URL: 'redis://a:1,nonsense', GATEHOUSE_REDIS_CLUSTER: '1' })).toBe('REDIS_URL');
    expect(configError({ GATEHOUSE_REDIS_CLUSTER: '1' })).toBe('REDIS_URL');
    expect(configError({ REDIS_URL: 'redis://cache:6379', GATEHOUSE_REDIS_CLUSTER: 'yes' })).toBe('GATEHOUSE_REDIS_CLUSTER');
  });
});

describe('a Gatehouse instance on the cluster (GATEHOUSE_REDIS_CLUSTER=1)', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;

  beforeAll(async () => {
    t = await startTestGatehouse({
      database: 'postgres',
      redis: true,
      clock,
      env: { REDIS_URL: cluster.url, GATEHOUSE_REDIS_CLUSTER: '1' },
      sandboxNotion: { rateLimitPerSecond: Infinity },
    });
  }, 60_000);
  afterAll(async () => t?.stop());

  it('signs Ada in with a session held on the cluster, which the next page finds', async () => {
    const browser = new Browser();
    const landed = await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    expect(landed.response.status).toBe(200);
    const again = await browser.request(`${t.url}/workspaces`);
    expect(again.status).toBe(200);
    expect(await again.text()).toContain('<title>Your workspaces · Gatehouse</title>');
    expect((await new Browser().request(`${t.url}/workspaces`)).status).not.toBe(200);
    const sessions = (await Promise.all(cluster.nodes.map((node) => scanKeys(node.port, `${t.redisPrefix}sess:*`)))).flat();
    expect(sessions.length).toBeGreaterThan(0);
  });

  it('is ready, signs a partner in with its token, and serves proxied reads on the cluster', async () => {
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    const partner = await connectPartner(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    const page = await partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture });
    expect(page.id.replace(/-/g, '')).toBe(SEED_PAGE_IDS.architecture.replace(/-/g, ''));
    // Read twice: the second lookup meets the ancestry cache the first one filled on the cluster.
    await expect(partner.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.architecture })).resolves.toBeDefined();
    // The budget's own keys, and the ancestry entries, are on the cluster under the instance's prefix.
    const keys = (await Promise.all(cluster.nodes.map((node) => scanKeys(node.port, `${t.redisPrefix}*`)))).flat();
    expect(keys.some((k) => k.includes('upstream:budget:{ws:'))).toBe(true);
    expect(keys.some((k) => k.includes('proxy:ancestry:{'))).toBe(true);
  });
});

async function fetchInfo(port: number): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('redis-cli', ['-p', String(port), 'cluster', 'info'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
}

async function scanKeys(port: number, pattern: string): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) =>
    execFile('redis-cli', ['-p', String(port), '--scan', '--pattern', pattern], (err, stdout) =>
      err ? reject(err) : resolve(stdout.split('\n').filter(Boolean)),
    ),
  );
}
