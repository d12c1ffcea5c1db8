/**
 * The failed-client-authentication limiter, on Redis (shared by instances)
 * and in process: every failure is counted, concurrent ones included, and
 * once a key is at its limit every attempt is refused with a wait; right
 * credentials are never counted, however many arrive at once; every Redis
 * counter expires.
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
  [
    'Redis, two instances',
    async () => {
      if (!redis.isOpen) await redis.connect();
      if (!second.isOpen) await second.connect();
      const keyPrefix = `${prefix}${(made += 1)}:`;
      return {
        limiter: redisFailureLimiter(redis, keyPrefix, settings),
        other: redisFailureLimiter(second, keyPrefix, settings),
        keyPrefix,
      };
    },
  ],
];

describe.each(limiters)('failure limiter (%s)', (_name, make) => {
  const keys = [
    { key: 'client:c1:10.0.0.1', limit: 10 },
    { key: 'address:10.0.0.1', limit: 50 },
  ];

  it('counts 40 concurrent failures over two instances, then refuses with a wait; every counter expires', async () => {
    const { limiter, other, keyPrefix } = await make();
    await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 && other ? other : limiter).recordFailure(keys)));
    const wait = await (other ?? limiter).blockedFor(keys);
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(300);
    if (keyPrefix) {
      expect(await redis.get(`${keyPrefix}authfail:${keys[0]!.key}`)).toBe('40');
      for (const k of keys) expect(await redis.ttl(`${keyPrefix}authfail:${k.key}`)).toBeGreaterThan(0);
    }
  });

  it('is not at its limit below it, and the address limit holds for every client from that address', async () => {
    const { limiter } = await make();
    for (let i = 0; i < 9; i++) await limiter.recordFailure(keys);
    expect(await limiter.blockedFor(keys)).toBeNull();
    await limiter.recordFailure(keys);
    expect(await limiter.blockedFor(keys)).not.toBeNull();
    // Another client from the same address: its own pair is clear, the address is not yet at 50.
    expect(await limiter.blockedFor([{ key: 'client:c2:10.0.0.1', limit: 10 }, keys[1]!])).toBeNull();
  });
});
