/**
 * Owners see, on "Connections", which partners are sent their workspace's
 * events: each connection of the workspace with a webhook subscription, its
 * event types and status. A subscription still waiting for verification is
 * not listed (nothing is sent), nor is an app with no grant in the
 * workspace (fan-out sends it nothing from here); a disabled one stays, so
 * owners see that its events stopped. The section passes an axe check with
 * its table filled.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { Browser, signIn } from '../support/browser.js';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml } from '../support/notion-connect.js';
import { registerApp } from '../support/partner.js';
import { connectPartner } from '../proxy/partner-session.js';
import { subscribe, type Receiver } from './support.js';

const ACME = SEED_WORKSPACE_IDS.acme;

describe('owners see which partners are sent their workspace events', () => {
  let t: TestGatehouse;
  const clock = new ManualClock(new Date());
  const ada = new Browser();
  const receivers: Receiver[] = [];
  let relayId: string;
  let relaySubscription: string;

  /** The rows of the section, as text per cell. */
  async function recipients(): Promise<{ section: string; rows: string[][] }> {
    const html = await (await ada.request(`${t.url}/connections?workspace=${ACME}`, { headers: { accept: 'text/html' } })).text();
    const section = /<section aria-labelledby="webhook-recipients-heading">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
    const rows = [...section.matchAll(/<tr data-webhook-recipient>([\s\S]*?)<\/tr>/g)].map(([, row]) =>
      [...row!.matchAll(/<t[hd][^>]*>([^<]*)<\/t[hd]>/g)].map(([, cell]) => decodeHtml(cell!)),
    );
    return { section, rows };
  }

  beforeAll(async () => {
    t = await startTestGatehouse({ clock });
    const relay = await connectPartner(t.gatehouse, t.url, {
      name: 'Relay',
      capabilities: ['read_content', 'read_comments'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    relayId = relay.registered.app.id;
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await t.stop();
  });

  it('with no subscription, the section says so', async () => {
    const { section, rows } = await recipients();
    expect(rows).toEqual([]);
    expect(decodeHtml(section)).toContain('No connection in Acme has a webhook subscription.');
  });

  it('lists an active subscription of a connection in the workspace, with its event types', async () => {
    const { id, receiver } = await subscribe(t.gatehouse, { appId: relayId, events: ['page.created', 'comment.created'] });
    relaySubscription = id;
    receivers.push(receiver);
    expect((await recipients()).rows).toEqual([['Relay', 'comment.created, page.created', 'Receiving events']]);
  });

  it('leaves out a subscription waiting for verification and an app without a grant in the workspace', async () => {
    const pending = await connectPartner(t.gatehouse, t.url, {
      name: 'Pending partner',
      capabilities: ['read_content'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
    });
    const cipher = (id: string) => t.gatehouse.keyring.encrypt(randomBytes(16).toString('hex'), `webhook_subscription:${id}`);
    await t.gatehouse.stores.webhookSubscriptions.create(
      {
        appId: pending.registered.app.id,
        url: 'http://127.0.0.1:9/hooks',
        events: ['page.created'],
        encrypt: (id) => ({ verificationTokenCiphertext: cipher(id), signingSecretCiphertext: cipher(id) }),
      },
      clock.now(),
    );
    const elsewhere = await registerApp(t.gatehouse, { name: 'No grant here' });
    receivers.push((await subscribe(t.gatehouse, { appId: elsewhere.app.id, events: ['page.created'] })).receiver);
    expect((await recipients()).rows).toEqual([['Relay', 'comment.created, page.created', 'Receiving events']]);
  });

  it('a disabled subscription stays listed, saying its events are not sent', async () => {
    await t.gatehouse.stores.webhookSubscriptions.setStatus(relaySubscription, ['active'], 'disabled', clock.now(), {
      disabledReason: 'The URL answered 410 Gone.',
    });
    expect((await recipients()).rows).toEqual([['Relay', 'comment.created, page.created', 'Disabled: events are not sent']]);
    await t.gatehouse.stores.webhookSubscriptions.setStatus(relaySubscription, ['disabled'], 'active', clock.now());
  });

  it('the page, with the table filled, passes an axe check', async () => {
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext()).newPage();
      await page.goto(`${t.url}/auth/sign-in`);
      await page.getByLabel('Email').fill('ada@example.com');
      await page.getByLabel('Password').fill('ada-demo');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${t.url}/workspaces**`);
      await page.goto(`${t.url}/connections?workspace=${ACME}`);
      const table = page.getByRole('table', { name: 'Webhook subscriptions of connections in Acme' });
      await expect(table.getByRole('row', { name: /Relay/ }).count()).resolves.toBe(1);
      await expectAccessible(page);
    } finally {
      await browser.close();
    }
  });
});
