/**
 * What the README says Redis without persistence costs, shown on a Redis of
 * this file's own, started with neither snapshots nor an append-only file.
 * Killed and restarted empty, it loses every session: a signed-in person is
 * sent to sign in again (a clean redirect, never a 500), and the one who signs
 * in again works as before. Nothing durable lived there: the partner's tokens,
 * its grant and its refresh all keep working, since they are in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { startOwnRedis, type OwnRedis } from '../support/own-services.js';
import { basic, issueCode, redeem, registerApp, type RegisteredApp } from '../support/partner.js';
import { eventually } from '../support/eventually.js';

interface Pair {
  access_token: string;
  refresh_token: string;
}

describe('Redis restarted without persistence', () => {
  let redis: OwnRedis;
  let t: TestGatehouse;
  let partner: RegisteredApp;
  let pair: Pair;
  const ada = new Browser();

  const page = (browser: Browser) => browser.request(`${t.url}/workspaces`, { headers: { accept: 'text/html' } });
  const usersMe = (token: string) =>
    fetch(`${t.url}/v1/users/me`, { headers: { authorization: `Bearer ${token}`, 'notion-version': '2022-06-28' } });

  beforeAll(async () => {
    redis = await startOwnRedis({ appendOnly: false });
    t = await startTestGatehouse({ database: 'postgres', redis: true, env: { REDIS_URL: redis.url } });
    partner = await registerApp(t.gatehouse, { redirectUris: ['https://partner.example/callback'] });
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme' });
    const answer = await redeem(t.url, partner, code);
    expect(answer.status).toBe(200);
    pair = (await answer.json()) as Pair;
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
  }, 90_000);

  afterAll(async () => {
    await t?.stop();
    await redis?.destroy();
  }, 30_000);

  it('before the restart Ada is signed in and the partner reads', async () => {
    expect((await page(ada)).status).toBe(200);
    expect((await usersMe(pair.access_token)).status).toBe(200);
  });

  it('while Redis is down pages answer 503 with Retry-After, not 500', async () => {
    await redis.kill();
    const answer = await page(ada);
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBeTruthy();
  });

  it('after an empty restart Ada is sent to sign in again: her session is gone, and nothing answers 500', async () => {
    await redis.start();
    const statuses: number[] = [];
    const redirected = await eventually(
      async () => {
        const answer = await page(ada);
        statuses.push(answer.status);
        return answer.status === 303 || answer.status === 302;
      },
      { timeoutMs: 15_000, everyMs: 200, orFalse: true },
    );
    expect(redirected).toBe(true);
    expect(statuses.filter((s) => s >= 500 && s !== 503)).toEqual([]);
    const answer = await page(ada);
    expect(answer.headers.get('location')).toContain('/auth/sign-in');
  });

  it('signing in again works as before', async () => {
    const landed = await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    expect(landed.response.status).toBe(200);
    expect((await page(ada)).status).toBe(200);
  });

  it("the partner's token, refresh and grant live in PostgreSQL and are untouched", async () => {
    expect((await usersMe(pair.access_token)).status).toBe(200);
    const refreshed = await fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: pair.refresh_token }),
    });
    expect(refreshed.status).toBe(200);
    const next = (await refreshed.json()) as Pair;
    expect((await usersMe(next.access_token)).status).toBe(200);
  });
});
