/**
 * The demo partner as a webhook receiver, in the embedded default (PGlite in
 * a data folder): at start it subscribes to every page and comment event
 * and verifies the subscription itself, with the token the verification POST
 * brought and its client credentials; it accepts a delivery only when both
 * @notionhq/client's verifyWebhookSignature and standardwebhooks'
 * Webhook.verify pass, and lists what it accepted under "Events received".
 * A restart replaces its subscription (its secrets lived in the old process).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { signWebhookPayload } from '@notionhq/client';
import { Webhook } from 'standardwebhooks';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml } from '../support/notion-connect.js';
import { DEMO_PARTNER_CLIENT_ID } from '../../src/sandbox/partner/index.js';
import { PAGE_AND_COMMENT_EVENTS } from '../../src/webhooks/event-types.js';
import { readSubscriptionSecrets } from '../../src/webhooks/secrets.js';
import type { WebhookSubscription } from '../../src/store/webhook-subscriptions.js';

async function activeDemoSubscription(t: TestGatehouse, notId?: string): Promise<WebhookSubscription> {
  const app = (await t.gatehouse.stores.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID))!;
  for (let i = 0; i < 200; i++) {
    const found = (await t.gatehouse.stores.webhookSubscriptions.listForApp(app.id)).find((s) => s.status === 'active' && s.id !== notId);
    if (found) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the demo partner never verified its subscription');
}

describe('the demo partner receives webhooks', () => {
  let t: TestGatehouse;
  let subscription: WebhookSubscription;

  const deliver = async (event: Record<string, unknown>, tamper: 'none' | 'notion' | 'standard' = 'none') => {
    const secrets = (await readSubscriptionSecrets(
      { store: t.gatehouse.stores.webhookSubscriptions, keyring: t.gatehouse.keyring },
      subscription.id,
      new Date(),
    ))!;
    const body = JSON.stringify(event);
    const id = `msg_${randomUUID()}`;
    const at = new Date();
    const notion = await signWebhookPayload({ body, verificationToken: tamper === 'notion' ? 'secret_other' : secrets.verificationToken });
    const standard = new Webhook(
      tamper === 'standard' ? `whsec_${Buffer.alloc(32, 7).toString('base64')}` : secrets.signingSecrets[0]!,
    ).sign(id, at, body);
    return fetch(`${t.url}/sandbox/partner/webhooks`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-notion-signature': notion,
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': standard,
      },
      body,
    });
  };
  const partnerPage = async () => decodeHtml(await (await fetch(`${t.url}/sandbox/partner`)).text());
  const event = (type: string) => ({
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    workspace_id: 'ws-1',
    workspace_name: 'Acme',
    subscription_id: subscription.id,
    integration_id: DEMO_PARTNER_CLIENT_ID,
    authors: [],
    accessible_by: [],
    attempt_number: 1,
    api_version: '2025-09-03',
    type,
    entity: { id: 'page-1', type: 'page' },
    data: {},
  });

  beforeAll(async () => {
    t = await startTestGatehouse({ persistPglite: true });
  }, 90_000);
  afterAll(async () => t?.stop());

  it('subscribes at start to every page and comment event and verifies itself with its client credentials', async () => {
    subscription = await activeDemoSubscription(t);
    expect(subscription.url).toBe(`${t.url}/sandbox/partner/webhooks`);
    expect(subscription.events).toEqual(PAGE_AND_COMMENT_EVENTS);
    const verified = await t.gatehouse.stores.audit.list({ action: 'webhook_subscription.verified' });
    expect(verified.map((a) => [a.actor.type, a.actor.label, a.target?.id])).toEqual([
      ['partner', DEMO_PARTNER_CLIENT_ID, subscription.id],
    ]);
    const page = await partnerPage();
    expect(page).toContain('<h2 id="events-heading">Events received</h2>');
    expect(page).toContain(subscription.id);
    expect(page).toContain('verified by this partner');
    expect(page).toContain('No events yet.');
  });

  it('accepts a delivery only when both signatures verify, and shows it under "Events received"', async () => {
    const good = event('page.created');
    expect((await deliver(good)).status).toBe(200);
    const badNotion = event('page.deleted');
    expect((await deliver(badNotion, 'notion')).status).toBe(401);
    const badStandard = event('comment.created');
    expect((await deliver(badStandard, 'standard')).status).toBe(401);
    const unknown = { ...event('page.moved'), subscription_id: randomUUID() };
    expect((await deliver(unknown)).status).toBe(401);
    const notJson = await fetch(`${t.url}/sandbox/partner/webhooks`, { method: 'POST', body: 'nope' });
    expect(notJson.status).toBe(400);
    const page = await partnerPage();
    expect(page).toContain(`data-event-id="${good.id}"`);
    expect(page).toContain('<code>page.created</code>');
    for (const refused of [badNotion, badStandard, unknown]) expect(page).not.toContain(refused.id);
  });

  it('replaces its subscription at the next start and verifies the new one', async () => {
    const dataDir = t.dataDir;
    await t.gatehouse.stop();
    const again = await startTestGatehouse({ persistPglite: true, dataDir });
    try {
      const next = await activeDemoSubscription(again, subscription.id);
      const app = (await again.gatehouse.stores.partnerApps.findByClientId(DEMO_PARTNER_CLIENT_ID))!;
      expect((await again.gatehouse.stores.webhookSubscriptions.listForApp(app.id)).map((s) => s.id)).toEqual([next.id]);
    } finally {
      await again.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
      t = { ...t, stop: async () => undefined };
    }
  });
});
