/**
 * What the sandbox provider exposes besides the sign-in page: its discovery
 * document, its error page (Gatehouse's layout, escaped, no
 * inline scripts or styles), and its behaviour behind a TLS-terminating proxy.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as client from 'openid-client';
import { Browser } from '../support/browser.js';
import { CLIENT_ID, startSandboxIdp, type Harness } from './harness.js';

const NO_INLINE_CODE = /<script|<style|style=|fonts\.googleapis/i;

describe('sandbox provider metadata and pages', () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startSandboxIdp();
  });
  afterAll(() => harness.close());

  it('advertises the code flow with S256 PKCE, basic and post client auth, and the three scopes', async () => {
    const metadata = (await harness.discover()).serverMetadata();
    expect(metadata.issuer).toBe(harness.issuer);
    expect(metadata.authorization_endpoint).toBe(`${harness.issuer}/auth`);
    expect(metadata.response_types_supported).toEqual(['code']);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'profile']));
    expect(metadata.claims_supported).toEqual(expect.arrayContaining(['sub', 'email', 'email_verified', 'name']));
    expect(metadata.grant_types_supported).not.toContain('implicit');
  });

  it('renders its errors as a plain escaped page in the Gatehouse layout', async () => {
    const url = new URL(`${harness.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: '<script>alert(1)</script>', response_type: 'code', scope: 'openid' }).toString();
    const response = await new Browser().request(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await response.text();
    expect(html).toContain('<h1>Sign-in error</h1>');
    expect(html).toContain('invalid_client');
    expect(html).toContain('class="sandbox-banner"');
    expect(html).not.toMatch(NO_INLINE_CODE);
  });

  it('refuses a redirect URI that is not registered, on its own page rather than by redirecting', async () => {
    const config = await harness.discover();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: 'https://attacker.example/cb',
      scope: 'openid',
      code_challenge: 'x'.repeat(43),
      code_challenge_method: 'S256',
    });
    const response = await new Browser().request(url);
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri');
  });

  it('offers no RP-initiated logout (no single sign-on to end; its no-session page needs an inline script)', async () => {
    const metadata = (await harness.discover()).serverMetadata();
    expect(metadata.end_session_endpoint).toBeUndefined();
    expect((await fetch(`${harness.issuer}/session/end`)).status).toBe(404);
  });

  it('on a plain-http issuer, ignores forwarded headers a client could spoof', async () => {
    const response = await fetch(`${harness.issuer}/.well-known/openid-configuration`, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    const metadata = (await response.json()) as { token_endpoint: string };
    expect(metadata.token_endpoint).toBe(`${harness.issuer}/token`);
  });
});

describe('sandbox provider behind a TLS-terminating proxy (https issuer)', () => {
  const issuer = 'https://gatehouse.example/sandbox/idp';
  let harness: Harness;
  beforeAll(async () => {
    harness = await startSandboxIdp({ issuer });
  });
  afterAll(() => harness.close());

  const viaProxy = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'gatehouse.example' };

  it('builds its endpoints from the forwarded scheme and host', async () => {
    const response = await fetch(`${harness.origin}/sandbox/idp/.well-known/openid-configuration`, { headers: viaProxy });
    const metadata = (await response.json()) as Record<string, string>;
    expect(metadata.issuer).toBe(issuer);
    expect(metadata.authorization_endpoint).toBe(`${issuer}/auth`);
    expect(metadata.token_endpoint).toBe(`${issuer}/token`);
  });

  it('sets its cookies Secure when the proxy says the browser used https', async () => {
    const url = new URL(`${harness.origin}/sandbox/idp/auth`);
    url.search = new URLSearchParams({
      client_id: CLIENT_ID,
      response_type: 'code',
      scope: 'openid email profile',
      redirect_uri: harness.redirectUri,
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 's',
    }).toString();
    const response = await fetch(url, { redirect: 'manual', headers: viaProxy });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/sandbox\/idp\/interaction\/[\w-]+$/);
    const cookies = response.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('sandbox_idp_interaction='))).toMatch(/path=\/sandbox\/idp\/interaction\/[\w-]+;.*secure/i);
  });
});
