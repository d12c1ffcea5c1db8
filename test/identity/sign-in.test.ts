/**
 * Sign-in through OpenID Connect, on PostgreSQL with sessions in Redis.
 * Opened by the refusals: callbacks with a missing, wrong or replayed state
 * create no session.
 */
import { hashToken } from '../../src/crypto/tokens.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient } from 'redis';
import { Browser, signIn } from '../support/browser.js';
import { REDIS_URL, startTestGatehouse, type TestGatehouse } from '../support/harness.js';

const SESSION_COOKIE = 'gatehouse.sid';

describe('sign-in (PostgreSQL + Redis sessions)', () => {
  let t: TestGatehouse;
  const redis = createClient({ url: REDIS_URL });
  const sessionKeys = async () => (await redis.keys(`${t.redisPrefix}sess:*`)).length;

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true });
    await redis.connect();
  });
  afterAll(async () => {
    await redis.quit();
    await t.stop();
  });

  it('rejects unauthenticated callers: pages send them to sign in, APIs answer 401', async () => {
    const page = await fetch(`${t.url}/workspaces`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/auth/sign-in?return_to=%2Fworkspaces');
    const api = await fetch(`${t.url}/api/admin/v1/workspaces`);
    expect(api.status).toBe(401);
    expect(await api.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
  });

  it('a callback without any started sign-in answers 400 and creates no session', async () => {
    const before = await sessionKeys();
    const response = await fetch(`${t.url}/auth/callback?code=abc&state=forged`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('Sign-in could not be completed');
    expect(response.headers.getSetCookie().some((c) => c.startsWith(SESSION_COOKIE))).toBe(false);
    expect(await sessionKeys()).toBe(before);
  });

  it('a callback with the wrong state answers 400 and signs no one in', async () => {
    const browser = new Browser();
    const start = await browser.request(`${t.url}/auth/sign-in`);
    const authorize = new URL(start.headers.get('location')!);
    expect(authorize.searchParams.get('state')).toBeTruthy();
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    const response = await browser.request(
      `${t.url}/auth/callback?code=abc&state=wrong&iss=${encodeURIComponent(authorize.origin + '/sandbox/idp')}`,
    );
    expect(response.status).toBe(400);
    const after = await browser.request(`${t.url}/workspaces`);
    expect(after.status).toBe(303);
  });

  it('signs Ada in, with a new session id, an HttpOnly SameSite=Lax cookie, and her workspaces', async () => {
    const browser = new Browser();
    const start = await browser.request(`${t.url}/auth/sign-in`);
    const preLogin = start.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE));
    expect(preLogin).toMatch(/HttpOnly/);
    expect(preLogin).toMatch(/SameSite=Lax/);
    const before = browser.cookie(SESSION_COOKIE);
    const { response, url } = await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    expect(browser.cookie(SESSION_COOKIE)).toBeDefined();
    expect(browser.cookie(SESSION_COOKIE)).not.toBe(before);
    expect(url).toBe(`${t.url}/workspaces`);
    const html = await response.text();
    expect(html).toContain('Ada Lovelace');
    expect(html).toContain('Sign out');
    expect(html).toContain('Acme');
    expect(html).toContain('Side Project');
    expect(await sessionKeys()).toBeGreaterThan(0);
  });

  it('keeps sessions under a hash of their id, so a dump of Redis rebuilds no cookie', async () => {
    const browser = new Browser();
    await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    const sid = decodeURIComponent(browser.cookie(SESSION_COOKIE)!).slice(2).split('.')[0]!;
    expect(await redis.exists(`${t.redisPrefix}sess:${sid}`)).toBe(0);
    expect(await redis.exists(`${t.redisPrefix}sess:${hashToken(sid)}`)).toBe(1);
    const keys = await redis.keys(`${t.redisPrefix}sess:*`);
    expect(keys.some((k) => k.includes(sid))).toBe(false);
  });

  it('a session opened before anyone signs in lives minutes; signed in, the idle timeout', async () => {
    const ttlOf = async (browser: Browser) =>
      redis.ttl(`${t.redisPrefix}sess:${hashToken(decodeURIComponent(browser.cookie(SESSION_COOKIE)!).slice(2).split('.')[0]!)}`);
    /** Seconds until the cookie's Expires, rounded to the minute. */
    const lifetime = (response: Response) => {
      const expires = /Expires=([^;]+)/.exec(response.headers.getSetCookie().find((c) => c.startsWith(SESSION_COOKIE)) ?? '')?.[1];
      return Math.round((Date.parse(expires ?? '') - Date.now()) / 60_000) * 60;
    };
    const browser = new Browser();
    const start = await browser.request(`${t.url}/auth/sign-in`);
    expect(lifetime(start)).toBe(15 * 60);
    const anonymousTtl = await ttlOf(browser);
    expect(anonymousTtl).toBeGreaterThan(0);
    expect(anonymousTtl).toBeLessThanOrEqual(15 * 60);

    await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    const page = await browser.request(`${t.url}/workspaces`);
    expect(lifetime(page)).toBe(t.gatehouse.config.tunables.sessionIdleMinutes * 60);
    expect(await ttlOf(browser)).toBeGreaterThan(15 * 60);
  });

  it('a replayed callback answers 400 and does not replace the session', async () => {
    const browser = new Browser();
    const start = await browser.request(`${t.url}/auth/sign-in`);
    const { url: callbackUrl } = await completeAtIdp(browser, start, t.url);
    const first = await browser.request(callbackUrl);
    expect(first.status).toBe(303);
    const replay = await new Browser().request(callbackUrl);
    expect(replay.status).toBe(400);
    const again = await browser.request(callbackUrl);
    expect(again.status).toBe(400);
  });

  it('signs out with a new session and the old cookie no longer works', async () => {
    const browser = new Browser();
    const { response } = await signIn(browser, t.url, 'ben@example.com', 'ben-demo');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await response.text())![1]!;
    const crossSite = await browser.request(`${t.url}/auth/sign-out`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const forged = await browser.request(`${t.url}/auth/sign-out`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: 'forged' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    expect(forged.status).toBe(403);
    const out = await browser.request(`${t.url}/auth/sign-out`, {
      method: 'POST',
      body: new URLSearchParams({ _csrf: csrf }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(out.status).toBe(303);
    const after = await browser.request(`${t.url}/workspaces`);
    expect(after.status).toBe(303);
  });
});

/** Goes through the provider's sign-in page and stops at Gatehouse's callback URL. */
async function completeAtIdp(browser: Browser, start: Response, base: string): Promise<{ url: string }> {
  const { readSignInForm, formBody } = await import('../support/browser.js');
  const { response: page, url: pageUrl } = await browser.follow(start, `${base}/auth/sign-in`);
  const form = readSignInForm(await page.text(), pageUrl);
  const posted = await browser.request(form.action, {
    method: 'POST',
    body: formBody(form, 'ada@example.com', 'ada-demo'),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const { url } = await browser.follow(posted, form.action, `${base}/auth/callback`);
  return { url };
}
