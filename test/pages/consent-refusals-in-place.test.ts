/**
 * The consent flow never dead-ends: each refusal is shown on the screen the
 * person was on, inside the layout, with an error summary and their choices
 * kept, and "Cancel" still sends `access_denied` back to the partner. A
 * request that expired cannot go back to the partner: its page says so and
 * links home. Walked in Chromium at desktop and phone width in both
 * colour schemes, axe on each new screen.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ManualClock } from '../../src/clock.js';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { eventually } from '../support/eventually.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { applyView, saveScreenshot, signIn, VIEWS } from './views.js';

const CALLBACK = 'https://zapflow.example/callback';
jest.setTimeout(180_000);

describe('consent refusals are shown on the consent page, and Cancel always answers the partner', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let registered: RegisteredApp;
  let acmeId: string;
  /** What the partner's redirect URI received. */
  const atPartner: URL[] = [];

  beforeAll(async () => {
    t = await startTestGatehouse({ clock });
    acmeId = t.gatehouse.sandboxNotion!.workspaces().find((w) => w.name === 'Acme')!.id;
    registered = await registerApp(t.gatehouse, { name: 'Zapflow', redirectUris: [CALLBACK] });
    await t.gatehouse.indexer.idle();
    browser = await launchChromium();
    context = await browser.newContext();
    await context.route('https://zapflow.example/**', (route) => {
      atPartner.push(new URL(route.request().url()));
      return route.fulfill({ status: 200, contentType: 'text/plain', body: 'partner' });
    });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    await signIn(page, t.url, 'ben@example.com', 'ben-demo');
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const authorize = async (state: string) => {
    const query = new URLSearchParams({ client_id: registered.clientId, redirect_uri: CALLBACK, response_type: 'code', state });
    await page.goto(`${t.url}/v1/oauth/authorize?${query}`);
    await page.getByRole('heading', { name: 'Zapflow wants to access your workspace' }).waitFor();
  };
  const inEveryView = async (name: string) => {
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      await saveScreenshot(page, `${name}-${view.name}`);
    }
    await applyView(page, VIEWS[0]);
  };
  const cancelReachesPartner = async (state: string) => {
    const before = atPartner.length;
    await page.getByRole('button', { name: 'Cancel' }).click();
    // The partner's page has loaded: the next navigation cannot interrupt this one.
    await page.waitForURL((url) => url.href.startsWith(CALLBACK) && url.searchParams.get('state') === state);
    expect(await eventually(() => atPartner.length === before + 1)).toBe(true);
    const answer = atPartner.at(-1)!;
    expect([answer.origin + answer.pathname, answer.searchParams.get('error'), answer.searchParams.get('state')]).toEqual([
      CALLBACK,
      'access_denied',
      state,
    ]);
  };
  const grantRows = () => t.gatehouse.database.db.selectFrom('grants').select('id').where('app_id', '=', registered.app.id).execute();

  it('the first screen says how long access lasts, where to remove it, and who is signed in, with a way to switch', async () => {
    await authorize('first');
    const main = page.getByRole('main');
    await expect(main.textContent()).resolves.toContain('until you or an owner removes it');
    await expect(main.textContent()).resolves.toContain('"My connections"');
    await expect(main.textContent()).resolves.toMatch(/Signed in as .*ben@example\.com/);
    expect(await page.getByRole('button', { name: 'Use another account' }).count()).toBe(1);
    await inEveryView('consent-first-screen');
    await cancelReachesPartner('first');
  });

  it('"Allow access" with nothing picked: the picker again with an error summary, the capabilities kept; Cancel → access_denied', async () => {
    await authorize('nothing');
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.getByRole('heading', { name: 'Select pages in Acme' }).waitFor();
    await page.getByRole('button', { name: 'Allow access' }).click();
    const alert = page.getByRole('alert');
    await expect(alert.textContent()).resolves.toContain('Pick at least one page');
    // Still the picker, inside the layout: the header, the search box, the capabilities, "Allow access".
    expect(await page.getByRole('heading', { name: 'Select pages in Acme' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(await page.getByLabel('Search pages').count()).toBe(1);
    expect(await page.locator('[data-capability]').count()).toBeGreaterThan(0);
    await inEveryView('consent-nothing-picked');
    expect(await grantRows()).toEqual([]);
    await cancelReachesPartner('nothing');
  });

  it('a page ticked and then refused keeps its tick (the policy changed meanwhile: shown on the first screen)', async () => {
    await authorize('policy');
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    const first = page.locator('input[type=checkbox][name=pages]').first();
    await first.check();
    // Acme's owner restricts installs to the approved list while Ben is picking.
    await t.gatehouse.stores.workspaces.setPolicy(acmeId, { installPolicy: 'approved_only', autoApproveOrganisation: false });
    await page.getByRole('button', { name: 'Allow access' }).click();
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/approved/i);
    expect(await page.getByRole('heading', { name: 'Zapflow wants to access your workspace' }).count()).toBe(1);
    await expect(page.getByLabel('Workspace').inputValue()).resolves.toBe(acmeId);
    await inEveryView('consent-policy-refusal');
    expect(await grantRows()).toEqual([]);
    await cancelReachesPartner('policy');
    await t.gatehouse.stores.workspaces.setPolicy(acmeId, { installPolicy: 'no_restrictions', autoApproveOrganisation: false });
  });

  it('"Use another account" signs out, keeps the request and asks the provider again: the next person decides', async () => {
    await authorize('switch');
    await page.getByRole('button', { name: 'Use another account' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Zapflow wants to access your workspace' }).waitFor();
    await expect(page.getByRole('main').textContent()).resolves.toContain('ada@example.com');
    await cancelReachesPartner('switch');
  });

  it('an expired request: a page in the layout that explains and links home; Cancel there cannot reach the partner', async () => {
    await authorize('expired');
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.locator('input[type=checkbox][name=pages]').first().check();
    clock.advance(11 * 60_000);
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.getByRole('heading', { name: 'This request expired' }).waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('expired');
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Back to Gatehouse' }).getAttribute('href')).toBe('/');
    await inEveryView('consent-expired');
    expect(await grantRows()).toEqual([]);
  });
});
