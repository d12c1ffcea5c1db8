/**
 * Every server-rendered page, visited in Chromium by an owner who is also an
 * organisation admin (so every page is open to her), passes an axe-core
 * check with no violations, and carries the header every signed-in page has.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { issueCode, registerApp } from '../support/partner.js';

describe('every page is accessible', () => {
  let t: TestGatehouse;
  let browser: Browser;
  let page: Page;
  let acmeId: string;
  let appId: string;
  let pageId: string;

  beforeAll(async () => {
    t = await startTestGatehouse();
    const registered = await registerApp(t.gatehouse, { name: 'Accessible partner' });
    appId = registered.app.id;
    await issueCode(t.gatehouse, { registered, email: 'ada@example.com', workspaceName: 'Acme' });
    acmeId = t.gatehouse.sandboxNotion!.workspaces().find((w) => w.name === 'Acme')!.id;
    const [ada] = await t.gatehouse.stores.people.findByEmail('ada@example.com');
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(ada!.id, acmeId))!;
    pageId = (await t.gatehouse.stores.pageIndex.roots(connection.id, 1, 0))[0]!.pageId;
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
    await t.stop();
  });

  const pages = () => [
    '/workspaces',
    '/connections/mine',
    `/connections?workspace=${acmeId}`,
    `/connections/${acmeId}/apps/${appId}`,
    '/admin/apps',
    '/admin/audit',
    '/admin/tokens',
    '/admin/webhooks',
    '/integrations',
    `/workspaces/${acmeId}/pages`,
    `/workspaces/${acmeId}/pages/${pageId}`,
  ];

  it('visits each signed-in page: answered, headed, axe-clean', async () => {
    for (const path of pages()) {
      const response = await page.goto(`${t.url}${path}`);
      expect([path, response?.status()]).toEqual([path, 200]);
      expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
      await expectAccessible(page);
    }
  });

  it('in the dark colour scheme and at a phone width too: axe-clean, the header within the screen', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const path of pages()) {
        await page.goto(`${t.url}${path}`);
        expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(22, 24, 29)');
        const header = await page.locator('header.site-header').boundingBox();
        expect([path, (header?.width ?? 0) <= 390]).toEqual([path, true]);
        await expectAccessible(page);
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  it('the error page is accessible too', async () => {
    const response = await page.goto(`${t.url}/no-such-page`);
    expect(response?.status()).toBe(404);
    // Inside the product: the header stays, with a way back.
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Back to your workspaces' }).count()).toBe(1);
    await expectAccessible(page);
  });
});
