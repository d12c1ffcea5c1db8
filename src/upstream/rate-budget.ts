/**
 * Notion's rate limit, shared fairly. Notion allows about three requests a
 * second per integration and workspace (request-limits page), and Gatehouse
 * is one integration: every partner working in a workspace shares one
 * budget. Each request reserves a start time on the workspace's schedule.
 *
 * - Fair share by throughput: start-time fair queueing on a calendar of
 *   GCRA slots (fair-share/schedule.ts draws it with its fairness argument).
 *   Every partner with demand gets rate × weight / (weights of the busy
 *   partners); a partner asking for less leaves the rest to the others; a
 *   light partner's call starts within about one interval of its share.
 *   Weights per partner app come from the settings (1 when unset).
 * - A request that would start more than `maxWaitMs` away, or whose partner
 *   is already two of its own intervals (plus its part of the burst) ahead of
 *   its share, is refused with a Retry-After instead of queued.
 * - Notion's own 429 blocks the whole workspace until its Retry-After: nobody
 *   is scheduled before then.
 * - Every upstream request counts against the partner whose call caused it
 *   (the proxy's ancestor lookups included): the gateway takes with the
 *   call's partner key.
 *
 * Production decides in Redis, in one script, on Redis's clock (instances'
 * clocks may differ); the embedded default decides in process on the
 * injected clock, with the same arithmetic (schedule.ts and its mirror,
 * fair-share/redis-script.ts).
 */
import type { Clock } from '../clock.js';
import { FAIR_SHARE_SCRIPT } from './fair-share/redis-script.js';
import { blockSchedule, emptySchedule, takeSlot, type WorkspaceSchedule } from './fair-share/schedule.js';
import { runScript, type RedisCommander } from './fair-share/lua.js';

export { luaScript, runScript, type RedisCommander } from './fair-share/lua.js';

export interface RateBudgetSettings {
  ratePerSecond: number;
  burst: number;
  maxWaitMs: number;
  /** Weight per partner key (a partner app id); unset = 1. Weight 2 gets twice the share of weight 1 while both are busy. */
  weights?: Readonly<Record<string, number>>;
}

export type BudgetVerdict = { allowed: true; waitMs: number } | { allowed: false; retryAfterSeconds: number };

export interface PartnerUsage {
  partnerKey: string;
  /** Upstream requests granted in the last hour. */
  granted: number;
  /** Its part of the workspace's grants in the last hour, 0..1. */
  share: number;
}

export interface RateBudget {
  /** Reserves a start for one upstream request: now or within the wait, or refuses. */
  take(workspaceId: string, partnerKey: string): Promise<BudgetVerdict>;
  /** Notion answered 429: nobody in the workspace calls before `seconds` from now. */
  block(workspaceId: string, seconds: number): Promise<void>;
  /** Milliseconds the workspace stays blocked (0 when it is not). */
  blockedForMs(workspaceId: string): Promise<number>;
  /** Each partner's grants in the workspace over the last hour, largest first. */
  usageLastHour?(workspaceId: string): Promise<PartnerUsage[]>;
}

function retryAfterSeconds(waitMs: number): number {
  return Math.max(1, Math.ceil(waitMs / 1000));
}

function weightOf(settings: RateBudgetSettings, partnerKey: string): number {
  const weight = settings.weights?.[partnerKey];
  return weight !== undefined && Number.isFinite(weight) && weight > 0 ? weight : 1;
}

const HOUR_MINUTES = 60;

/** Grants per "minute|partner" → usage over the last hour (minutes before it are ignored). */
function usageFrom(counts: Iterable<[string, number]>, nowMs: number): PartnerUsage[] {
  const since = Math.floor(nowMs / 60_000) - HOUR_MINUTES;
  const byPartner = new Map<string, number>();
  for (const [field, count] of counts) {
    const at = field.indexOf('|');
    if (Number(field.slice(0, at)) <= since) continue;
    const partnerKey = field.slice(at + 1);
    byPartner.set(partnerKey, (byPartner.get(partnerKey) ?? 0) + count);
  }
  const total = [...byPartner.values()].reduce((a, b) => a + b, 0);
  return [...byPartner]
    .map(([partnerKey, granted]) => ({ partnerKey, granted, share: total ? granted / total : 0 }))
    .sort((a, b) => b.granted - a.granted || a.partnerKey.localeCompare(b.partnerKey));
}

