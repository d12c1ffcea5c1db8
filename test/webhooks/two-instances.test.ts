/**
 * Two instances on one PostgreSQL schema (one deployment: shared encryption
 * keys), each with the job engine's workers running on real time and the
 * sweep racing them: every delivery arrives, and each attempt is sent once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, testKeys, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { pageParent, storeEvent, subscribe, type Receiver } from './support.js';
import { eventually } from '../support/eventually.js';

const EVENTS = 12;

// On timeout the assertion after the wait says what was missing.
const until = (check: () => boolean, ms: number) => eventually(check, { timeoutMs: ms, orFalse: true });

describe('two instances, one database', () => {
  let first: TestGatehouse;
  let second: TestGatehouse;
  let partner: PartnerSession;
  let receiver: Receiver;
  let ada: string;

  beforeAll(async () => {
    const env = testKeys();
    const tunables = { webhookRetryScheduleSeconds: [0, 1], webhookRetryJitter: 0 };
    first = await startTestGatehouse({ database: 'postgres', env, tunables });
    second = await startTestGatehouse({ database: 'postgres', env, tunables, schema: first.schema! });
    const clock = { now: () => new Date() };
    partner = await connectPartner(first.gatehouse, first.url, {
      capabilities: ['read_content'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    ada = (await first.gatehouse.stores.connections.findById(partner.connectionId))!.notionUserId;
    ({ receiver } = await subscribe(first.gatehouse, { appId: partner.registered.app.id, events: ['page.content_updated'] }));
    await first.gatehouse.webhooks.startWorkers();
    await second.gatehouse.webhooks.startWorkers();
  });
  afterAll(async () => {
    await receiver?.close();
    await second?.stop();
    await first?.stop();
  });

  it('events stored through either instance are delivered once each, by whichever worker claims them', async () => {
    receiver.answers = [500, 500]; // two first attempts fail: their retries race too
    for (let i = 0; i < EVENTS; i++) {
      const on = i % 2 === 0 ? first : second;
      await storeEvent(
        on.gatehouse,
        {
          type: 'page.content_updated',
          workspaceId: SEED_WORKSPACE_IDS.acme,
          entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
          data: { ...pageParent(SEED_PAGE_IDS.engineering), updated_blocks: [] },
          accessibleBy: [ada],
        },
        new Date(),
      );
    }
    // The sweep of both instances races the workers.
    await Promise.all([first.gatehouse.webhooks.runDue(), second.gatehouse.webhooks.runDue()]);
    const delivered = () => receiver.received.filter((r) => r.json.attempt_number !== undefined).length;
    await until(() => delivered() >= EVENTS + 2, 20_000);
    await Promise.all([first.gatehouse.webhooks.runDue(), second.gatehouse.webhooks.runDue()]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const attempts = receiver.received.map((r) => `${String(r.headers['webhook-id'])}#${String(r.json.attempt_number)}`);
    expect(new Set(attempts).size).toBe(attempts.length); // no attempt sent twice
    expect(attempts).toHaveLength(EVENTS + 2);
    expect(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size).toBe(EVENTS);
    expect(receiver.received.every((r) => r.notionValid && r.standardValid[0])).toBe(true);
    const rows = await first.gatehouse.database.db.selectFrom('webhook_deliveries').select(['status']).execute();
    expect(rows.map((r) => r.status)).toEqual(Array(EVENTS).fill('delivered'));
  });
});
