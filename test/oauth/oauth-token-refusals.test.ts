/**
 * The token endpoint's refusals, by raw requests: PKCE (RFC 7636), bad input
 * that changes nothing, and the rate limit on failed client authentication.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { s256 } from '../../src/oauth/token.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { basic, issueCode, registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'https://partner.example/callback';

describe('token endpoint: PKCE, bad input, rate limit', () => {
  let t: TestGatehouse;
  let partner: RegisteredApp;
  const clock = new ManualClock();

  const post = (path: string, body: Record<string, string> | string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': typeof body === 'string' ? 'application/json' : 'application/x-www-form-urlencoded', ...headers },
      body: typeof body === 'string' ? body : new URLSearchParams(body),
    });
  const rowCounts = async () => {
    const db = t.gatehouse.database.db;
    const count = async (table: 'access_tokens' | 'refresh_tokens' | 'authorization_codes' | 'grants') =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    return {
      access: await count('access_tokens'),
      refresh: await count('refresh_tokens'),
      codes: await count('authorization_codes'),
      grants: await count('grants'),
    };
  };

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    partner = await registerApp(t.gatehouse, { redirectUris: [REDIRECT] });
  });
  afterAll(async () => t.stop());

  describe('PKCE', () => {
    const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    it('matches RFC 7636 appendix B', () => {
      expect(s256(verifier)).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
    });
    it.each([
      ['a missing verifier', undefined],
      ['a wrong verifier', 'x'.repeat(43)],
      ['a 42-character verifier', verifier.slice(0, 42)],
    ])('refuses %s', async (_name, sent) => {
      const { code } = await issueCode(t.gatehouse, {
        registered: partner,
        email: 'ada@example.com',
        workspaceName: 'Acme',
        codeChallenge: s256(verifier),
        clock,
      });
      const response = await post(
        '/v1/oauth/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, ...(sent ? { code_verifier: sent } : {}) },
        { authorization: basic(partner.clientId, partner.clientSecret!) },
      );
      expect(response.status).toBe(400);
      expect((await response.json()).error).toBe('invalid_grant');
    });
    it('refuses a downgrade: a verifier where no challenge was sent', async () => {
      const { code } = await issueCode(t.gatehouse, { registered: partner, email: 'ada@example.com', workspaceName: 'Acme', clock });
      const response = await post(
        '/v1/oauth/token',
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
        { authorization: basic(partner.clientId, partner.clientSecret!) },
      );
      expect(response.status).toBe(400);
    });
    it('a public client redeems with PKCE alone', async () => {
      const pub = await registerApp(t.gatehouse, { clientType: 'public', redirectUris: ['http://127.0.0.1:9/cb'] });
      const { code } = await issueCode(t.gatehouse, {
        registered: pub,
        email: 'ada@example.com',
        workspaceName: 'Acme',
        codeChallenge: s256(verifier),
        clock,
      });
      const response = await post('/v1/oauth/token', {
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:9/cb',
        code_verifier: verifier,
        client_id: pub.clientId,
      });
      expect(response.status).toBe(200);
    });
  });

  describe('bad input changes nothing', () => {
    const auth = () => ({ authorization: basic(partner.clientId, partner.clientSecret!) });
    it.each([
      ['an unknown grant type', { grant_type: 'password', username: 'a', password: 'b' }, 400, 'unsupported_grant_type'],
      ['a missing grant type', { code: 'x' }, 400, 'invalid_request'],
      ['an unknown code', { grant_type: 'authorization_code', code: 'gh_code_nope' }, 400, 'invalid_grant'],
      ['an unknown refresh token', { grant_type: 'refresh_token', refresh_token: 'gh_rt_nope' }, 400, 'invalid_grant'],
    ])('%s', async (_name, body, status, error) => {
      const before = await rowCounts();
      const response = await post('/v1/oauth/token', body as Record<string, string>, auth());
      expect(response.status).toBe(status);
      expect((await response.json()).error).toBe(error);
      expect(await rowCounts()).toEqual(before);
    });

    it('wrong content type, malformed JSON, a body over the limit, GET, credentials in the URL', async () => {
      const before = await rowCounts();
      const text = await fetch(`${t.url}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', ...auth() },
        body: 'grant_type=authorization_code',
      });
      expect(text.status).toBe(400);
      const malformed = await post('/v1/oauth/token', '{"grant_type":', auth());
      expect(malformed.status).toBe(400);
      expect((await malformed.json()).error).toBe('invalid_request');
      const huge = await post('/v1/oauth/token', { grant_type: 'authorization_code', code: 'x'.repeat(40_000) }, auth());
      expect(huge.status).toBe(413);
      const get = await fetch(`${t.url}/v1/oauth/token`);
      expect(get.status).toBe(405);
      const inUrl = await fetch(`${t.url}/v1/oauth/token?client_secret=${partner.clientSecret}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        body: 'grant_type=authorization_code&code=x',
      });
      expect(inUrl.status).toBe(400);
      expect(await rowCounts()).toEqual(before);
    });

    it('duplicate parameters, a bad Basic header, two authentication methods', async () => {
      const dup = await fetch(`${t.url}/v1/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        body: 'grant_type=authorization_code&code=a&code=b',
      });
      expect(dup.status).toBe(400);
      expect((await dup.json()).error).toBe('invalid_request');
      const badBasic = await post('/v1/oauth/token', { grant_type: 'authorization_code', code: 'x' }, { authorization: 'Basic !!!' });
      expect(badBasic.status).toBe(401);
      const both = await post(
        '/v1/oauth/token',
        { grant_type: 'authorization_code', code: 'x', client_secret: partner.clientSecret! },
        auth(),
      );
      expect(both.status).toBe(400);
      expect((await both.json()).error).toBe('invalid_request');
    });
  });

  it('failed client authentication is rate-limited per client and address, with Retry-After', async () => {
    const victim = await registerApp(t.gatehouse, { name: 'Victim' });
    let last: Response | null = null;
    for (let i = 0; i < 11; i++)
      last = await post(
        '/v1/oauth/token',
        { grant_type: 'refresh_token', refresh_token: 'x' },
        { authorization: basic(victim.clientId, 'wrong') },
      );
    expect(last!.status).toBe(429);
    expect(Number(last!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await t.gatehouse.stores.audit.list({ action: 'client.authentication_failed' })).length).toBeGreaterThanOrEqual(10);
    clock.advance(301_000);
  });
});