/** In process (the embedded default: one process), on the injected clock. */
export function memoryRateBudget(clock: Clock, settings: RateBudgetSettings): RateBudget {
  const schedules = new Map<string, WorkspaceSchedule>();
  const grants = new Map<string, Map<string, number>>();
  const scheduleOf = (workspaceId: string) => {
    let schedule = schedules.get(workspaceId);
    if (!schedule) schedules.set(workspaceId, (schedule = emptySchedule()));
    return schedule;
  };
  const countGrant = (workspaceId: string, partnerKey: string, now: number) => {
    let counts = grants.get(workspaceId);
    if (!counts) grants.set(workspaceId, (counts = new Map()));
    const minute = Math.floor(now / 60_000);
    const field = `${minute}|${partnerKey}`;
    if (!counts.has(field)) {
      // A new minute: drop those older than the hour (as the Redis hash's expiry does, more coarsely).
      for (const key of counts.keys()) if (Number(key.slice(0, key.indexOf('|'))) <= minute - HOUR_MINUTES) counts.delete(key);
    }
    counts.set(field, (counts.get(field) ?? 0) + 1);
  };
  return {
    async take(workspaceId, partnerKey) {
      const now = clock.now().getTime();
      const decision = takeSlot(scheduleOf(workspaceId), now, partnerKey, weightOf(settings, partnerKey), settings);
      if (!decision.allowed) return { allowed: false, retryAfterSeconds: retryAfterSeconds(decision.waitMs) };
      countGrant(workspaceId, partnerKey, now);
      return { allowed: true, waitMs: decision.waitMs };
    },
    async block(workspaceId, seconds) {
      blockSchedule(scheduleOf(workspaceId), clock.now().getTime(), seconds);
    },
    async blockedForMs(workspaceId) {
      return Math.max(0, (schedules.get(workspaceId)?.blockedUntil ?? 0) - clock.now().getTime());
    },
    async usageLastHour(workspaceId) {
      return usageFrom(grants.get(workspaceId) ?? [], clock.now().getTime());
    },
  };
}

export interface RedisBudgetOptions {
  /** Tests only: decide on this clock instead of Redis's TIME. */
  clock?: Clock;
}

/** In Redis: every instance reserves from one schedule per workspace, decided by one script on Redis's clock. */
export function redisRateBudget(
  redis: RedisCommander,
  prefix: string,
  settings: RateBudgetSettings,
  options: RedisBudgetOptions = {},
): RateBudget {
  // One hash tag per workspace: the script's keys must live on one cluster node.
  const keys = (workspaceId: string) => {
    const base = `${prefix}upstream:budget:{ws:${workspaceId}}`;
    return [base, `${base}:slots`, `${base}:granted`];
  };
  const now = () => (options.clock ? String(options.clock.now().getTime()) : '');
  return {
    async take(workspaceId, partnerKey) {
      const [allowed, wait] = (await runScript(redis, FAIR_SHARE_SCRIPT, keys(workspaceId), [
        'take',
        now(),
        partnerKey,
        String(weightOf(settings, partnerKey)),
        String(settings.ratePerSecond),
        String(settings.burst),
        String(settings.maxWaitMs),
      ])) as [number, number];
      return Number(allowed) === 1
        ? { allowed: true, waitMs: Number(wait) }
        : { allowed: false, retryAfterSeconds: retryAfterSeconds(Number(wait)) };
    },
    async block(workspaceId, seconds) {
      await runScript(redis, FAIR_SHARE_SCRIPT, keys(workspaceId), ['block', now(), String(Math.max(0, seconds) * 1000)]);
    },
    async blockedForMs(workspaceId) {
      return Number(await runScript(redis, FAIR_SHARE_SCRIPT, keys(workspaceId), ['blocked', now()]));
    },
    async usageLastHour(workspaceId) {
      // node-redis answers HGETALL as an object (RESP3 map) or a flat array (RESP2), depending on the protocol.
      const reply = (await redis.sendCommand(['HGETALL', keys(workspaceId)[2]!])) as string[] | Record<string, string>;
      const counts: Array<[string, number]> = [];
      if (Array.isArray(reply)) for (let j = 0; j + 1 < reply.length; j += 2) counts.push([reply[j]!, Number(reply[j + 1])]);
      else for (const [field, count] of Object.entries(reply)) counts.push([field, Number(count)]);
      const at = options.clock ? options.clock.now().getTime() : Date.now();
      return usageFrom(counts, at);
    },
  };
}

/** The budget with every decision reported (metrics per workspace and partner). */
export function observedRateBudget(
  budget: RateBudget,
  observer: {
    observe(workspaceId: string, partnerKey: string, verdict: BudgetVerdict): void;
    notionRateLimited(workspaceId: string): void;
  },
): RateBudget {
  return {
    async take(workspaceId, partnerKey) {
      const verdict = await budget.take(workspaceId, partnerKey);
      observer.observe(workspaceId, partnerKey, verdict);
      return verdict;
    },
    block(workspaceId, seconds) {
      observer.notionRateLimited(workspaceId);
      return budget.block(workspaceId, seconds);
    },
    blockedForMs: (workspaceId) => budget.blockedForMs(workspaceId),
    ...(budget.usageLastHour ? { usageLastHour: budget.usageLastHour.bind(budget) } : {}),
  };
}
