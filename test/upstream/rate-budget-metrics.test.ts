/**
 * Owners and operators see how the budget is spent: counters per workspace
 * and partner (granted, waited, refused) from every decision of the budget.
 */
import { describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { createMetrics } from '../../src/http/metrics.js';
import { memoryRateBudget, observedRateBudget } from '../../src/upstream/rate-budget.js';

describe('budget metrics', () => {
  it('counts grants, waits and refusals per workspace and partner', async () => {
    const metrics = createMetrics();
    const budget = observedRateBudget(memoryRateBudget(new ManualClock(), { ratePerSecond: 3, burst: 2, maxWaitMs: 5000 }), metrics.budget);
    const verdicts = await Promise.all(Array.from({ length: 6 }, () => budget.take('acme', 'app-1')));
    const granted = verdicts.filter((v) => v.allowed).length;
    const waited = verdicts.filter((v) => v.allowed && v.waitMs > 0).length;
    expect(granted).toBe(4); // burst 2, then two of its own intervals ahead
    expect(waited).toBe(2);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`gatehouse_upstream_budget_granted_total{workspace="acme",partner="app-1"} ${granted}`);
    expect(text).toContain(`gatehouse_upstream_budget_waited_total{workspace="acme",partner="app-1"} ${waited}`);
    expect(text).toContain(`gatehouse_upstream_budget_refused_total{workspace="acme",partner="app-1"} ${6 - granted}`);
    await budget.block('acme', 2);
    expect(await metrics.registry.metrics()).toContain('gatehouse_upstream_notion_rate_limited_total{workspace="acme"} 1');
    expect(text).toMatch(/gatehouse_upstream_budget_wait_seconds_total\{workspace="acme",partner="app-1"\} 1(\.\d+)?\n/);
  });
});
