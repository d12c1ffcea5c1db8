/**
 * A page's own "Connections": besides internal integrations, every partner
 * grant that reaches the page, picked on it or inherited from a parent
 * (labelled with that parent), with its access level in the consent
 * screen's words. "Disconnect" on a grant picked on the page asks first,
 * then takes the page out of the grant: the partner's very next proxied call
 * to it is refused as Notion refuses an object it cannot see (404
 * object_not_found). An inherited grant names the parent instead.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { issueCode, redeem, registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;

describe("a page's Connections: partner grants picked here or inherited", () => {
  let t: TestGatehouse;
  let zapflow: RegisteredApp;
  let othertool: RegisteredApp;
  const ada = new Browser();
  const ben = new Browser();
  let parent: { id: string; title: string };
  let child: { id: string; title: string };
  let picked: string; // Ada's Zapflow grant, picked on the child and on another top-level page
  let elsewhere: string; // that other page, outside the child's tree
  let inherited: string; // Ben's Othertool grant, picked on the parent
  let access: string;

  const get = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decodeHtml(await response.text()), location: response.headers.get('location') };
  };
  const proxied = (pageId: string) =>
    fetch(`${t.url}/v1/pages/${pageId}`, { headers: { authorization: `Bearer ${access}`, 'notion-version': '2025-09-03' } });
  const pagePath = () => `/workspaces/${ACME}/pages/${child.id}`;
  const grantRow = (html: string, grantId: string) => new RegExp(`<tr id="grant-${grantId}"[\\s\\S]*?</tr>`).exec(html)?.[0] ?? '';

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true, sandboxNotion: { rateLimitPerSecond: Infinity } });
    const { stores } = t.gatehouse;
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow' });
    othertool = await registerApp(t.gatehouse, { name: 'Othertool', capabilities: ['read_content', 'insert_comments'] });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    const adaId = (await stores.people.findByEmail('ada@example.com'))[0]!.id;
    const benId = (await stores.people.findByEmail('ben@example.com'))[0]!.id;
    const adaConnection = (await stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    const benConnection = (await stores.connections.findForPersonAndWorkspace(benId, ACME))!;
    await t.gatehouse.indexer.idle();
    const all = await stores.pageIndex.listAll(adaConnection.id, 10_000);
    const ids = new Set(all.map((p) => p.pageId));
    const c = all.find((p) => p.objectType === 'page' && p.parentId && ids.has(p.parentId))!;
    const p = all.find((x) => x.pageId === c.parentId)!;
    child = { id: c.pageId, title: c.title };
    parent = { id: p.pageId, title: p.title };
    const byId = new Map(all.map((x) => [x.pageId, x]));
    const chain = new Set<string>();
    for (let at = byId.get(child.id); at; at = at.parentId ? byId.get(at.parentId) : undefined) chain.add(at.pageId);
    elsewhere = (await stores.pageIndex.roots(adaConnection.id, 10, 0)).find((r) => !chain.has(r.pageId))!.pageId;

    const issued = await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
    access = ((await (await redeem(t.url, zapflow, issued.code)).json()) as { access_token: string }).access_token;
    picked = (
      await stores.grants.upsert(
        {
          personId: adaId,
          appId: zapflow.app.id,
          workspaceId: ACME,
          upstreamConnectionId: adaConnection.id,
          capabilities: ['read_content', 'update_content'],
          // Not the child's only page: disconnecting it there takes the page out (its last page revokes the grant).
          pageIds: [child.id, elsewhere],
        },
        new Date(),
      )
    ).grant.id;
    expect(picked).toBe(issued.grantId);
    inherited = (
      await stores.grants.upsert(
        {
          personId: benId,
          appId: othertool.app.id,
          workspaceId: ACME,
          upstreamConnectionId: benConnection.id,
          capabilities: ['read_content', 'insert_comments'],
          pageIds: [parent.id],
        },
        new Date(),
      )
    ).grant.id;
  });
  afterAll(async () => t?.stop());

  it('lists the grant picked on the page and the one inherited from its parent, with their access levels', async () => {
    const page = await get(ada, pagePath());
    expect(page.status).toBe(200);
    expect(page.html).toContain('<h2>Connections</h2>');
    const own = grantRow(page.html, picked);
    expect(own).toContain('<th scope="row">Zapflow</th>');
    expect(own).toContain('<td>Read content, Update content</td>');
    expect(own).toContain('Picked on this page');
    expect(own).toContain('aria-label="Disconnect Zapflow">Disconnect</button>');
    const theirs = grantRow(page.html, inherited);
    expect(theirs).toContain('<td>ben@example.com</td>');
    expect(theirs).toContain('<td>Read content, Insert comments</td>');
    expect(theirs).toContain(`Inherited from <a href="/workspaces/${ACME}/pages/${parent.id}">${parent.title}</a>`);
    expect(theirs).not.toContain('<button');
    expect((await proxied(child.id)).status).toBe(200);
  });

  it('refuses what it cannot do and changes nothing: an inherited grant, a stranger, a malformed id', async () => {
    const csrf = csrfTokenOf((await get(ada, pagePath())).html);
    const before = await t.gatehouse.stores.grants.findById(inherited);
    const viaParent = await postForm(ada, `${t.url}${pagePath()}/grants/${inherited}/disconnect`, { _csrf: csrf, confirm: 'yes' });
    expect(viaParent.status).toBe(400);
    expect(decodeHtml(await viaParent.text())).toContain('Disconnect it there');
    expect(await t.gatehouse.stores.grants.findById(inherited)).toEqual(before);
    // Ben is a member of Acme: Ada's grant is not his to touch, and not even there for him.
    const benCsrf = csrfTokenOf((await get(ben, '/connections/mine')).html);
    expect((await postForm(ben, `${t.url}${pagePath()}/grants/${picked}/disconnect`, { _csrf: benCsrf, confirm: 'yes' })).status).toBe(404);
    expect((await postForm(ada, `${t.url}${pagePath()}/grants/not%20a%20grant/disconnect`, { _csrf: csrf })).status).toBe(404);
    expect((await postForm(ada, `${t.url}${pagePath()}/grants/${picked}/disconnect`, { _csrf: csrf, confirm: 'maybe' })).status).toBe(400);
    expect((await t.gatehouse.stores.grants.findById(picked))!.pageIds).toEqual([child.id, elsewhere]);
  });

  it('"Disconnect" asks first; "Confirm" takes the page out of the grant, audited; the next proxied call is refused', async () => {
    const page = await get(ada, pagePath());
    const csrf = csrfTokenOf(page.html);
    const first = await postForm(ada, `${t.url}${pagePath()}/grants/${picked}/disconnect`, { _csrf: csrf });
    expect([first.status, first.headers.get('location')]).toEqual([303, `${pagePath()}?confirm=${picked}#grant-${picked}`]);
    expect((await t.gatehouse.stores.grants.findById(picked))!.pageIds).toEqual([child.id, elsewhere]);
    const confirming = grantRow((await get(ada, `${pagePath()}?confirm=${picked}`)).html, picked);
    expect(confirming).toContain('<input type="hidden" name="confirm" value="yes">');
    expect(confirming).toContain('>Confirm</button>');
    expect(confirming).toContain('Its other pages stay connected.');

    const done = await postForm(ada, `${t.url}${pagePath()}/grants/${picked}/disconnect`, { _csrf: csrf, confirm: 'yes' });
    expect([done.status, done.headers.get('location')]).toEqual([303, `${pagePath()}?notice=partner_removed`]);
    expect((await t.gatehouse.stores.grants.findById(picked))!.pageIds).toEqual([elsewhere]);
    const events = await t.gatehouse.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'grant.page_removed')
      .execute();
    expect(events.map((e) => [e.target_id, e.actor_label])).toEqual([[picked, 'ada@example.com']]);

    const refused = await proxied(child.id);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ object: 'error', status: 404, code: 'object_not_found' });

    const after = await get(ada, `${t.url}${pagePath()}?notice=partner_removed`.replace(t.url, ''));
    expect(after.html).toContain('This page was removed from that connection');
    expect(grantRow(after.html, picked)).toBe('');
    expect(grantRow(after.html, inherited)).toContain('Inherited from');
    // Pressing again changes nothing more.
    const again = await postForm(ada, `${t.url}${pagePath()}/grants/${picked}/disconnect`, { _csrf: csrf, confirm: 'yes' });
    expect(again.status).toBe(400);
  });
});
