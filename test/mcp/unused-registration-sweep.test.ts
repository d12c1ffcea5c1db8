/**
 * A self-registered agent that gets no grant within a day is deleted, and
 * the deletion is audited; one with a grant, and apps an admin registered,
 * stay. The clock decides, not the wall.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { sweepUnusedRegistrations } from '../../src/oauth/register.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp } from '../support/partner.js';
import { connectAgent } from './agent-session.js';

describe('unused agent registrations', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  const register = async (name: string) => {
    const response = await fetch(`${t.url}/v1/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: name, redirect_uris: ['http://127.0.0.1:9/cb'] }),
    });
    return ((await response.json()) as { client_id: string }).client_id;
  };
  const sweep = () => sweepUnusedRegistrations({ ...t.gatehouse.stores, clock });

  beforeAll(async () => {
    t = await startTestGatehouse({ clock });
  });
  afterAll(async () => t.stop());

  it('keeps them for a day, then deletes those without a grant, audited; granted and admin-registered apps stay', async () => {
    const unused = await register('Forgotten agent');
    const used = await register('Used agent');
    const usedApp = (await t.gatehouse.stores.partnerApps.findByClientId(used))!;
    // A grant for the used agent, as consent makes one.
    const session = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: null,
    });
    await t.gatehouse.database.db.updateTable('grants').set({ app_id: usedApp.id }).where('id', '=', session.grantId).execute();
    const partner = await registerApp(t.gatehouse, { name: 'Admin partner', capabilities: ['read_content'] });

    clock.advance(23 * 3600_000);
    expect(await sweep()).toBe(0);
    expect(await t.gatehouse.stores.partnerApps.findByClientId(unused)).not.toBeNull();

    clock.advance(2 * 3600_000);
    const unusedApp = (await t.gatehouse.stores.partnerApps.findByClientId(unused))!;
    expect(await sweep()).toBe(1);
    expect(await t.gatehouse.stores.partnerApps.findByClientId(unused)).toBeNull();
    expect(await t.gatehouse.stores.partnerApps.findByClientId(used)).not.toBeNull();
    expect(await t.gatehouse.stores.partnerApps.findById(partner.app.id)).not.toBeNull();

    const audited = await t.gatehouse.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'client.unused_deleted')
      .execute();
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ actor_type: 'system', target_type: 'partner_app', target_id: unusedApp.id });
    expect(audited[0]!.detail).toMatchObject({ name: 'Forgotten agent', clientId: unused });
    expect(await sweep()).toBe(0);
  });
});
