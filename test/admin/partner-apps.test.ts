/**
 * Registering partner apps: the admin JSON API (who may call it, every bad
 * input answered 400 with nothing stored, the secret shown once and stored
 * as a hash, rotation), the logo fetch (address, size, type and redirect
 * rules, the sandbox's own logos, how logos are served), the admin page,
 * and the command line against a real server process.
 * Opened by the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { listenOnFreePort, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { ROOT, run, startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { CAPABILITY_LABELS } from '../../src/oauth/capabilities.js';
import {
  checkLogoContent,
  createLogoFetcher,
  httpsDownload,
  isPublicAddress,
  LogoError,
  sniffImageType,
  type DownloadResult,
  type DownloadTarget,
  type ResolvedAddress,
} from '../../src/admin/logo.js';
import { runCli } from '../../src/cli/gatehouse.js';

const DEMO_LOGO = path.join(ROOT, 'public', 'demo-partner-logo.png');
const PNG = fs.readFileSync(DEMO_LOGO);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60)]);
const GIF = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(40)]);
const WEBP = Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.alloc(4), Buffer.from('WEBPVP8 ', 'latin1'), Buffer.alloc(40)]);
const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>');

const valid = {
  name: 'Zapflow',
  redirect_uris: ['https://zapflow.example/oauth/callback'],
  capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
};

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

  const tooMany = Array.from({ length: 11 }, (_, i) => `https://zapflow.example/cb${i}`);
  const badInputs: Array<[string, unknown, RegExp]> = [
    ['an empty name', { ...valid, name: '' }, /name/],
    ['a blank name', { ...valid, name: '   ' }, /name must be 1 to 100/],
    ['a name over 100 characters', { ...valid, name: 'x'.repeat(101) }, /name/],
    ['no name', { redirect_uris: valid.redirect_uris, capabilities: valid.capabilities }, /name: is required/],
    ['a name that is not a string', { ...valid, name: 42 }, /^name: Invalid input: expected string, received number\.$/],
    ['no redirect URI', { ...valid, redirect_uris: [] }, /redirect_uris/],
    ['eleven redirect URIs', { ...valid, redirect_uris: tooMany }, /redirect_uris/],
    ['redirect_uris as a string', { ...valid, redirect_uris: 'https://zapflow.example/cb' }, /redirect_uris/],
    ['an http redirect URI', { ...valid, redirect_uris: ['http://partner.example/cb'] }, /must use https/],
    ['http on a look-alike of localhost', { ...valid, redirect_uris: ['http://localhost.evil.example/cb'] }, /must use https/],
    ['http on [::1] (only localhost and 127.0.0.1)', { ...valid, redirect_uris: ['http://[::1]:8080/cb'] }, /must use https/],
    ['a relative redirect URI', { ...valid, redirect_uris: ['/oauth/callback'] }, /absolute/],
    ['a redirect URI with a fragment', { ...valid, redirect_uris: ['https://zapflow.example/cb#top'] }, /fragment/],
    ['a redirect URI with an empty fragment', { ...valid, redirect_uris: ['https://zapflow.example/cb#'] }, /fragment/],
    ['a redirect URI with user and password', { ...valid, redirect_uris: ['https://user:pw@zapflow.example/cb'] }, /user name or password/],
    ['a redirect URI with an empty user', { ...valid, redirect_uris: ['https://@zapflow.example/cb'] }, /user name or password/],
    ['a javascript: redirect URI', { ...valid, redirect_uris: ['javascript:alert(1)'] }, /absolute https/],
    ['a custom-scheme redirect URI', { ...valid, redirect_uris: ['zapflow://callback'] }, /absolute https/],
    ['a redirect URI with a space', { ...valid, redirect_uris: ['https://zapflow.example/c b'] }, /spaces/],
    ['a duplicated redirect URI', { ...valid, redirect_uris: ['https://zapflow.example/cb', 'https://zapflow.example/cb'] }, /twice/],
    ['an unknown capability', { ...valid, capabilities: ['read_content', 'delete_everything'] }, /capabilities/],
    [
      'two user-information levels',
      { ...valid, capabilities: ['read_content', 'no_user_info', 'user_info_with_email'] },
      /at most one user-information level/,
    ],
    ['no capability', { ...valid, capabilities: [] }, /capabilities/],
    ['capabilities as a string', { ...valid, capabilities: 'read_content insert_content' }, /capabilities/],
    ['an unknown client type', { ...valid, client_type: 'spa' }, /client_type/],
    ['built_by_organisation as a string', { ...valid, built_by_organisation: 'yes' }, /built_by_organisation/],
    ['an http website', { ...valid, website: 'http://zapflow.example' }, /website must be an https URL/],
    ['a website that is not a URL', { ...valid, website: 'zapflow' }, /website must be an https URL/],
    [
      'a support contact that is neither email nor https',
      { ...valid, support_contact: 'call us' },
      /support contact must be an email address or an https URL/,
    ],
    ['an http support contact', { ...valid, support_contact: 'http://zapflow.example/help' }, /support contact/],
    ['an unknown field', { ...valid, client_secret: 'mine' }, /Unknown field "client_secret"/],
    ['an array body', [valid], /body must be a JSON object/],
    ['a name of the wrong type', { ...valid, name: ['Zapflow'] }, /name: Invalid input: expected string/],
    ['an http logo URL', { ...valid, logo_url: 'http://zapflow.example/logo.png' }, /must use https/],
    ['a logo on 127.0.0.1', { ...valid, logo_url: 'https://127.0.0.1/x.png' }, /non-public address/],
    ['a logo on [::1]', { ...valid, logo_url: 'https://[::1]/x.png' }, /non-public address/],
    ['a logo on an IPv4-mapped private address', { ...valid, logo_url: 'https://[::ffff:10.0.0.1]/x.png' }, /non-public address/],
    [
      'a logo on 169.254.169.254 (cloud metadata)',
      { ...valid, logo_url: 'https://169.254.169.254/latest/meta-data' },
      /non-public address/,
    ],
    ['a logo on a decimal-encoded loopback', { ...valid, logo_url: 'https://2130706433/x.png' }, /non-public address/],
    ['a logo on localhost (resolves to loopback)', { ...valid, logo_url: 'https://localhost/x.png' }, /non-public address/],
    ['a logo URL with a user name', { ...valid, logo_url: 'https://user@zapflow.example/x.png' }, /user name/],
    ['a logo URL that is not a URL', { ...valid, logo_url: 'logo.png' }, /not an absolute URL/],
  ];

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

describe('logo fetch rules', () => {
  it.each([
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['10.1.2.3', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['255.255.255.255', false],
    ['192.0.2.1', false],
    ['198.18.0.1', false],
    ['::', false],
    ['::1', false],
    ['fe80::1', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['ff02::1', false],
    ['fec0::1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::127.0.0.1', false],
    ['64:ff9b::10.0.0.1', false],
    ['2002:0a00:0001::1', false],
    ['2001:db8::1', false],
    ['2001::1', false],
    ['not-an-ip', false],
    ['fe80::1%eth0', false],
    ['93.184.216.34', true],
    ['172.32.0.1', true],
    ['8.8.8.8', true],
    ['2606:4700:4700::1111', true],
    ['::ffff:8.8.8.8', true],
    ['64:ff9b::8.8.8.8', true],
    ['2a00:1450:4001:81c::200e', true],
  ])('isPublicAddress(%s) is %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  it('sniffs the four formats and refuses SVG, HTML, mismatches, empty and oversized bodies', () => {
    expect(sniffImageType(PNG)).toBe('image/png');
    expect(sniffImageType(JPEG)).toBe('image/jpeg');
    expect(sniffImageType(GIF)).toBe('image/gif');
    expect(sniffImageType(WEBP)).toBe('image/webp');
    expect(sniffImageType(SVG)).toBeNull();
    expect(checkLogoContent('image/png; charset=binary', PNG).contentType).toBe('image/png');
    expect(checkLogoContent('IMAGE/WEBP', WEBP).contentType).toBe('image/webp');
    expect(() => checkLogoContent('image/svg+xml', SVG)).toThrow(/SVG is not accepted/);
    expect(() => checkLogoContent('text/html', PNG)).toThrow(LogoError);
    expect(() => checkLogoContent(null, PNG)).toThrow(/no content type/);
    expect(() => checkLogoContent('image/png', JPEG)).toThrow(/not a PNG image/);
    expect(() => checkLogoContent('image/gif', SVG)).toThrow(/not a GIF image/);
    expect(() => checkLogoContent('image/png', Buffer.alloc(0))).toThrow(/empty/);
    expect(() => checkLogoContent('image/png', Buffer.concat([PNG, Buffer.alloc(256 * 1024)]))).toThrow(/larger than 256 KB/);
  });

  const fetcherWith = (answers: ResolvedAddress[] | Error, result?: Partial<DownloadResult>) => {
    const calls: DownloadTarget[] = [];
    const fetcher = createLogoFetcher({
      publicUrl: 'http://localhost:3000',
      publicDir: path.join(ROOT, 'public'),
      resolve: async () => {
        if (answers instanceof Error) throw answers;
        return answers;
      },
      download: async (target) => {
        calls.push(target);
        return { status: 200, contentType: 'image/png', location: null, bytes: PNG, ...result };
      },
    });
    return { fetcher, calls };
  };

  it('resolves first, refuses a host with any non-public answer and never connects to it', async () => {
    for (const answers of [
      [{ address: '10.0.0.7', family: 4 }],
      [
        { address: '93.184.216.34', family: 4 },
        { address: '127.0.0.1', family: 4 },
      ],
      [{ address: 'fd00::5', family: 6 }],
    ] as ResolvedAddress[][]) {
      const { fetcher, calls } = fetcherWith(answers);
      await expect(fetcher('https://logo.partner.example/x.png')).rejects.toThrow(/non-public address/);
      expect(calls).toHaveLength(0);
    }
    const unresolvable = fetcherWith(new Error('ENOTFOUND'));
    await expect(unresolvable.fetcher('https://nowhere.invalid/x.png')).rejects.toThrow(/does not resolve/);
  });

  it('connects to the address it vetted, with the limits', async () => {
    const { fetcher, calls } = fetcherWith([{ address: '93.184.216.34', family: 4 }]);
    const logo = await fetcher('https://logo.partner.example/x.png');
    expect(logo.contentType).toBe('image/png');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.address).toEqual({ address: '93.184.216.34', family: 4 });
    expect(calls[0]!.url.hostname).toBe('logo.partner.example');
    expect(calls[0]!.maxBytes).toBe(256 * 1024);
    expect(calls[0]!.timeoutMs).toBeLessThanOrEqual(5000);
  });

  it.each([
    ['a redirect', { status: 302, location: 'https://127.0.0.1/x.png', bytes: Buffer.alloc(0) }, /redirects/],
    ['a 404', { status: 404, bytes: Buffer.alloc(0) }, /answered 404/],
    ['SVG', { contentType: 'image/svg+xml', bytes: SVG }, /SVG is not accepted/],
    ['HTML', { contentType: 'text/html', bytes: Buffer.from('<html>') }, /PNG, JPEG, GIF or WebP/],
    ['a PNG label on other bytes', { contentType: 'image/png', bytes: SVG }, /not a PNG image/],
    ['too many bytes', { contentType: 'image/png', bytes: Buffer.concat([PNG, Buffer.alloc(300 * 1024)]) }, /larger than 256 KB/],
  ])('refuses %s', async (_case, result, message) => {
    const { fetcher } = fetcherWith([{ address: '93.184.216.34', family: 4 }], result);
    await expect(fetcher('https://logo.partner.example/x.png')).rejects.toThrow(message);
  });

  it('reads the sandbox logos from disk, and only under /static/ of its own URL', async () => {
    const { fetcher, calls } = fetcherWith([{ address: '93.184.216.34', family: 4 }]);
    expect((await fetcher('http://localhost:3000/static/demo-partner-logo.png')).bytes.equals(PNG)).toBe(true);
    await expect(fetcher('http://localhost:3001/static/demo-partner-logo.png')).rejects.toThrow(/must use https/);
    await expect(fetcher('http://localhost:3000/other/demo-partner-logo.png')).rejects.toThrow(/must use https/);
    expect(calls).toHaveLength(0);
  });

  describe('the TLS download itself, against a local https server', () => {
    let server: https.Server;
    let port: number;
    let ca: string;
    let dir: string;
    const target = (pathname: string, extra: Partial<DownloadTarget> = {}): DownloadTarget => ({
      // logo.test is never looked up: the socket goes to the pinned address, TLS checks the certificate against logo.test.
      url: new URL(`https://logo.test:${port}${pathname}`),
      address: { address: '127.0.0.1', family: 4 },
      timeoutMs: 2000,
      maxBytes: 256 * 1024,
      ...extra,
    });

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-logo-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          path.join(dir, 'key.pem'),
          '-out',
          path.join(dir, 'cert.pem'),
          '-subj',
          '/CN=logo.test',
          '-addext',
          'subjectAltName=DNS:logo.test',
        ],
        { stdio: 'ignore' },
      );
      ca = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
      server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: ca }, (req, res) => {
        if (req.url === '/logo.png') return res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
        if (req.url === '/redirect') return res.writeHead(302, { location: 'https://127.0.0.1/x.png' }).end();
        if (req.url === '/declared-huge')
          return res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10 * 1024 * 1024) }).end();
        if (req.url === '/streamed-huge') {
          res.writeHead(200, { 'content-type': 'image/png' });
          const chunk = Buffer.alloc(64 * 1024);
          let sent = 0;
          const push = () => {
            if (sent++ > 20 || res.destroyed) return res.end();
            res.write(chunk, () => setImmediate(push));
          };
          return push();
        }
        if (req.url === '/slow') return; // never answers
        res.writeHead(404).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('downloads from the pinned address with the certificate checked against the host name', async () => {
      const result = await httpsDownload(target('/logo.png'), { ca });
      expect(result.status).toBe(200);
      expect(checkLogoContent(result.contentType, result.bytes).bytes.equals(PNG)).toBe(true);
      await expect(httpsDownload({ ...target('/logo.png'), url: new URL(`https://other.test:${port}/logo.png`) }, { ca })).rejects.toThrow(
        /certificate/,
      );
      await expect(httpsDownload(target('/logo.png'))).rejects.toThrow(/certificate/);
    });

    it('does not follow a redirect', async () => {
      const result = await httpsDownload(target('/redirect'), { ca });
      expect(result).toMatchObject({ status: 302, location: 'https://127.0.0.1/x.png' });
      expect(result.bytes).toHaveLength(0);
    });

    it('stops at 256 KB, declared or streamed, and at the deadline', async () => {
      await expect(httpsDownload(target('/declared-huge'), { ca })).rejects.toThrow(/larger than 256 KB/);
      await expect(httpsDownload(target('/streamed-huge'), { ca })).rejects.toThrow(/larger than 256 KB/);
      const started = Date.now();
      await expect(httpsDownload(target('/slow', { timeoutMs: 300 }), { ca })).rejects.toThrow(/did not answer within 0.3 s/);
      expect(Date.now() - started).toBeLessThan(2000);
    });
  });
});

describe('the command line: apps create, list, rotate-secret against a real server process', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-cli-apps-'));
  let server: ServerProcess;
  const gatehouse = (...args: string[]) => run('npm', ['run', 'gatehouse', '--', ...args], { GATEHOUSE_DATA_DIR: dataDir });
  const oneJson = (stdout: string) => {
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    return JSON.parse(lines[0]!);
  };

  beforeAll(async () => {
    const { server: probe, url } = await listenOnFreePort();
    await new Promise((resolve) => probe.close(resolve));
    const port = new URL(url).port;
    server = await startServerProcess({ PORT: port, GATEHOUSE_PUBLIC_URL: `http://127.0.0.1:${port}`, GATEHOUSE_DATA_DIR: dataDir });
  }, 90_000);
  afterAll(async () => {
    if (server?.child.exitCode === null) await stopServerProcess(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  let created: { client_id: string; client_secret: string };

  it('refuses an unknown flag, a missing value and a missing client id before calling the server', async () => {
    await expect(runCli(['apps', 'create', '--name', 'X', '--colour', 'red'], {})).rejects.toMatchObject({
      code: 'unknown_flag',
      exitCode: 2,
    });
    await expect(runCli(['apps', 'create', '--name'], {})).rejects.toMatchObject({ code: 'missing_value' });
    await expect(runCli(['apps', 'create', '--name', 'X'], {})).rejects.toMatchObject({ code: 'missing_flag' });
    await expect(runCli(['apps', 'rotate-secret'], {})).rejects.toMatchObject({ code: 'missing_argument' });
    await expect(runCli(['apps', 'list', 'extra'], {})).rejects.toMatchObject({ code: 'unexpected_argument' });
    await expect(runCli(['workspaces', 'list', '--all'], {})).rejects.toMatchObject({ code: 'unknown_flag' });
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'X',
      '--redirect-uri',
      'https://x.example/cb',
      '--capabilities',
      'read_content',
      '--colour',
      'red',
    );
    expect(result.code).not.toBe(0);
    expect(oneJson(result.stdout).error.code).toBe('unknown_flag');
  });

  it('apps create prints one JSON object with the client id and the secret', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Zapflow',
      '--redirect-uri',
      'https://zapflow.example/cb',
      '--redirect-uri',
      'http://localhost:8080/cb',
      '--capabilities',
      'read_content,insert_content,user_info_without_email',
      '--built-by-organisation',
      '--website',
      'https://zapflow.example',
      '--support-contact',
      'help@zapflow.example',
      `--logo-url=${server.readyLine.replace(/^.*open /, '').replace(/\/$/, '')}/static/demo-partner-logo.png`,
    );
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body).toMatchObject({
      client_id: expect.stringMatching(/^[A-Za-z0-9_-]+$/),
      client_secret: expect.stringMatching(/^gh_cs_[A-Za-z0-9_-]+$/),
      name: 'Zapflow',
      redirect_uris: ['https://zapflow.example/cb', 'http://localhost:8080/cb'],
      capabilities: ['read_content', 'insert_content', 'user_info_without_email'],
      client_type: 'confidential',
      built_by_organisation: true,
      logo_url: expect.stringMatching(/^\/apps\/[0-9a-f-]{36}\/logo$/),
    });
    created = body;
  });

  it('apps create --public-client gives no secret', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Desktop',
      '--redirect-uri',
      'http://127.0.0.1:7777/cb',
      '--capabilities',
      'read_content',
      '--public-client',
    );
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body).toMatchObject({ client_type: 'public', capabilities: ['read_content', 'no_user_info'] });
    expect('client_secret' in body).toBe(false);
  });

  it('apps create reports bad input as a JSON error with a non-zero exit', async () => {
    const result = await gatehouse(
      'apps',
      'create',
      '--name',
      'Bad',
      '--redirect-uri',
      'http://partner.example/cb',
      '--capabilities',
      'read_content',
    );
    expect(result.code).not.toBe(0);
    expect(oneJson(result.stdout).error).toEqual({ code: 'invalid_request', message: expect.stringMatching(/must use https/) });
  });

  it('apps list shows the apps without secrets', async () => {
    const result = await gatehouse('apps', 'list');
    expect(result.code).toBe(0);
    const body = oneJson(result.stdout);
    expect(body.apps.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['Zapflow', 'Desktop']));
    expect(result.stdout).not.toContain(created.client_secret);
    expect(result.stdout).not.toContain('secret');
  });

  it('apps rotate-secret, by argument and by --client-id, prints a new secret each time', async () => {
    const first = await gatehouse('apps', 'rotate-secret', created.client_id);
    expect(first.code).toBe(0);
    const a = oneJson(first.stdout);
    expect(a).toEqual({ client_id: created.client_id, client_secret: expect.stringMatching(/^gh_cs_/) });
    const second = await gatehouse('apps', 'rotate-secret', '--client-id', created.client_id);
    const b = oneJson(second.stdout);
    expect(b.client_secret).not.toBe(a.client_secret);
    expect(b.client_secret).not.toBe(created.client_secret);
    const unknown = await gatehouse('apps', 'rotate-secret', 'no-such-client');
    expect(unknown.code).not.toBe(0);
    expect(oneJson(unknown.stdout).error.code).toBe('not_found');
  });

  it('keeps workspaces list working', async () => {
    const result = await gatehouse('workspaces', 'list');
    expect(result.code).toBe(0);
    expect(oneJson(result.stdout).workspaces).toHaveLength(2);
  });
});
