/**
 * Fair share by throughput: every busy partner of a workspace gets an equal
 * part (or its weighted part) of Notion's budget. Callers run in a closed
 * loop on a manual clock (rate-budget-callers.ts), in process and in Redis
 * across two budget instances deciding on the same clock; the two must
 * decide alike, call for call. Budget as configured by default: 3 a second,
 * burst 5, 5 s maximum wait.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock.js';
import { memoryRateBudget, redisRateBudget, type RateBudget, type RateBudgetSettings } from '../../src/upstream/rate-budget.js';
import { deleteRedisPrefix, REDIS_URL, uniqueName } from '../support/databases.js';
import { jainIndex, ratesBetween, runCallers, type CallerGroup } from './rate-budget-callers.js';

const settings: RateBudgetSettings = { ratePerSecond: 3, burst: 5, maxWaitMs: 5000 };
const START = new Date('2026-03-02T09:00:00.000Z');

type Variant = (clock: ManualClock, overrides?: Partial<RateBudgetSettings>) => RateBudget;

const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const within = (value: number, target: number, tolerance = 0.1) => Math.abs(value - target) <= target * tolerance;

function fairShareStory(name: string, variant: () => Variant) {
  describe(name, () => {
    const run = (groups: CallerGroup[], durationMs: number, overrides?: Partial<RateBudgetSettings>) => {
      const clock = new ManualClock(START);
      return runCallers({ budget: variant()(clock, overrides), clock, workspace: uniqueName('ws'), groups, durationMs });
    };

    it('8, 2 and 1 callers: each partner gets a third of the rate (within 10%), the light one waits about one interval of its share', async () => {
      const result = await run(
        [
          { partner: 'heavy', callers: 8 },
          { partner: 'medium', callers: 2 },
          { partner: 'light', callers: 1 },
        ],
        60_000,
      );
      const rates = ratesBetween(result, 5_000, 60_000);
      for (const partner of ['heavy', 'medium', 'light']) expect(within(rates.get(partner)!, settings.ratePerSecond / 3)).toBe(true);
      expect(jainIndex([...rates.values()])).toBeGreaterThanOrEqual(0.99);
      // Its share is one call a second: its calls start within about that, not behind the heavy partner's queue.
      expect(median(result.waits.get('light')!)).toBeLessThanOrEqual(1000);
      expect(result.refused.get('light')).toBe(0);
      expect(result.refused.get('heavy')).toBeGreaterThan(0); // its excess callers get 429 with Retry-After
    });

    it('one partner alone gets the whole rate', async () => {
      const result = await run([{ partner: 'alone', callers: 8 }], 30_000);
      expect(within(ratesBetween(result, 2_000, 30_000).get('alone')!, settings.ratePerSecond, 0.02)).toBe(true);
    });

    it('a partner that stops gives its share to the others within one interval', async () => {
      const result = await run(
        [
          { partner: 'a', callers: 8 },
          { partner: 'b', callers: 2 },
          { partner: 'stops', callers: 1, stopAtMs: 20_000 },
        ],
        40_000,
      );
      const lastStart = Math.max(...result.starts.get('stops')!);
      expect(lastStart).toBeGreaterThan(19_000);
      // One interval of its share (1 s) after its last call started, the two others share the whole rate.
      const after = ratesBetween(result, lastStart + 1000, 40_000);
      expect(within(after.get('a')! + after.get('b')!, settings.ratePerSecond, 0.05)).toBe(true);
      expect(within(after.get('a')!, settings.ratePerSecond / 2)).toBe(true);
      expect(within(after.get('b')!, settings.ratePerSecond / 2)).toBe(true);
    });

    it('weights are honoured: weight 2 gets twice the share of weight 1, and a light partner still gets its part', async () => {
      const result = await run(
        [
          { partner: 'double', callers: 8 },
          { partner: 'single', callers: 8 },
          { partner: 'light', callers: 1 },
        ],
        60_000,
        { weights: { double: 2 } },
      );
      const rates = ratesBetween(result, 5_000, 60_000);
      expect(within(rates.get('double')!, settings.ratePerSecond / 2)).toBe(true);
      expect(within(rates.get('single')!, settings.ratePerSecond / 4)).toBe(true);
      expect(within(rates.get('light')!, settings.ratePerSecond / 4)).toBe(true);
    });

    it('a burst large enough for every partner at once lets every concurrent call through, shared by parts', async () => {
      const budget = variant()(new ManualClock(START), { ratePerSecond: 1000, burst: 1000 });
      const workspace = uniqueName('ws');
      const verdicts = await Promise.all(
        ['a', 'b', 'c'].flatMap((partner) => Array.from({ length: 30 }, () => budget.take(workspace, partner))),
      );
      expect(verdicts.every((v) => v.allowed)).toBe(true);
    });

    it("Notion's 429 with Retry-After holds every partner until then, then the shares resume", async () => {
      const clock = new ManualClock(START);
      const budget = variant()(clock);
      const workspace = uniqueName('ws');
      const groups = [
        { partner: 'a', callers: 4 },
        { partner: 'b', callers: 1 },
      ];
      await runCallers({ budget, clock, workspace, groups, durationMs: 10_000 });
      await budget.block(workspace, 3);
      expect(await budget.blockedForMs(workspace)).toBe(3000);
      const next = await runCallers({ budget, clock, workspace, groups, durationMs: 10_000 });
      for (const partner of ['a', 'b']) {
        const starts = next.starts.get(partner)!;
        expect(starts.length).toBeGreaterThan(0);
        expect(Math.min(...starts)).toBeGreaterThanOrEqual(3000); // none before Notion's Retry-After
      }
    });
  });
}

fairShareStory('in process, on the injected clock', () => (clock, overrides) => memoryRateBudget(clock, { ...settings, ...overrides }));

describe('in Redis, two instances deciding on one manual clock', () => {
  const prefix = `${uniqueName('fair')}:`;
  const redis = createClient({ url: REDIS_URL });
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await deleteRedisPrefix(prefix);
  });
  const twoInstances: Variant = (clock, overrides) => {
    const one = redisRateBudget(redis, prefix, { ...settings, ...overrides }, { clock });
    const two = redisRateBudget(redis, prefix, { ...settings, ...overrides }, { clock });
    let turn = 0;
    return {
      take: (w, p) => ((turn += 1) % 2 ? one : two).take(w, p),
      block: (w, s) => one.block(w, s),
      blockedForMs: (w) => two.blockedForMs(w),
      usageLastHour: (w) => one.usageLastHour!(w),
    };
  };
  fairShareStory('(fair share)', () => twoInstances);

  it('decides exactly as the in-process budget, call for call', async () => {
    const groups: CallerGroup[] = [
      { partner: 'heavy', callers: 8 },
      { partner: 'medium', callers: 2 },
      { partner: 'light', callers: 1, stopAtMs: 12_000 },
    ];
    const weights = { medium: 1.5 };
    const memoryClock = new ManualClock(START);
    const inProcess = await runCallers({
      budget: memoryRateBudget(memoryClock, { ...settings, weights }),
      clock: memoryClock,
      workspace: 'same',
      groups,
      durationMs: 20_000,
    });
    const redisClock = new ManualClock(START);
    const inRedis = await runCallers({
      budget: twoInstances(redisClock, { weights }),
      clock: redisClock,
      workspace: uniqueName('ws'),
      groups,
      durationMs: 20_000,
    });
    expect(inRedis.starts).toEqual(inProcess.starts);
    expect(inRedis.refused).toEqual(inProcess.refused);
  });

  it("each partner's share of the workspace's grants over the last hour, for the owners' page", async () => {
    const clock = new ManualClock(START);
    const budget = twoInstances(clock);
    const workspace = uniqueName('ws');
    await runCallers({
      budget,
      clock,
      workspace,
      groups: [
        { partner: 'heavy', callers: 4 },
        { partner: 'light', callers: 1 },
      ],
      durationMs: 20_000,
    });
    const usage = await budget.usageLastHour!(workspace);
    expect(usage.map((u) => u.partnerKey).sort()).toEqual(['heavy', 'light']);
    expect(usage.reduce((sum, u) => sum + u.share, 0)).toBeCloseTo(1);
    for (const u of usage) expect(within(u.share, 0.5, 0.15)).toBe(true);
    clock.advance(61 * 60_000);
    expect(await budget.usageLastHour!(workspace)).toEqual([]);
  });
});
