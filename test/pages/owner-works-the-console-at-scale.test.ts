/**
 * In Chromium, at desktop and phone width in both colour schemes with axe
 * on each page: Ada, owner of Acme, searches and pages her 30 connections,
 * approves Ben's request, and disconnects a partner from one page after the
 * confirmation; Ben, a member, presses "Request approval" on the consent
 * page and reads the answer on "My connections". Screenshots are saved under
 * test-artifacts/screenshots (not asserted).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { applyView, cspViolations, recordCspViolations, saveScreenshot, signIn, VIEWS } from './views.js';

const ACME = SEED_WORKSPACE_IDS.acme;
const CALLBACK = 'https://asker.example/callback';
jest.setTimeout(180_000);

describe('the console at scale, in a browser', () => {
  let t: TestGatehouse;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  let ada: Page;
  let ben: Page;
  let asker: RegisteredApp;
  let childPage: string;

  const open = async (email: string, password: string) => {
    const context = await browser.newContext();
    contexts.push(context);
    await recordCspViolations(context);
    await context.route('https://asker.example/**', (route) => route.fulfill({ status: 200, contentType: 'text/plain', body: 'partner' }));
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signIn(page, t.url, email, password);
    return page;
  };
  const everyView = async (page: Page, name: string) => {
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      expect([name, view.name, width <= view.width]).toEqual([name, view.name, true]);
      await saveScreenshot(page, `${name}-${view.name}`);
    }
    await applyView(page, VIEWS[0]);
    expect(await cspViolations(page)).toEqual([]);
  };

  beforeAll(async () => {
    t = await startTestGatehouse();
    const { stores } = t.gatehouse;
    const adaId = (await stores.people.findByEmail('ada@example.com'))[0]!.id;
    const connection = (await stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    await t.gatehouse.indexer.idle();
    const all = await stores.pageIndex.listAll(connection.id, 10_000);
    const ids = new Set(all.map((p) => p.pageId));
    childPage = all.find((p) => p.objectType === 'page' && p.parentId && ids.has(p.parentId))!.pageId;
    const parentPage = all.find((p) => p.pageId === all.find((c) => c.pageId === childPage)!.parentId)!.pageId;
    // Tool 01 also picks a page outside the child's tree: taking the child out leaves it a page (a last page revokes it).
    const byId = new Map(all.map((p) => [p.pageId, p]));
    const chain = new Set<string>();
    for (let at = byId.get(childPage); at; at = at.parentId ? byId.get(at.parentId) : undefined) chain.add(at.pageId);
    const elsewhere = (await stores.pageIndex.roots(connection.id, 10, 0)).find((r) => !chain.has(r.pageId))!.pageId;
    for (let i = 1; i <= 30; i++) {
      const app = await registerApp(t.gatehouse, { name: `Tool ${String(i).padStart(2, '0')}` });
      await stores.grants.upsert(
        {
          personId: adaId,
          appId: app.app.id,
          workspaceId: ACME,
          upstreamConnectionId: connection.id,
          capabilities: ['read_content'],
          pageIds: i === 1 ? [childPage, elsewhere] : i === 2 ? [parentPage] : [],
        },
        new Date(Date.now() + i),
      );
    }
    asker = await registerApp(t.gatehouse, { name: 'Asker', redirectUris: [CALLBACK] });
    await stores.workspaces.setPolicy(ACME, { installPolicy: 'approved_only', autoApproveOrganisation: false });
    browser = await launchChromium();
    ada = await open('ada@example.com', 'ada-demo');
    ben = await open('ben@example.com', 'ben-demo');
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await t?.stop();
  });

  it('Ben is refused by the approved list and presses "Request approval" on the consent page', async () => {
    const query = new URLSearchParams({ client_id: asker.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 's' });
    await ben.goto(`${t.url}/v1/oauth/authorize?${query}`);
    await ben.getByLabel('Workspace').selectOption({ label: 'Acme' });
    const choose = ben.getByRole('button', { name: 'Choose workspace' });
    if (await choose.count()) await choose.click();
    await everyView(ben, 'consent-request-approval');
    await ben.getByRole('button', { name: 'Request approval' }).click();
    await ben.getByText('You asked the owners of Acme to approve Asker').waitFor();
    expect(await ben.getByRole('button', { name: 'Request approval' }).count()).toBe(0);
  });

  it('Ada searches and pages her connections, then approves the request', async () => {
    await ada.goto(`${t.url}/connections?workspace=${ACME}`);
    await ada.getByText('Page 1 of 2 (30)').waitFor();
    await everyView(ada, 'connections-at-scale');
    await ada.getByRole('navigation', { name: 'Pages of connections' }).getByRole('link', { name: 'Next' }).click();
    await ada.getByText('Page 2 of 2 (30)').waitFor();
    await ada.getByLabel('Search connections').fill('tool 1');
    await ada.getByRole('button', { name: 'Search' }).first().click();
    await ada.waitForURL(/q=tool\+1/);
    expect(await ada.locator('tr[data-app-id]').count()).toBe(10);
    await ada.getByRole('button', { name: 'Approve Asker for ben@example.com' }).click();
    await ada.getByText('Request approved').waitFor();
    expect(await ada.locator('tr[data-approved-app-id]').count()).toBe(1);
  });

  it('Ben reads the answer on "My connections"', async () => {
    await ben.goto(`${t.url}/connections/mine`);
    await ben.getByText('Approved: you can connect it now').waitFor();
    await everyView(ben, 'my-connections-answer');
  });

  it('Ada disconnects a partner from one page after the confirmation; the inherited one names its parent', async () => {
    await ada.goto(`${t.url}/workspaces/${ACME}/pages/${childPage}`);
    await ada.getByText('Picked on this page').waitFor();
    await ada.getByText('Inherited from').waitFor();
    await everyView(ada, 'page-connections');
    await ada.getByRole('button', { name: 'Disconnect Tool 01' }).click();
    await ada.getByRole('button', { name: 'Confirm' }).waitFor();
    await everyView(ada, 'page-connections-confirm');
    await ada.getByRole('button', { name: 'Confirm' }).click();
    await ada.getByText('This page was removed from that connection').waitFor();
    expect(await ada.getByText('Picked on this page').count()).toBe(0);
  });
});
