/**
 * An owner restricts installs, in Chromium: Ada, Acme's
 * owner, switches Acme to "Only from approved list"; Ben's attempt to
 * install Zapflow (not approved) is refused on the consent screen; Ada
 * installs it herself (owners are exempt) and adds it with "+ Add approved
 * connection"; Ben installs it; Ada presses "Revoke access" for Ben; the
 * partner's next call with Ben's token is refused, by the proxy and by
 * introspection. Every Gatehouse page on the way passes axe.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { Client } from '@notionhq/client';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { listenOnFreePort, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { signIn } from '../pages/views.js';
import { generateToken, hashToken } from '../../src/crypto/tokens.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';

describe("an owner restricts installs to an approved list and revokes a member's access", () => {
  let t: TestGatehouse;
  let partner: http.Server;
  let partnerUrl: string;
  let app: PartnerApp;
  const clientSecret = generateToken('gh_cs');
  let browser: Browser;
  let ada: Page;
  let ben: Page;
  const received: URL[] = [];

  /** The partner's "Connect Notion" button: off to Gatehouse's authorisation endpoint. */
  const startAuthorization = async (page: Page) => {
    const query = new URLSearchParams({
      client_id: app.clientId!,
      redirect_uri: `${partnerUrl}/callback`,
      response_type: 'code',
      owner: 'user',
      state: randomBytes(16).toString('base64url'),
    });
    await page.goto(`${t.url}/v1/oauth/authorize?${query}`);
    await page.waitForURL(new RegExp(`^${t.url}/consent/[0-9a-f-]{36}`));
  };

  /** On the consent screen: Acme, "Select pages", tick the first page, "Allow access"; returns the code the partner received. */
  const allowOnePage = async (page: Page) => {
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages\?workspace=/);
    await page.getByRole('checkbox').first().check();
    const before = received.length;
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(`${partnerUrl}/callback**`);
    expect(received).toHaveLength(before + 1);
    return received.at(-1)!.searchParams.get('code')!;
  };

  const openConsole = async (page: Page) => {
    await page.goto(`${t.url}/workspaces`);
    await page.getByRole('link', { name: 'Connections', exact: true }).click();
    await page.waitForURL(`${t.url}/connections**`);
  };

  beforeAll(async () => {
    t = await startTestGatehouse();
    ({ server: partner, url: partnerUrl } = await listenOnFreePort());
    partner.on('request', (req, res) => {
      const url = new URL(req.url!, partnerUrl);
      if (url.pathname === '/callback') received.push(url);
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
        .end('<!doctype html><html lang="en"><title>Zapflow</title><h1>Zapflow got an answer</h1></html>');
    });
    app = await t.gatehouse.stores.partnerApps.create(
      {
        clientId: `zapflow-${randomBytes(8).toString('base64url')}`,
        clientSecretHash: hashToken(clientSecret),
        name: 'Zapflow',
        website: 'https://zapflow.example',
        supportContact: 'help@zapflow.example',
        logo: null,
        redirectUris: [`${partnerUrl}/callback`],
        capabilities: ['read_content', 'user_info_without_email'],
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      new Date(),
    );
    await t.gatehouse.indexer.idle();
    browser = await launchChromium();
    ada = await (await browser.newContext()).newPage();
    ben = await (await browser.newContext()).newPage();
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => partner?.close(resolve));
    await t?.stop();
  });

  it('Ada opens "Connections" and switches Acme to "Only from approved list"', async () => {
    await openConsole(ada);
    await expect(ada.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Connections');
    await expectAccessible(ada);
    const policy = ada.getByRole('group', { name: 'Restrict members from installing connections' });
    await expect(policy.getByLabel('No restrictions').isChecked()).resolves.toBe(true);
    await policy.getByLabel('Only from approved list').check();
    await ada.getByLabel('Auto-approve connections built by Gatehouse demo').uncheck();
    await ada.getByRole('button', { name: 'Save policy' }).click();
    await ada.waitForURL(/notice=policy/);
    await expect(ada.getByRole('status').textContent()).resolves.toBe('Install policy saved.');
    await expect(ada.getByLabel('Only from approved list').isChecked()).resolves.toBe(true);
    await expectAccessible(ada);
    expect((await t.gatehouse.stores.workspaces.findById(SEED_WORKSPACE_IDS.acme))!.installPolicy).toBe('approved_only');
  });

  it("Ben's attempt to install Zapflow is refused on the consent screen", async () => {
    await startAuthorization(ben);
    await ben.getByLabel('Workspace').selectOption({ label: 'Acme' });
    const refusal = ben.getByRole('alert');
    await expect(refusal.textContent()).resolves.toContain('only allow connections from their approved list, and Zapflow is not on it');
    expect(await ben.getByRole('button', { name: 'Allow access' }).count()).toBe(0);
    expect(await ben.getByRole('button', { name: 'Select pages' }).count()).toBe(0);
    await expectAccessible(ben);
    expect(received).toHaveLength(0);
  });

  it('Ada, an owner, installs Zapflow herself', async () => {
    await startAuthorization(ada);
    expect(await allowOnePage(ada)).toMatch(/^gh_code_/);
  });

  it('Ada adds Zapflow with "+ Add approved connection"; the list shows who installed it', async () => {
    await openConsole(ada);
    await ada.getByLabel(/Connection to approve/).selectOption({ label: 'Zapflow' });
    await ada.getByRole('button', { name: '+ Add approved connection' }).click();
    await ada.waitForURL(/notice=approved/);
    const entry = ada.getByRole('region', { name: 'Approved connections' }).getByRole('row', { name: /Zapflow/ });
    await expect(entry.textContent()).resolves.toContain('ada@example.com');
    expect(await entry.getByRole('button', { name: 'Remove from approved list' }).count()).toBe(1);
    expect(await entry.getByRole('button', { name: 'Disconnect all users' }).count()).toBe(1);
    await expectAccessible(ada);
  });

  let benToken: string;

  it('Ben installs Zapflow; the partner redeems the code and calls Notion through Gatehouse', async () => {
    await startAuthorization(ben);
    const code = await allowOnePage(ben);
    const notion = new Client({ baseUrl: t.url, retry: false });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: `${partnerUrl}/callback`,
      client_id: app.clientId!,
      client_secret: clientSecret,
    });
    benToken = answer.access_token;
    const me = await new Client({ auth: benToken, baseUrl: t.url, retry: false }).users.me({});
    expect(me.object).toBe('user');
  });

  it('Ada views the users with access and presses "Revoke access" for Ben', async () => {
    await openConsole(ada);
    await ada.getByRole('link', { name: /View users with access/ }).click();
    await expect(ada.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Users with access to Zapflow');
    const row = ada.getByRole('row', { name: /ben@example\.com/ });
    await expect(row.textContent()).resolves.toContain('Read content');
    await expectAccessible(ada);
    await row.getByRole('button', { name: 'Revoke access' }).click();
    // The confirm step: the same button again.
    await ada.getByRole('main').getByRole('button', { name: 'Revoke access' }).click();
    await ada.waitForURL(/notice=revoked/);
    await expect(ada.getByRole('status').textContent()).resolves.toContain('Access revoked');
    expect(await ada.getByRole('row', { name: /ben@example\.com/ }).count()).toBe(0);
    expect(await ada.getByRole('row', { name: /ada@example\.com/ }).count()).toBe(1);
    await expectAccessible(ada);
  });

  it('the partner\'s next call with Ben\'s token is refused: the proxy answers 401 and introspection {"active": false}', async () => {
    await expect(new Client({ auth: benToken, baseUrl: t.url, retry: false, logger: () => undefined }).users.me({})).rejects.toMatchObject({
      status: 401,
    });
    const introspection = await new Client({ baseUrl: t.url, retry: false }).oauth.introspect({
      token: benToken,
      client_id: app.clientId!,
      client_secret: clientSecret,
    });
    expect(introspection).toEqual({ active: false });
  });

  it('Ben\'s "My connections" no longer lists Zapflow in Acme', async () => {
    await ben.goto(`${t.url}/workspaces`);
    await ben.getByRole('link', { name: 'My connections' }).click();
    await ben.waitForURL(`${t.url}/connections/mine`);
    expect(await ben.getByRole('row', { name: /Zapflow/ }).count()).toBe(0);
    await expectAccessible(ben);
  });
});
