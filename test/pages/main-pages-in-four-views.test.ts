/**
 * The main pages a person and an owner see, walked in Chromium at desktop
 * and phone width in both colour schemes: the consent screen, the page
 * picker and the owners' "Connections". Each is axe-clean and keeps within
 * the screen's width; "Allow access" is the primary action and "Disconnect"
 * a danger one. Screenshots are saved under test-artifacts/screenshots (not
 * asserted) for a reviewer; docs/screenshots holds three of them for the
 * README.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { applyView, cspViolations, recordCspViolations, saveScreenshot, signIn, VIEWS } from './views.js';

const CALLBACK = 'https://zapflow.example/callback';
jest.setTimeout(120_000);

describe('the main pages in four views', () => {
  let t: TestGatehouse;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let registered: RegisteredApp;
  let acmeId: string;

  beforeAll(async () => {
    t = await startTestGatehouse();
    acmeId = t.gatehouse.sandboxNotion!.workspaces().find((w) => w.name === 'Acme')!.id;
    registered = await registerApp(t.gatehouse, {
      name: 'Zapflow',
      redirectUris: [CALLBACK],
      capabilities: ['read_content', 'insert_content', 'read_comments', 'user_info_without_email'],
    });
    browser = await launchChromium();
    context = await browser.newContext();
    await recordCspViolations(context);
    await context.route('https://zapflow.example/**', (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'partner' }),
    );
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signIn(page, t.url, 'ada@example.com', 'ada-demo');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  /** Checks the page in every view and saves its screenshots; leaves the desktop light view on. */
  const everyView = async (name: string) => {
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect([name, view.name, width <= view.width]).toEqual([name, view.name, true]);
      await saveScreenshot(page, `${name}-${view.name}`);
    }
    await applyView(page, VIEWS[0]);
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, `${name}-first-view`, { fullPage: false });
    expect(await cspViolations(page)).toEqual([]);
  };
  const background = (name: string) =>
    page
      .getByRole('button', { name, exact: true })
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);

  it('the consent screen: focused, "Allow access" path primary', async () => {
    const authorize = `${t.url}/v1/oauth/authorize?${new URLSearchParams({ client_id: registered.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 'shot' })}`;
    await page.goto(authorize);
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page
      .getByRole('button', { name: 'Choose workspace' })
      .or(page.getByRole('button', { name: 'Select pages' }))
      .first()
      .waitFor();
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    // "Select pages" leads to "Allow access": the page's one primary action; "Cancel" stays secondary.
    expect(await background('Select pages')).toBe('rgb(11, 87, 208)');
    expect(await background('Cancel')).toBe('rgb(255, 255, 255)');
    await everyView('consent');
  });

  it('the page picker: every group open, "Allow access" primary', async () => {
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages\?workspace=/);
    expect(await page.locator('ul.tree details:not([open])').count()).toBe(0);
    expect(await background('Allow access')).toBe('rgb(11, 87, 208)');
    await page.getByLabel('Engineering', { exact: true }).check();
    await page.getByLabel('Roadmap 2026', { exact: true }).check();
    expect(await page.locator('[data-picked-count]').textContent()).toBe('2');
    await everyView('picker');
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(/^https:\/\/zapflow\.example\/callback\?/);
  });

  it('"Connections" for the owner: the new connection listed, "Disconnect" a danger button', async () => {
    await page.goto(`${t.url}/connections?workspace=${acmeId}`);
    expect(await page.getByRole('heading', { name: 'Connections', exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Disconnect Zapflow' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Disconnect Zapflow' }).evaluate((el) => getComputedStyle(el).backgroundColor)).toBe(
      'rgb(179, 38, 30)',
    );
    await everyView('connections');
  });
});
