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
 * script in Redis), so every counter expires. The counters of one request
 * share a hash tag (their address, see ./client-auth.ts), so one script call
 * checks or counts them all on one Redis Cluster node: one round trip; keys
 * without a common tag get one call each, sent together. Guesses already in flight when
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

/** A key's Redis Cluster hash tag: what is between its first `{` and the next `}`, when not empty; else the whole key. */
export function hashSlotPart(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** Keys that may meet in one script on a Redis Cluster: one group when they share a slot part, else one each. */
function slotGroups(keys: LimitKey[], key: (k: string) => string): LimitKey[][] {
  const part = hashSlotPart(key(keys[0]?.key ?? ''));
  return keys.every((k) => hashSlotPart(key(k.key)) === part) ? [keys] : keys.map((k) => [k]);
}

export function redisFailureLimiter(redis: RedisCommander, prefix: string, settings: LimiterSettings): FailureLimiter {
  const key = (k: string) => `${prefix}authfail:${k}`;
  const window = String(settings.windowSeconds);
  const run = (group: LimitKey[], args: string[]) =>
    runScript(
      redis,
      LIMITER_SCRIPT,
      group.map((k) => key(k.key)),
      args,
    );
  return {
    async blockedFor(keys) {
      if (keys.length === 0) return null;
      const waits = await Promise.all(
        slotGroups(keys, key).map(async (group) => Number(await run(group, ['blocked', window, ...group.map((k) => String(k.limit))]))),
      );
      const wait = waits.find((w) => w > 0);
      return wait ?? null;
    },
    async recordFailure(keys) {
      if (keys.length === 0) return;
      await Promise.all(slotGroups(keys, key).map((group) => run(group, ['failed', window])));
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
