/**
 * The authorisation matrix: every admin page and admin API
 * action that exists, for seven callers: signed out, a member (Ben), an owner
 * (Ada, owner of Acme), an owner of another workspace (Cy, owner of
 * Elsewhere), an organisation admin (Olga, owning nothing), a partner's
 * access token (Ben's grant on Acme), and another person's admin token
 * (Ben's personal admin token). Every cell asserts the answer: the allowed
 * cells succeed (2xx, or a page form's 303 back to a Gatehouse page), every
 * other cell is 401, 403 or 404 (a signed-out visitor's page visit is a 303
 * to sign-in) and leaves the database exactly as it was (a digest of every
 * table a refused request could touch, taken around each refused cell).
 * Within an action the refused cells run first; actions that destroy state
 * come last.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { createOutsider, csrfOf, signInAs } from '../support/admin-actors.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { postForm } from '../support/notion-connect.js';
import type { Person } from '../../src/store/people.js';
import { adminActions, type Action, type ActorName } from './admin-actions.js';

const ACTORS: ActorName[] = ['signedOut', 'member', 'owner', 'otherOwner', 'orgAdmin', 'partnerToken', 'otherAdminToken'];

const TABLES = [
  'people',
  'workspaces',
  'workspace_members',
  'upstream_connections',
  'partner_apps',
  'grants',
  'authorization_codes',
  'access_tokens',
  'refresh_tokens',
  'approved_apps',
  'workspace_agent_policies',
  'internal_integration_pages',
  'audit_events',
] as const;

describe('admin authorisation matrix: every page and API action, seven callers', () => {
  let t: TestGatehouse;
  const browsers: Partial<Record<ActorName, Browser>> = {};
  const csrf: Partial<Record<ActorName, string>> = {};
  let partnerAccessToken: string;
  let benAdminToken: string;
  let adaAdminTokenId: string;
  let acmeId: string;
  let ben: Person;
  let ada: Person;
  let partner: RegisteredApp;
  let grantId: string;
  let integrationId: string;
  let convertibleId: string;
  let convertibleViaPageId: string;
  let pageId: string;
  let sideConnectionId: string;
  let disconnectableId: string;
  let disconnectableViaPageId: string;

  /** Everything a refused request could change, as one digest per table (admin_tokens without last_used_at, which every presented token updates). */
  const digest = async () => {
    const db = t.gatehouse.database.db;
    const parts: Record<string, string> = {};
    for (const table of TABLES) {
      const row = await sql<{
        d: string | null;
      }>`select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as d from ${sql.table(table)} x`.execute(db);
      parts[table] = row.rows[0]!.d ?? '';
    }
    const tokens = await sql<{
      d: string;
    }>`select md5(coalesce(string_agg(concat_ws(',', id, token_hash, person_id, label, bootstrap, revoked_at), '|' order by id), '')) as d from admin_tokens`.execute(
      db,
    );
    parts.admin_tokens = tokens.rows[0]!.d;
    return parts;
  };

  const call = async (actor: ActorName, action: Action): Promise<Response> => {
    const url = `${t.url}${action.path()}`;
    const body = action.body?.();
    const browser = browsers[actor];
    if (browser) {
      // Pages only: JSON API calls of signed-in people go through apiWithSession.
      if (action.method === 'GET') return browser.request(url, { headers: { accept: 'text/html' } });
      return postForm(browser, url, { _csrf: csrf[actor]!, ...(body as Record<string, string>) });
    }
    const token = actor === 'partnerToken' ? partnerAccessToken : actor === 'otherAdminToken' ? benAdminToken : null;
    const headers: Record<string, string> = {
      accept: action.kind === 'api' ? 'application/json' : 'text/html',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    };
    if (action.kind === 'page' && action.method === 'POST') {
      return fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams((body as Record<string, string>) ?? {}),
      });
    }
    return fetch(url, {
      method: action.method,
      redirect: 'manual',
      headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  };

  /** JSON API calls of signed-in browsers: fetch with the browser's session cookie and CSRF header. */
  const apiWithSession = async (actor: ActorName, action: Action): Promise<Response> => {
    const cookie = browsers[actor]!.cookie('gatehouse.sid')!;
    const body = action.body?.();
    return fetch(`${t.url}${action.path()}`, {
      method: action.method,
      redirect: 'manual',
      headers: {
        cookie: `gatehouse.sid=${cookie}`,
        accept: 'application/json',
        ...(action.method !== 'GET' ? { 'x-csrf-token': csrf[actor]! } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  };

  const perform = (actor: ActorName, action: Action) =>
    action.kind === 'api' && browsers[actor] ? apiWithSession(actor, action) : call(actor, action);

  beforeAll(async () => {
    t = await startTestGatehouse({ env: { GATEHOUSE_ADMIN_EMAILS: 'olga@example.com' } });
    const { stores } = t.gatehouse;
    browsers.member = new Browser();
    browsers.owner = new Browser();
    await signIn(browsers.member, t.url, 'ben@example.com', 'ben-demo');
    await signIn(browsers.owner, t.url, 'ada@example.com', 'ada-demo');
    const cy = await createOutsider(t, {
      email: 'cy@example.com',
      name: 'Cy Outsider',
      workspace: { id: 'ws-elsewhere', name: 'Elsewhere' },
    });
    const olga = await createOutsider(t, { email: 'olga@example.com', name: 'Olga Admin' });
    browsers.otherOwner = await signInAs(t, cy);
    browsers.orgAdmin = await signInAs(t, olga);
    for (const name of ['member', 'owner', 'otherOwner', 'orgAdmin'] as const) csrf[name] = await csrfOf(browsers[name]!, t.url);
    [ben] = (await stores.people.findByEmail('ben@example.com')) as [Person];
    [ada] = (await stores.people.findByEmail('ada@example.com')) as [Person];
    acmeId = (await stores.workspaces.listAll()).find((w) => w.name === 'Acme')!.id;
    const sideId = (await stores.workspaces.listAll()).find((w) => w.name === 'Side Project')!.id;
    sideConnectionId = (await stores.connections.findForPersonAndWorkspace(ada.id, sideId))!.id;

    benAdminToken = (await stores.adminTokens.create({ personId: ben.id, label: 'matrix', bootstrap: false }, new Date())).token;
    const adaToken = await stores.adminTokens.create({ personId: ada.id, label: 'matrix', bootstrap: false }, new Date());
    adaAdminTokenId = adaToken.id;

    partner = await registerApp(t.gatehouse, { name: 'Matrix partner' });
    const issued = await issueCode(t.gatehouse, { registered: partner, email: 'ben@example.com', workspaceName: 'Acme' });
    grantId = issued.grantId;
    const redeemed = await fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(partner.clientId, partner.clientSecret!), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: issued.code, redirect_uri: partner.app.redirectUris[0]! }),
    });
    expect(redeemed.status).toBe(200);
    partnerAccessToken = ((await redeemed.json()) as { access_token: string }).access_token;

    const createIntegration = async (name: string) => {
      const response = await fetch(`${t.url}/api/admin/v1/integrations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adaToken.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, workspace_id: acmeId, capabilities: ['read_content'] }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: string }).id;
    };
    integrationId = await createIntegration('Matrix integration');
    convertibleId = await createIntegration('Matrix convertible (API)');
    convertibleViaPageId = await createIntegration('Matrix convertible (page)');
    await t.gatehouse.indexer.idle();
    const adaAcme = (await stores.connections.findForPersonAndWorkspace(ada.id, acmeId))!;
    pageId = (await stores.pageIndex.roots(adaAcme.id, 1, 0))[0]!.pageId;
    // Internal integrations connected to a page, for the console's "Disconnect" (a refused cell that removed the page would show).
    disconnectableId = await createIntegration('Matrix disconnectable (API)');
    disconnectableViaPageId = await createIntegration('Matrix disconnectable (page)');
    for (const id of [disconnectableId, disconnectableViaPageId]) {
      const connected = await fetch(`${t.url}/api/admin/v1/workspaces/${acmeId}/pages/${pageId}/connections`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adaToken.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ integration_id: id }),
      });
      expect(connected.status).toBe(201);
    }
  });
  afterAll(async () => t.stop());

  const actions = adminActions(() => ({
    acmeId,
    adaAdminTokenId,
    ben,
    convertibleId,
    convertibleViaPageId,
    disconnectableId,
    disconnectableViaPageId,
    grantId,
    integrationId,
    pageId,
    partner,
    sideConnectionId,
  }));

  const refusedStatuses = [401, 403, 404];

  for (const action of actions) {
    it(`${action.name}: ${action.method} ${action.kind}`, async () => {
      const refused = ACTORS.filter((a) => !action.allowed.includes(a));
      const outcomes: string[] = [];
      for (const actor of refused) {
        const before = await digest();
        const response = await perform(actor, action);
        const status = response.status;
        const location = response.headers.get('location') ?? '';
        await response.arrayBuffer();
        const ok =
          refusedStatuses.includes(status) ||
          (actor !== 'member' &&
            actor !== 'owner' &&
            actor !== 'otherOwner' &&
            actor !== 'orgAdmin' &&
            action.kind === 'page' &&
            action.method === 'GET' &&
            status === 303 &&
            location.startsWith('/auth/sign-in'));
        const after = await digest();
        const changed = Object.keys(before).filter((k) => before[k] !== after[k]);
        if (!ok || changed.length) outcomes.push(`${actor}: ${status}${changed.length ? ` changed ${changed.join(',')}` : ''}`);
      }
      for (const actor of action.allowed) {
        const response = await perform(actor, action);
        const status = response.status;
        const location = response.headers.get('location') ?? '';
        await response.arrayBuffer();
        const ok = (status >= 200 && status < 300) || (status === 303 && !location.startsWith('/auth/sign-in'));
        if (!ok) outcomes.push(`${actor} (allowed): ${status}`);
      }
      expect(outcomes).toEqual([]);
    });
  }
});
