/**
 * Internal integrations, as an owner meets them: "New
 * integration", "Copy internal integration token" (each retrieval audited),
 * pages connected from the page's side ("Add connections", "Disconnect"),
 * "Convert to public" (the stored scope is exactly the connected pages), and
 * the refusals: members and owners of other workspaces change nothing.
 * Opened by the refusals of callers without credentials.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { everythingAnActionCouldChange } from './internal-integration-snapshot.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { createOutsider, csrfOf, signInAs } from '../support/admin-actors.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { Keyring } from '../../src/crypto/keyring.js';
import { rotateKeys } from '../../src/admin/keys.js';
import { randomBytes } from 'node:crypto';
import type { Person } from '../../src/store/people.js';

describe('internal integrations: created by owners, connected from pages, converted to public', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let cyBrowser: Browser;
  let acmeId: string;
  let adaToken: string;
  let benToken: string;
  let cyToken: string;
  let cy: Person;
  let appId: string;
  let internalToken: string;
  let pageIds: string[];
  let thirdPageId: string;

  const db = () => t.gatehouse.database.db;
  const appRow = () => db().selectFrom('partner_apps').selectAll().where('id', '=', appId).executeTakeFirstOrThrow();
  const pageRows = () => db().selectFrom('internal_integration_pages').selectAll().where('app_id', '=', appId).orderBy('page_id').execute();
  const auditOf = (action: string) => db().selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute();
  const snapshot = () => everythingAnActionCouldChange(db());
  const api = (path: string, token: string | null, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${t.url}/api/admin/v1${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        accept: 'application/json',
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
  const page = (browser: Browser, path: string) => browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
  const createAdminToken = async (browser: Browser) => {
    const csrf = await csrfOf(browser, t.url);
    const created = await postForm(browser, `${t.url}/admin/tokens`, { _csrf: csrf, label: 'tests' });
    expect(created.status).toBe(201);
    return /value="(gh_admin_[^"]+)" data-admin-token/.exec(await created.text())?.[1] ?? '';
  };

  beforeAll(async () => {
    t = await startTestGatehouse();
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    cy = await createOutsider(t, { email: 'cy@example.com', name: 'Cy Outsider', workspace: { id: 'ws-elsewhere', name: 'Elsewhere' } });
    cyBrowser = await signInAs(t, cy);
    acmeId = (await t.gatehouse.stores.workspaces.listAll()).find((w) => w.name === 'Acme')!.id;
    adaToken = await createAdminToken(ada);
    benToken = await createAdminToken(ben);
    cyToken = await createAdminToken(cyBrowser);
    for (const token of [adaToken, benToken, cyToken]) expect(token).toMatch(/^gh_admin_/);
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers: the API answers 401, the pages send to sign-in, nothing stored', async () => {
    const before = await snapshot();
    expect((await api('/integrations', null)).status).toBe(401);
    expect((await api('/integrations', 'gh_admin_not-a-real-token-at-all')).status).toBe(401);
    expect(
      (
        await api('/integrations', 'gh_admin_not-a-real-token-at-all', {
          body: { name: 'x', workspace_id: acmeId, capabilities: ['read_content'] },
        })
      ).status,
    ).toBe(401);
    const signedOut = await fetch(`${t.url}/integrations`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(signedOut.status).toBe(303);
    expect(signedOut.headers.get('location')).toBe('/auth/sign-in?return_to=%2Fintegrations');
    expect(await snapshot()).toEqual(before);
  });

  it('"New integration": an owner names it, picks the workspace and capabilities; the token is stored encrypted and hashed', async () => {
    const list = await page(ada, '/integrations');
    expect(list.status).toBe(200);
    const html = await list.text();
    expect(html).toContain('>New integration</button>');
    expect(html).toMatch(/<label for="integration-workspace">Associated workspace/);
    const created = await postForm(ada, `${t.url}/integrations`, {
      _csrf: csrfTokenOf(html),
      name: 'Acme reporting bot',
      workspace: acmeId,
      capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
      logo_url: '',
    });
    expect(created.status).toBe(303);
    appId = /^\/integrations\/([0-9a-f-]{36})\?notice=created$/.exec(created.headers.get('location')!)![1]!;
    const row = await appRow();
    expect(row).toMatchObject({
      integration_kind: 'internal',
      workspace_id: acmeId,
      client_id: null,
      client_secret_hash: null,
      name: 'Acme reporting bot',
    });
    expect(row.capabilities).toEqual(['read_content', 'insert_content', 'user_info_without_email']);
    expect(t.gatehouse.keyring.keyIdOf(row.internal_token_ciphertext!)).toBe(t.gatehouse.keyring.currentKeyId);
    expect(row.internal_token_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await auditOf('internal_integration.created')).map((e) => [e.target_id, e.workspace_id, e.actor_type])).toEqual([
      [appId, acmeId, 'person'],
    ]);
  });

  it('"Copy internal integration token" shows the token to an owner, any time; each retrieval is an audit event', async () => {
    const detail = await page(ada, `/integrations/${appId}`);
    const html = await detail.text();
    expect(html).toContain('>Copy internal integration token</button>');
    const shown = await postForm(ada, `${t.url}/integrations/${appId}/token`, { _csrf: csrfTokenOf(html) });
    expect(shown.status).toBe(200);
    internalToken = /value="(gh_int_[A-Za-z0-9_-]{43})" data-internal-token/.exec(await shown.text())![1]!;
    const row = await appRow();
    expect(row.internal_token_hash).toBe(hashToken(internalToken));
    expect(t.gatehouse.keyring.decrypt(row.internal_token_ciphertext!, `partner_app:${appId}`)).toBe(internalToken);
    expect(() => t.gatehouse.keyring.decrypt(row.internal_token_ciphertext!, 'partner_app:another')).toThrow();
    expect(JSON.stringify(row)).not.toContain(internalToken);
    // The same token through the API, with Ada's personal admin token.
    const viaApi = await api(`/integrations/${appId}/token`, adaToken, { body: {} });
    expect(viaApi.status).toBe(200);
    expect(await viaApi.json()).toEqual({ id: appId, token: internalToken });
    const reads = await auditOf('internal_integration.token_read');
    expect(reads.map((e) => [e.actor_type, e.target_id, e.workspace_id, e.outcome])).toEqual([
      ['person', appId, acmeId, 'success'],
      ['admin_token', appId, acmeId, 'success'],
    ]);
    expect(JSON.stringify(reads)).not.toContain(internalToken);
  });

  it('connects two pages from the page side: "Add connections" on each page of the owner\'s index', async () => {
    const index = await page(ada, `/workspaces/${acmeId}/pages`);
    expect(index.status).toBe(200);
    const links = [...(await index.text()).matchAll(/<li data-page-id="([^"]+)"><a href="[^"]+">([^<]+)<\/a>/g)].map((m) => ({
      id: m[1]!,
      title: decodeHtml(m[2]!),
    }));
    expect(links.length).toBeGreaterThan(3);
    pageIds = [links[0]!.id, links[1]!.id];
    for (const pageId of pageIds) {
      const before = await (await page(ada, `/workspaces/${acmeId}/pages/${pageId}`)).text();
      expect(before).toContain('No internal integration is connected to this page.');
      expect(before).toContain('>Add connections</button>');
      expect(before).toContain(`<option value="${appId}">Acme reporting bot</option>`);
      const added = await postForm(ada, `${t.url}/workspaces/${acmeId}/pages/${pageId}/connections`, {
        _csrf: csrfTokenOf(before),
        integration: appId,
      });
      expect(added.status).toBe(303);
      const after = await (await page(ada, added.headers.get('location')!)).text();
      expect(after).toContain('aria-label="Disconnect Acme reporting bot">Disconnect</button>');
    }
    const adaConnection = await t.gatehouse.stores.connections.findForPersonAndWorkspace(
      (await t.gatehouse.stores.people.findByEmail('ada@example.com'))[0]!.id,
      acmeId,
    );
    expect((await pageRows()).map((r) => [r.page_id, r.connection_id])).toEqual([...pageIds].sort().map((id) => [id, adaConnection!.id]));
    // The search narrows the integrations offered.
    const third = links[2]!.id;
    thirdPageId = third;
    const searched = await (await page(ada, `/workspaces/${acmeId}/pages/${third}?q=nothing-like-this`)).text();
    expect(searched).not.toContain(`<option value="${appId}">`);
    expect(await (await page(ada, `/workspaces/${acmeId}/pages/${third}?q=reporting`)).text()).toContain(`<option value="${appId}">`);
  });

  it('"Disconnect" on a page removes only that connection (audited)', async () => {
    const third = thirdPageId;
    const html = await (await page(ada, `/workspaces/${acmeId}/pages/${third}`)).text();
    expect(
      (await postForm(ada, `${t.url}/workspaces/${acmeId}/pages/${third}/connections`, { _csrf: csrfTokenOf(html), integration: appId }))
        .status,
    ).toBe(303);
    expect((await pageRows()).length).toBe(3);
    // The first press only asks: nothing is removed until the confirm step's second press.
    const asked = await postForm(ada, `${t.url}/workspaces/${acmeId}/pages/${third}/connections/${appId}/disconnect`, {
      _csrf: csrfTokenOf(html),
    });
    expect(asked.status).toBe(200);
    expect(await asked.text()).toContain('can no longer reach');
    expect((await pageRows()).length).toBe(3);
    const removed = await postForm(ada, `${t.url}/workspaces/${acmeId}/pages/${third}/connections/${appId}/disconnect`, {
      _csrf: csrfTokenOf(html),
      confirm: 'yes',
    });
    expect(removed.status).toBe(303);
    expect((await pageRows()).map((r) => r.page_id)).toEqual([...pageIds].sort());
    expect((await auditOf('internal_integration.page_disconnected')).map((e) => e.detail)).toEqual([{ appId, pageId: third }]);
    // Through the API too: connect with the admin token, then DELETE.
    const connected = await api(`/workspaces/${acmeId}/pages/${third}/connections`, adaToken, { body: { integration_id: appId } });
    expect(connected.status).toBe(201);
    expect((await api(`/workspaces/${acmeId}/pages/${third}/connections/${appId}`, adaToken, { method: 'DELETE' })).status).toBe(200);
    expect((await pageRows()).map((r) => r.page_id)).toEqual([...pageIds].sort());
  });

  it('the token is accepted by the Notion API proxy and reaches exactly the connected pages', async () => {
    const notion = (path: string, token = internalToken) =>
      fetch(`${t.url}/v1${path}`, { headers: { authorization: `Bearer ${token}`, 'notion-version': '2022-06-28' } });
    for (const pageId of pageIds) expect((await notion(`/pages/${pageId}`)).status).toBe(200);
    const outside = await notion(`/pages/${thirdPageId}`);
    expect(outside.status).toBe(404);
    expect((await outside.json()).code).toBe('object_not_found');
    expect((await notion(`/pages/${pageIds[0]}`, `gh_int_${'x'.repeat(43)}`)).status).toBe(401);
  });

  it("refuses a second owner connecting a page through their own connection while the pages go through Ada's: 409, nothing changed", async () => {
    const { stores } = t.gatehouse;
    const [benPerson] = await stores.people.findByEmail('ben@example.com');
    expect(await stores.workspaces.setRole(acmeId, benPerson!.id, 'owner')).toBe('changed');
    try {
      const benConnection = (await stores.connections.findForPersonAndWorkspace(benPerson!.id, acmeId))!;
      const benPage = (await stores.pageIndex.roots(benConnection.id, 1, 0))[0]!.pageId;
      const before = await snapshot();
      const viaApi = await api(`/workspaces/${acmeId}/pages/${benPage}/connections`, benToken, { body: { integration_id: appId } });
      expect(viaApi.status).toBe(409);
      expect((await viaApi.json()).error.message).toBe(
        '"Acme reporting bot" reaches its pages through ada@example.com\'s Notion connection: ask them to add this page, or disconnect their pages first.',
      );
      const viaPage = await postForm(ben, `${t.url}/workspaces/${acmeId}/pages/${benPage}/connections`, {
        _csrf: await csrfOf(ben, t.url),
        integration: appId,
      });
      expect(viaPage.status).toBe(409);
      expect(decodeHtml(await viaPage.text())).toContain("reaches its pages through ada@example.com's Notion connection");
      expect(await snapshot()).toEqual(before);
      expect((await pageRows()).every((r) => r.connection_id !== benConnection.id)).toBe(true);
    } finally {
      expect(await stores.workspaces.setRole(acmeId, benPerson!.id, 'member')).toBe('changed');
    }
  });

  it('refuses a member of the workspace (Ben): 403 on every integration page and API action, nothing changed', async () => {
    const before = await snapshot();
    const benCsrf = await csrfOf(ben, t.url);
    expect((await page(ben, '/integrations')).status).toBe(403);
    expect((await page(ben, `/integrations/${appId}`)).status).toBe(403);
    // His own index's pages and a page's Connections are his (his own grants), its integrations read-only.
    expect((await page(ben, `/workspaces/${acmeId}/pages`)).status).toBe(200);
    const benHtml = await (await page(ben, `/workspaces/${acmeId}/pages/${pageIds[0]}`)).text();
    expect(benHtml).toContain(`<tr data-integration-id="${appId}">`);
    expect(benHtml).not.toMatch(/>Disconnect<\/button>|>Add connections<\/button>/);
    expect((await postForm(ben, `${t.url}/integrations/${appId}/token`, { _csrf: benCsrf })).status).toBe(403);
    expect(
      (await postForm(ben, `${t.url}/integrations`, { _csrf: benCsrf, name: 'Sneaky', workspace: acmeId, capabilities: 'read_content' }))
        .status,
    ).toBe(403);
    expect(
      (await postForm(ben, `${t.url}/workspaces/${acmeId}/pages/${pageIds[0]}/connections/${appId}/disconnect`, { _csrf: benCsrf })).status,
    ).toBe(403);
    expect(
      (await postForm(ben, `${t.url}/integrations/${appId}/convert`, { _csrf: benCsrf, redirect_uris: 'https://x.example/cb' })).status,
    ).toBe(403);
    expect((await api('/integrations', benToken)).status).toBe(403);
    expect((await api(`/integrations/${appId}/token`, benToken, { body: {} })).status).toBe(403);
    expect(
      (await api('/integrations', benToken, { body: { name: 'Sneaky', workspace_id: acmeId, capabilities: ['read_content'] } })).status,
    ).toBe(403);
    expect((await api(`/workspaces/${acmeId}/pages/${pageIds[0]}/connections/${appId}`, benToken, { method: 'DELETE' })).status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses an owner of another workspace (Cy): 404, as if nothing existed; nothing changed', async () => {
    const before = await snapshot();
    const cyCsrf = await csrfOf(cyBrowser, t.url);
    expect((await page(cyBrowser, '/integrations')).status).toBe(200); // their own list: Elsewhere's integrations only
    expect(await (await page(cyBrowser, '/integrations')).text()).not.toContain('Acme reporting bot');
    expect((await page(cyBrowser, `/integrations/${appId}`)).status).toBe(404);
    expect((await page(cyBrowser, `/workspaces/${acmeId}/pages`)).status).toBe(404);
    expect((await postForm(cyBrowser, `${t.url}/integrations/${appId}/token`, { _csrf: cyCsrf })).status).toBe(404);
    expect(
      (
        await postForm(cyBrowser, `${t.url}/integrations`, {
          _csrf: cyCsrf,
          name: 'Sneaky',
          workspace: acmeId,
          capabilities: 'read_content',
        })
      ).status,
    ).toBe(404);
    expect(
      (await postForm(cyBrowser, `${t.url}/integrations/${appId}/convert`, { _csrf: cyCsrf, redirect_uris: 'https://x.example/cb' }))
        .status,
    ).toBe(404);
    expect((await api(`/integrations/${appId}`, cyToken)).status).toBe(404);
    expect((await api(`/integrations/${appId}/token`, cyToken, { body: {} })).status).toBe(404);
    expect((await api(`/integrations/${appId}/convert`, cyToken, { body: { redirect_uris: ['https://x.example/cb'] } })).status).toBe(404);
    expect((await api(`/workspaces/${acmeId}/pages/${pageIds[0]}/connections`, cyToken, { body: { integration_id: appId } })).status).toBe(
      404,
    );
    expect(((await (await api('/integrations', cyToken)).json()) as { integrations: unknown[] }).integrations).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it("refuses bad input with 400 and stores nothing: unknown capability, two user levels, a page outside the owner's index", async () => {
    const before = await snapshot();
    expect(
      (await api('/integrations', adaToken, { body: { name: 'x', workspace_id: acmeId, capabilities: ['read_everything'] } })).status,
    ).toBe(400);
    expect(
      (
        await api('/integrations', adaToken, {
          body: { name: 'x', workspace_id: acmeId, capabilities: ['no_user_info', 'user_info_with_email'] },
        })
      ).status,
    ).toBe(400);
    expect(
      (await api('/integrations', adaToken, { body: { name: 'x', workspace_id: acmeId, capabilities: ['read_content'], extra: 1 } }))
        .status,
    ).toBe(400);
    expect(
      (await api(`/workspaces/${acmeId}/pages/not-a-page-of-acme/connections`, adaToken, { body: { integration_id: appId } })).status,
    ).toBe(400);
    expect((await api(`/integrations/${appId}/convert`, adaToken, { body: { redirect_uris: ['http://partner.example/cb'] } })).status).toBe(
      400,
    );
    expect(await snapshot()).toEqual(before);
  });

  it('"Convert to public": a client id, a secret shown once, redirect URIs; the stored scope is exactly the connected pages', async () => {
    const html = await (await page(ada, `/integrations/${appId}`)).text();
    expect(html).toContain('>Convert to public</button>');
    const converted = await postForm(ada, `${t.url}/integrations/${appId}/convert`, {
      _csrf: csrfTokenOf(html),
      redirect_uris: 'https://reports.acme.example/oauth/callback',
    });
    expect(converted.status).toBe(200);
    const text = await converted.text();
    const clientId = /<code data-client-id>([^<]+)<\/code>/.exec(text)![1]!;
    const clientSecret = /<code data-client-secret>(gh_cs_[^<]+)<\/code>/.exec(text)![1]!;
    const row = await appRow();
    expect(row).toMatchObject({
      integration_kind: 'public',
      client_type: 'confidential',
      client_id: clientId,
      client_secret_hash: hashToken(clientSecret),
      redirect_uris: ['https://reports.acme.example/oauth/callback'],
      internal_token_ciphertext: null,
      internal_token_hash: null,
      name: 'Acme reporting bot',
      workspace_id: acmeId,
    });
    expect(row.capabilities).toEqual(['read_content', 'insert_content', 'user_info_without_email']);
    const [adaPerson] = await t.gatehouse.stores.people.findByEmail('ada@example.com');
    const grants = await db().selectFrom('grants').selectAll().where('app_id', '=', appId).execute();
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ person_id: adaPerson!.id, workspace_id: acmeId, status: 'active' });
    expect([...grants[0]!.page_ids].sort()).toEqual([...pageIds].sort());
    expect(grants[0]!.capabilities).toEqual(['read_content', 'insert_content', 'user_info_without_email']);
    expect(await pageRows()).toEqual([]);
    expect((await auditOf('internal_integration.converted')).map((e) => e.target_id)).toEqual([appId]);
    // The secret was shown once: it is nowhere in the database or the audit trail.
    expect(JSON.stringify(await snapshot())).not.toContain(clientSecret);
    // No longer internal: no token to copy, no page to connect it to.
    expect((await api(`/integrations/${appId}/token`, adaToken, { body: {} })).status).toBe(404);
    const retired = await fetch(`${t.url}/v1/pages/${pageIds[0]}`, {
      headers: { authorization: `Bearer ${internalToken}`, 'notion-version': '2022-06-28' },
    });
    expect(retired.status).toBe(401);
  });

  it('keys rotate re-encrypts internal tokens under the current key (AAD kept)', async () => {
    const created = await api('/integrations', adaToken, {
      body: { name: 'Rotation check', workspace_id: acmeId, capabilities: ['read_content'] },
    });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const token = ((await (await api(`/integrations/${id}/token`, adaToken, { body: {} })).json()) as { token: string }).token;
    const old = t.gatehouse.keyring;
    const fresh = new Keyring([
      { id: 'test2', key: randomBytes(32) },
      ...(old as unknown as { keys: Array<{ id: string; key: Buffer }> }).keys,
    ]);
    const result = await rotateKeys({
      keyring: fresh,
      connections: t.gatehouse.stores.connections,
      clock: { now: () => new Date() },
      internalIntegrations: t.gatehouse.stores.internalIntegrations,
    });
    expect(result.keyId).toBe('test2');
    const ciphertext = (
      await db().selectFrom('partner_apps').select('internal_token_ciphertext').where('id', '=', id).executeTakeFirstOrThrow()
    ).internal_token_ciphertext!;
    expect(ciphertext).toMatch(/^v1\.test2\./);
    expect(fresh.decrypt(ciphertext, `partner_app:${id}`)).toBe(token);
  });
});
