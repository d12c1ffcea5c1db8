/**
 * Registering partner apps: the admin JSON API (who may call it, every bad
 * input answered 400 with nothing stored, the secret shown once and stored
 * as a hash, rotation), how logos are served, and the admin page.
 * Opened by the refusals. The logo fetch rules are in
 * partner-app-logos.test.ts, the command line in partner-apps-cli.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { CAPABILITY_LABELS } from '../../src/oauth/capabilities.js';
import { badInputs, PNG, valid } from './partner-app-fixtures.js';

describe('partner apps: admin JSON API and page', () => {
  let t: TestGatehouse;
  const ben = new Browser();
  const ada = new Browser();
  let benCsrf: string;

  const db = () => t.gatehouse.database.db;
  const api = (
    pathname: string,
    init: { method?: string; body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${t.url}/api/admin/v1${pathname}`, {
      method: init.method ?? (init.body !== undefined || init.raw !== undefined ? 'POST' : 'GET'),
      headers: {
        ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? t.gatehouse.adminToken}` }),
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
    });
  const appRows = () => db().selectFrom('partner_apps').selectAll().orderBy('created_at').execute();
  const appAudit = () =>
    db()
      .selectFrom('audit_events')
      .select(['action', 'target_id', 'actor_type', 'detail'])
      .where('action', 'like', 'partner_app.%')
      .orderBy('id')
      .execute();
  const snapshot = async () => ({ apps: (await appRows()).map((r) => [r.id, r.client_secret_hash]), audit: (await appAudit()).length });

  beforeAll(async () => {
    t = await startTestGatehouse();
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    const page = await ben.request(`${t.url}/workspaces`, { headers: { accept: 'text/html' } });
    benCsrf = csrfTokenOf(await page.text());
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers: no token 401, a wrong token 401, nothing stored', async () => {
    const before = await snapshot();
    for (const response of [
      await api('/apps', { token: null }),
      await api('/apps', { token: 'gh_admin_not-a-real-token-at-all' }),
      await api('/apps', { token: 'gh_admin_not-a-real-token-at-all', body: valid }),
      await api('/apps', { token: 'not a bearer token' }),
    ]) {
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe('unauthorized');
    }
    // A write with neither session nor token meets the global CSRF check first (src/http/csrf.ts): refused all the same.
    for (const response of [
      await api('/apps', { token: null, body: valid }),
      await api('/apps/abc/rotate-secret', { token: null, method: 'POST' }),
    ]) {
      expect([401, 403]).toContain(response.status);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a person who is not an organisation admin (Ben): 403 on the API and the page', async () => {
    const before = await snapshot();
    const list = await ben.request(`${t.url}/api/admin/v1/apps`, { headers: { accept: 'application/json' } });
    expect(list.status).toBe(403);
    expect(await list.json()).toEqual({ error: { code: 'forbidden', message: 'Only organisation admins can do that.' } });
    // With a valid CSRF token, so that the refusal is the admin check's.
    const create = await ben.request(`${t.url}/api/admin/v1/apps`, {
      method: 'POST',
      body: new URLSearchParams({ name: 'Sneaky' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': benCsrf },
    });
    expect(create.status).toBe(403);
    expect((await create.json()).error.message).toBe('Only organisation admins can do that.');
    const page = await ben.request(`${t.url}/admin/apps`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(403);
    expect(await page.text()).toContain('Only organisation admins manage partner apps.');
    const form = await postForm(ben, `${t.url}/admin/apps`, {
      _csrf: benCsrf,
      name: 'Sneaky',
      redirect_uris: 'https://x.example/cb',
      capabilities: 'read_content',
    });
    expect(form.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('sends signed-out visitors of the page to sign-in', async () => {
    const response = await fetch(`${t.url}/admin/apps`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/sign-in?return_to=%2Fadmin%2Fapps');
  });

  let confidential: { client_id: string; client_secret: string; id: string };

  it('registers a confidential client with the admin token: 201, the secret once, only its hash stored, audited', async () => {
    const response = await api('/apps', {
      body: { ...valid, website: 'https://zapflow.example', support_contact: 'help@zapflow.example', built_by_organisation: true },
    });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body).toEqual({
      id: expect.any(String),
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]{24}$/),
      client_secret: expect.stringMatching(/^gh_cs_[A-Za-z0-9_-]{43}$/),
      name: 'Zapflow',
      redirect_uris: ['https://zapflow.example/oauth/callback'],
      capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
      client_type: 'confidential',
      integration_kind: 'public',
      built_by_organisation: true,
      website: 'https://zapflow.example',
      support_contact: 'help@zapflow.example',
      logo_url: null,
      created_at: expect.any(String),
    });
    confidential = body;
    const row = (await appRows()).find((r) => r.id === body.id)!;
    expect(row.client_secret_hash).not.toBe(body.client_secret);
    expect(row.client_secret_hash).toBe(hashToken(body.client_secret));
    expect(JSON.stringify(row)).not.toContain(body.client_secret);
    expect(row.client_id).toBe(body.client_id);
    expect(row.integration_kind).toBe('public');
    const audit = (await appAudit()).filter((a) => a.target_id === body.id);
    expect(audit).toEqual([expect.objectContaining({ action: 'partner_app.created', actor_type: 'admin_token' })]);
    expect(JSON.stringify(audit)).not.toContain(body.client_secret);
  });

  it('registers a public client: no secret, no hash; the user level defaults to no_user_info; URIs stored exactly as given', async () => {
    const uris = ['http://localhost:8080/cb', 'http://127.0.0.1/cb?x=1', 'https://Zapflow.example:8443/Callback/'];
    const response = await api('/apps', {
      body: { name: '  CLI tool  ', redirect_uris: uris, capabilities: ['read_comments', 'read_content'], client_type: 'public' },
    });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.client_secret).toBeUndefined();
    expect('client_secret' in body).toBe(false);
    expect(body).toMatchObject({
      name: 'CLI tool',
      client_type: 'public',
      capabilities: ['read_content', 'read_comments', 'no_user_info'],
      redirect_uris: uris,
    });
    const row = (await appRows()).find((r) => r.id === body.id)!;
    expect(row.client_secret_hash).toBeNull();
    expect(row.redirect_uris).toEqual(uris);
  });

  it('lists apps without secrets or their hashes', async () => {
    const response = await api('/apps');
    expect(response.status).toBe(200);
    const text = await response.text();
    const body = JSON.parse(text);
    expect(body.object).toBe('list');
    expect(body.apps.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['Zapflow', 'CLI tool']));
    expect(text).not.toContain(confidential.client_secret);
    expect(text).not.toContain(hashToken(confidential.client_secret));
    expect(text).not.toMatch(/secret/);
  });

  it.each(badInputs)('answers 400 and stores nothing for %s', async (_case, body, message) => {
    const before = await snapshot();
    const response = await api('/apps', { body });
    expect(response.status).toBe(400);
    const answer = await response.json();
    expect(answer.error.code).toBe('invalid_request');
    expect(answer.error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['malformed JSON', '{"name": ', 'application/json'],
    ['a text/plain body', JSON.stringify(valid), 'text/plain'],
    ['a form body', 'name=x&redirect_uris=https://x.example/cb&capabilities=read_content', 'application/x-www-form-urlencoded'],
  ])('answers 400 and stores nothing for %s', async (_case, raw, type) => {
    const before = await snapshot();
    const response = await api('/apps', { raw, headers: { 'content-type': type } });
    expect(response.status).toBe(400);
    expect((await response.json()).error.code).toBe('invalid_request');
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ['a sandbox path that is no file', '/static/no-such-logo.png', /does not name a file/],
    ['a sandbox file that is not an image', '/static/gatehouse.css', /PNG, JPEG, GIF or WebP/],
    ['a way out of public/', '/static/..%2Fpackage.json', /does not name a file|PNG, JPEG/],
  ])('refuses %s as a logo', async (_case, logoPath, message) => {
    const before = await snapshot();
    const response = await api('/apps', { body: { ...valid, logo_url: `${t.url}${logoPath}` } });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('accepts the sandbox logo from disk and serves it as a PNG that cannot run as anything else', async () => {
    const response = await api('/apps', { body: { ...valid, name: 'With logo', logo_url: `${t.url}/static/demo-partner-logo.png` } });
    expect(response.status).toBe(201);
    const body = await response.json();
    expect(body.logo_url).toBe(`/apps/${body.id}/logo`);
    const logo = await fetch(`${t.url}${body.logo_url}`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toBe('image/png');
    expect(logo.headers.get('x-content-type-options')).toBe('nosniff');
    expect(logo.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(Buffer.from(await logo.arrayBuffer()).equals(PNG)).toBe(true);
    expect((await fetch(`${t.url}/apps/${confidential.id}/logo`)).status).toBe(404);
    expect((await fetch(`${t.url}/apps/not-a-uuid/logo`)).status).toBe(404);
  });

  it('rotates a confidential client secret: the new one once, the old hash gone, audited', async () => {
    const oldHash = hashToken(confidential.client_secret);
    const response = await api(`/apps/${confidential.client_id}/rotate-secret`, { method: 'POST' });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ client_id: confidential.client_id, client_secret: expect.stringMatching(/^gh_cs_/) });
    expect(body.client_secret).not.toBe(confidential.client_secret);
    const rows = await appRows();
    expect(rows.find((r) => r.id === confidential.id)!.client_secret_hash).toBe(hashToken(body.client_secret));
    expect(rows.some((r) => r.client_secret_hash === oldHash)).toBe(false);
    expect((await appAudit()).filter((a) => a.target_id === confidential.id).map((a) => a.action)).toEqual([
      'partner_app.created',
      'partner_app.secret_rotated',
    ]);
    confidential.client_secret = body.client_secret;
  });

  it('refuses to rotate what has no secret (public client, 400) or does not exist (404), changing nothing', async () => {
    const publicApp = (await appRows()).find((r) => r.client_type === 'public')!;
    const before = await snapshot();
    const refused = await api(`/apps/${publicApp.client_id}/rotate-secret`, { method: 'POST' });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toMatch(/public client: it has no client secret/);
    const unknown = await api('/apps/no-such-client/rotate-secret', { method: 'POST' });
    expect(unknown.status).toBe(404);
    const withBody = await api(`/apps/${confidential.client_id}/rotate-secret`, { body: { client_secret: 'mine' } });
    expect(withBody.status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('describes the operations in the public OpenAPI document, from the zod schema', async () => {
    const doc = await (await fetch(`${t.url}/api/admin/v1/openapi.json`)).json();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/apps', '/apps/{client_id}/rotate-secret']));
    expect(doc.components.schemas.NewPartnerApp).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['name', 'redirect_uris', 'capabilities'],
    });
    expect(doc.components.schemas.NewPartnerApp.properties.capabilities.items.enum).toContain('user_info_with_email');
  });

  describe('the page /admin/apps', () => {
    let html: string;
    let csrf: string;

    it('shows organisation admins the list and a labelled "New partner app" form that needs no JavaScript', async () => {
      const response = await ada.request(`${t.url}/admin/apps`, { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
      html = await response.text();
      csrf = csrfTokenOf(html);
      expect(html).toContain('<h2 id="new-app-heading">New partner app</h2>');
      expect(html).toContain('Zapflow');
      expect(html).not.toContain(confidential.client_secret);
      expect(html).not.toContain('<script');
      for (const [value, label] of Object.entries(CAPABILITY_LABELS)) {
        expect(html).toContain(`<input type="checkbox" id="cap-${value}" name="capabilities" value="${value}"`);
        expect(html).toContain(`<label for="cap-${value}" class="inline">${label}</label>`);
      }
      for (const [id, label] of [
        ['app-name', 'Name'],
        ['app-redirect-uris', 'Redirect URIs'],
        ['app-client-type', 'Client type'],
        ['app-logo-url', 'Logo URL'],
        ['app-website', 'Website'],
        ['app-support-contact', 'Support contact'],
        ['app-built-by-organisation', 'Built by Gatehouse demo'],
      ]) {
        expect(html).toMatch(new RegExp(`<label for="${id}"[^>]*>${label}`));
        expect(html).toContain(`id="${id}"`);
      }
      expect(html).toContain('>Rotate secret</button>');
    });

    it('registers from the form and shows the client secret once', async () => {
      const before = (await appRows()).length;
      const response = await postForm(ada, `${t.url}/admin/apps`, {
        _csrf: csrf,
        name: 'Form app',
        redirect_uris: 'https://form.example/cb\r\nhttp://localhost:3001/cb',
        capabilities: ['read_content', 'user_info_with_email'],
        client_type: 'confidential',
        built_by_organisation: 'on',
        logo_url: '',
        website: '',
        support_contact: 'https://form.example/help',
      });
      expect(response.status).toBe(201);
      const page = await response.text();
      const secret = /<code data-client-secret>([^<]+)<\/code>/.exec(page)?.[1];
      const clientId = decodeHtml(/<code data-client-id>([^<]+)<\/code>/.exec(page)![1]!);
      expect(secret).toMatch(/^gh_cs_/);
      const rows = await appRows();
      expect(rows).toHaveLength(before + 1);
      const row = rows.find((r) => r.client_id === clientId)!;
      expect(row).toMatchObject({
        name: 'Form app',
        built_by_organisation: true,
        redirect_uris: ['https://form.example/cb', 'http://localhost:3001/cb'],
        capabilities: ['read_content', 'user_info_with_email'],
      });
      expect(row.client_secret_hash).toBe(hashToken(secret!));
      const again = await (await ada.request(`${t.url}/admin/apps`, { headers: { accept: 'text/html' } })).text();
      expect(again).toContain('Form app');
      expect(again).not.toContain(secret!);
    });

    it('shows the reason and keeps what was typed when the form is refused; nothing stored', async () => {
      const before = await snapshot();
      const response = await postForm(ada, `${t.url}/admin/apps`, {
        _csrf: csrf,
        name: 'Bad form app',
        redirect_uris: 'http://bad.example/cb',
        capabilities: ['read_content'],
        client_type: 'public',
      });
      expect(response.status).toBe(400);
      const page = await response.text();
      expect(page).toContain('role="alert"');
      expect(decodeHtml(page)).toContain('must use https');
      expect(page).toContain('value="Bad form app"');
      expect(await snapshot()).toEqual(before);
    });

    it('rotates from the "Rotate secret" button and refuses a form without its CSRF token', async () => {
      const before = await snapshot();
      const forged = await postForm(ada, `${t.url}/admin/apps/${encodeURIComponent(confidential.client_id)}/rotate-secret`, {});
      expect(forged.status).toBe(403);
      expect(await snapshot()).toEqual(before);
      const response = await postForm(ada, `${t.url}/admin/apps/${encodeURIComponent(confidential.client_id)}/rotate-secret`, {
        _csrf: csrf,
      });
      expect(response.status).toBe(200);
      const secret = /<code data-client-secret>([^<]+)<\/code>/.exec(await response.text())![1]!;
      expect((await appRows()).find((r) => r.id === confidential.id)!.client_secret_hash).toBe(hashToken(secret));
      const audit = (await appAudit()).filter((a) => a.target_id === confidential.id).at(-1)!;
      expect(audit).toMatchObject({ action: 'partner_app.secret_rotated', actor_type: 'person' });
    });
  });
});
