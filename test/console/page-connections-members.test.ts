/**
 * A member's own page "Connections": Ben, a member of Acme with his own
 * Notion connection, opens the pages of his own page index and a page's
 * Connections. He sees his own partner grants there, never another
 * person's; internal integrations only read-only (connecting and
 * disconnecting them stays owners', refused as before). "Disconnect" on his
 * grant's page takes the page out of it; on its last picked page the
 * confirmation says the connection is revoked entirely, and confirming
 * revokes it as any revocation does: tokens inactive, the partner's next call
 * refused, `grant.revoked` in the audit.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { issueCode, redeem, registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;

describe("a member's Connections of a page: their own grants, and the last page", () => {
  let t: TestGatehouse;
  let zapflow: RegisteredApp;
  let othertool: RegisteredApp;
  const ada = new Browser();
  const ben = new Browser();
  let benGrant: string; // Ben's Zapflow grant, picked on pages A and B
  let adaGrant: string; // Ada's Othertool grant, picked on page A
  let integrationId: string; // an internal integration Ada connected to page A
  let pageA: string;
  let pageB: string;
  let access: string;

  const get = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decodeHtml(await response.text()) };
  };
  const pagePath = (pageId: string) => `/workspaces/${ACME}/pages/${pageId}`;
  const grantRow = (html: string, grantId: string) => new RegExp(`<tr id="grant-${grantId}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';
  const proxied = (pageId: string) =>
    fetch(`${t.url}/v1/pages/${pageId}`, { headers: { authorization: `Bearer ${access}`, 'notion-version': '2025-09-03' } });
  const audit = (action: string) =>
    t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute();
  const disconnect = async (pageId: string, fields: Record<string, string> = {}) => {
    const csrf = csrfTokenOf((await get(ben, pagePath(pageId))).html);
    return postForm(ben, `${t.url}${pagePath(pageId)}/grants/${benGrant}/disconnect`, { _csrf: csrf, ...fields });
  };

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true, sandboxNotion: { rateLimitPerSecond: Infinity } });
    const { stores } = t.gatehouse;
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow' });
    othertool = await registerApp(t.gatehouse, { name: 'Othertool', capabilities: ['read_content'] });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    await t.gatehouse.indexer.idle();
    const adaId = (await stores.people.findByEmail('ada@example.com'))[0]!.id;
    const adaConnection = (await stores.connections.findForPersonAndWorkspace(adaId, ACME))!;

    // Ben's grant picks the first two top-level pages of his own index, as "Allow access" would.
    const issued = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 2 });
    benGrant = issued.grantId;
    access = ((await (await redeem(t.url, zapflow, issued.code)).json()) as { access_token: string }).access_token;
    [pageA, pageB] = (await stores.grants.findById(benGrant))!.pageIds as [string, string];
    expect(await stores.pageIndex.get(adaConnection.id, pageA)).not.toBeNull();

    adaGrant = (
      await stores.grants.upsert(
        {
          personId: adaId,
          appId: othertool.app.id,
          workspaceId: ACME,
          upstreamConnectionId: adaConnection.id,
          capabilities: ['read_content'],
          pageIds: [pageA],
        },
        new Date(),
      )
    ).grant.id;
    const adaToken = (await stores.adminTokens.create({ personId: adaId, label: 'tests', bootstrap: false }, new Date())).token;
    const api = (path: string, body: unknown) =>
      fetch(`${t.url}/api/admin/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adaToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = await api('/integrations', { name: 'Acme reporting bot', workspace_id: ACME, capabilities: ['read_content'] });
    integrationId = ((await created.json()) as { id: string }).id;
    expect((await api(`/workspaces/${ACME}/pages/${pageA}/connections`, { integration_id: integrationId })).status).toBe(201);
  });
  afterAll(async () => t?.stop());

  it('opens the pages of his own page index', async () => {
    const pages = await get(ben, `/workspaces/${ACME}/pages`);
    expect(pages.status).toBe(200);
    expect(pages.html).toContain(`<li data-page-id="${pageA}">`);
    expect(pages.html).toContain(`<li data-page-id="${pageB}">`);
  });

  it("sees his own grant on a page's Connections, not Ada's; the owner sees both", async () => {
    const page = await get(ben, pagePath(pageA));
    expect(page.status).toBe(200);
    const own = grantRow(page.html, benGrant);
    expect(own).toContain('<th scope="row">Zapflow</th>');
    expect(own).toContain('Picked on this page');
    expect(own).toContain('aria-label="Disconnect Zapflow">Disconnect</button>');
    expect(grantRow(page.html, adaGrant)).toBe('');
    expect(page.html).not.toContain('Othertool');

    const owners = await get(ada, pagePath(pageA));
    expect(grantRow(owners.html, benGrant)).toContain('<td>ben@example.com</td>');
    expect(grantRow(owners.html, adaGrant)).toContain('<th scope="row">Othertool</th>');
  });

  it('sees internal integrations read-only: no Disconnect or "Add connections" forms, and their posts refused as before', async () => {
    const page = (await get(ben, pagePath(pageA))).html;
    expect(page).toContain(`<tr data-integration-id="${integrationId}">`);
    expect(page).not.toContain('aria-label="Disconnect Acme reporting bot"');
    expect(page).not.toContain(`action="${pagePath(pageA)}/connections`);
    expect(page).not.toContain('Add connections');
    expect((await get(ada, pagePath(pageA))).html).toContain('aria-label="Disconnect Acme reporting bot">Disconnect</button>');

    const csrf = csrfTokenOf(page);
    const refusals = [
      await postForm(ben, `${t.url}${pagePath(pageA)}/connections/${integrationId}/disconnect`, { _csrf: csrf }),
      await postForm(ben, `${t.url}${pagePath(pageA)}/connections/${integrationId}/disconnect`, { _csrf: csrf, confirm: 'yes' }),
      await postForm(ben, `${t.url}${pagePath(pageB)}/connections`, { _csrf: csrf, integration: integrationId }),
    ];
    for (const refused of refusals) {
      expect(refused.status).toBe(403);
      expect(decodeHtml(await refused.text())).toContain('Only owners of the workspace manage its internal integrations.');
    }
    const pages = await t.gatehouse.stores.internalIntegrations.listPages(integrationId);
    expect(pages.map((p) => p.pageId)).toEqual([pageA]);
  });

  it('"Disconnect" on a page that is not the last one takes only that page out, as before', async () => {
    const asked = await disconnect(pageB);
    expect([asked.status, asked.headers.get('location')]).toEqual([303, `${pagePath(pageB)}?confirm=${benGrant}#grant-${benGrant}`]);
    const confirming = grantRow((await get(ben, `${pagePath(pageB)}?confirm=${benGrant}`)).html, benGrant);
    expect(confirming).toContain('Its other pages stay connected.');
    expect(confirming).not.toContain('last page');

    const done = await disconnect(pageB, { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, `${pagePath(pageB)}?notice=partner_removed`]);
    const grant = (await t.gatehouse.stores.grants.findById(benGrant))!;
    expect([grant.status, grant.pageIds]).toEqual(['active', [pageA]]);
    expect((await audit('grant.page_removed')).map((e) => [e.target_id, e.actor_label])).toEqual([[benGrant, 'ben@example.com']]);
    expect((await proxied(pageA)).status).toBe(200);
  });

  it('on the last page, the confirmation says it revokes the connection; confirming revokes it: tokens inactive, audited', async () => {
    const asked = await disconnect(pageA);
    expect(asked.status).toBe(303);
    const confirming = grantRow((await get(ben, `${pagePath(pageA)}?confirm=${benGrant}`)).html, benGrant);
    expect(confirming).toContain('This is the last page of the access ben@example.com gave Zapflow');
    expect(confirming).toContain('revokes that connection entirely');
    expect(confirming).toContain('>Confirm</button>');
    expect((await t.gatehouse.stores.grants.findById(benGrant))!.status).toBe('active');

    const done = await disconnect(pageA, { confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, `${pagePath(pageA)}?notice=partner_revoked`]);
    expect((await t.gatehouse.stores.grants.findById(benGrant))!.status).toBe('revoked');
    const revoked = await audit('grant.revoked');
    expect(revoked.map((e) => [e.target_id, e.actor_label, e.outcome])).toEqual([[benGrant, 'ben@example.com', 'success']]);
    // The page came out first, then the grant, left with none, was revoked.
    expect((await audit('grant.page_removed')).length).toBe(2);

    const introspected = await new Client({ baseUrl: t.url, retry: false }).oauth.introspect({
      token: access,
      client_id: zapflow.clientId,
      client_secret: zapflow.clientSecret!,
    });
    expect(introspected.active).toBe(false);
    expect((await proxied(pageA)).status).toBe(401);

    const after = await get(ben, `${pagePath(pageA)}?notice=partner_revoked`);
    expect(after.html).toContain('That connection is revoked: this was its last page.');
    expect(grantRow(after.html, benGrant)).toBe('');
    // Ada's grant on the same page is untouched.
    expect((await t.gatehouse.stores.grants.findById(adaGrant))!.status).toBe('active');
  });

  it('a page picked and also reached through a picked parent: the confirmation and the notice say it stays reachable', async () => {
    const { stores } = t.gatehouse;
    const benId = (await stores.people.findByEmail('ben@example.com'))[0]!.id;
    const benConnection = (await stores.connections.findForPersonAndWorkspace(benId, ACME))!;
    const child = (await stores.pageIndex.children(benConnection.id, pageA, 1, 0))[0]!.pageId;
    const both = (
      await stores.grants.upsert(
        {
          personId: benId,
          appId: othertool.app.id,
          workspaceId: ACME,
          upstreamConnectionId: benConnection.id,
          capabilities: ['read_content'],
          pageIds: [pageA, child],
        },
        new Date(),
      )
    ).grant.id;
    const row = grantRow((await get(ben, `${pagePath(child)}?confirm=${both}`)).html, both);
    expect(row).toContain('Picked on this page, and inherited from <a href="');
    expect(row).toContain('still reaches it through');
    const csrf = csrfTokenOf((await get(ben, pagePath(child))).html);
    const done = await postForm(ben, `${t.url}${pagePath(child)}/grants/${both}/disconnect`, { _csrf: csrf, confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, `${pagePath(child)}?notice=partner_still_inherited`]);
    const grant = (await stores.grants.findById(both))!;
    expect([grant.status, grant.pageIds]).toEqual(['active', [pageA]]);
    const after = (await get(ben, `${pagePath(child)}?notice=partner_still_inherited`)).html;
    expect(after).toContain('still reaches it through a parent page');
    expect(grantRow(after, both)).toContain('Inherited from <a href="');
  });
});
