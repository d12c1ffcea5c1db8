/**
 * The failed-client-authentication limiter reserves each attempt before the
 * credentials are checked, atomically: a burst of concurrent guesses gets at
 * most the limit through, on Redis (shared by instances) and in process.
 * Right credentials give their reservation back; every Redis counter expires.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock.js';
import { memoryFailureLimiter, redisFailureLimiter, type FailureLimiter } from '../../src/oauth/failure-limiter.js';
import { deleteRedisPrefix, REDIS_URL, uniqueName } from '../support/databases.js';

const redis = createClient({ url: REDIS_URL });
/** A second connection, as a second instance has. */
const second = createClient({ url: REDIS_URL });
const prefix = `${uniqueName('limiter')}:`;
let made = 0;

afterAll(async () => {
  if (redis.isOpen) {
    await deleteRedisPrefix(prefix);
    await redis.quit();
  }
  if (second.isOpen) await second.quit();
});

const settings = { windowSeconds: 300 };
const limiters: Array<[string, () => Promise<{ limiter: FailureLimiter; other?: FailureLimiter; keyPrefix?: string }>]> = [
  ['in process', async () => ({ limiter: memoryFailureLimiter(new ManualClock(), settings) })],
  ['Redis, two instances', async () => {
    if (!redis.isOpen) await redis.connect();
    if (!second.isOpen) await second.connect();
    const keyPrefix = `${prefix}${(made += 1)}:`;
    return { limiter: redisFailureLimiter(redis, keyPrefix, settings), other: redisFailureLimiter(second, keyPrefix, settings), keyPrefix };
  }],
];

describe.each(limiters)('failure limiter (%s)', (_name, make) => {
  const keys = [{ key: 'client:c1:10.0.0.1', limit: 10 }, { key: 'address:10.0.0.1', limit: 50 }];

  it('lets at most the limit of 40 concurrent attempts through, and tells the others how long to wait', async () => {
    const { limiter, other, keyPrefix } = await make();
    const verdicts = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 && other ? other : limiter).attempt(keys)));
    expect(verdicts.filter((v) => v === null)).toHaveLength(10);
    for (const wait of verdicts.filter((v) => v !== null)) expect(wait).toBeGreaterThan(0);
    if (keyPrefix) {
      for (const k of keys) expect(await redis.ttl(`${keyPrefix}authfail:${k.key}`)).toBeGreaterThan(0);
    }
  });

  it('right credentials give their reservation back: only failures count', async () => {
    const { limiter } = await make();
    for (let i = 0; i < 25; i++) {
      expect(await limiter.attempt(keys)).toBeNull();
      await limiter.release(keys);
    }
    for (let i = 0; i < 10; i++) expect(await limiter.attempt(keys)).toBeNull();
    expect(await limiter.attempt(keys)).not.toBeNull();
  });
});
