/**
 * Failed client authentication is rate-limited per (client, address) and per
 * address, so one attacker who knows a public client id cannot lock the
 * partner out from the partner's own address. Counted in Redis when it is
 * configured (shared by every instance), else in this process (the embedded
 * default is one process).
 *
 * Only failures count: a partner's concurrent right requests are never
 * limited. A key at its limit is refused before any credential is checked.
 * Counting a failure and starting its window are one atomic step (a Lua
 * script in Redis, one key per call so it runs on a Redis Cluster), so every
 * counter expires. Guesses already in flight when
 * the limit is reached are still checked: the overshoot is bounded by the
 * attacker's concurrency, against secrets of 256 bits.
 */
import type { Clock } from '../clock.js';
import { luaScript, runScript, type RedisCommander } from '../upstream/rate-budget.js';

/** A counter and its limit: (client, address) pairs get the configured limit, a whole address several times it. */
export interface LimitKey {
  key: string;
  limit: number;
}

export interface FailureLimiter {
  /** Seconds to wait when any of the keys is at its limit, else null. */
  blockedFor(keys: LimitKey[]): Promise<number | null>;
  recordFailure(keys: LimitKey[]): Promise<void>;
}

export interface LimiterSettings {
  windowSeconds: number;
}

/**
 * KEYS: the counters. ARGV: 'blocked', window seconds, then one limit per key
 * (answers the seconds to wait, 0 when none); or 'failed', window seconds
 * (counts one failure on every key; a counter's window starts at its first
 * failure, and a counter found without an expiry gets one).
 */
const LIMITER_SCRIPT = luaScript(`
local window = tonumber(ARGV[2])
if ARGV[1] == 'failed' then
  for _, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end
  end
  return 0
end
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 2]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then redis.call('EXPIRE', key, window); ttl = window end
    return math.max(1, ttl)
  end
end
return 0
`);

export function redisFailureLimiter(redis: RedisCommander, prefix: string, settings: LimiterSettings): FailureLimiter {
  const key = (k: string) => `${prefix}authfail:${k}`;
  const window = String(settings.windowSeconds);
  // One script call per counter: the counters of one request (client and address) live on different
  // Redis Cluster nodes. Sent together, they share one round trip on a single server.
  return {
    async blockedFor(keys) {
      const waits = await Promise.all(
        keys.map(async (k) => Number(await runScript(redis, LIMITER_SCRIPT, [key(k.key)], ['blocked', window, String(k.limit)]))),
      );
      const wait = waits.find((w) => w > 0);
      return wait ?? null;
    },
    async recordFailure(keys) {
      await Promise.all(keys.map((k) => runScript(redis, LIMITER_SCRIPT, [key(k.key)], ['failed', window])));
    },
  };
}

/** At most this many counters in process; the oldest windows go first under a flood of distinct keys. */
const MAX_COUNTERS = 100_000;

export function memoryFailureLimiter(clock: Clock, settings: LimiterSettings): FailureLimiter {
  const counters = new Map<string, { count: number; resetAt: number }>();
  const live = (k: string, now: number) => {
    const entry = counters.get(k);
    if (entry && entry.resetAt <= now) {
      counters.delete(k);
      return undefined;
    }
    return entry;
  };
  return {
    async blockedFor(keys) {
      const now = clock.now().getTime();
      for (const { key: k, limit } of keys) {
        const entry = live(k, now);
        if (entry && entry.count >= limit) return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
      }
      return null;
    },
    async recordFailure(keys) {
      const now = clock.now().getTime();
      for (const { key: k } of keys) {
        const entry = live(k, now) ?? { count: 0, resetAt: now + settings.windowSeconds * 1000 };
        entry.count++;
        counters.set(k, entry);
      }
      while (counters.size > MAX_COUNTERS) counters.delete(counters.keys().next().value as string);
    },
  };
}
