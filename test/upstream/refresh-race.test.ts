/**
 * Notion rotates refresh tokens, so two refreshes of one credential lose it.
 * Story: two Gatehouse instances share PostgreSQL (one schema) and a sandbox
 * Notion on its own port; 100 partner calls, split over both, all find the
 * upstream token expired at once → exactly one upstream refresh, every call
 * succeeds. Run with Redis (the lock is `SET NX PX` + compare-and-delete) and
 * with PostgreSQL alone (an advisory lock).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { redisRefreshLock } from '../../src/upstream/refresh-lock.js';
import { startSandbox, type RunningSandbox } from '../sandbox-notion/harness.js';
import { REDIS_URL, startTestGatehouse, uniqueName, type TestGatehouse } from '../support/harness.js';
import { connectAdaToAcme, sharedUpstreamEnv } from '../support/shared-upstream.js';

const OUT_OF_THE_WAY = { upstreamRequestsPerSecond: 100_000, upstreamBurst: 100_000 };

describe.each([
  { name: 'with Redis: a lock with a fencing token', redis: true },
  { name: 'on PostgreSQL alone: an advisory lock', redis: false },
])('100 concurrent calls over two instances meet an expired upstream token ($name)', ({ redis }) => {
  const clock = new ManualClock();
  let sandbox: RunningSandbox;
  let first: TestGatehouse;
  let second: TestGatehouse;
  let connectionId: string;
  let workspaceId: string;
  let botId: string;

  beforeAll(async () => {
    sandbox = await startSandbox({ clock: () => clock.now(), accessTokenLifetimeSeconds: 60, rateLimitPerSecond: Infinity });
    // Both instances: one schema, one Redis prefix, one encryption key, the one sandbox Notion as "real" Notion.
    const env = sharedUpstreamEnv(sandbox);
    first = await startTestGatehouse({ database: 'postgres', redis, env, clock, tunables: OUT_OF_THE_WAY });
    second = await startTestGatehouse({
      database: 'postgres',
      redis,
      env,
      clock,
      tunables: OUT_OF_THE_WAY,
      schema: first.schema!,
      ...(redis ? { redisPrefix: first.redisPrefix! } : {}),
    });

    // Ada connected Acme (as the OAuth callback stores it).
    const connected = await connectAdaToAcme(first.gatehouse, sandbox, clock);
    connectionId = connected.connection.id;
    workspaceId = connected.connection.workspaceId;
    botId = connected.botId;
  });

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await sandbox?.stop();
  });

  it('works before the token expires, without any refresh', async () => {
    const me = await first.gatehouse.gateway.call({ connectionId, workspaceId, partnerKey: 'partner-a' }, (client) => client.users.me({}));
    expect(me.id).toBe(botId);
    expect(sandbox.sandbox.stats().tokenCalls.refresh_token).toBe(0);
  });

  it('refreshes exactly once for 100 concurrent calls split over both instances, and every call succeeds', async () => {
    clock.advance(120_000); // the upstream access token (60 s) has expired for everybody
    const before = (await first.gatehouse.stores.connections.findById(connectionId))!;
    const calls = Array.from({ length: 100 }, (_, i) => {
      const instance = i % 2 === 0 ? first : second;
      return instance.gatehouse.gateway.call({ connectionId, workspaceId, partnerKey: `partner-${i % 3}` }, (client) =>
        client.users.me({}),
      );
    });
    const results = await Promise.allSettled(calls);

    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(results.every((r) => r.status === 'fulfilled' && r.value.id === botId)).toBe(true);
    expect(sandbox.sandbox.stats().tokenCalls.refresh_token).toBe(1);
    // Stored once, by compare-and-swap: one version step, still active, nothing marked broken.
    const after = (await second.gatehouse.stores.connections.findById(connectionId))!;
    expect(after).toMatchObject({ status: 'active', version: before.version + 1 });
    const oldCredential = decryptCredential(first.gatehouse.keyring, before.credentialCiphertext!, connectionId);
    const newCredential = decryptCredential(second.gatehouse.keyring, after.credentialCiphertext!, connectionId);
    expect(newCredential.refreshToken).not.toBe(oldCredential.refreshToken); // Notion rotated it; the new one is kept
    expect(await first.gatehouse.stores.audit.list({ action: 'upstream_connection.broken' })).toEqual([]);
  });

  it('the next expiry is refreshed once more with the rotated refresh token', async () => {
    clock.advance(120_000);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? second : first).gatehouse.gateway.call({ connectionId, workspaceId, partnerKey: 'partner-a' }, (client) =>
          client.users.me({}),
        ),
      ),
    );
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(sandbox.sandbox.stats().tokenCalls.refresh_token).toBe(2);
    expect((await first.gatehouse.stores.connections.findById(connectionId))!.status).toBe('active');
  });
});

describe('the Redis refresh lock', () => {
  const prefix = `${uniqueName('test')}:`;
  const redis = createClient({ url: REDIS_URL });

  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.del(`${prefix}upstream:refresh:c1`);
    await redis.quit();
  });

  it("has one holder at a time; a holder whose lease ran out cannot release its successor's lock", async () => {
    const lock = redisRefreshLock(redis, prefix, { ttlMs: 200 });
    const lease = await lock.tryAcquire('c1');
    expect(lease).not.toBeNull();
    expect(await lock.tryAcquire('c1')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 300)); // the lease runs out (PX)
    const successor = await lock.tryAcquire('c1');
    expect(successor).not.toBeNull();
    await lease!.release(); // compare-and-delete: the token is no longer ours, nothing is deleted
    expect(await lock.tryAcquire('c1')).toBeNull();
    await successor!.release();
    const again = await lock.tryAcquire('c1');
    expect(again).not.toBeNull();
    await again!.release();
  });
});
