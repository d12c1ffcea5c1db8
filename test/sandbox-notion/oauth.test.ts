/**
 * Sandbox Notion's public-integration OAuth: the authorisation page driven
 * with plain HTTP (no JavaScript, cookies kept by hand), then token, refresh,
 * introspect and revoke through @notionhq/client, as Gatehouse calls them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { APIErrorCode, isNotionClientError } from '@notionhq/client';
import type { Client } from '@notionhq/client';
import { SEED_PAGE_IDS, SEED_USER_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { Browser, GATEHOUSE_CLIENT, formAction, inputValue, startSandbox } from './harness.js';
import type { RunningSandbox } from './harness.js';

const REDIRECT_URI = GATEHOUSE_CLIENT.redirectUris[0];
const credentials = { client_id: GATEHOUSE_CLIENT.clientId, client_secret: GATEHOUSE_CLIENT.clientSecret };

let running: RunningSandbox;
let notion: Client;

beforeAll(async () => {
  running = await startSandbox();
  notion = running.client();
});
afterAll(async () => running.stop());

function authorizeUrl(params: Record<string, string> = {}): string {
  const query = new URLSearchParams({
    client_id: GATEHOUSE_CLIENT.clientId,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    owner: 'user',
    state: 'st-123',
    ...params,
  });
  return `${running.baseUrl}/v1/oauth/authorize?${query.toString()}`;
}

/** Walks the page as a person would: sign in, choose the workspace, tick pages, press a button. */
async function consent(
  browser: Browser,
  opts: { email?: string; password?: string; workspaceId?: string; pageIds?: string[]; decision?: 'allow' | 'cancel' } = {},
): Promise<URL> {
  const origin = new URL(running.baseUrl).origin;
  const start = authorizeUrl();
  let response = await browser.request(start);
  expect(response.status).toBe(303);
  const transactionUrl = Browser.location(response, start);
  response = await browser.request(transactionUrl);
  let html = await response.text();
  if (html.includes('Sign in to sandbox Notion')) {
    const action = new URL(formAction(html, '/sign-in'), origin).toString();
    response = await browser.request(action, {
      form: { _token: inputValue(html, '_token'), email: opts.email ?? 'ada@example.com', password: opts.password ?? 'ada-demo' },
    });
    expect(response.status).toBe(303);
    response = await browser.request(Browser.location(response, action));
    html = await response.text();
  }
  expect(html).toContain('<label for="sandbox-notion-workspace">Workspace</label>');
  const choose = new URL(formAction(html, transactionUrl.slice(origin.length)), origin);
  choose.searchParams.set('workspace', opts.workspaceId ?? SEED_WORKSPACE_IDS.acme);
  response = await browser.request(choose.toString());
  expect(response.status).toBe(200);
  html = await response.text();
  const decision = new URL(formAction(html, '/decision'), origin).toString();
  response = await browser.request(decision, {
    form: {
      _token: inputValue(html, '_token'),
      workspace: opts.workspaceId ?? SEED_WORKSPACE_IDS.acme,
      pages: opts.pageIds ?? [SEED_PAGE_IDS.engineering],
      decision: opts.decision ?? 'allow',
    },
  });
  expect(response.status).toBe(303);
  return new URL(Browser.location(response, decision));
}

async function expectOAuthError(promise: Promise<unknown>, status: number, error: string): Promise<void> {
  const failure = await promise.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isNotionClientError(failure)).toBe(true);
  const { status: actual, body } = failure as { status: number; body: string };
  expect(actual).toBe(status);
  expect(JSON.parse(body)).toMatchObject({ error, object: 'error', status, code: error });
}

