/**
 * Disconnecting, the three ways a page offers it:
 * - "Connections" lists every connection of the workspace, internal
 *   integrations included, and "Disconnect" takes an internal integration off
 *   every page of the workspace: its token reaches nothing from the next call;
 * - "Disconnect" on "Your workspaces": a person's own Notion account for one
 *   workspace (revoked at Notion, ciphertext destroyed, grants through it
 *   revoked);
 * - "Disconnect workspace from Gatehouse" on "Connections".
 * Opened by the refusals, each asserting that nothing changed; every step
 * asserts the answer and the rows and audit events behind it. The new buttons
 * pass axe-core in Chromium.
 *
 * Cast: Ada owns Acme and Side Project; Ben is a member of Acme; Cy owns
 * "Elsewhere" and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AxeBuilder } from '@axe-core/playwright';
import { APIResponseError, Client } from '@notionhq/client';
import type { Browser as Chromium, Page } from 'playwright-core';
import { Browser, signIn } from '../support/browser.js';
import { launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { createOutsider, csrfOf, signInAs } from '../support/admin-actors.js';
import { issueCode, redeem as redeemCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import type { Person } from '../../src/store/people.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;

describe('disconnecting: internal integrations on "Connections", a Notion account on "Your workspaces", a whole workspace', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let cyBrowser: Browser;
  let adaCsrf: string;
  let benCsrf: string;
  let cyCsrf: string;
  let adaP: Person;
  let benP: Person;
  let adaAdminToken: string;
  let partner: RegisteredApp;
  let integrationId: string;
  let integrationToken: string;
  let pageIds: string[];

  const db = () => t.gatehouse.database.db;
  const snapshot = async () => ({
    pages: await db().selectFrom('internal_integration_pages').selectAll().orderBy('app_id').orderBy('page_id').execute(),
    connections: await db()
      .selectFrom('upstream_connections')
      .select(['id', 'status', 'credential_ciphertext', 'version'])
      .orderBy('id')
      .execute(),
    grants: await db().selectFrom('grants').select(['id', 'status']).orderBy('id').execute(),
    access: await db().selectFrom('access_tokens').select(['token_hash', 'revoked_at']).orderBy('token_hash').execute(),
    audit: Number(
      (
        await db()
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('action', '!=', 'admin_token.used')
          .executeTakeFirstOrThrow()
      ).n,
    ),
  });
  const auditOf = (action: string) => db().selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute();
  const page = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decodeHtml(await response.text()) };
  };
  const api = (path: string, token: string | null, body?: unknown) =>
    fetch(`${t.url}/api/admin/v1${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  /** The partner's side: @notionhq/client against Gatehouse's proxy; the status it got (200 when the call worked). */
  const notionStatus = async (token: string, pageId: string) => {
    try {
      await new Client({ auth: token, baseUrl: t.url, retry: false, logger: () => {} }).pages.retrieve({ page_id: pageId });
      return 200;
    } catch (err) {
      if (err instanceof APIResponseError) return err.status;
      throw err;
    }
  };
  const redeem = async (code: string) => {
    const response = await redeemCode(t.url, partner, code);
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string };
  };
  const introspect = (token: string) =>
    new Client({ baseUrl: t.url, retry: false }).oauth.introspect({
      token,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
  const connectPages = async (appId: string, ids: string[]) => {
    for (const id of ids)
      expect((await api(`/workspaces/${ACME}/pages/${id}/connections`, adaAdminToken, { integration_id: appId })).status).toBe(201);
  };

  beforeAll(async () => {
    t = await startTestGatehouse();
    const { stores } = t.gatehouse;
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    const cy = await createOutsider(t, {
      email: 'cy@example.com',
      name: 'Cy Outsider',
      workspace: { id: 'ws-elsewhere', name: 'Elsewhere' },
    });
    cyBrowser = await signInAs(t, cy);
    [adaCsrf, benCsrf, cyCsrf] = [await csrfOf(ada, t.url), await csrfOf(ben, t.url), await csrfOf(cyBrowser, t.url)];
    [adaP] = (await stores.people.findByEmail('ada@example.com')) as [Person];
    [benP] = (await stores.people.findByEmail('ben@example.com')) as [Person];
    adaAdminToken = (await stores.adminTokens.create({ personId: adaP.id, label: 'tests', bootstrap: false }, new Date())).token;
    partner = await registerApp(t.gatehouse, { name: 'Zapflow' });
    await t.gatehouse.indexer.idle();

    const created = await api('/integrations', adaAdminToken, { name: 'Acme digest', workspace_id: ACME, capabilities: ['read_content'] });
    expect(created.status).toBe(201);
    integrationId = ((await created.json()) as { id: string }).id;
    integrationToken = ((await (await api(`/integrations/${integrationId}/token`, adaAdminToken, {})).json()) as { token: string }).token;
    const adaAcme = (await stores.connections.findForPersonAndWorkspace(adaP.id, ACME))!;
    pageIds = (await stores.pageIndex.roots(adaAcme.id, 2, 0)).map((p) => p.pageId);
    expect(pageIds).toHaveLength(2);
    await connectPages(integrationId, pageIds);
  });
  afterAll(async () => t?.stop());

  const internalDisconnect = () => `/connections/${ACME}/integrations/${integrationId}/disconnect`;

  it('rejects unauthenticated callers: the new forms and API answer 401/403, nothing changes', async () => {
    const before = await snapshot();
    for (const path of [internalDisconnect(), `/connections/${ACME}/disconnect`, `/workspaces/${ACME}/disconnect`]) {
      const response = await fetch(`${t.url}${path}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ _csrf: 'x' }),
      });
      expect([path, [401, 403].includes(response.status)]).toEqual([path, true]);
    }
    expect((await api(`/workspaces/${ACME}/integrations/${integrationId}/disconnect`, null, {})).status).toBe(401);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a member (403), the owner of another workspace (404), a form without its CSRF token (403): nothing changes', async () => {
    const before = await snapshot();
    expect((await postForm(ben, `${t.url}${internalDisconnect()}`, { _csrf: benCsrf })).status).toBe(403);
    expect((await postForm(ben, `${t.url}/connections/${ACME}/disconnect`, { _csrf: benCsrf })).status).toBe(403);
    expect((await postForm(cyBrowser, `${t.url}${internalDisconnect()}`, { _csrf: cyCsrf })).status).toBe(404);
    expect((await postForm(cyBrowser, `${t.url}/connections/${ACME}/disconnect`, { _csrf: cyCsrf })).status).toBe(404);
    // Cy has no Notion account in Acme: "Your workspaces" finds nothing of his to disconnect there.
    expect((await postForm(cyBrowser, `${t.url}/workspaces/${ACME}/disconnect`, { _csrf: cyCsrf })).status).toBe(404);
    expect((await postForm(ada, `${t.url}${internalDisconnect()}`, {})).status).toBe(403);
    expect((await postForm(ada, `${t.url}/workspaces/${ACME}/disconnect`, {})).status).toBe(403);
    // An integration of Acme through another workspace's URL does not exist.
    const sideId = (await t.gatehouse.stores.workspaces.listAll()).find((w) => w.name === 'Side Project')!.id;
    expect(
      (await postForm(ada, `${t.url}/connections/${sideId}/integrations/${integrationId}/disconnect`, { _csrf: adaCsrf })).status,
    ).toBe(404);
    expect(await snapshot()).toEqual(before);
  });

  it('"Connections" lists the internal integration beside public ones: creator, date, pages, link, "Disconnect"', async () => {
    const before = await snapshot();
    const { status, html } = await page(ada, `/connections?workspace=${ACME}`);
    expect(status).toBe(200);
    const row = new RegExp(`<tr data-internal-integration-id="${integrationId}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
    expect(row).toBeDefined();
    expect(row).toContain(`<a href="/integrations/${integrationId}">Acme digest</a> <small>(internal integration)</small>`);
    const today = new Date().toISOString().slice(0, 10);
    expect(row).toContain(`Created by ada@example.com, <time datetime="${today}">${today}</time>`);
    expect(row).toContain('<span data-page-count>2 pages</span> connected by ada@example.com');
    expect(row).toContain('Not given');
    expect(row).toContain(`action="${internalDisconnect()}"`);
    expect(row).toContain('<button type="submit" aria-label="Disconnect Acme digest">Disconnect</button>');
    expect(html).toContain('aria-label="Disconnect workspace from Gatehouse: Acme">Disconnect workspace from Gatehouse</button>');
    // The admin API says the same.
    const listed = (await (await api(`/workspaces/${ACME}/connections`, adaAdminToken)).json()) as { internal_integrations: unknown[] };
    expect(listed.internal_integrations).toEqual([
      {
        app: expect.objectContaining({
          id: integrationId,
          name: 'Acme digest',
          integration_kind: 'internal',
          website: null,
          support_contact: null,
        }),
        created_at: expect.any(String),
        created_by: { id: adaP.id, email: 'ada@example.com' },
        pages: 2,
        connected_by: ['ada@example.com'],
      },
    ]);
    expect(await snapshot()).toEqual(before);
  });

  it('"Disconnect" takes the internal integration off every page: 303, audited, its token reaches nothing; idempotent', async () => {
    for (const id of pageIds) expect(await notionStatus(integrationToken, id)).toBe(200);
    const response = await postForm(ada, `${t.url}${internalDisconnect()}`, {
      _csrf: adaCsrf,
      confirm: 'yes',
      return_to: `/connections?workspace=${ACME}`,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/connections?workspace=${ACME}&notice=integration_disconnected`);
    expect(await db().selectFrom('internal_integration_pages').selectAll().where('app_id', '=', integrationId).execute()).toEqual([]);
    const audit = await auditOf('internal_integration.disconnected');
    expect(audit.map((e) => [e.actor_type, e.actor_id, e.target_id, e.workspace_id, e.outcome])).toEqual([
      ['person', adaP.id, integrationId, ACME, 'success'],
    ]);
    expect(audit[0]!.detail).toMatchObject({ appId: integrationId, pageIds: [...pageIds].sort() });
    for (const id of pageIds) expect(await notionStatus(integrationToken, id)).toBe(401);
    const after = await page(ada, response.headers.get('location')!);
    expect(after.html).toContain('Internal integration disconnected from every page of this workspace.');
    expect(after.html).toContain('<span data-page-count>0 pages</span> connected</li>');
    expect(after.html).not.toContain('aria-label="Disconnect Acme digest"');
    // The integration itself stays: an owner may connect it to pages again.
    expect(
      (await db().selectFrom('partner_apps').select('integration_kind').where('id', '=', integrationId).executeTakeFirstOrThrow())
        .integration_kind,
    ).toBe('internal');
    const before = await snapshot();
    expect((await postForm(ada, `${t.url}${internalDisconnect()}`, { _csrf: adaCsrf, confirm: 'yes' })).status).toBe(303);
    expect(await snapshot()).toEqual(before);
  });

  it("the admin API disconnects an internal integration too (owner's admin token); a member's token is refused", async () => {
    await connectPages(integrationId, [pageIds[0]!]);
    expect(await notionStatus(integrationToken, pageIds[0]!)).toBe(200);
    const benToken = (await t.gatehouse.stores.adminTokens.create({ personId: benP.id, label: 'ben', bootstrap: false }, new Date())).token;
    const before = await snapshot();
    expect((await api(`/workspaces/${ACME}/integrations/${integrationId}/disconnect`, benToken, {})).status).toBe(403);
    expect(await snapshot()).toEqual(before);
    const response = await api(`/workspaces/${ACME}/integrations/${integrationId}/disconnect`, adaAdminToken, { reason: 'rotation drill' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      object: 'internal_integration_disconnection',
      integration_id: integrationId,
      pages_disconnected: [pageIds[0]],
    });
    expect(await notionStatus(integrationToken, pageIds[0]!)).toBe(401);
    const audit = (await auditOf('internal_integration.disconnected')).at(-1)!;
    expect([audit.actor_type, (audit.detail as { reason: string }).reason]).toEqual(['admin_token', 'rotation drill']);
  });

  it('"Your workspaces" shows "Disconnect" per connected workspace, and the new buttons pass axe-core in Chromium', async () => {
    const { html } = await page(ada, '/workspaces');
    for (const name of ['Acme', 'Side Project'])
      expect(html).toContain(`<button type="submit" aria-label="Disconnect ${name}">Disconnect</button>`);
    expect(html).not.toContain('aria-label="Disconnect Archive"');
    await connectPages(integrationId, pageIds); // a row with its "Disconnect" button, for the check
    let chromium: Chromium | undefined;
    try {
      chromium = await launchChromium();
      const tab: Page = await (await chromium.newContext()).newPage();
      await tab.goto(`${t.url}/auth/sign-in?return_to=%2Fworkspaces`);
      await tab.getByLabel('Email').fill('ada@example.com');
      await tab.getByLabel('Password').fill('ada-demo');
      await tab.getByRole('button', { name: 'Sign in' }).click();
      await tab.waitForURL(`${t.url}/workspaces`);
      expect(await tab.getByRole('button', { name: 'Disconnect Acme' }).count()).toBe(1);
      expect(await tab.getByRole('button', { name: 'Disconnect Side Project' }).count()).toBe(1);
      await expectAccessible(tab);
      await tab.goto(`${t.url}/connections?workspace=${ACME}`);
      expect(await tab.getByRole('button', { name: 'Disconnect Acme digest' }).count()).toBe(1);
      expect(await tab.getByRole('button', { name: 'Disconnect workspace from Gatehouse: Acme' }).count()).toBe(1);
      await expectAccessible(tab);
    } finally {
      await chromium?.close();
    }
  });

  it('Ben presses "Disconnect" on Acme: 303; revoked at Notion, ciphertext destroyed, his grant revoked, audited', async () => {
    const { code, grantId } = await issueCode(t.gatehouse, {
      registered: partner,
      email: 'ben@example.com',
      workspaceName: 'Acme',
      pageCount: 1,
    });
    const { access_token: access } = await redeem(code);
    expect((await introspect(access)).active).toBe(true);
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(benP.id, ACME))!;
    const upstreamToken = decryptCredential(t.gatehouse.keyring, connection.credentialCiphertext!, connection.id).accessToken;
    const atNotion = () =>
      fetch(`${t.url}/sandbox/notion/v1/users/me`, {
        headers: { authorization: `Bearer ${upstreamToken}`, 'notion-version': '2022-06-28' },
      });
    expect((await atNotion()).status).toBe(200);

    const response = await postForm(ben, `${t.url}/workspaces/${ACME}/disconnect`, { _csrf: benCsrf, confirm: 'yes' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/workspaces?notice=disconnected');
    const row = await db()
      .selectFrom('upstream_connections')
      .select(['status', 'credential_ciphertext'])
      .where('id', '=', connection.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'disconnected', credential_ciphertext: null });
    expect((await atNotion()).status).toBe(401);
    expect(await introspect(access)).toEqual({ active: false });
    const grant = await db()
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason'])
      .where('id', '=', grantId)
      .executeTakeFirstOrThrow();
    expect(grant).toEqual({
      status: 'revoked',
      revoked_by: `person:${benP.id}`,
      revoke_reason: 'Notion account disconnected by its person',
    });
    const audit = (await auditOf('upstream_connection.disconnected')).filter((e) => e.target_id === connection.id);
    expect(audit.map((e) => [e.actor_id, e.workspace_id, (e.detail as { revokedAtNotion: boolean }).revokedAtNotion])).toEqual([
      [benP.id, ACME, true],
    ]);
    // The page says so; no "Disconnect" is left on that row; Ada's connection is untouched.
    const { html } = await page(ben, response.headers.get('location')!);
    expect(html).toContain('Notion account disconnected');
    expect(html).not.toContain('aria-label="Disconnect Acme"');
    expect((await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaP.id, ACME))!.status).toBe('active');
    // Pressing it again (a stale page) is harmless: nothing new is recorded.
    const before = await snapshot();
    expect((await postForm(ben, `${t.url}/workspaces/${ACME}/disconnect`, { _csrf: benCsrf, confirm: 'yes' })).status).toBe(303);
    expect(await snapshot()).toEqual(before);
  });

  it('"Disconnect workspace from Gatehouse": every credential destroyed, every grant revoked, internal integrations off every page; audited', async () => {
    const { code, grantId } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme' });
    const { access_token: access } = await redeem(code);
    expect(await notionStatus(integrationToken, pageIds[0]!)).toBe(200);
    const adaAcme = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaP.id, ACME))!;

    const response = await postForm(ada, `${t.url}/connections/${ACME}/disconnect`, { _csrf: adaCsrf, confirm: 'yes' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/connections?workspace=${ACME}&notice=workspace_disconnected`);
    const connections = await db()
      .selectFrom('upstream_connections')
      .select(['status', 'credential_ciphertext'])
      .where('workspace_id', '=', ACME)
      .execute();
    expect(connections.length).toBe(2);
    expect(connections.every((c) => c.status === 'disconnected' && c.credential_ciphertext === null)).toBe(true);
    expect(await db().selectFrom('grants').select('id').where('workspace_id', '=', ACME).where('status', '=', 'active').execute()).toEqual(
      [],
    );
    expect(await db().selectFrom('internal_integration_pages').selectAll().where('app_id', '=', integrationId).execute()).toEqual([]);
    expect(await introspect(access)).toEqual({ active: false });
    expect(await notionStatus(integrationToken, pageIds[0]!)).toBe(401);
    const upstreamAudit = (await auditOf('upstream_connection.disconnected')).filter((e) => e.target_id === adaAcme.id);
    expect(upstreamAudit).toHaveLength(1);
    expect(upstreamAudit[0]!.detail).toMatchObject({
      reason: 'workspace disconnected from Gatehouse',
      revokedAtNotion: true,
      internalIntegrationPages: expect.any(Array),
    });
    expect((await auditOf('grant.revoked')).filter((e) => e.target_id === grantId).map((e) => e.actor_id)).toEqual([adaP.id]);
    expect((await page(ada, response.headers.get('location')!)).html).toContain('Workspace disconnected from Gatehouse');
    // Side Project is untouched.
    const sideId = (await t.gatehouse.stores.workspaces.listAll()).find((w) => w.name === 'Side Project')!.id;
    expect((await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaP.id, sideId))!.status).toBe('active');
  });
});

async function expectAccessible(page: Page): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  expect(results.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`)).toEqual([]);
}
