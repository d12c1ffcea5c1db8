/**
 * The embedded default's events end to end as far as the intake: at start
 * the sandbox Notion subscribes to Gatehouse's intake and is verified with
 * the token the intake kept; a page a partner creates through the proxy then
 * arrives as Notion's `page.created`, signed, and is stored once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';

describe('sandbox Notion → webhook intake (embedded default)', () => {
  let t: TestGatehouse;
  let partner: PartnerSession;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxWebhooks: true, sandboxNotion: { rateLimitPerSecond: Infinity } });
    partner = await connectPartner(t.gatehouse, t.url, {
      capabilities: ['read_content', 'insert_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('subscribed the sandbox at start and verified it with the token the intake kept', async () => {
    const [subscription] = t.gatehouse.sandboxNotion!.webhooks.list();
    expect(subscription).toMatchObject({ clientId: 'gatehouse', url: `${t.url}/webhooks/notion`, status: 'active' });
    const intake = await t.gatehouse.stores.webhookEvents.findIntake('public');
    expect(intake?.verificationTokenCiphertext).toEqual(expect.any(String));
  });

  it('stores the page.created of a page made through the proxy, and confirms the intake token', async () => {
    const page = await partner.notion.pages.create({
      parent: { page_id: SEED_PAGE_IDS.engineering },
      properties: { title: { title: [{ text: { content: 'Webhook test page' } }] } },
    });
    await t.gatehouse.sandboxNotion!.webhooks.idle();
    const rows = await sql<{ type: string; entity_id: string; workspace_id: string }>`
      select type, entity_id, workspace_id from webhook_events where entity_id = ${page.id}`.execute(t.gatehouse.database.db);
    expect(rows.rows).toEqual([expect.objectContaining({ type: 'page.created', entity_id: page.id })]);
    expect((await t.gatehouse.stores.webhookEvents.findIntake('public'))?.confirmedAt).toBeInstanceOf(Date);
  });
});
