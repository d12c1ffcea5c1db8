/**
 * GET /v1/oauth/authorize: until client and redirect URI are trusted, errors
 * are a page and never a redirect; after that they go back with error, the
 * same state and iss. Each case also asserts that nothing was stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'https://app.example/cb';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe('authorization endpoint', () => {
  let t: TestGatehouse;
  let partner: RegisteredApp;
  let publicApp: RegisteredApp;
  let twoUris: RegisteredApp;

  beforeAll(async () => {
    t = await startTestGatehouse();
    partner = await registerApp(t.gatehouse, { redirectUris: [REDIRECT] });
    publicApp = await registerApp(t.gatehouse, { clientType: 'public', redirectUris: ['http://127.0.0.1:8080/cb'] });
    twoUris = await registerApp(t.gatehouse, { redirectUris: [REDIRECT, 'https://app.example/other'] });
  });
  afterAll(async () => t.stop());

  const authorize = (query: string) =>
    fetch(`${t.url}/v1/oauth/authorize?${query}`, { redirect: 'manual', headers: { accept: 'text/html' } });
  const sessionRows = async () =>
    Number(
      (
        await t.gatehouse.database.db
          .selectFrom('sessions')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('rejects unauthenticated callers by sending them to sign in, then to the consent screen', async () => {
    const response = await authorize(
      `client_id=${partner.clientId}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code&owner=user&state=s1`,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/auth\/sign-in\?return_to=%2Fconsent%2F[0-9a-f-]{36}$/);
  });

  describe('errors shown as a page, never a redirect', () => {
    it.each([
      ['a trailing slash', `${REDIRECT}/`],
      ['an extra query', `${REDIRECT}?x=1`],
      ['another case', 'https://APP.example/cb'],
      ['another port', 'https://app.example:8443/cb'],
      ['a look-alike host', 'https://app.example.evil/cb'],
      ['http instead of https', 'http://app.example/cb'],
    ])('redirect URI with %s', async (_name, uri) => {
      const before = await sessionRows();
      const response = await authorize(`client_id=${partner.clientId}&redirect_uri=${encodeURIComponent(uri)}&response_type=code&state=s`);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(response.headers.get('content-type')).toMatch(/text\/html/);
      expect(await response.text()).toContain('not one registered for this app');
      expect(await sessionRows()).toBe(before);
    });

    it('an unknown client', async () => {
      const response = await authorize(`client_id=nobody&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code`);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });

    it('a missing redirect URI when several are registered', async () => {
      const response = await authorize(`client_id=${twoUris.clientId}&response_type=code`);
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });

    it('a repeated client_id or redirect_uri', async () => {
      const response = await authorize(
        `client_id=${partner.clientId}&client_id=${twoUris.clientId}&redirect_uri=${encodeURIComponent(REDIRECT)}&response_type=code`,
      );
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
    });
  });

  describe('errors sent back with error, state and iss', () => {
    it.each([
      ['response_type=token', 'response_type=token', 'unsupported_response_type'],
      ['a repeated parameter', 'response_type=code&scope=read_content&scope=insert_content', 'invalid_request'],
      ['PKCE plain', `response_type=code&code_challenge=${CHALLENGE}&code_challenge_method=plain`, 'invalid_request'],
      ['a challenge without a method', `response_type=code&code_challenge=${CHALLENGE}`, 'invalid_request'],
      ['a malformed challenge', 'response_type=code&code_challenge=short&code_challenge_method=S256', 'invalid_request'],
      ['an unknown capability', 'response_type=code&scope=read_everything', 'invalid_scope'],
      ['a capability the app lacks', 'response_type=code&scope=update_content', 'invalid_scope'],
      ["a user level above the app's", 'response_type=code&scope=user_info_with_email', 'invalid_scope'],
      ['owner other than user', 'response_type=code&owner=workspace', 'invalid_request'],
    ])('%s', async (_name, query, error) => {
      const response = await authorize(
        `client_id=${partner.clientId}&redirect_uri=${encodeURIComponent(REDIRECT)}&state=same%20bytes&${query}`,
      );
      expect(response.status).toBe(303);
      const location = new URL(response.headers.get('location')!);
      expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
      expect(location.searchParams.get('error')).toBe(error);
      expect(location.searchParams.get('state')).toBe('same bytes');
      expect(location.searchParams.get('iss')).toBe(t.url);
    });

    it('a public client without PKCE', async () => {
      const response = await authorize(
        `client_id=${publicApp.clientId}&redirect_uri=${encodeURIComponent('http://127.0.0.1:8080/cb')}&response_type=code`,
      );
      expect(response.status).toBe(303);
      expect(new URL(response.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    });
  });

  it("accepts a missing redirect URI when exactly one is registered (Notion's rule)", async () => {
    const response = await authorize(`client_id=${partner.clientId}&response_type=code`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/auth\/sign-in/);
  });

  it('sends no CORS headers', async () => {
    const response = await fetch(`${t.url}/v1/oauth/authorize?client_id=${partner.clientId}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
