/**
 * A partner's "Connect Notion" button, as a person meets it in Chromium:
 * Ada signs in, the partner sends her to Gatehouse's authorisation endpoint,
 * she chooses a workspace, searches and ticks pages, and presses "Allow
 * access"; the partner's redirect URI (a real local server) receives code,
 * state and iss. Then Ben, to whom Side Project is not offered. Every
 * Gatehouse page passes axe.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { listenOnFreePort, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';

// A 1×1 PNG: the partner's logo, served by Gatehouse.
const LOGO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

describe('a partner connects to a workspace through the consent screen', () => {
  let t: TestGatehouse;
  let partner: http.Server;
  let partnerUrl: string;
  let app: PartnerApp;
  let browser: Browser;
  let page: Page;
  const received: URL[] = [];

  const startAuthorization = async () => {
    const state = randomBytes(16).toString('base64url');
    const query = new URLSearchParams({
      client_id: app.clientId!,
      redirect_uri: `${partnerUrl}/callback`,
      response_type: 'code',
      owner: 'user',
      state,
    });
    await page.goto(`${t.url}/v1/oauth/authorize?${query}`);
    await page.waitForURL(new RegExp(`^${t.url}/consent/[0-9a-f-]{36}$`));
    return state;
  };

  const signIn = async (email: string, password: string) => {
    await page.goto(t.url);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await expectAccessible(page);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.url}/workspaces**`);
  };

  beforeAll(async () => {
    t = await startTestGatehouse();
    ({ server: partner, url: partnerUrl } = await listenOnFreePort());
    partner.on('request', (req, res) => {
      const url = new URL(req.url!, partnerUrl);
      if (url.pathname === '/callback') received.push(url); // not the browser's favicon request
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><html lang="en"><title>Zapflow</title><h1>Zapflow got an answer</h1></html>');
    });
    app = await t.gatehouse.stores.partnerApps.create(
      {
        clientId: `zapflow-${randomBytes(8).toString('base64url')}`,
        clientSecretHash: hashToken(randomBytes(32).toString('base64url')),
        name: 'Zapflow',
        website: 'https://zapflow.example',
        supportContact: null,
        logo: { contentType: 'image/png', bytes: LOGO },
        redirectUris: [`${partnerUrl}/callback`],
        capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      new Date(),
    );
    await t.gatehouse.indexer.idle();
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => partner?.close(resolve));
    await t?.stop();
  });

  let state: string;

  it('Ada signs in and the partner sends her to the consent screen', async () => {
    await signIn('ada@example.com', 'ada-demo');
    state = await startAuthorization();
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Zapflow wants to access your workspace');
    await expect(page.getByRole('img', { name: 'Zapflow logo' }).evaluate((img: HTMLImageElement) => img.naturalWidth)).resolves.toBe(1);
    for (const line of ['Read content', 'Insert content', 'Read user information without email addresses']) {
      expect(await page.getByText(line, { exact: true }).count()).toBe(1);
    }
    expect(await page.getByRole('button', { name: 'Allow access' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(1);
    await expectAccessible(page);
  });

  it('chooses a workspace and goes to "Select pages"', async () => {
    const options = await page.getByLabel('Workspace').locator('option').allTextContents();
    expect(options).toEqual(['Acme', 'Side Project']);
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages\?workspace=/);
    await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Select pages in Acme');
    // Children are listed under their parents.
    const engineering = page.getByRole('listitem').filter({ has: page.getByLabel('Engineering', { exact: true }) });
    expect(await engineering.getByLabel('Architecture', { exact: true }).count()).toBe(1);
    await expectAccessible(page);
  });

  it('searches, ticks pages, and the ticks survive the next search', async () => {
    await page.getByLabel('Search pages').fill('road');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/q=road/);
    expect(await page.getByRole('checkbox').count()).toBe(1);
    await page.getByLabel('Roadmap 2026', { exact: true }).check();
    await expectAccessible(page);
    // Enter in the search box searches (the first button of the form is "Search").
    await page.getByLabel('Search pages').fill('');
    await page.getByLabel('Search pages').press('Enter');
    await page.waitForURL((url) => !url.searchParams.has('q'));
    await expect(page.getByLabel('Roadmap 2026', { exact: true }).isChecked()).resolves.toBe(true);
    await page.getByLabel('Engineering', { exact: true }).check();
    await expectAccessible(page);
  });

  it('"Allow access": the partner\'s redirect URI receives code, state and iss', async () => {
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(`${partnerUrl}/callback**`);
    expect(received).toHaveLength(1);
    const answer = received[0]!;
    expect([...answer.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);
    expect(answer.searchParams.get('state')).toBe(state);
    expect(answer.searchParams.get('iss')).toBe(t.url);
    expect(answer.searchParams.get('code')).toMatch(/^gh_code_[A-Za-z0-9_-]{43}$/);
    const ada = (await t.gatehouse.stores.people.findByEmail('ada@example.com'))[0]!;
    const grant = (await t.gatehouse.stores.grants.findFor(ada.id, app.id, SEED_WORKSPACE_IDS.acme))!;
    expect([...grant.pageIds].sort()).toEqual([SEED_PAGE_IDS.engineering, SEED_PAGE_IDS.roadmap2026].sort());
    expect(grant.capabilities).toEqual(['read_content', 'insert_content', 'user_info_without_email']);
  });

  it('Ben is not offered Side Project', async () => {
    await page.goto(`${t.url}/workspaces`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${t.url}/`);
    await signIn('ben@example.com', 'ben-demo');
    await startAuthorization();
    expect(await page.getByLabel('Workspace').locator('option').allTextContents()).toEqual(['Acme']);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages\?workspace=/);
    expect(await page.getByLabel('Side Project Home', { exact: true }).count()).toBe(0);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${partnerUrl}/callback**`);
    expect(received).toHaveLength(2);
    expect(received[1]!.searchParams.get('error')).toBe('access_denied');
    expect(received[1]!.searchParams.get('iss')).toBe(t.url);
  });
});
