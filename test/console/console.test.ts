/**
 * The connections console: pages and admin JSON API.
 * Opened by the refusals: an authorisation matrix over every page and API
 * action (signed out, a member, an owner of another workspace, a partner's
 * access token, another person's admin token), each refused cell asserting
 * the answer AND that nothing changed in the database. Then the allowed
 * paths: roles with the last-owner rule, the install policy, the approved
 * list, "View users with access", revocation (one person, all users, own
 * grants, an upstream connection, a person who left), each idempotent,
 * audited and refused by introspection and refresh on the very next request.
 * The command line drives the same API.
 *
 * Cast: Ada owns Acme (the demo seed); Ben is a member of Acme; Ben also owns
 * "Lab", a workspace Ada is not in. The organisation admin is nobody who
 * signs in here: its cell is the bootstrap admin token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { basic, issueCode, redeem as redeemCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { runCli } from '../../src/cli/gatehouse.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;
const LAB = 'lab-0000-workspace';

describe('connections console: pages and admin API', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let adaCsrf: string;
  let benCsrf: string;
  let zapflow: RegisteredApp;
  let other: RegisteredApp;
  let adaId: string;
  let benId: string;
  let benToken: string; // Ben's personal admin token
  let labGrantId: string;

  const db = () => t.gatehouse.database.db;
  const api = (path: string, init: { method?: string; body?: unknown; token?: string | null; browser?: Browser; csrf?: string } = {}) => {
    const method = init.method ?? (init.body !== undefined ? 'POST' : 'GET');
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    if (init.browser) {
      if (init.csrf) headers['x-csrf-token'] = init.csrf;
      return init.browser.request(`${t.url}/api/admin/v1${path}`, {
        method,
        headers,
        body: init.body !== undefined ? (JSON.stringify(init.body) as unknown as URLSearchParams) : undefined,
      });
    }
    if (init.token !== null) headers.authorization = `Bearer ${init.token ?? t.gatehouse.adminToken}`;
    return fetch(`${t.url}/api/admin/v1${path}`, {
      method,
      headers,
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
  };
  const snapshot = async () => ({
    grants: await db().selectFrom('grants').select(['id', 'status', 'revoked_by']).orderBy('id').execute(),
    access: await db().selectFrom('access_tokens').select(['token_hash', 'revoked_at']).orderBy('token_hash').execute(),
    refresh: await db().selectFrom('refresh_tokens').select(['token_hash', 'revoked_at']).orderBy('token_hash').execute(),
    workspaces: await db().selectFrom('workspaces').select(['id', 'install_policy', 'auto_approve_organisation']).orderBy('id').execute(),
    members: await db()
      .selectFrom('workspace_members')
      .select(['workspace_id', 'person_id', 'role', 'status'])
      .orderBy('workspace_id')
      .orderBy('person_id')
      .execute(),
    approved: await db().selectFrom('approved_apps').select(['workspace_id', 'app_id']).orderBy('app_id').execute(),
    connections: await db().selectFrom('upstream_connections').select(['id', 'status', 'credential_ciphertext']).orderBy('id').execute(),
    audit: (
      await db()
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('action', 'not in', ['admin_token.used'])
        .executeTakeFirstOrThrow()
    ).n,
  });
  const redeem = async (registered: RegisteredApp, code: string) => {
    const response = await redeemCode(t.url, registered, code);
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const introspect = (registered: RegisteredApp, token: string) =>
    new Client({ baseUrl: t.url, retry: false }).oauth.introspect({
      token,
      client_id: registered.clientId,
      client_secret: registered.clientSecret!,
    });
  const refresh = (registered: RegisteredApp, refreshToken: string) =>
    fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(registered.clientId, registered.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
  const page = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decodeHtml(await response.text()), location: response.headers.get('location') };
  };

  let adaGrant: { grantId: string; access: string; refresh: string };
  let benGrant: { grantId: string; access: string; refresh: string };

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true, env: { GATEHOUSE_ADMIN_EMAILS: 'root@example.com' } });
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow' });
    other = await registerApp(t.gatehouse, { name: 'Othertool' });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    adaCsrf = csrfTokenOf((await page(ada, '/workspaces')).html);
    benCsrf = csrfTokenOf((await page(ben, '/workspaces')).html);
    adaId = (await t.gatehouse.stores.people.findByEmail('ada@example.com'))[0]!.id;
    benId = (await t.gatehouse.stores.people.findByEmail('ben@example.com'))[0]!.id;
    benToken = (await t.gatehouse.stores.adminTokens.create({ personId: benId, label: 'Ben laptop', bootstrap: false }, new Date())).token;

    // Ada and Ben each install Zapflow in Acme; Ben owns "Lab" (Ada is not in it), where he installed Othertool.
    const a = await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
    const aTokens = await redeem(zapflow, a.code);
    adaGrant = { grantId: a.grantId, access: aTokens.access_token, refresh: aTokens.refresh_token };
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const bTokens = await redeem(zapflow, b.code);
    benGrant = { grantId: b.grantId, access: bTokens.access_token, refresh: bTokens.refresh_token };
    await t.gatehouse.stores.workspaces.upsertWithConnector({ id: LAB, name: 'Lab', icon: null }, benId, new Date());
    const benAcme = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(benId, ACME))!;
    labGrantId = (
      await t.gatehouse.stores.grants.upsert(
        {
          personId: benId,
          appId: other.app.id,
          workspaceId: LAB,
          upstreamConnectionId: benAcme.id,
          capabilities: ['read_content'],
          pageIds: [],
        },
        new Date(),
      )
    ).grant.id;
  });
  afterAll(async () => t?.stop());

  // Every action, with a body that would succeed for an owner of Acme.
  const acmeActions = (): Array<{ method: string; path: string; body?: unknown }> => [
    { method: 'GET', path: `/grants?workspace=${ACME}` },
    { method: 'GET', path: `/workspaces/${ACME}/connections` },
    { method: 'GET', path: `/workspaces/${ACME}/connections/${zapflow.app.id}/users` },
    { method: 'GET', path: `/workspaces/${ACME}/policy` },
    { method: 'GET', path: `/workspaces/${ACME}/approved-apps` },
    { method: 'GET', path: `/workspaces/${ACME}/members` },
    { method: 'POST', path: `/grants/${adaGrant.grantId}/revoke`, body: {} },
    { method: 'POST', path: `/workspaces/${ACME}/connections/${zapflow.app.id}/disconnect`, body: {} },
    { method: 'POST', path: `/workspaces/${ACME}/policy`, body: { install_policy: 'approved_only' } },
    { method: 'POST', path: `/workspaces/${ACME}/approved-apps`, body: { client_id: zapflow.clientId } },
    { method: 'POST', path: `/workspaces/${ACME}/approved-apps/${zapflow.clientId}/remove`, body: {} },
    { method: 'POST', path: `/workspaces/${ACME}/members/role`, body: { email: 'ben@example.com', role: 'owner' } },
    { method: 'POST', path: `/workspaces/${ACME}/disconnect`, body: {} },
  ];
  const acmePages = (): Array<{ method: string; path: string; form?: Record<string, string> }> => [
    { method: 'GET', path: `/connections?workspace=${ACME}` },
    { method: 'GET', path: `/connections/${ACME}/apps/${zapflow.app.id}` },
    { method: 'POST', path: `/connections/${ACME}/grants/${adaGrant.grantId}/revoke`, form: {} },
    { method: 'POST', path: `/connections/${ACME}/apps/${zapflow.app.id}/disconnect`, form: {} },
    { method: 'POST', path: `/connections/${ACME}/policy`, form: { install_policy: 'approved_only' } },
    { method: 'POST', path: `/connections/${ACME}/approved`, form: { app_id: zapflow.app.id } },
    { method: 'POST', path: `/connections/${ACME}/approved/${zapflow.app.id}/remove`, form: {} },
    { method: 'POST', path: `/connections/${ACME}/members/${benId}/role`, form: { role: 'owner' } },
    { method: 'POST', path: `/connections/mine/${adaGrant.grantId}/revoke`, form: {} },
  ];

  it('rejects unauthenticated callers: API 401 (or 403 by the CSRF check on writes), pages to sign-in; nothing changes', async () => {
    const before = await snapshot();
    for (const a of acmeActions()) {
      const response = await api(a.path, { method: a.method, body: a.body, token: null });
      expect([a.path, a.method === 'GET' ? [401] : [401, 403]]).toEqual([a.path, expect.arrayContaining([response.status])]);
    }
    for (const p of acmePages()) {
      const response = await fetch(`${t.url}${p.path}`, {
        method: p.method,
        redirect: 'manual',
        headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
        body: p.method === 'POST' ? new URLSearchParams(p.form) : undefined,
      });
      if (p.method === 'GET')
        expect([p.path, response.status, response.headers.get('location')]).toEqual([
          p.path,
          303,
          `/auth/sign-in?return_to=${encodeURIComponent(p.path)}`,
        ]);
      else expect([p.path, [401, 403].includes(response.status)]).toEqual([p.path, true]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a partner's access token used as an admin token: 401, nothing changes", async () => {
    const before = await snapshot();
    for (const a of acmeActions()) {
      const response = await api(a.path, { method: a.method, body: a.body, token: benGrant.access });
      expect([a.path, response.status]).toEqual([a.path, 401]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses a member (Ben, by session with CSRF, and by his own admin token): 403 on Acme's console, nothing changes", async () => {
    const before = await snapshot();
    for (const a of acmeActions()) {
      const bySession = await api(a.path, { method: a.method, body: a.body, browser: ben, csrf: benCsrf });
      const byToken = await api(a.path, { method: a.method, body: a.body, token: benToken });
      // Ada's grant is not Ben's to see: 404, never its details.
      const expected = a.path.startsWith('/grants/') ? 404 : 403;
      expect([a.path, bySession.status, byToken.status]).toEqual([a.path, expected, expected]);
    }
    for (const p of acmePages()) {
      const response =
        p.method === 'GET'
          ? await ben.request(`${t.url}${p.path}`, { headers: { accept: 'text/html' } })
          : await postForm(ben, `${t.url}${p.path}`, { _csrf: benCsrf, ...p.form });
      const expected = p.path.startsWith('/connections/mine/') ? 404 : 403;
      expect([p.path, response.status]).toEqual([p.path, expected]);
    }
    expect(await snapshot()).toEqual(before);
  });

  it("refuses the owner of another workspace (Ada on Ben's Lab): 404, never Lab's data; nothing changes", async () => {
    const before = await snapshot();
    const labActions = [
      { method: 'GET', path: `/grants?workspace=${LAB}` },
      { method: 'GET', path: `/grants/${labGrantId}` },
      { method: 'GET', path: `/workspaces/${LAB}/connections` },
      { method: 'GET', path: `/workspaces/${LAB}/policy` },
      { method: 'POST', path: `/grants/${labGrantId}/revoke`, body: {} },
      { method: 'POST', path: `/workspaces/${LAB}/policy`, body: { install_policy: 'approved_only' } },
      { method: 'POST', path: `/workspaces/${LAB}/members/role`, body: { email: 'ben@example.com', role: 'member' } },
      { method: 'POST', path: `/workspaces/${LAB}/disconnect`, body: {} },
    ];
    for (const a of labActions) {
      const response = await api(a.path, { method: a.method, body: a.body, browser: ada, csrf: adaCsrf });
      const text = await response.text();
      expect([a.path, response.status]).toEqual([a.path, 404]);
      expect(text).not.toContain('Lab');
      expect(text).not.toContain('Othertool');
    }
    for (const path of [`/connections?workspace=${LAB}`, `/connections/${LAB}/apps/${other.app.id}`]) {
      const { status, html } = await page(ada, path);
      expect([path, status]).toEqual([path, 404]);
      expect(html).not.toContain('Othertool');
    }
    const revoke = await postForm(ada, `${t.url}/connections/${LAB}/grants/${labGrantId}/revoke`, { _csrf: adaCsrf });
    expect(revoke.status).toBe(404);
    // Nor through her own workspace's URL.
    const sideways = await postForm(ada, `${t.url}/connections/${ACME}/grants/${labGrantId}/revoke`, { _csrf: adaCsrf });
    expect(sideways.status).toBe(404);
    // Her grant list does not include Lab's grant either.
    const list = (await (await api('/grants', { browser: ada })).json()) as { grants: Array<{ id: string }> };
    expect(list.grants.map((g) => g.id)).not.toContain(labGrantId);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a form without its CSRF token: 403, nothing changes', async () => {
    const before = await snapshot();
    const response = await postForm(ada, `${t.url}/connections/${ACME}/policy`, { install_policy: 'approved_only' });
    expect(response.status).toBe(403);
    const bad = await api(`/workspaces/${ACME}/policy`, { body: { install_policy: 'approved_only' }, browser: ada });
    expect(bad.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('answers bad input with 400 and changes nothing', async () => {
    const before = await snapshot();
    for (const [path, body] of [
      [`/workspaces/${ACME}/policy`, { install_policy: 'everyone' }],
      [`/workspaces/${ACME}/policy`, { install_policy: 'approved_only', extra: 1 }],
      [`/workspaces/${ACME}/members/role`, { role: 'owner' }],
      [`/grants/${adaGrant.grantId}/revoke`, { reason: '' }],
    ] as const) {
      const response = await api(path, { body });
      expect([path, response.status]).toEqual([path, 400]);
    }
    expect(await snapshot()).toEqual(before);
  });

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

  it('"Revoke access" for Ben: 303; the grant records who, when, why; the next introspection is {"active":false} and his refresh is invalid_grant', async () => {
    expect((await introspect(zapflow, benGrant.access)).active).toBe(true);
    const response = await postForm(ada, `${t.url}/connections/${ACME}/grants/${benGrant.grantId}/revoke`, {
      _csrf: adaCsrf,
      confirm: 'yes',
      return_to: `/connections/${ACME}/apps/${zapflow.app.id}`,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/connections/${ACME}/apps/${zapflow.app.id}?notice=revoked`);
    const row = await db()
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason', 'revoked_at'])
      .where('id', '=', benGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'revoked', revoked_by: `person:${adaId}`, revoke_reason: 'revoked by a workspace owner' });
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect(await introspect(zapflow, benGrant.access)).toEqual({ active: false });
    expect(await introspect(zapflow, benGrant.refresh)).toEqual({ active: false });
    const refused = await refresh(zapflow, benGrant.refresh);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toBe('invalid_grant');
    const tokens = await db().selectFrom('access_tokens').select('revoked_at').where('grant_id', '=', benGrant.grantId).execute();
    expect(tokens.every((r) => r.revoked_at !== null)).toBe(true);
    // Ada's own grant is untouched.
    expect((await introspect(zapflow, adaGrant.access)).active).toBe(true);
  });

  it('revoking again is idempotent: 200 "already revoked", the first who/when/why kept, one audit event', async () => {
    const again = await api(`/grants/${benGrant.grantId}/revoke`, { body: { reason: 'again' } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ object: 'revocation', revoked: [], already_revoked: [benGrant.grantId] });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', benGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ revoked_by: `person:${adaId}`, revoke_reason: 'revoked by a workspace owner' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_id', 'workspace_id', 'detail'])
      .where('action', '=', 'grant.revoked')
      .where('target_id', '=', benGrant.grantId)
      .execute();
    expect(audit).toEqual([
      { actor_id: adaId, workspace_id: ACME, detail: { reason: 'revoked by a workspace owner', appId: zapflow.app.id, personId: benId } },
    ]);
  });

  it('"Remove from approved list" keeps existing grants; a member\'s next install is refused at redemption', async () => {
    // Ben consents again while Zapflow is approved...
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const removed = await postForm(ada, `${t.url}/connections/${ACME}/approved/${zapflow.app.id}/remove`, {
      _csrf: adaCsrf,
      confirm: 'yes',
    });
    expect(removed.status).toBe(303);
    expect(await t.gatehouse.stores.grants.isApproved(ACME, zapflow.app.id)).toBe(false);
    // ...and the policy change between consent and redemption wins.
    const response = await redeemCode(t.url, zapflow, b.code);
    expect(response.status).toBe(400);
    // Ada's grant (an owner's, and existing) stays.
    expect((await introspect(zapflow, adaGrant.access)).active).toBe(true);
  });

  it('the command line: policy set, approved add, grants list, roles set, grants revoke', async () => {
    const env = { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken, GATEHOUSE_DATA_DIR: t.dataDir };
    expect(await runCli(['policy', 'set', '--workspace', ACME, '--restrict', 'no_restrictions', '--auto-approve', 'on'], env)).toEqual({
      object: 'install_policy',
      workspace_id: ACME,
      install_policy: 'no_restrictions',
      auto_approve_organisation: true,
    });
    expect(await runCli(['approved', 'add', '--workspace', ACME, '--client-id', zapflow.clientId], env)).toMatchObject({ added: true });
    expect(await runCli(['approved', 'remove', '--workspace', ACME, '--client-id', zapflow.clientId], env)).toMatchObject({
      removed: true,
    });
    const listed = (await runCli(['grants', 'list', '--workspace', ACME], env)) as {
      grants: Array<{ id: string; person: { email: string } }>;
    };
    // Ben's grant is active again: his consent above re-authorised it, though its code was refused at redemption.
    expect(listed.grants.map((g) => [g.id, g.person.email]).sort()).toEqual(
      [
        [adaGrant.grantId, 'ada@example.com'],
        [benGrant.grantId, 'ben@example.com'],
      ].sort(),
    );
    expect(await runCli(['roles', 'set', '--workspace', ACME, '--email', 'ben@example.com', '--role', 'owner'], env)).toMatchObject({
      role: 'owner',
      changed: true,
    });
    expect(await runCli(['roles', 'set', '--workspace', ACME, '--email', 'ben@example.com', '--role', 'member'], env)).toMatchObject({
      role: 'member',
      changed: true,
    });
    await expect(runCli(['policy', 'set', '--workspace', ACME, '--restrict', 'everyone'], env)).rejects.toMatchObject({
      code: 'bad_arguments',
    });
    await expect(runCli(['grants', 'revoke', '00000000-0000-4000-8000-000000000000'], env)).rejects.toMatchObject({ code: 'not_found' });
    expect(await runCli(['grants', 'revoke', adaGrant.grantId, '--reason', 'rotation drill'], env)).toEqual({
      object: 'revocation',
      revoked: [adaGrant.grantId],
      already_revoked: [],
    });
    expect(await introspect(zapflow, adaGrant.access)).toEqual({ active: false });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', adaGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row.revoke_reason).toBe('rotation drill');
    expect(row.revoked_by).toMatch(/^admin_token:bootstrap/);
  });

  it('"My connections": Ben revokes his own grant; he cannot revoke anyone else\'s there', async () => {
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const tokens = await redeem(zapflow, b.code);
    const a = await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
    const before = await snapshot();
    expect((await postForm(ben, `${t.url}/connections/mine/${a.grantId}/revoke`, { _csrf: benCsrf })).status).toBe(404);
    expect((await api(`/grants/${a.grantId}/revoke`, { body: {}, browser: ben, csrf: benCsrf })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    const own = await postForm(ben, `${t.url}/connections/mine/${b.grantId}/revoke`, { _csrf: benCsrf, confirm: 'yes' });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toBe('/connections/mine?notice=revoked');
    expect(await introspect(zapflow, tokens.access_token)).toEqual({ active: false });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', b.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ revoked_by: `person:${benId}`, revoke_reason: 'revoked by the person who granted it' });
    // Ada's fresh grant from above: "Disconnect" (all users of Zapflow in Acme).
    const disconnect = await postForm(ada, `${t.url}/connections/${ACME}/apps/${zapflow.app.id}/disconnect`, {
      _csrf: adaCsrf,
      confirm: 'yes',
    });
    expect(disconnect.status).toBe(303);
    expect(await t.gatehouse.stores.grants.listActiveIds({ workspaceId: ACME, appId: zapflow.app.id })).toEqual([]);
  });

  it("disconnecting Ben's Notion account: revoked at Notion, ciphertext destroyed, his grants through it revoked", async () => {
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const tokens = await redeem(zapflow, b.code);
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(benId, ACME))!;
    // Ben's token may disconnect his own connection, not Ada's (he is no owner of Acme): 404.
    const adaConnection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    expect((await api(`/upstream-connections/${adaConnection.id}/disconnect`, { body: {}, token: benToken })).status).toBe(404);
    const response = await api(`/upstream-connections/${connection.id}/disconnect`, { body: {}, token: benToken });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ upstream_connection_id: connection.id, disconnected: true, revoked_at_notion: true });
    expect(body.revoked).toEqual(expect.arrayContaining([b.grantId, labGrantId]));
    const row = await db()
      .selectFrom('upstream_connections')
      .select(['status', 'credential_ciphertext'])
      .where('id', '=', connection.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'disconnected', credential_ciphertext: null });
    expect(await introspect(zapflow, tokens.access_token)).toEqual({ active: false });
    const again = await api(`/upstream-connections/${connection.id}/disconnect`, { body: {}, token: benToken });
    expect(await again.json()).toMatchObject({ disconnected: false, revoked: [] });
  });

  it('a person who left (membership sync) loses their grants in that workspace, audited as the system', async () => {
    // Ben's own credential is gone (above): a grant row standing for one he made in Acme.
    const adaConnection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    const { grant } = await t.gatehouse.stores.grants.upsert(
      {
        personId: benId,
        appId: other.app.id,
        workspaceId: ACME,
        upstreamConnectionId: adaConnection.id,
        capabilities: ['read_content'],
        pageIds: [],
      },
      new Date(),
    );
    await t.gatehouse.sandboxNotion!.removeMember({ workspaceName: 'Acme', email: 'ben@example.com' });
    t.gatehouse.membership.request();
    await t.gatehouse.membership.idle();
    expect((await t.gatehouse.stores.workspaces.membership(ACME, benId))!.status).toBe('left');
    const row = await db()
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason'])
      .where('id', '=', grant.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'revoked', revoked_by: 'system:membership sync', revoke_reason: 'person left the workspace' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_type'])
      .where('action', '=', 'grant.revoked')
      .where('target_id', '=', grant.id)
      .execute();
    expect(audit).toEqual([{ actor_type: 'system' }]);
  });

  it("the OpenAPI document describes the console's operations from the same schemas", async () => {
    const doc = (await (await fetch(`${t.url}/api/admin/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    for (const path of [
      '/grants',
      '/grants/{grant_id}/revoke',
      '/workspaces/{workspace_id}/policy',
      '/workspaces/{workspace_id}/approved-apps',
      '/workspaces/{workspace_id}/members/role',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(Object.keys(doc.components.schemas.InstallPolicyRequest!.properties!)).toEqual(['install_policy', 'auto_approve_organisation']);
  });
});