describe('the authorisation page', () => {
  it('asks to sign in with Email and Password, and refuses a wrong password', async () => {
    const browser = new Browser();
    const start = authorizeUrl();
    const first = await browser.request(start);
    const page = await browser.request(Browser.location(first, start));
    const html = await page.text();
    expect(page.status).toBe(200);
    expect(html).toContain('<label for="sandbox-notion-email">Email</label>');
    expect(html).toContain('<label for="sandbox-notion-password">Password</label>');
    expect(html).toContain('<button type="submit">Sign in</button>');
    expect(html).toContain('Sandbox');
    expect(html).not.toMatch(/<script|style=/);
    const action = new URL(formAction(html, '/sign-in'), running.baseUrl).toString();
    const wrong = await browser.request(action, {
      form: { _token: inputValue(html, '_token'), email: 'ada@example.com', password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('Wrong email or password.');
  });

  it("lists the person's workspaces, then one checkbox per page labelled with its title, children nested", async () => {
    const browser = new Browser();
    const start = authorizeUrl();
    const first = await browser.request(start);
    const transactionUrl = Browser.location(first, start);
    const signInPage = await (await browser.request(transactionUrl)).text();
    await browser.request(new URL(formAction(signInPage, '/sign-in'), running.baseUrl).toString(), {
      form: { _token: inputValue(signInPage, '_token'), email: 'ben@example.com', password: 'ben-demo' },
    });
    const workspacePage = await (await browser.request(transactionUrl)).text();
    expect(workspacePage).toContain('>Acme</option>');
    expect(workspacePage).not.toContain('>Side Project</option>');
    expect(workspacePage).toContain('Choose workspace</button>');
    const pages = await (await browser.request(`${transactionUrl}?workspace=${SEED_WORKSPACE_IDS.acme}`)).text();
    expect(pages).toContain(`<label for="page-${SEED_PAGE_IDS.engineering}">Engineering</label>`);
    expect(pages).toContain(`<label for="page-${SEED_PAGE_IDS.entityGlossary}">Entity Glossary</label>`);
    expect(pages).toContain('>Projects</label>');
    expect(pages).toContain('Allow access</button>');
    expect(pages).toContain('Read user information including email addresses');
    // Entity Glossary sits three lists deep below Engineering.
    const between = pages.slice(pages.indexOf(`page-${SEED_PAGE_IDS.engineering}`), pages.indexOf(`page-${SEED_PAGE_IDS.entityGlossary}`));
    expect(between.match(/<ul>/g)?.length).toBe(3);
  });

  it('refuses a form without the transaction token', async () => {
    const browser = new Browser();
    const start = authorizeUrl();
    const transactionUrl = Browser.location(await browser.request(start), start);
    const response = await browser.request(`${transactionUrl}/decision`, { form: { _token: 'forged', decision: 'allow' } });
    expect(response.status).toBe(403);
  });

  it('shows an error page, never a redirect, for an unregistered redirect_uri or unknown client', async () => {
    const browser = new Browser();
    const bad = await browser.request(authorizeUrl({ redirect_uri: 'https://evil.example/cb' }));
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
    const unknown = await browser.request(authorizeUrl({ client_id: 'nobody' }));
    expect(unknown.status).toBe(400);
  });

  it('redirects response_type errors back to the client', async () => {
    const browser = new Browser();
    const response = await browser.request(authorizeUrl({ response_type: 'token' }));
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location') as string);
    expect(location.searchParams.get('error')).toBe('unsupported_response_type');
    expect(location.searchParams.get('state')).toBe('st-123');
  });

  it('Cancel redirects with error=access_denied and the state', async () => {
    const location = await consent(new Browser(), { decision: 'cancel' });
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('st-123');
  });
});

describe('tokens', () => {
  let code: string;
  let accessToken: string;
  let refreshToken: string;
  let botId: string;

  it('Allow access redirects with a code and the state', async () => {
    const location = await consent(new Browser());
    expect(location.searchParams.get('state')).toBe('st-123');
    code = location.searchParams.get('code') as string;
    expect(code).toBeTruthy();
  });

  it("exchanges the code for Notion's token answer", async () => {
    const before = running.sandbox.stats().tokenCalls.authorization_code;
    const answer = await notion.oauth.token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...credentials });
    expect(answer).toMatchObject({
      token_type: 'bearer',
      workspace_id: SEED_WORKSPACE_IDS.acme,
      workspace_name: 'Acme',
      workspace_icon: expect.stringContaining('/icons/acme.svg'),
      duplicated_template_id: null,
      owner: {
        type: 'user',
        user: { object: 'user', id: SEED_USER_IDS.ada, type: 'person', name: 'Ada Lovelace', person: { email: 'ada@example.com' } },
      },
    });
    expect(answer.request_id).toEqual(expect.any(String));
    accessToken = answer.access_token;
    refreshToken = answer.refresh_token as string;
    botId = answer.bot_id;
    expect(running.sandbox.stats().tokenCalls.authorization_code).toBe(before + 1);
  });

  it('the token reaches the picked page and what is below it, nothing else', async () => {
    const api = running.client(accessToken);
    const me = await api.users.me({});
    expect(me).toMatchObject({
      id: botId,
      type: 'bot',
      bot: { workspace_name: 'Acme', owner: { type: 'user', user: { person: { email: 'ada@example.com' } } } },
    });
    await expect(api.pages.retrieve({ page_id: SEED_PAGE_IDS.entityGlossary })).resolves.toMatchObject({
      id: SEED_PAGE_IDS.entityGlossary,
    });
    await expect(api.pages.retrieve({ page_id: SEED_PAGE_IDS.product })).rejects.toMatchObject({
      code: APIErrorCode.ObjectNotFound,
      status: 404,
    });
  });

  it('refuses the same code twice', async () => {
    await expectOAuthError(
      notion.oauth.token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, ...credentials }),
      400,
      'invalid_grant',
    );
  });

  it('binds the code to its redirect_uri', async () => {
    const location = await consent(new Browser());
    const fresh = location.searchParams.get('code') as string;
    await expectOAuthError(
      notion.oauth.token({ grant_type: 'authorization_code', code: fresh, redirect_uri: GATEHOUSE_CLIENT.redirectUris[1], ...credentials }),
      400,
      'invalid_grant',
    );
  });

  it('answers 401 invalid_client to a wrong client secret', async () => {
    await expectOAuthError(
      notion.oauth.token({
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
        client_id: GATEHOUSE_CLIENT.clientId,
        client_secret: 'wrong',
      }),
      401,
      'invalid_client',
    );
  });

  it('also takes a form body with percent-encoded Basic credentials (RFC 6749 §2.3.1, as openid-client sends)', async () => {
    const location = await consent(new Browser());
    const basic = Buffer.from(
      `${encodeURIComponent(GATEHOUSE_CLIENT.clientId).replace(/-/g, '%2D')}:${encodeURIComponent(GATEHOUSE_CLIENT.clientSecret).replace(/-/g, '%2D')}`,
    ).toString('base64');
    const response = await fetch(`${running.baseUrl}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: location.searchParams.get('code') as string,
        redirect_uri: REDIRECT_URI,
      }).toString(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toMatchObject({ token_type: 'bearer', workspace_name: 'Acme' });
  });

  it('rotates the refresh token: a new pair each time, the old refresh token refused', async () => {
    const before = running.sandbox.stats().tokenCalls.refresh_token;
    const refreshed = await notion.oauth.token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...credentials });
    expect(refreshed.refresh_token).not.toBe(refreshToken);
    expect(refreshed.access_token).not.toBe(accessToken);
    expect(refreshed.bot_id).toBe(botId);
    await expectOAuthError(
      notion.oauth.token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...credentials }),
      400,
      'invalid_grant',
    );
    expect(running.sandbox.stats().tokenCalls.refresh_token).toBe(before + 2);
    await expect(running.client(refreshed.access_token).users.me({})).resolves.toMatchObject({ id: botId });
    accessToken = refreshed.access_token;
    refreshToken = refreshed.refresh_token as string;
  });

  it('keeps one bot id per (client, person, workspace) across re-authorisation', async () => {
    const location = await consent(new Browser(), { pageIds: [SEED_PAGE_IDS.product] });
    const again = await notion.oauth.token({
      grant_type: 'authorization_code',
      code: location.searchParams.get('code') as string,
      redirect_uri: REDIRECT_URI,
      ...credentials,
    });
    expect(again.bot_id).toBe(botId);
    const direct = await running.sandbox.grantDirect({
      clientId: GATEHOUSE_CLIENT.clientId,
      email: 'ada@example.com',
      workspaceName: 'Acme',
    });
    expect(direct.bot_id).toBe(botId);
    const ben = await running.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email: 'ben@example.com', workspaceName: 'Acme' });
    expect(ben.bot_id).not.toBe(botId);
  });

  it('introspects and revokes: the pair stops working', async () => {
    await expect(notion.oauth.introspect({ token: accessToken, ...credentials })).resolves.toMatchObject({
      active: true,
      scope: expect.stringContaining('read_content'),
      iat: expect.any(Number),
    });
    await expect(notion.oauth.revoke({ token: accessToken, ...credentials })).resolves.toMatchObject({ request_id: expect.any(String) });
    await expect(notion.oauth.introspect({ token: accessToken, ...credentials })).resolves.toMatchObject({ active: false });
    await expect(running.client(accessToken).users.me({})).rejects.toMatchObject({ code: APIErrorCode.Unauthorized, status: 401 });
    await expectOAuthError(
      notion.oauth.token({ grant_type: 'refresh_token', refresh_token: refreshToken, ...credentials }),
      400,
      'invalid_grant',
    );
  });
});
