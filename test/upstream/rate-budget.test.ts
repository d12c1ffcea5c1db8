/**
 * Partners share Notion's rate limit for a workspace (about 3 requests a
 * second). Story: one partner floods, the other's calls still go through
 * within the wait; a spent budget answers 429 with Retry-After; Notion's own
 * 429 holds for everybody in the workspace until its Retry-After. In process
 * on an injected clock, and in Redis (one script, Redis's clock). No timed
 * assertions: only what was decided.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock.js';
import { createUpstreamGateway, UpstreamRateLimited, type UpstreamGateway } from '../../src/upstream/gateway.js';
import {
  memoryRateBudget,
  redisRateBudget,
  type BudgetVerdict,
  type RateBudget,
  type RateBudgetSettings,
} from '../../src/upstream/rate-budget.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { REDIS_URL, startTestGatehouse, uniqueName, type TestGatehouse } from '../support/harness.js';

const allowed = (verdicts: BudgetVerdict[]) => verdicts.filter((v): v is Extract<BudgetVerdict, { allowed: true }> => v.allowed);
const refused = (verdicts: BudgetVerdict[]) => verdicts.filter((v): v is Extract<BudgetVerdict, { allowed: false }> => !v.allowed);

/** The same story for both variants: `take` many at once for the flooder, then a few for the other partner. */
function fairShareStory(name: string, setup: () => { budget: RateBudget; settings: RateBudgetSettings; advance?: (ms: number) => void }) {
  describe(name, () => {
    it("one partner flooding: its excess is refused with Retry-After, the other partner's calls all go through within the wait", async () => {
      const { budget, settings } = setup();
      const workspace = uniqueName('ws');
      const flood = await Promise.all(Array.from({ length: 60 }, () => budget.take(workspace, 'flooder')));
      expect(allowed(flood).length).toBeGreaterThanOrEqual(settings.burst); // the burst at once, then waits
      expect(allowed(flood).every((v) => v.waitMs <= settings.maxWaitMs)).toBe(true);
      // The flooder may not fill the whole wait: it keeps at most half of it while alone.
      const capacity = (settings.maxWaitMs * settings.ratePerSecond) / 1000;
      expect(allowed(flood).filter((v) => v.waitMs > 0).length).toBeLessThanOrEqual(Math.floor(capacity / 2) + 1);
      expect(refused(flood).length).toBeGreaterThan(0);
      expect(refused(flood).every((v) => v.retryAfterSeconds >= 1)).toBe(true);

      const other = await Promise.all(Array.from({ length: 3 }, () => budget.take(workspace, 'light')));
      expect(refused(other)).toEqual([]);
      expect(allowed(other).every((v) => v.waitMs > 0 && v.waitMs <= settings.maxWaitMs)).toBe(true);
      // Still flooding: it does not jump the other partner's queue (refused, or placed after its calls).
      const again = await budget.take(workspace, 'flooder');
      expect(!again.allowed || again.waitMs > Math.max(...allowed(other).map((v) => v.waitMs))).toBe(true);
    });

    it('a spent budget answers 429 with Retry-After; another workspace is untouched', async () => {
      const { budget, settings } = setup();
      const workspace = uniqueName('ws');
      const verdicts: BudgetVerdict[] = [];
      for (let i = 0; i < 40; i++) verdicts.push(await budget.take(workspace, 'partner'));
      const firstRefusal = verdicts.findIndex((v) => !v.allowed);
      expect(firstRefusal).toBeGreaterThanOrEqual(settings.burst);
      const refusal = verdicts[firstRefusal] as Extract<BudgetVerdict, { allowed: false }>;
      expect(refusal.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refusal.retryAfterSeconds).toBeLessThanOrEqual(Math.ceil(settings.maxWaitMs / 1000) + 1);
      expect(await budget.take(uniqueName('ws'), 'partner')).toEqual({ allowed: true, waitMs: 0 });
    });

    it("Notion's own 429 holds for every partner of the workspace until its Retry-After", async () => {
      const { budget, settings } = setup();
      const workspace = uniqueName('ws');
      await budget.block(workspace, 30);
      expect(await budget.blockedForMs(workspace)).toBeGreaterThan(settings.maxWaitMs);
      const verdict = await budget.take(workspace, 'someone-else');
      expect(verdict.allowed).toBe(false);
      expect((verdict as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(29);
      expect((verdict as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(30);
      // A shorter block inside the wait is queued behind, not refused.
      const other = uniqueName('ws');
      await budget.block(other, 1);
      const queued = await budget.take(other, 'partner');
      expect(queued.allowed).toBe(true);
      expect((queued as { waitMs: number }).waitMs).toBeGreaterThan(0);
      expect((queued as { waitMs: number }).waitMs).toBeLessThanOrEqual(1000);
    });
  });
}

fairShareStory('in process, on the injected clock', () => {
  const clock = new ManualClock();
  const settings = { ratePerSecond: 3, burst: 5, maxWaitMs: 5000 };
  return { budget: memoryRateBudget(clock, settings), settings, advance: (ms) => clock.advance(ms) };
});

describe('in process: time refills the budget (injected clock)', () => {
  it("after the wait has passed, the flooder is served again and the other partner's reservations are honoured", async () => {
    const clock = new ManualClock();
    const settings = { ratePerSecond: 3, burst: 5, maxWaitMs: 5000 };
    const budget = memoryRateBudget(clock, settings);
    const flood = await Promise.all(Array.from({ length: 30 }, () => budget.take('ws', 'flooder')));
    expect(allowed(flood)).toHaveLength(5 + 2); // burst 5, then two of its own intervals ahead of its share
    const light = await budget.take('ws', 'light');
    // The light partner is not queued behind a flood: its call starts right after the flooder's two booked slots.
    expect(light).toEqual({ allowed: true, waitMs: Math.ceil(3 * (1000 / 3)) });
    clock.advance(60_000);
    expect(await budget.take('ws', 'flooder')).toEqual({ allowed: true, waitMs: 0 });
  });
});

describe("in Redis, one script on Redis's clock", () => {
  const prefix = `${uniqueName('test')}:`;
  const redis = createClient({ url: REDIS_URL });
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      const list = Array.isArray(keys) ? keys : [keys];
      if (list.length) await redis.del(list);
    }
    await redis.quit();
  });
  // Two "instances": two budgets over one Redis, as the instances behind a load balancer are.
  fairShareStory('(shared by two instances)', () => {
    const settings = { ratePerSecond: 10, burst: 2, maxWaitMs: 2000 };
    const one = redisRateBudget(redis, prefix, settings);
    const two = redisRateBudget(redis, prefix, settings);
    let turn = 0;
    const budget: RateBudget = {
      take: (w, p) => ((turn += 1) % 2 ? one : two).take(w, p),
      block: (w, s) => one.block(w, s),
      blockedForMs: (w) => two.blockedForMs(w),
    };
    return { budget, settings };
  });
});

describe("through the gateway: Notion's own 429 (sandbox Notion, injected clock)", () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let sideProject: { connectionId: string; workspaceId: string };
  const waits: number[] = [];
  let gateway: UpstreamGateway;

  beforeAll(async () => {
    // Sandbox Notion: one request every 10 s after a burst of 10 (Retry-After 10).
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: 0.1 } });
    await t.gatehouse.indexer.idle();
    await t.gatehouse.membership.idle();
    const [ada] = await t.gatehouse.stores.people.findByEmail('ada@example.com');
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(ada!.id, SEED_WORKSPACE_IDS.sideProject))!;
    sideProject = { connectionId: connection.id, workspaceId: connection.workspaceId };
    const { stores, keyring, config } = t.gatehouse;
    gateway = createUpstreamGateway({
      upstream: {
        baseUrl: `${t.url}/sandbox/notion`,
        clientId: 'gatehouse',
        clientSecret: 'unused',
        notionVersion: config.tunables.notionVersion,
        timeoutMs: 10_000,
      },
      keyring,
      connections: stores.connections,
      audit: stores.audit,
      clock,
      // Gatehouse's own budget is generous here: Notion is the one that says 429.
      budget: memoryRateBudget(clock, { ratePerSecond: 1000, burst: 1000, maxWaitMs: 5000 }),
      sleep: async (ms) => {
        waits.push(ms);
        clock.advance(ms);
      },
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it("the partner that meets Notion's 429 gets 429 with Notion's Retry-After", async () => {
    const target = { ...sideProject, partnerKey: 'partner-a' };
    let limited: unknown;
    for (let i = 0; i < 20 && !limited; i++) {
      await gateway.call(target, (client) => client.users.me({})).catch((err: unknown) => (limited = err));
    }
    expect(limited).toBeInstanceOf(UpstreamRateLimited);
    expect((limited as UpstreamRateLimited).retryAfterSeconds).toBe(10);
  });

  it('every other partner of the workspace is held back too, without reaching Notion, until the Retry-After has passed', async () => {
    const calls = t.gatehouse.sandboxNotion!.stats().apiCalls;
    const other = gateway.call({ ...sideProject, partnerKey: 'partner-b' }, (client) => client.users.me({}));
    await expect(other).rejects.toBeInstanceOf(UpstreamRateLimited);
    await expect(other).rejects.toMatchObject({ retryAfterSeconds: 10 }); // 10 s > the 5 s wait: refused at once
    expect(t.gatehouse.sandboxNotion!.stats().apiCalls).toBe(calls);

    clock.advance(6_000); // 4 s left: within the wait, so the call queues instead
    const me = await gateway.call({ ...sideProject, partnerKey: 'partner-b' }, (client) => client.users.me({}));
    expect(me.object).toBe('user');
    expect(waits.at(-1)).toBe(4_000);
    expect(t.gatehouse.sandboxNotion!.stats().apiCalls).toBe(calls + 1);
  });
});
