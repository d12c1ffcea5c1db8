/**
 * A rotation whose answer was lost (the instance died after COMMIT, or the
 * connection dropped on the way back): the partner retries with the refresh
 * token it still holds. Within refreshReuseGraceSeconds of the rotation, and
 * only while the pair that rotation gave has never been used, the retry gets
 * a fresh pair and the lost one is revoked; otherwise it is reuse and the
 * family is revoked (RFC 9700 §4.14.2).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'https://partner.example/callback';

interface Pair {
  access_token: string;
  refresh_token: string;
}

describe('a retried rotation whose answer was lost', () => {
  let t: TestGatehouse;
  let partner: RegisteredApp;
  let notion: Client;
  const clock = new ManualClock();

  const token = (body: Record<string, string>) =>
    fetch(`${t.url}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(partner.clientId, partner.clientSecret!) },
      body: new URLSearchParams(body),
    });
  const refresh = (refreshToken: string) => token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  const introspect = (value: string) =>
    notion.oauth.introspect({ token: value, client_id: partner.clientId, client_secret: partner.clientSecret! });
  const active = async (pair: Pair) => [(await introspect(pair.access_token)).active, (await introspect(pair.refresh_token)).active];

  /** A fresh family: a code redeemed, then rotated once (the rotation's answer is the one "lost"). */
  async function rotatedOnce(): Promise<{ first: Pair; lost: Pair }> {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const first = (await (await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).json()) as Pair;
    const rotated = await refresh(first.refresh_token);
    expect(rotated.status).toBe(200);
    return { first, lost: (await rotated.json()) as Pair };
  }
  const reusedEvents = async () => (await t.gatehouse.stores.audit.list({ action: 'refresh.reused' })).length;

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    partner = await registerApp(t.gatehouse, { redirectUris: [REDIRECT] });
    notion = new Client({ baseUrl: t.url, retry: false });
  });
  afterAll(async () => t.stop());

  it('within the window, the pair never used: a fresh pair, the lost one revoked, nothing else', async () => {
    const { first, lost } = await rotatedOnce();
    clock.advance(5_000);
    const retried = await refresh(first.refresh_token);
    expect(retried.status).toBe(200);
    const fresh = (await retried.json()) as Pair;
    expect(fresh.refresh_token).not.toBe(lost.refresh_token);
    expect(await active(lost)).toEqual([false, false]);
    expect(await active(fresh)).toEqual([true, true]);
    expect(
      (await t.gatehouse.stores.grants.findById(((await introspect(fresh.access_token)) as { bot_id?: string }).bot_id!))?.status,
    ).toBe('active');
    const [event] = await t.gatehouse.stores.audit.list({ action: 'token.refreshed' });
    expect(event?.detail).toMatchObject({ lostAnswerReplaced: true, revokedAccessTokens: 1, revokedRefreshTokens: 1 });
    expect(await reusedEvents()).toBe(0);
    // The fresh pair rotates as any other.
    const next = await refresh(fresh.refresh_token);
    expect(next.status).toBe(200);
  });

  it('a second lost answer in the same window is replaced again; the window counts from the rotation', async () => {
    const { first } = await rotatedOnce();
    const again = (await (await refresh(first.refresh_token)).json()) as Pair;
    const third = (await (await refresh(first.refresh_token)).json()) as Pair;
    expect(await active(again)).toEqual([false, false]);
    expect(await active(third)).toEqual([true, true]);
    clock.advance(10_000);
    const late = await refresh(first.refresh_token);
    expect(late.status).toBe(400);
    expect(await active(third)).toEqual([false, false]);
  });

  it('after the window: reuse, the family revoked', async () => {
    const before = await reusedEvents();
    const { first, lost } = await rotatedOnce();
    clock.advance(10_001);
    const late = await refresh(first.refresh_token);
    expect(late.status).toBe(400);
    expect((await late.json()).error).toBe('invalid_grant');
    expect(await active(lost)).toEqual([false, false]);
    expect(await reusedEvents()).toBe(before + 1);
  });

  it('the pair was used at the proxy: reuse, even inside the window', async () => {
    const { first, lost } = await rotatedOnce();
    await new Client({ auth: lost.access_token, baseUrl: t.url, retry: false }).users.me({});
    const retried = await refresh(first.refresh_token);
    expect(retried.status).toBe(400);
    expect(await active(lost)).toEqual([false, false]);
  });

  it('the pair was introspected or rotated by its holder: reuse, even inside the window', async () => {
    const a = await rotatedOnce();
    expect((await introspect(a.lost.access_token)).active).toBe(true);
    expect((await refresh(a.first.refresh_token)).status).toBe(400);
    const b = await rotatedOnce();
    const successor = (await (await refresh(b.lost.refresh_token)).json()) as Pair;
    expect((await refresh(b.first.refresh_token)).status).toBe(400);
    expect(await active(successor)).toEqual([false, false]);
  });

  it('a pair replaced as lost and then presented after all is reuse: the family is revoked', async () => {
    const before = await reusedEvents();
    const { first, lost } = await rotatedOnce();
    const fresh = (await (await refresh(first.refresh_token)).json()) as Pair;
    const stale = await refresh(lost.refresh_token);
    expect(stale.status).toBe(400);
    expect(await active(fresh)).toEqual([false, false]);
    expect(await reusedEvents()).toBe(before + 1);
  });

  it('concurrent refreshes of one token: each answered, exactly one pair left working, no reuse', async () => {
    const before = await reusedEvents();
    const { lost } = await rotatedOnce();
    const answers = await Promise.all(Array.from({ length: 3 }, () => refresh(lost.refresh_token)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    const pairs = (await Promise.all(answers.map((r) => r.json()))) as Pair[];
    const working = [];
    for (const pair of pairs) if ((await active(pair)).every(Boolean)) working.push(pair);
    expect(working).toHaveLength(1);
    expect(await reusedEvents()).toBe(before);
  });

  it('with the window set to 0 every retry is reuse (strict rotation)', async () => {
    const strict = await startTestGatehouse({ tunables: { refreshReuseGraceSeconds: 0 } });
    try {
      const app = await registerApp(strict.gatehouse, { redirectUris: [REDIRECT] });
      const { code } = await issueCode(strict.gatehouse, { registered: app, email: 'ada@example.com', workspaceName: 'Acme' });
      const post = (body: Record<string, string>) =>
        fetch(`${strict.url}/v1/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.clientId, app.clientSecret!) },
          body: new URLSearchParams(body),
        });
      const first = (await (await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT })).json()) as Pair;
      expect((await post({ grant_type: 'refresh_token', refresh_token: first.refresh_token })).status).toBe(200);
      expect((await post({ grant_type: 'refresh_token', refresh_token: first.refresh_token })).status).toBe(400);
    } finally {
      await strict.stop();
    }
  });
});
