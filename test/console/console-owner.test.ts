/**
 * The connections console as an owner sees it: "Connections", "View users
 * with access", the approved list, the install policy, and roles with the
 * last-owner rule. The cast is in ./console-fixture.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postForm } from '../support/notion-connect.js';
import type { Browser } from '../support/browser.js';
import type { TestGatehouse } from '../support/harness.js';
import type { RegisteredApp } from '../support/partner.js';
import { ACME, setUpConsole, type ConsoleFixture } from './console-fixture.js';

describe('connections console: pages and settings of an owner', () => {
  let f: ConsoleFixture;
  let t: TestGatehouse;
  let ada: Browser;
  let ben: Browser;
  let adaCsrf: string;
  let benCsrf: string;
  let zapflow: RegisteredApp;
  let other: RegisteredApp;
  let adaId: string;
  let benId: string;
  let benToken: string; // Ben's personal admin token
  let labGrantId: string;
  let benGrant: ConsoleFixture['benGrant'];
  const db = () => f.db();
  const api = (...args: Parameters<ConsoleFixture['api']>) => f.api(...args);
  const page = (...args: Parameters<ConsoleFixture['page']>) => f.page(...args);

  beforeAll(async () => {
    f = await setUpConsole();
    ({ t, ada, ben, adaCsrf, benCsrf, zapflow, other, adaId, benId, benToken, labGrantId, benGrant } = f);
  });
  afterAll(async () => f?.t.stop());

  it('shows Ada "Connections": Zapflow once, with who added it and when, the developer\'s website and support, and the words of the design', async () => {
    const { status, html } = await page(ada, '/connections');
    expect(status).toBe(200);
    expect(html.match(/<tr data-app-id=/g)).toHaveLength(1);
    for (const words of [
      'Connections',
      'View users with access',
      'Disconnect',
      'Restrict members from installing connections',
      'No restrictions',
      'Only from approved list',
      'Auto-approve connections built by Gatehouse demo',
      'Approved connections',
      'ada@example.com',
      'ben@example.com',
      'https://partner.example',
      'support@partner.example',
    ]) {
      expect([words, html.includes(words)]).toEqual([words, true]);
    }
    // Only apps installed here are offered for approval: Zapflow, not Othertool (installed in Lab only).
    const offered = /<select id="approve-app" name="app_id">([\s\S]*?)<\/select>/.exec(html)![1]!;
    expect(offered).toContain('Zapflow');
    expect(offered).not.toContain('Othertool');
    expect(html).toContain('+ Add approved connection');
    // Ben sees "My connections" only: his grant, not Ada's.
    const mine = await page(ben, '/connections/mine');
    expect([...mine.html.matchAll(/<tr data-grant-id="([^"]+)"/g)].map((m) => m[1]).sort()).toEqual([benGrant.grantId, labGrantId].sort());
    expect(mine.html).toContain('aria-label="Disconnect Zapflow from Acme"');
  });

  it('"View users with access": who authorised it, on which pages (titles from their own index), with which capabilities; filter by person', async () => {
    const all = await page(ada, `/connections/${ACME}/apps/${zapflow.app.id}`);
    expect(all.status).toBe(200);
    const grant = (await t.gatehouse.stores.grants.findById(benGrant.grantId))!;
    const title = (await t.gatehouse.stores.pageIndex.get(grant.upstreamConnectionId, grant.pageIds[0]!))!.title;
    expect(all.html).toContain(title);
    expect(all.html).toContain('Read content, Insert content, Read user information without email addresses');
    expect(all.html.match(/>Revoke access</g)).toHaveLength(2);
    const onlyBen = await page(ada, `/connections/${ACME}/apps/${zapflow.app.id}?person=${benId}`);
    expect(onlyBen.html.match(/>Revoke access</g)).toHaveLength(1);
    expect(onlyBen.html).toContain('aria-label="Revoke access for ben@example.com"');
    const users = (await (await api(`/workspaces/${ACME}/connections/${zapflow.app.id}/users`)).json()) as {
      users: Array<{ person: { email: string }; pages: Array<{ title: string }> }>;
    };
    expect(users.users.map((u) => u.person.email).sort()).toEqual(['ada@example.com', 'ben@example.com']);
  });

  it('approved list: only installed apps can be added (400 otherwise); the list shows who installed it', async () => {
    const refused = await api(`/workspaces/${ACME}/approved-apps`, { body: { client_id: other.clientId } });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toContain('only connections already installed in this workspace');
    const added = await postForm(ada, `${t.url}/connections/${ACME}/approved`, { _csrf: adaCsrf, app_id: zapflow.app.id });
    expect(added.status).toBe(303);
    expect(added.headers.get('location')).toBe(`/connections?workspace=${ACME}&notice=approved`);
    const list = (await (await api(`/workspaces/${ACME}/approved-apps`)).json()) as {
      approved_apps: Array<{ app: { name: string }; installed_by: Array<{ email: string }> }>;
    };
    expect(list.approved_apps.map((e) => [e.app.name, e.installed_by.map((i) => i.email).sort()])).toEqual([
      ['Zapflow', ['ada@example.com', 'ben@example.com']],
    ]);
    const audit = await db()
      .selectFrom('audit_events')
      .select(['action', 'actor_id', 'target_id'])
      .where('action', '=', 'approved_app.added')
      .execute();
    expect(audit).toEqual([{ action: 'approved_app.added', actor_id: adaId, target_id: zapflow.app.id }]);
    const again = await api(`/workspaces/${ACME}/approved-apps`, { body: { client_id: zapflow.clientId } });
    expect(again.status).toBe(200);
    expect((await again.json()).added).toBe(false);
  });

  it('install policy form: "Only from approved list", auto-approve off; saved, audited, 303', async () => {
    const response = await postForm(ada, `${t.url}/connections/${ACME}/policy`, { _csrf: adaCsrf, install_policy: 'approved_only' });
    expect(response.status).toBe(303);
    const ws = (await t.gatehouse.stores.workspaces.findById(ACME))!;
    expect([ws.installPolicy, ws.autoApproveOrganisation]).toEqual(['approved_only', false]);
    const { html } = await page(ada, `/connections?workspace=${ACME}`);
    expect(html).toMatch(/id="policy-approved" name="install_policy" value="approved_only" checked/);
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_id', 'detail'])
      .where('action', '=', 'workspace.policy_changed')
      .execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_id: adaId, detail: { installPolicy: 'approved_only', autoApproveOrganisation: false } });
  });

  it('roles: Ada makes Ben an owner, he sees the console; the last owner cannot step down (409, page error); Ada is made owner again', async () => {
    const promote = await postForm(ada, `${t.url}/connections/${ACME}/members/${benId}/role`, { _csrf: adaCsrf, role: 'owner' });
    expect(promote.status).toBe(303);
    expect((await page(ben, `/connections?workspace=${ACME}`)).status).toBe(200);
    // Ben takes it back from Ada, then cannot step down himself: he is the last owner.
    const demoteAda = await api(`/workspaces/${ACME}/members/role`, {
      body: { email: 'ada@example.com', role: 'member' },
      token: benToken,
    });
    expect(demoteAda.status).toBe(200);
    const last = await api(`/workspaces/${ACME}/members/role`, { body: { email: 'ben@example.com', role: 'member' }, token: benToken });
    expect(last.status).toBe(409);
    const lastByPage = await postForm(ben, `${t.url}/connections/${ACME}/members/${benId}/role`, { _csrf: benCsrf, role: 'member' });
    expect(lastByPage.status).toBe(303);
    expect(lastByPage.headers.get('location')).toBe(`/connections?workspace=${ACME}&error=last_owner`);
    expect((await page(ben, lastByPage.headers.get('location')!)).html).toContain('A workspace needs at least one owner');
    expect((await t.gatehouse.stores.workspaces.membership(ACME, benId))!.role).toBe('owner');
    // Ada, now a member, is refused; Ben restores her and steps down.
    expect((await page(ada, `/connections?workspace=${ACME}`)).status).toBe(403);
    expect((await postForm(ben, `${t.url}/connections/${ACME}/members/${adaId}/role`, { _csrf: benCsrf, role: 'owner' })).status).toBe(303);
    const stepDown = await postForm(ben, `${t.url}/connections/${ACME}/members/${benId}/role`, {
      _csrf: benCsrf,
      role: 'member',
      confirm: 'yes',
    });
    expect(stepDown.headers.get('location')).toBe('/connections/mine');
    expect((await t.gatehouse.stores.workspaces.membership(ACME, adaId))!.role).toBe('owner');
    expect((await t.gatehouse.stores.workspaces.membership(ACME, benId))!.role).toBe('member');
    const audit = await db()
      .selectFrom('audit_events')
      .select(['target_id', 'detail'])
      .where('action', '=', 'workspace_member.role_changed')
      .orderBy('id')
      .execute();
    expect(audit.map((a) => [a.target_id, (a.detail as { role: string }).role])).toEqual([
      [benId, 'owner'],
      [adaId, 'member'],
      [adaId, 'owner'],
      [benId, 'member'],
    ]);
  });
});
