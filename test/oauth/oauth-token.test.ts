/**
 * The token, introspection and revocation endpoints, driven by
 * @notionhq/client as a Notion-style partner (no PKCE). Codes are issued as
 * "Allow access" issues them (the consent screen has its own tests). PKCE,
 * the bad-input matrix and the rate limit are in
 * oauth-token-refusals.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { s256 } from '../../src/oauth/token.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'https://partner.example/callback';

describe('token endpoint', () => {
  let t: TestGatehouse;
  let partner: RegisteredApp;
  let other: RegisteredApp;
  let notion: Client;
  const clock = new ManualClock();

  const post = (path: string, body: Record<string, string> | string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/x-www-form-urlencoded', ...headers },
      body: typeof body === 'string' ? body : new URLSearchParams(body),
    });
  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    partner = await registerApp(t.gatehouse, { redirectUris: [REDIRECT] });
    other = await registerApp(t.gatehouse, { name: 'Other partner', redirectUris: ['https://other.example/cb'] });
    notion = new Client({ baseUrl: t.url, retry: false });
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers: no client credentials is 401 invalid_client with WWW-Authenticate', async () => {
    const response = await post('/v1/oauth/token', { grant_type: 'authorization_code', code: 'x' });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json();
    expect(body).toMatchObject({ error: 'invalid_client', object: 'error', status: 401, code: 'invalid_client' });
    expect(body.error_description).toBe(body.message);
  });

  it("@notionhq/client redeems a code Notion-style and gets Notion's fields plus expires_in and scope", async () => {
    const { code, grantId } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    expect(answer).toMatchObject({
      token_type: 'bearer',
      bot_id: grantId,
      workspace_name: 'Acme',
      duplicated_template_id: null,
      owner: { type: 'user', user: { object: 'user', type: 'person', name: 'Ada Lovelace', person: {} } },
    });
    expect(answer.access_token).toMatch(/^gh_at_/);
    expect(answer.refresh_token).toMatch(/^gh_rt_/);
    expect((answer as unknown as { expires_in: number }).expires_in).toBe(3600);
    expect((answer as unknown as { scope: string }).scope).toBe('read_content insert_content user_info_without_email');
    // Only hashes at rest.
    const stored = await t.gatehouse.database.db
      .selectFrom('access_tokens')
      .select('token_hash')
      .where('token_hash', '=', hashToken(answer.access_token))
      .executeTakeFirst();
    expect(stored).toBeDefined();
    const plain = await t.gatehouse.database.db
      .selectFrom('access_tokens')
      .select('token_hash')
      .where('token_hash', '=', answer.access_token)
      .executeTakeFirst();
    expect(plain).toBeUndefined();
    const audit = await t.gatehouse.stores.audit.list({ action: 'code.redeemed' });
    expect(audit[0]?.target).toEqual({ type: 'grant', id: grantId });
  });

  it('introspects and revokes through @notionhq/client', async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    const live = await notion.oauth.introspect({
      token: answer.access_token,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    expect(live).toMatchObject({ active: true, scope: 'read_content insert_content user_info_without_email' });
    // Another client learns nothing about this token.
    expect(
      await notion.oauth.introspect({ token: answer.access_token, client_id: other.clientId, client_secret: other.clientSecret! }),
    ).toEqual({ active: false });
    // Another client cannot revoke it (200, but nothing happens).
    await notion.oauth.revoke({ token: answer.access_token, client_id: other.clientId, client_secret: other.clientSecret! });
    expect(
      (await notion.oauth.introspect({ token: answer.access_token, client_id: partner.clientId, client_secret: partner.clientSecret! }))
        .active,
    ).toBe(true);
    await notion.oauth.revoke({ token: answer.refresh_token!, client_id: partner.clientId, client_secret: partner.clientSecret! });
    // Revoking the refresh token kills its access token too.
    expect(
      await notion.oauth.introspect({ token: answer.access_token, client_id: partner.clientId, client_secret: partner.clientSecret! }),
    ).toEqual({ active: false });
    expect(
      await notion.oauth.introspect({ token: 'gh_at_unknown', client_id: partner.clientId, client_secret: partner.clientSecret! }),
    ).toEqual({ active: false });
    const unknown = await post(
      '/v1/oauth/revoke',
      { token: 'never-issued' },
      { authorization: basic(partner.clientId, partner.clientSecret!) },
    );
    expect(unknown.status).toBe(200);
  });

  it('refresh rotates; a reused refresh token revokes its family', async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const first = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    const second = await notion.oauth.token({
      grant_type: 'refresh_token',
      refresh_token: first.refresh_token!,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(second.bot_id).toBe(first.bot_id);
    // Past the lost-answer window (config refreshReuseGraceSeconds): a retry there is reuse (test/oauth/lost-answer.test.ts).
    clock.advance(11_000);
    const reuse = await post(
      '/v1/oauth/token',
      { grant_type: 'refresh_token', refresh_token: first.refresh_token! },
      { authorization: basic(partner.clientId, partner.clientSecret!) },
    );
    expect(reuse.status).toBe(400);
    expect((await reuse.json()).error).toBe('invalid_grant');
    const introspect = (token: string) =>
      notion.oauth.introspect({ token, client_id: partner.clientId, client_secret: partner.clientSecret! });
    expect(await introspect(second.access_token)).toEqual({ active: false });
    expect(await introspect(second.refresh_token!)).toEqual({ active: false });
    expect((await t.gatehouse.stores.audit.list({ action: 'refresh.reused' })).length).toBe(1);
  });

  it('a replayed code is refused and revokes the tokens issued from it', async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    const replay = await post(
      '/v1/oauth/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { authorization: basic(partner.clientId, partner.clientSecret!) },
    );
    expect(replay.status).toBe(400);
    expect((await replay.json()).error).toBe('invalid_grant');
    expect(
      await notion.oauth.introspect({ token: answer.access_token, client_id: partner.clientId, client_secret: partner.clientSecret! }),
    ).toEqual({ active: false });
    expect((await t.gatehouse.stores.audit.list({ action: 'code.replayed' })).length).toBe(1);
  });

  it("another client's redemption is refused and neither consumes the code nor revokes anything", async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const stolen = await post(
      '/v1/oauth/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { authorization: basic(other.clientId, other.clientSecret!) },
    );
    expect(stolen.status).toBe(400);
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    expect(answer.access_token).toBeTruthy();
  });

  it("another client's refresh token is refused and revokes nothing", async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    const stolen = await post(
      '/v1/oauth/token',
      { grant_type: 'refresh_token', refresh_token: answer.refresh_token! },
      { authorization: basic(other.clientId, other.clientSecret!) },
    );
    expect(stolen.status).toBe(400);
    expect((await stolen.json()).error).toBe('invalid_grant');
    const refreshed = await notion.oauth.token({
      grant_type: 'refresh_token',
      refresh_token: answer.refresh_token!,
      client_id: partner.clientId,
      client_secret: partner.clientSecret!,
    });
    expect(refreshed.access_token).toBeTruthy();
  });

  it('two concurrent redemptions: exactly one wins', async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const attempts = await Promise.all(
      Array.from({ length: 5 }, () =>
        post(
          '/v1/oauth/token',
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
          { authorization: basic(partner.clientId, partner.clientSecret!) },
        ),
      ),
    );
    expect(attempts.map((r) => r.status).sort()).toEqual([200, 400, 400, 400, 400]);
  });

  it('an expired code is refused (injected clock)', async () => {
    const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
    clock.advance(121_000);
    const late = await post(
      '/v1/oauth/token',
      { grant_type: 'authorization_code', code, redirect_uri: REDIRECT },
      { authorization: basic(partner.clientId, partner.clientSecret!) },
    );
    expect(late.status).toBe(400);
    expect((await late.json()).error).toBe('invalid_grant');
  });

  it('re-authorising with fewer capabilities narrows tokens already issued, and refresh never widens', async () => {
    const wide = await registerApp(t.gatehouse, {
      name: 'Wide partner',
      redirectUris: [REDIRECT],
      capabilities: ['read_content', 'insert_content', 'user_info_with_email'],
    });
    const { code, grantId } = await issueCode(t.gatehouse, { registered: wide, email: 'ada@example.com', workspaceName: 'Acme', clock });
    const answer = await notion.oauth.token({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: wide.clientId,
      client_secret: wide.clientSecret!,
    });
    const grant = (await t.gatehouse.stores.grants.findById(grantId))!;
    // What "Allow access" does when the person re-authorises with less.
    await t.gatehouse.stores.grants.upsert(
      {
        personId: grant.personId,
        appId: grant.appId,
        workspaceId: grant.workspaceId,
        upstreamConnectionId: grant.upstreamConnectionId,
        capabilities: ['read_content', 'no_user_info'],
        pageIds: grant.pageIds,
      },
      clock.now(),
    );
    const auth = { client_id: wide.clientId, client_secret: wide.clientSecret! };
    expect(await notion.oauth.introspect({ token: answer.access_token, ...auth })).toMatchObject({
      active: true,
      scope: 'read_content no_user_info',
    });
    const widen = await post(
      '/v1/oauth/token',
      { grant_type: 'refresh_token', refresh_token: answer.refresh_token!, scope: 'read_content insert_content' },
      { authorization: basic(wide.clientId, wide.clientSecret!) },
    );
    expect(widen.status).toBe(400);
    expect((await widen.json()).error).toBe('invalid_scope');
    const refreshed = await notion.oauth.token({ grant_type: 'refresh_token', refresh_token: answer.refresh_token!, ...auth });
    expect((refreshed as unknown as { scope: string }).scope).toBe('read_content no_user_info');
    expect(refreshed.owner).toEqual({ type: 'user', user: { object: 'user', id: expect.any(String) } });
  });

  it('a wrong verifier or redirect URI does not burn the code for its client', async () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    const { code } = await issueCode(t.gatehouse, {
      registered: partner,
      email: 'ada@example.com',
      workspaceName: 'Acme',
      codeChallenge: s256(verifier),
      clock,
    });
    const auth = { authorization: basic(partner.clientId, partner.clientSecret!) };
    expect(
      (
        await post(
          '/v1/oauth/token',
          { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: 'y'.repeat(43) },
          auth,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await post(
          '/v1/oauth/token',
          { grant_type: 'authorization_code', code, redirect_uri: `${REDIRECT}/x`, code_verifier: verifier },
          auth,
        )
      ).status,
    ).toBe(400);
    expect(
      (await post('/v1/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }, auth))
        .status,
    ).toBe(200);
  });

  it('a NUL character is a 400 in the OAuth shape, never a 500', async () => {
    const json = await post('/v1/oauth/token', JSON.stringify({ grant_type: 'authorization_code', code: 'x', client_id: 'a\u0000b' }));
    expect(json.status).toBe(400);
    expect((await json.json()).error).toBe('invalid_request');
    const basicNul = await post(
      '/v1/oauth/token',
      { grant_type: 'authorization_code', code: 'x' },
      { authorization: `Basic ${Buffer.from('a%00b:x').toString('base64')}` },
    );
    expect(basicNul.status).toBe(401);
    const authorize = await fetch(`${t.url}/v1/oauth/authorize?client_id=a%00b&response_type=code`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    expect(authorize.status).toBe(400);
  });
});
