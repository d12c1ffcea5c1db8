/**
 * Failed client authentication is rate-limited per (client, address) and per
 * address, so one attacker who knows a public client id cannot lock the
 * partner out from the partner's own address. Counted in Redis when it is
 * configured (shared by every instance), else in this process (the embedded
 * default is one process).
 *
 * Each attempt reserves one count on every key before the credentials are
 * checked, in one atomic step (a Lua script in Redis), and gives it back when
 * they were right (or could not be checked): so a burst of concurrent guesses is bounded by the limit,
 * not by how many requests arrive before the first failure is counted.
 */
import type { Clock } from '../clock.js';
import { luaScript, runScript, type RedisCommander } from '../upstream/rate-budget.js';

/** A counter and its limit: (client, address) pairs get the configured limit, a whole address several times it. */
export interface LimitKey {
  key: string;
  limit: number;
}

export interface FailureLimiter {
  /** Reserves one attempt on every key at once; seconds to wait (nothing reserved) when any key is at its limit, else null. */
  attempt(keys: LimitKey[]): Promise<number | null>;
  /** The attempt did not fail (it authenticated, or could not be checked): its reservation is given back. */
  release(keys: LimitKey[]): Promise<void>;
}

export interface LimiterSettings {
  windowSeconds: number;
}

/**
 * KEYS: the counters. ARGV: 'attempt', window seconds, then one limit per key;
 * or 'release'. A counter's window starts at its first count, and every
 * counter has an expiry (set in the same step as its first count).
 */
const LIMITER_SCRIPT = luaScript(`
if ARGV[1] == 'release' then
  for _, key in ipairs(KEYS) do
    if redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
  end
  return 0
end
local window = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', key) or '0')
  if count >= tonumber(ARGV[i + 2]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then redis.call('EXPIRE', key, window); ttl = window end
    return math.max(1, ttl)
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 or redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, window) end
end
return 0
`);

export function redisFailureLimiter(redis: RedisCommander, prefix: string, settings: LimiterSettings): FailureLimiter {
  const key = (k: string) => `${prefix}authfail:${k}`;
  return {
    async attempt(keys) {
      const wait = Number(await runScript(redis, LIMITER_SCRIPT, keys.map((k) => key(k.key)), ['attempt', String(settings.windowSeconds), ...keys.map((k) => String(k.limit))]));
      return wait > 0 ? wait : null;
    },
    async release(keys) {
      await runScript(redis, LIMITER_SCRIPT, keys.map((k) => key(k.key)), ['release']);
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
    async attempt(keys) {
      const now = clock.now().getTime();
      for (const { key: k, limit } of keys) {
        const entry = live(k, now);
        if (entry && entry.count >= limit) return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
      }
      for (const { key: k } of keys) {
        const entry = live(k, now) ?? { count: 0, resetAt: now + settings.windowSeconds * 1000 };
        entry.count++;
        counters.set(k, entry);
      }
      while (counters.size > MAX_COUNTERS) counters.delete(counters.keys().next().value as string);
      return null;
    },
    async release(keys) {
      const now = clock.now().getTime();
      for (const { key: k } of keys) {
        const entry = live(k, now);
        if (entry && --entry.count <= 0) counters.delete(k);
      }
    },
  };
}
