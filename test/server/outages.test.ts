/**
 * PostgreSQL or Redis going away: /readyz answers 503, pages answer 503 with
 * a plain message and never hang, the process stays up and recovers by
 * itself when the service is back. The services are reached through TCP
 * proxies the test cuts and restores. A partner meets an outage the same
 * way on the Notion API proxy and the OAuth endpoints: 503 with Retry-After
 * in the shape it already reads.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { POSTGRES_URL, REDIS_URL, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { eventually as poll } from '../support/eventually.js';

const eventually = (check: () => Promise<boolean>, timeoutMs = 20_000) => poll(check, { timeoutMs, everyMs: 200 });

const pgTarget = new URL(POSTGRES_URL);
const redisTarget = new URL(REDIS_URL);

async function timedFetch(url: string, browser?: Browser): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const response = browser
    ? await browser.request(url, { headers: { accept: 'text/html' } })
    : await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text(), ms: Date.now() - started };
}

describe('outages of PostgreSQL and Redis', () => {
  const pgProxy = new TcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
  const redisProxy = new TcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
  let t: TestGatehouse;
  const browser = new Browser();
  let partner: RegisteredApp;
  let accessToken: string;
  let refreshToken: string;

  const proxied = (path: string, body?: object) =>
    fetch(`${t.url}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${accessToken}`, 'notion-version': '2022-06-28', 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  const refresh = () =>
    fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      signal: AbortSignal.timeout(15_000),
    });
  async function expectNotionOutage(response: Response) {
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('5');
    expect(await response.json()).toMatchObject({
      object: 'error',
      status: 503,
      code: 'service_unavailable',
      message: 'Gatehouse is temporarily unavailable. Try again in a moment.',
    });
  }

  beforeAll(async () => {
    await pgProxy.open();
    await redisProxy.open();
    const viaProxy = new URL(POSTGRES_URL);
    viaProxy.port = String(pgProxy.port);
    t = await startTestGatehouse({
      database: 'postgres',
      redis: true,
      env: { DATABASE_URL: viaProxy.href, REDIS_URL: `redis://127.0.0.1:${redisProxy.port}` },
    });
    await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    partner = await registerApp(t.gatehouse, { redirectUris: ['https://partner.example/callback'] });
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme' });
    const answer = await (
      await fetch(`${t.url}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'https://partner.example/callback' }),
      })
    ).json();
    accessToken = answer.access_token;
    refreshToken = answer.refresh_token;
  });
  afterAll(async () => {
    await pgProxy.open().catch(() => undefined);
    await redisProxy.open().catch(() => undefined);
    await t.stop();
    await pgProxy.close();
    await redisProxy.close();
  });

  it('is ready while both are up', async () => {
    const ready = await timedFetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    expect((await timedFetch(`${t.url}/workspaces`, browser)).status).toBe(200);
  });

  it('PostgreSQL down: /readyz 503, pages 503 with a plain message, quickly', async () => {
    await pgProxy.close();
    const ready = await timedFetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).checks.database).toBe('unreachable');
    const page = await timedFetch(`${t.url}/workspaces`, browser);
    expect(page.status).toBe(503);
    expect(page.body).toContain('Gatehouse is temporarily unavailable');
    expect(page.ms).toBeLessThan(12_000); // bound on "never hangs", not a speed measurement
    expect((await timedFetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('PostgreSQL back: recovers by itself', async () => {
    await pgProxy.open();
    await eventually(async () => (await timedFetch(`${t.url}/readyz`)).status === 200);
    expect((await timedFetch(`${t.url}/workspaces`, browser)).status).toBe(200);
  });

  it('Redis down: /readyz 503, pages 503 quickly', async () => {
    await redisProxy.close();
    const ready = await timedFetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body).checks.redis).toBe('unreachable');
    const page = await timedFetch(`${t.url}/workspaces`, browser);
    expect(page.status).toBe(503);
    expect(page.body).toContain('Gatehouse is temporarily unavailable');
  });

  it('Redis back: recovers by itself, the session intact', async () => {
    await redisProxy.open();
    await eventually(async () => (await timedFetch(`${t.url}/readyz`)).status === 200);
    const page = await timedFetch(`${t.url}/workspaces`, browser);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Ada Lovelace');
  });

  it("PostgreSQL down: the proxy answers 503 service_unavailable with Retry-After in Notion's shape, as the token endpoint does", async () => {
    expect((await proxied('/v1/users/me')).status).toBe(200);
    await pgProxy.close();
    try {
      await expectNotionOutage(await proxied('/v1/users/me'));
      const token = await refresh();
      expect(token.status).toBe(503);
      expect(token.headers.get('retry-after')).toBe('5');
      expect(await token.json()).toMatchObject({ error: 'temporarily_unavailable', object: 'error', status: 503 });
    } finally {
      await pgProxy.open();
    }
    await eventually(async () => (await proxied('/v1/users/me')).status === 200);
  });

  it('Redis down: a proxied call that needs the shared rate budget answers 503 service_unavailable, then recovers', async () => {
    expect((await proxied('/v1/search', {})).status).toBe(200);
    await redisProxy.close();
    try {
      await expectNotionOutage(await proxied('/v1/search', {}));
    } finally {
      await redisProxy.open();
    }
    await eventually(async () => (await proxied('/v1/search', {})).status === 200);
    // Nothing was spent by the outage: the refresh token still rotates.
    expect((await refresh()).status).toBe(200);
  });
});
