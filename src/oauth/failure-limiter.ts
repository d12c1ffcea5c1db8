/**
 * Failed client authentication is rate-limited per (client, address) and per
 * address, so one attacker who knows a public client id cannot lock the
 * partner out from the partner's own address. Counted in Redis when it is
 * configured (shared by every instance), else in this process (the embedded
 * default is one process).
 */
import type { Clock } from '../clock.js';

/** A counter and its limit: (client, address) pairs get the configured limit, a whole address several times it. */
export interface LimitKey {
  key: string;
  limit: number;
}

export interface FailureLimiter {
  /** Seconds to wait when any of the keys is over its limit, else null. */
  blockedFor(keys: LimitKey[]): Promise<number | null>;
  recordFailure(keys: LimitKey[]): Promise<void>;
}

export interface LimiterSettings {
  windowSeconds: number;
}

export interface RedisCounter {
  incr(key: string): Promise<number>;
  expire(key: string, seconds: number): Promise<unknown>;
  get(key: string): Promise<string | null>;
  ttl(key: string): Promise<number>;
}

export function redisFailureLimiter(redis: RedisCounter, prefix: string, settings: LimiterSettings): FailureLimiter {
  const key = (k: string) => `${prefix}authfail:${k}`;
  return {
    async blockedFor(keys) {
      for (const k of keys) {
        const count = Number((await redis.get(key(k.key))) ?? '0');
        if (count >= k.limit) return Math.max(1, await redis.ttl(key(k.key)));
      }
      return null;
    },
    async recordFailure(keys) {
      for (const k of keys) {
        const count = await redis.incr(key(k.key));
        if (count === 1) await redis.expire(key(k.key), settings.windowSeconds);
      }
    },
  };
}

export function memoryFailureLimiter(clock: Clock, settings: LimiterSettings): FailureLimiter {
  const counters = new Map<string, { count: number; resetAt: number }>();
  const live = (k: string) => {
    const entry = counters.get(k);
    if (entry && entry.resetAt <= clock.now().getTime()) {
      counters.delete(k);
      return undefined;
    }
    return entry;
  };
  return {
    async blockedFor(keys) {
      for (const { key: k, limit } of keys) {
        const entry = live(k);
        if (entry && entry.count >= limit) return Math.max(1, Math.ceil((entry.resetAt - clock.now().getTime()) / 1000));
      }
      return null;
    },
    async recordFailure(keys) {
      for (const { key: k } of keys) {
        const entry = live(k) ?? { count: 0, resetAt: clock.now().getTime() + settings.windowSeconds * 1000 };
        entry.count++;
        counters.set(k, entry);
      }
      if (counters.size > 100_000) counters.clear(); // bounded memory under a flood
    },
  };
}
