/**
 * Ada shares pages of Acme after 10,000 more pages were added to it (seeded
 * in the sandbox Notion, shared with Gatehouse and indexed as Notion's would
 * be), in Chromium: the picker shows top-level pages with their groups
 * folded; opening one loads its children in place; a ticked parent says its
 * children are included; the count follows the ticks; search results name
 * their parents; without JavaScript the group's button reloads the page with
 * it opened; "Allow access" grants what was ticked, loaded pages included.
 * Axe-clean and CSP-clean at desktop and phone widths in both schemes, with
 * screenshots saved for a reviewer.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { Browser as HttpBrowser, signIn as signInHttp } from '../support/browser.js';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectNotion } from '../support/notion-connect.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { applyView, cspViolations, recordCspViolations, saveScreenshot, signIn, VIEWS } from './views.js';

const CALLBACK = 'https://partner.example/callback';

// Axe over a few hundred rows in four views takes a while on a shared machine.
jest.setTimeout(120_000);

describe('a person picks pages among 10,000', () => {
  let t: TestGatehouse;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let registered: RegisteredApp;
  let acmeId: string;
  let rootPageId: string;

  const authorizeUrl = () =>
    `${t.url}/v1/oauth/authorize?${new URLSearchParams({ client_id: registered.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 's1' })}`;

  /** From the partner's button to the picker for Acme, as a person would click. */
  const openPicker = async (p: Page) => {
    await p.goto(authorizeUrl());
    await p.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await p.getByRole('button', { name: 'Select pages' }).click();
    await p.waitForURL(/\/pages\?workspace=/);
  };
  /** The foldable group of the page titled so (its own item's, not an ancestor's). */
  const group = (p: Page, title: string) => p.locator(`xpath=//li[label[normalize-space(.)="${title}"]]/details`);
  const item = (p: Page, title: string) => p.locator(`xpath=//li[label[normalize-space(.)="${title}"]]`);

  beforeAll(async () => {
    t = await startTestGatehouse({ sandboxNotion: { rateLimitPerSecond: Infinity } });
    const sandbox = t.gatehouse.sandboxNotion!;
    acmeId = sandbox.workspaces().find((w) => w.name === 'Acme')!.id;
    ({ rootPageId } = await sandbox.addGeneratedPages('Acme', 10_000));
    // Ada shares the new top-level page with Gatehouse beside two of Acme's own, on Notion's page.
    const ada = new HttpBrowser();
    await signInHttp(ada, t.url, 'ada@example.com', 'ada-demo');
    await t.gatehouse.indexer.idle();
    const { status } = await connectNotion(ada, t.url, {
      email: 'ada@example.com',
      password: 'ada-demo',
      workspaceName: 'Acme',
      reconnect: acmeId,
      pages: ['Company Home', 'Engineering', 'Generated pages 1'],
    });
    expect(status).toBe(200);
    await t.gatehouse.indexer.idle();
    registered = await registerApp(t.gatehouse, { name: 'Bulk reader', redirectUris: [CALLBACK] });
    browser = await launchChromium();
    context = await browser.newContext();
    await recordCspViolations(context);
    // The partner's callback is answered here: the test stands in for partner.example.
    await context.route('https://partner.example/**', (route) =>
      route.fulfill({ status: 200, contentType: 'text/plain', body: 'partner' }),
    );
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signIn(page, t.url, 'ada@example.com', 'ada-demo');
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('indexes the 10,000 pages, then shows top-level pages with their groups folded', async () => {
    const [ada] = await t.gatehouse.stores.people.findByEmail('ada@example.com');
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(ada!.id, acmeId))!;
    expect(await t.gatehouse.stores.pageIndex.count(connection.id)).toBeGreaterThan(10_000);
    await openPicker(page);
    const boxes = await page.locator('input[name="pages"]').count();
    expect(boxes).toBeGreaterThan(0);
    expect(boxes).toBeLessThanOrEqual(50);
    const generated = group(page, 'Generated pages 1');
    expect(await generated.getAttribute('open')).toBeNull();
    expect(await cspViolations(page)).toEqual([]);
  });

  it('opening a group loads its children in place; ticking keeps them across the load; the count follows', async () => {
    await group(page, 'Generated pages 1').locator(':scope > summary').click();
    const section = page.getByLabel('Generated section 1.1', { exact: true });
    await section.waitFor();
    // 50 sections shown of 100: the rest are one click away on the page itself.
    expect(await page.getByRole('button', { name: 'Show all pages inside Generated pages 1' }).count()).toBe(1);
    // A nested group loads too.
    await group(page, 'Generated section 1.1').locator(':scope > summary').click();
    await page.getByLabel('Generated page 1.1', { exact: true }).waitFor();
    await page.getByLabel('Generated page 1.1', { exact: true }).check();
    await page.getByLabel('Generated section 1.2', { exact: true }).check();
    expect(await page.locator('[data-picked-count]').textContent()).toBe('2');
    // A ticked parent says that its children are included.
    const note = item(page, 'Generated section 1.2').locator('xpath=./span[@class="included"]');
    expect(await note.isVisible()).toBe(true);
    expect(await cspViolations(page)).toEqual([]);
  });

  it('is axe-clean with a group opened, at desktop and phone width, light and dark; screenshots saved', async () => {
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      await saveScreenshot(page, `picker-10000-${view.name}`);
    }
    await applyView(page, VIEWS[0]);
  });

  it('search results name their parents, and ticks made before the search are kept', async () => {
    await page.getByLabel('Search pages').fill('Generated page 1.250');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=Generated/);
    const result = item(page, 'Generated page 1.250');
    expect(await result.locator('.page-path').textContent()).toBe('in Generated pages 1 › Generated section 1.3');
    // Both earlier ticks are kept on the server: the count says so.
    expect(await page.locator('[data-picked-count]').textContent()).toBe('2');
    await result.getByLabel('Generated page 1.250', { exact: true }).check();
    expect(await page.locator('[data-picked-count]').textContent()).toBe('3');
    await expectAccessible(page);
  });

  it('"Allow access" grants the ticked pages, the ones loaded on demand included', async () => {
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(/^https:\/\/partner\.example\/callback\?/);
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
    const grants = await t.gatehouse.database.db.selectFrom('grants').select(['page_ids', 'app_id']).execute();
    const grant = grants.find((g) => g.app_id === registered.app.id)!;
    const titles = await t.gatehouse.stores.pageIndex.titles(
      (await t.gatehouse.stores.connections.findForPersonAndWorkspace(
        (await t.gatehouse.stores.people.findByEmail('ada@example.com'))[0]!.id,
        acmeId,
      ))!.id,
      [...grant.page_ids],
    );
    expect([...titles.values()].sort()).toEqual(['Generated page 1.1', 'Generated page 1.250', 'Generated section 1.2']);
    expect(rootPageId).toBeTruthy();
  });

  it('without JavaScript, a folded group opens by reloading the page with its children', async () => {
    const plain = await browser.newContext({ javaScriptEnabled: false });
    try {
      const p = await plain.newPage();
      p.setDefaultTimeout(15_000);
      await signIn(p, t.url, 'ada@example.com', 'ada-demo');
      await openPicker(p);
      await group(p, 'Generated pages 1').locator(':scope > summary').click();
      await p.getByRole('button', { name: 'Show pages inside Generated pages 1' }).click();
      await p.waitForURL(/parent=/);
      expect(await p.getByLabel('Generated section 1.1', { exact: true }).isVisible()).toBe(true);
      expect(await p.getByRole('button', { name: 'Next pages' }).count()).toBe(1);
      // (axe runs in page scripts, so it cannot run here: the same markup is checked above with scripts on.)
    } finally {
      await plain.close();
    }
  });
});
