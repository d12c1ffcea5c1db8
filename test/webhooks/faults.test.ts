/**
 * Delivery when partners misbehave, on a short test schedule (0 s, 1 s, 2 s)
 * and a manual clock: 500 then 200 retried with the same webhook-id; Retry-
 * After honoured; a hanging partner timed out; a claim left by a killed
 * worker taken over once its lease ran out; a narrowed grant stops a waiting
 * retry; 410 and five days of failures disable the subscription, audited.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { pageParent, storeEvent, subscribe, type Receiver } from './support.js';

describe.each(['pglite', 'postgres'] as const)('delivery faults on %s', (database) => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let partner: PartnerSession;
  let subscriptionId: string;
  let receiver: Receiver;
  let ada: string;

  const event = () =>
    storeEvent(
      t.gatehouse,
      {
        type: 'page.content_updated',
        workspaceId: SEED_WORKSPACE_IDS.acme,
        entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
        data: { ...pageParent(SEED_PAGE_IDS.engineering), updated_blocks: [] },
        accessibleBy: [ada],
      },
      clock.now(),
    );
  const latest = async () => (await t.gatehouse.stores.webhookDeliveries.listForSubscription(subscriptionId, 1))[0]!;
  const run = async () => (await t.gatehouse.webhooks.runDue()).attempts;

  beforeAll(async () => {
    t = await startTestGatehouse({
      database,
      clock,
      tunables: { webhookRetryScheduleSeconds: [0, 1, 2], webhookRetryJitter: 0, webhookDeliveryTimeoutMs: 500 },
    });
    partner = await connectPartner(t.gatehouse, t.url, { capabilities: ['read_content'], pageIds: [SEED_PAGE_IDS.engineering], clock });
    ada = (await t.gatehouse.stores.connections.findById(partner.connectionId))!.notionUserId;
    ({ id: subscriptionId, receiver } = await subscribe(t.gatehouse, {
      appId: partner.registered.app.id,
      events: ['page.content_updated'],
    }));
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.stop();
  });

  it('500, then 200 on the next scheduled attempt: the same webhook-id, attempt_number 1 then 2', async () => {
    receiver.answers = [500];
    await event();
    expect(await run()).toEqual(['retry']);
    const waiting = await latest();
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, lastResponseExcerpt: 'answer 500' });
    expect(waiting.nextAttemptAt!.getTime()).toBe(clock.now().getTime() + 1000);
    expect(await run()).toEqual([]); // not due yet on Gatehouse's clock
    clock.advance(1000);
    expect(await run()).toEqual(['delivered']);
    const [first, second] = receiver.received.slice(-2);
    expect(first!.headers['webhook-id']).toBe(second!.headers['webhook-id']);
    expect([first!.json.attempt_number, second!.json.attempt_number]).toEqual([1, 2]);
    expect(second!.notionValid && second!.standardValid[0]).toBe(true);
    expect(await latest()).toMatchObject({ status: 'delivered', attempts: 2, lastStatusCode: 200 });
  });

  it("Retry-After is honoured over the schedule's shorter delay", async () => {
    receiver.answers = [503];
    receiver.headers = { 'retry-after': '30' };
    await event();
    expect(await run()).toEqual(['retry']);
    receiver.headers = {};
    expect((await latest()).nextAttemptAt!.getTime()).toBe(clock.now().getTime() + 30_000);
    clock.advance(30_000);
    expect(await run()).toEqual(['delivered']);
  });

  it('a partner that hangs is timed out and retried', async () => {
    receiver.answers = ['hang'];
    await event();
    expect(await run()).toEqual(['retry']);
    expect((await latest()).lastError).toMatch(/answer within/);
    clock.advance(1000);
    expect(await run()).toEqual(['delivered']);
  });

  it('a claim left by a killed worker is taken over once its lease runs out, with the same webhook-id', async () => {
    const before = receiver.received.length;
    await event();
    // Fan out only: claim the first attempt as a worker would, then "die" before sending.
    await t.gatehouse.webhooks.runDue(new Date(clock.now().getTime() - 1));
    const delivery = await latest();
    expect(delivery.status).toBe('pending');
    const lease = new Date(clock.now().getTime() + 30_000);
    expect(await t.gatehouse.stores.webhookDeliveries.claim(delivery.id, 1, clock.now(), lease)).toBe('claimed');
    expect(await run()).toEqual([]); // its lease still runs
    clock.advance(30_000);
    expect(await run()).toEqual(['delivered']);
    expect(receiver.received.length).toBe(before + 1);
    expect(receiver.received.at(-1)!.headers['webhook-id']).toBe(delivery.id);
  });

  it('a grant narrowed while a retry waits: the retry is not sent', async () => {
    receiver.answers = [500];
    await event();
    expect(await run()).toEqual(['retry']);
    const grant = (await t.gatehouse.stores.grants.findById(partner.grantId))!;
    const narrowed = { ...grant, pageIds: [SEED_PAGE_IDS.product] };
    await t.gatehouse.stores.grants.upsert(narrowed, clock.now());
    clock.advance(1000);
    const count = receiver.received.length;
    expect(await run()).toEqual(['skipped']);
    expect(receiver.received.length).toBe(count);
    expect((await latest()).lastError).toMatch(/grant/);
    await t.gatehouse.stores.grants.upsert({ ...grant }, clock.now());
  });

  it('"Retry now" sends a skipped or failed delivery again, audited', async () => {
    const delivery = await latest();
    expect(await t.gatehouse.webhooks.retryNow(delivery.id, { type: 'system', label: 'test' })).toBe(true);
    expect(await t.gatehouse.webhooks.retryNow(delivery.id, { type: 'system', label: 'test' })).toBe(false);
    expect(await run()).toEqual(['delivered']);
    expect(await latest()).toMatchObject({ id: delivery.id, status: 'delivered' });
    const audit = await t.gatehouse.stores.auditQuery.search({ scope: null, action: 'webhook_delivery.retried', limit: 10 });
    expect(audit.length).toBeGreaterThan(0);
  });

  it('five days of failures disable the subscription, with a reason its admins see', async () => {
    receiver.answers = [500, 500, 500];
    await event();
    expect(await run()).toEqual(['retry']);
    clock.advance(1000);
    expect(await run()).toEqual(['retry']);
    clock.advance(2000);
    expect(await run()).toEqual(['failed']);
    expect((await t.gatehouse.stores.webhookSubscriptions.findById(subscriptionId))!.status).toBe('active');
    clock.advance(5 * 86_400_000);
    receiver.answers = [500];
    await event();
    expect(await run()).toEqual(['retry']);
    const subscription = (await t.gatehouse.stores.webhookSubscriptions.findById(subscriptionId))!;
    expect(subscription.status).toBe('disabled');
    expect(subscription.disabledReason).toMatch(/5 days/);
  });

  it('410 disables the subscription at once, audited; later events are not delivered', async () => {
    await t.gatehouse.stores.webhookSubscriptions.setStatus(subscriptionId, ['disabled'], 'active', clock.now());
    receiver.answers = [410];
    await event();
    expect(await run()).toEqual(['failed']);
    const subscription = (await t.gatehouse.stores.webhookSubscriptions.findById(subscriptionId))!;
    expect(subscription).toMatchObject({ status: 'disabled' });
    expect(subscription.disabledReason).toMatch(/410/);
    const audit = await t.gatehouse.stores.auditQuery.search({ scope: null, action: 'webhook_subscription.disabled', limit: 10 });
    expect(audit.map((a) => a.target?.id)).toContain(subscriptionId);
    const count = receiver.received.length;
    await event();
    expect(await run()).toEqual([]);
    expect(receiver.received.length).toBe(count);
  });
});
