/**
 * The connections console's cast and setup, replayed by each of its test
 * files (they share no process): Ada owns Acme (the demo seed); Ben is a
 * member of Acme; Ben also owns "Lab", a workspace Ada is not in. Ada and Ben
 * each installed Zapflow in Acme; Ben installed Othertool in Lab. The
 * organisation admin is nobody who signs in here: its cell is the bootstrap
 * admin token.
 */
import { expect } from '@jest/globals';
import { Client } from '@notionhq/client';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse } from '../support/harness.js';
import { decodeHtml } from '../support/notion-connect.js';
import { basic, issueCode, redeem as redeemCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

export const ACME = SEED_WORKSPACE_IDS.acme;
export const LAB = 'lab-0000-workspace';

export type ConsoleFixture = Awaited<ReturnType<typeof setUpConsole>>;

export async function setUpConsole() {
  const ada = new Browser();
  const ben = new Browser();
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

  const t = await startTestGatehouse({ database: 'postgres', redis: true, env: { GATEHOUSE_ADMIN_EMAILS: 'root@example.com' } });
  const zapflow = await registerApp(t.gatehouse, { name: 'Zapflow' });
  const other = await registerApp(t.gatehouse, { name: 'Othertool' });
  await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
  await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
  const adaCsrf = csrfTokenOf((await page(ada, '/workspaces')).html);
  const benCsrf = csrfTokenOf((await page(ben, '/workspaces')).html);
  const adaId = (await t.gatehouse.stores.people.findByEmail('ada@example.com'))[0]!.id;
  const benId = (await t.gatehouse.stores.people.findByEmail('ben@example.com'))[0]!.id;
  const benToken = (await t.gatehouse.stores.adminTokens.create({ personId: benId, label: 'Ben laptop', bootstrap: false }, new Date()))
    .token;

  // Ada and Ben each install Zapflow in Acme; Ben owns "Lab" (Ada is not in it), where he installed Othertool.
  const a = await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
  const aTokens = await redeem(zapflow, a.code);
  const adaGrant = { grantId: a.grantId, access: aTokens.access_token, refresh: aTokens.refresh_token };
  const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
  const bTokens = await redeem(zapflow, b.code);
  const benGrant = { grantId: b.grantId, access: bTokens.access_token, refresh: bTokens.refresh_token };
  await t.gatehouse.stores.workspaces.upsertWithConnector({ id: LAB, name: 'Lab', icon: null }, benId, new Date());
  const benAcme = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(benId, ACME))!;
  const labGrantId = (
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
  return {
    t,
    ada,
    ben,
    adaCsrf,
    benCsrf,
    zapflow,
    other,
    adaId,
    benId,
    benToken,
    labGrantId,
    adaGrant,
    benGrant,
    db,
    api,
    snapshot,
    redeem,
    introspect,
    refresh,
    page,
  };
}
