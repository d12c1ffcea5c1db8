/**
 * Notion's rate limit, spent fairly. Notion allows about three requests a
 * second per integration and workspace (request-limits page), and Gatehouse
 * is one integration: every partner working in a workspace shares one
 * budget. Each request reserves a start time on the workspace's schedule.
 *
 * - The schedule is GCRA (a token bucket kept as one "theoretical arrival
 *   time"): `ratePerSecond` on average, `burst` at once.
 * - A request whose start is more than `maxWaitMs` away is refused with a
 *   Retry-After instead of queued.
 * - Fairness: among the reservations still waiting, one partner may hold at
 *   most floor(Q / (n + 1)), where Q = maxWaitMs × rate is how many requests
 *   the wait can hold and n the partners waiting (the caller included). So
 *   the waiting partners never fill the queue: there is always room for one
 *   more partner's call within the wait, and a flooding partner is refused
 *   (429) while a light one still goes through.
 * - Notion's own 429 blocks the whole workspace until its Retry-After: nobody
 *   is scheduled before then.
 *
 * Production decides in Redis, in one script, on Redis's clock (instances'
 * clocks may differ); the embedded default decides in process on the
 * injected clock, with the same arithmetic.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';

export interface RateBudgetSettings {
  ratePerSecond: number;
  burst: number;
  maxWaitMs: number;
}

export type BudgetVerdict = { allowed: true; waitMs: number } | { allowed: false; retryAfterSeconds: number };

export interface RateBudget {
  /** Reserves a start for one upstream request: now or within the wait, or refuses. */
  take(workspaceId: string, partnerKey: string): Promise<BudgetVerdict>;
  /** Notion answered 429: nobody in the workspace calls before `seconds` from now. */
  block(workspaceId: string, seconds: number): Promise<void>;
  /** Milliseconds the workspace stays blocked (0 when it is not). */
  blockedForMs(workspaceId: string): Promise<number>;
}

function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

/** How many waiting reservations one partner may hold when `others` other partners wait too. */
function fairShare(settings: RateBudgetSettings, others: number): number {
  const capacity = (settings.maxWaitMs * settings.ratePerSecond) / 1000;
  return Math.max(1, Math.floor(capacity / (others + 2)));
}

interface WorkspaceSchedule {
  tat: number;
  blockedUntil: number;
  waiting: Array<{ partnerKey: string; startsAt: number }>;
}

/** In process (the embedded default: one process), on the injected clock. */
export function memoryRateBudget(clock: Clock, settings: RateBudgetSettings): RateBudget {
  const schedules = new Map<string, WorkspaceSchedule>();
  const interval = 1000 / settings.ratePerSecond;
  const scheduleOf = (workspaceId: string, now: number) => {
    let schedule = schedules.get(workspaceId);
    if (!schedule) schedules.set(workspaceId, (schedule = { tat: now, blockedUntil: 0, waiting: [] }));
    schedule.waiting = schedule.waiting.filter((w) => w.startsAt > now);
    return schedule;
  };
  return {
    async take(workspaceId, partnerKey) {
      const now = clock.now().getTime();
      const schedule = scheduleOf(workspaceId, now);
      const tat = Math.max(schedule.tat, now);
      const start = Math.max(now, tat - (settings.burst - 1) * interval, schedule.blockedUntil);
      const wait = start - now;
      if (wait > settings.maxWaitMs) return { allowed: false, retryAfterSeconds: retryAfterSeconds(wait) };
      if (wait > 0) {
        const mine = schedule.waiting.filter((w) => w.partnerKey === partnerKey).length;
        const others = new Set(schedule.waiting.filter((w) => w.partnerKey !== partnerKey).map((w) => w.partnerKey)).size;
        if (mine >= fairShare(settings, others)) return { allowed: false, retryAfterSeconds: retryAfterSeconds(wait) };
        schedule.waiting.push({ partnerKey, startsAt: start });
      }
      schedule.tat = Math.max(tat, start) + interval;
      return { allowed: true, waitMs: Math.ceil(wait) };
    },
    async block(workspaceId, seconds) {
      const now = clock.now().getTime();
      const schedule = scheduleOf(workspaceId, now);
      schedule.blockedUntil = Math.max(schedule.blockedUntil, now + seconds * 1000);
    },
    async blockedForMs(workspaceId) {
      const now = clock.now().getTime();
      return Math.max(0, (schedules.get(workspaceId)?.blockedUntil ?? 0) - now);
    },
  };
}

