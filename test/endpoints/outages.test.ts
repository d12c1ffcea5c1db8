/**
 * PostgreSQL or Redis going away: /readyz answers 503, pages answer 503 with
 * a plain message and never hang, the process stays up and recovers by
 * itself when the service is back. The services are reached through TCP
 * proxies the test cuts and restores.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { POSTGRES_URL, REDIS_URL, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const pgTarget = new URL(POSTGRES_URL);
const redisTarget = new URL(REDIS_URL);

async function timedFetch(url: string, browser?: Browser): Promise<{ status: number; body: string; ms: number }> {
  const started = Date.now();
  const response = browser
    ? await browser.request(url, { headers: { accept: 'text/html' } })
    : await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text(), ms: Date.now() - started };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition not reached in time');
}

describe('outages of PostgreSQL and Redis', () => {
  const pgProxy = new TcpProxy(pgTarget.hostname, Number(pgTarget.port || 5432));
  const redisProxy = new TcpProxy(redisTarget.hostname, Number(redisTarget.port || 6379));
  let t: TestGatehouse;
  const browser = new Browser();

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
});
