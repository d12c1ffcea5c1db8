/**
 * A stored Notion event reaches the partner whose grant covers it, rewritten
 * for that partner and signed two ways, verified by the real verifiers; on
 * PGlite (embedded default) and on PostgreSQL, through the same job engine.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { newSigningSecret, pageParent, storeEvent, subscribe, type Receiver } from './support.js';
import { eventually } from '../support/eventually.js';

const CAPS = ['read_content', 'read_comments', 'user_info_without_email'] as const;

describe.each(['pglite', 'postgres'] as const)('signed delivery on %s', (database) => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let partner: PartnerSession;
  let subscriptionId: string;
  let receiver: Receiver;
  let workspaceId: string;
  let adaNotionId: string;

  beforeAll(async () => {
    t = await startTestGatehouse({ database, clock, tunables: { webhookRetryScheduleSeconds: [0, 1], webhookRetryJitter: 0 } });
    partner = await connectPartner(t.gatehouse, t.url, { capabilities: [...CAPS], pageIds: [SEED_PAGE_IDS.engineering], clock });
    const connection = (await t.gatehouse.stores.connections.findById(partner.connectionId))!;
    workspaceId = connection.workspaceId;
    adaNotionId = connection.notionUserId;
    ({ id: subscriptionId, receiver } = await subscribe(t.gatehouse, {
      appId: partner.registered.app.id,
      events: ['page.created', 'comment.created'],
    }));
  });
  afterAll(async () => {
    await receiver?.close();
    await t?.stop();
  });

  it('the fan-out job commits with the event; the partner gets the event, verified by both verifiers', async () => {
    const page = '1f0c0c0c-0000-4000-8000-000000000001';
    await storeEvent(
      t.gatehouse,
      {
        type: 'page.created',
        workspaceId,
        entity: { id: page, type: 'page' },
        data: pageParent(SEED_PAGE_IDS.architecture),
        accessibleBy: [adaNotionId],
        authors: [{ id: adaNotionId, type: 'person' }],
      },
      clock.now(),
    );
    const { fannedOut, attempts } = await t.gatehouse.webhooks.runDue();
    expect(fannedOut).toBe(1);
    expect(attempts).toEqual(['delivered']);
    expect(receiver.received).toHaveLength(1);
    const [got] = receiver.received;
    expect(got!.notionValid).toBe(true);
    expect(got!.standardValid).toEqual([true]);
    expect(got!.json).toMatchObject({
      type: 'page.created',
      subscription_id: subscriptionId,
      integration_id: partner.registered.clientId,
      accessible_by: [{ id: partner.grantId, type: 'bot' }],
      attempt_number: 1,
      entity: { id: page, type: 'page' },
      data: { parent: { id: SEED_PAGE_IDS.architecture, type: 'page' } },
      authors: [{ id: adaNotionId, type: 'person' }],
    });
    expect(got!.json.gatehouse).toBeUndefined();
    const deliveries = await t.gatehouse.stores.webhookDeliveries.listForSubscription(subscriptionId, 10);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 200, eventType: 'page.created' });
    expect(got!.headers['webhook-id']).toBe(deliveries[0]!.id);
  });

  it('the page index follows the event at once: the new page sits under its parent, no Notion call', async () => {
    const indexed = await t.gatehouse.stores.pageIndex.get(partner.connectionId, '1f0c0c0c-0000-4000-8000-000000000001');
    expect(indexed).toMatchObject({ parentId: SEED_PAGE_IDS.architecture, parentType: 'page', objectType: 'page' });
  });

  it('a second fan-out of the same event adds nothing (the job is idempotent)', async () => {
    const before = receiver.received.length;
    const [event] = await t.gatehouse.database.db.selectFrom('webhook_events').select('id').execute();
    await t.gatehouse.database.db.transaction().execute((trx) => t.gatehouse.webhooks.enqueueFanOut(trx, event!.id));
    await t.gatehouse.webhooks.runDue();
    expect(receiver.received.length).toBe(before);
  });

  it('during a secret rotation both the current and the previous secret sign', async () => {
    const next = newSigningSecret();
    const { keyring, stores } = t.gatehouse;
    await stores.webhookSubscriptions.rotateSigningSecret(
      subscriptionId,
      keyring.encrypt(next, `webhook_subscription:${subscriptionId}`),
      new Date(clock.now().getTime() + 3_600_000),
      clock.now(),
    );
    const previous = receiver.secrets[0]!;
    receiver.secrets = [next, previous];
    await storeEvent(
      t.gatehouse,
      {
        type: 'comment.created',
        workspaceId,
        entity: { id: '2f0c0c0c-0000-4000-8000-000000000002', type: 'comment' },
        data: { page_id: SEED_PAGE_IDS.engineering, parent: { id: SEED_PAGE_IDS.engineering, type: 'page' } },
        accessibleBy: [adaNotionId],
      },
      clock.now(),
    );
    expect((await t.gatehouse.webhooks.runDue()).attempts).toEqual(['delivered']);
    const last = receiver.received.at(-1)!;
    expect(last.json.type).toBe('comment.created');
    expect(last.standardValid).toEqual([true, true]);
    expect(String(last.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(last.notionValid).toBe(true);
  });

  it("with the engine's own workers running (no runDue), the next event arrives by itself", async () => {
    await t.gatehouse.webhooks.startWorkers();
    const before = receiver.received.length;
    await storeEvent(
      t.gatehouse,
      {
        type: 'page.created',
        workspaceId,
        entity: { id: '5f0c0c0c-0000-4000-8000-000000000005', type: 'page' },
        data: pageParent(SEED_PAGE_IDS.engineering),
        accessibleBy: [adaNotionId],
      },
      clock.now(),
    );
    await eventually(() => receiver.received.length !== before, { orFalse: true });
    expect(receiver.received.length).toBe(before + 1);
    expect(receiver.received.at(-1)!.json.entity).toEqual({ id: '5f0c0c0c-0000-4000-8000-000000000005', type: 'page' });
  });
});
