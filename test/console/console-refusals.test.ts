/**
 * The connections console (pages and admin JSON API), refused: an
 * authorisation matrix over every page and API action (signed out, a member,
 * an owner of another workspace, a partner's access token, another person's
 * admin token), each refused cell asserting the answer AND that nothing
 * changed in the database; bad input; and the OpenAPI document's console
 * operations. The cast is in ./console-fixture.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { postForm } from '../support/notion-connect.js';
import type { Browser } from '../support/browser.js';
import type { TestGatehouse } from '../support/harness.js';
import type { RegisteredApp } from '../support/partner.js';
import { ACME, LAB, setUpConsole, type ConsoleFixture } from './console-fixture.js';

describe('connections console: refusals', () => {
  let f: ConsoleFixture;
  let t: TestGatehouse;
  let ada: Browser;
  let ben: Browser;
  let adaCsrf: string;
  let benCsrf: string;
  let zapflow: RegisteredApp;
  let other: RegisteredApp;
  let benId: string;
  let benToken: string; // Ben's personal admin token
  let labGrantId: string;
  let adaGrant: ConsoleFixture['adaGrant'];
  let benGrant: ConsoleFixture['benGrant'];
  const api = (...args: Parameters<ConsoleFixture['api']>) => f.api(...args);
  const snapshot = () => f.snapshot();
  const page = (...args: Parameters<ConsoleFixture['page']>) => f.page(...args);

  beforeAll(async () => {
    f = await setUpConsole();
    ({ t, ada, ben, adaCsrf, benCsrf, zapflow, other, benId, benToken, labGrantId, adaGrant, benGrant } = f);
  });
  afterAll(async () => f?.t.stop());

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