/** The node-redis calls used here (a structural type, so tests can pass any client). */
export interface RedisCommander {
  sendCommand(args: string[]): Promise<unknown>;
}

/** EVALSHA, loading the script on NOSCRIPT (after a Redis restart or on a fresh server). */
export async function runScript(
  redis: RedisCommander,
  script: { source: string; sha: string },
  keys: string[],
  args: string[],
): Promise<unknown> {
  try {
    return await redis.sendCommand(['EVALSHA', script.sha, String(keys.length), ...keys, ...args]);
  } catch (err) {
    if (!String((err as Error)?.message ?? err).includes('NOSCRIPT')) throw err;
    return redis.sendCommand(['EVAL', script.source, String(keys.length), ...keys, ...args]);
  }
}

export function luaScript(source: string): { source: string; sha: string } {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * KEYS[1]: the workspace's schedule (hash: tat, blocked), KEYS[2]: its waiting
 * reservations (sorted set, member "partner|id", score = start in ms).
 * ARGV[1]: "take" | "block" | "blocked". take: partner, rate/s, burst,
 * maxWaitMs, reservation id → {1, waitMs} or {0, waitMs}. block: ms → ms.
 * blocked: → ms left. Times are Redis's own (TIME), in milliseconds; floats
 * are stored with explicit formatting, never Lua's 14-digit default.
 */
const BUDGET_SCRIPT = luaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked') or '0')
if ARGV[1] == 'blocked' then
  return math.ceil(math.max(0, blocked - now))
end
if ARGV[1] == 'block' then
  local untilMs = now + tonumber(ARGV[2])
  if untilMs > blocked then
    redis.call('HSET', KEYS[1], 'blocked', string.format('%.3f', untilMs))
    if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) + 60000 then
      redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) + 60000))
    end
  end
  return math.ceil(math.max(untilMs, blocked) - now)
end
local partner = ARGV[2]
local interval = 1000 / tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local maxWait = tonumber(ARGV[5])
local tat = tonumber(redis.call('HGET', KEYS[1], 'tat') or '0')
if tat < now then tat = now end
local start = math.max(now, tat - (burst - 1) * interval, blocked)
local wait = start - now
if wait > maxWait then return {0, math.ceil(wait)} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.3f', now))
if wait > 0 then
  local mine, others, seen = 0, 0, {}
  for _, member in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local p = string.match(member, '^(.*)|[^|]*$')
    if p == partner then
      mine = mine + 1
    elseif not seen[p] then
      seen[p] = true
      others = others + 1
    end
  end
  local share = math.max(1, math.floor(maxWait / interval / (others + 2)))
  if mine >= share then return {0, math.ceil(wait)} end
  redis.call('ZADD', KEYS[2], string.format('%.3f', start), partner .. '|' .. ARGV[6])
end
local nextTat = math.max(tat, start) + interval
redis.call('HSET', KEYS[1], 'tat', string.format('%.3f', nextTat))
local keep = math.ceil(math.max(nextTat, blocked) - now) + 60000
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
redis.call('PEXPIRE', KEYS[2], math.ceil(maxWait) + 60000)
return {1, math.ceil(wait)}
`);

/** In Redis: every instance reserves from one schedule per workspace, decided by one script on Redis's clock. */
export function redisRateBudget(redis: RedisCommander, prefix: string, settings: RateBudgetSettings): RateBudget {
  const keys = (workspaceId: string) => [`${prefix}upstream:budget:${workspaceId}`, `${prefix}upstream:budget:${workspaceId}:waiting`];
  let sequence = 0;
  const instance = createHash('sha1').update(`${process.pid}:${Math.random()}`).digest('hex').slice(0, 8);
  return {
    async take(workspaceId, partnerKey) {
      const reservation = `${instance}.${(sequence += 1)}`;
      const [allowed, wait] = (await runScript(redis, BUDGET_SCRIPT, keys(workspaceId), [
        'take',
        partnerKey,
        String(settings.ratePerSecond),
        String(settings.burst),
        String(settings.maxWaitMs),
        reservation,
      ])) as [number, number];
      return Number(allowed) === 1
        ? { allowed: true, waitMs: Number(wait) }
        : { allowed: false, retryAfterSeconds: retryAfterSeconds(Number(wait)) };
    },
    async block(workspaceId, seconds) {
      await runScript(redis, BUDGET_SCRIPT, keys(workspaceId), ['block', String(Math.max(0, seconds) * 1000)]);
    },
    async blockedForMs(workspaceId) {
      return Number(await runScript(redis, BUDGET_SCRIPT, keys(workspaceId), ['blocked']));
    },
  };
}
