/**
 * An organisation admin, in Chromium, subscribes a partner app's URL from
 * the app's page, reads the token off the partner's receiver (as whoever
 * controls that URL would), enters it under "Verify subscription", and
 * rotates the signing secret: every step found by its words, every page
 * axe-clean, the demo partner's page with "Events received" too.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerDashedApp, startReceiver, type Receiver } from './subscriptions-support.js';

describe('an admin subscribes a partner URL from the app page, in a browser', () => {
  let t: TestGatehouse;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let app: { clientId: string };

  beforeAll(async () => {
    t = await startTestGatehouse();
    receiver = await startReceiver();
    app = await registerDashedApp(t.gatehouse, 'Hookflow');
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
    await page.goto(`${t.url}/auth/sign-in`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.url}/workspaces**`);
  });
  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await t.stop();
  });

  it('opens the app from "Partner apps" and finds an accessible, empty "Webhooks" section', async () => {
    await page.goto(`${t.url}/admin/apps`);
    await page.getByRole('link', { name: 'Hookflow' }).click();
    await page.waitForURL(`${t.url}/admin/apps/${encodeURIComponent(app.clientId)}`);
    await expect(page.getByRole('heading', { name: 'Webhooks' }).count()).resolves.toBe(1);
    await expectAccessible(page);
  });

  it('adds a subscription and sees its signing secret once, pending', async () => {
    await page.getByLabel('Webhook URL').fill(receiver.url);
    await page.getByLabel('comment.created').uncheck();
    await page.getByLabel('page.moved').check();
    await page.getByRole('button', { name: 'Add subscription' }).click();
    await expect(page.getByText('Subscription added').count()).resolves.toBe(1);
    const secret = await page.locator('[data-signing-secret]').textContent();
    expect(secret).toMatch(/^whsec_/);
    await expect(page.getByText('Pending verification').count()).resolves.toBe(1);
    expect(await page.content()).not.toContain(receiver.lastToken());
    const [row] = await t.gatehouse.stores.webhookSubscriptions.listAll();
    expect(row!.events).toContain('page.moved');
    expect(row!.events).not.toContain('comment.created');
    await expectAccessible(page);
  });

  it('enters the token under "Verify subscription": active', async () => {
    await page.getByLabel('Verification token').fill(receiver.lastToken());
    await page.getByRole('button', { name: 'Verify subscription' }).click();
    await expect(page.getByText('Subscription verified').count()).resolves.toBe(1);
    await expect(page.locator('tr[data-status="active"]').count()).resolves.toBe(1);
    await page.getByRole('button', { name: 'Rotate signing secret' }).click();
    await expect(page.getByRole('heading', { name: 'New signing secret' }).count()).resolves.toBe(1);
    await expectAccessible(page);
  });

  it('the demo partner\'s page shows its "Events received" section, accessibly', async () => {
    await page.goto(`${t.url}/sandbox/partner`);
    await expect(page.getByRole('heading', { name: 'Events received' }).count()).resolves.toBe(1);
    await expectAccessible(page);
  });
});
