/**
 * A standard OAuth client nobody here wrote, openid-client, as the partner:
 * configured by RFC 8414 discovery, authorization URL with PKCE and state,
 * consent answered, then authorizationCodeGrant, refreshTokenGrant,
 * tokenIntrospection and tokenRevocation.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as client from 'openid-client';
import { Browser, signIn } from '../support/browser.js';
import { consentAndAllow } from '../support/consent-driver.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';

const REDIRECT = 'http://127.0.0.1:9/callback';

describe('openid-client as the partner (PostgreSQL + Redis)', () => {
  let t: TestGatehouse;
  let confidential: RegisteredApp;
  let publicApp: RegisteredApp;
  let config: client.Configuration;
  let tokens: client.TokenEndpointResponse;
  const browser = new Browser();

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true });
    confidential = await registerApp(t.gatehouse, { name: 'Standard partner', redirectUris: [REDIRECT] });
    publicApp = await registerApp(t.gatehouse, { name: 'Native partner', redirectUris: [REDIRECT], clientType: 'public' });
    await signIn(browser, t.url, 'ada@example.com', 'ada-demo');
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => t.stop());

  it('discovers Gatehouse from its RFC 8414 metadata', async () => {
    config = await client.discovery(new URL(t.url), confidential.clientId, confidential.clientSecret!, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const metadata = config.serverMetadata();
    expect(metadata.issuer).toBe(t.url);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.scopes_supported).toContain('user_info_with_email');
  });

  it('runs the code flow with PKCE and state, and redeems with authorizationCodeGrant', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'read_content user_info_without_email',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const back = await consentAndAllow(browser, t.url, url.href, 'Acme', 2);
    expect(back.searchParams.get('state')).toBe(state);
    expect(back.searchParams.get('iss')).toBe(t.url);
    tokens = await client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read_content user_info_without_email');
    expect(tokens.expires_in).toBe(3600);
    expect((tokens as Record<string, unknown>).workspace_name).toBe('Acme');
  });

  it('refreshes with refreshTokenGrant (rotation)', async () => {
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    // The new pair in use, so the old token's return is reuse, not a retry of a lost answer (README, "Crashes and lost answers").
    expect((await client.tokenIntrospection(config, refreshed.access_token!)).active).toBe(true);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // Reuse revoked the family, so start over for the next steps.
    tokens = refreshed;
  });

  it('introspects and revokes with tokenIntrospection and tokenRevocation', async () => {
    const fresh = await freshTokens();
    const live = await client.tokenIntrospection(config, fresh.access_token);
    expect(live).toMatchObject({
      active: true,
      client_id: confidential.clientId,
      scope: 'read_content insert_content user_info_without_email',
    });
    await client.tokenRevocation(config, fresh.access_token);
    expect(await client.tokenIntrospection(config, fresh.access_token)).toEqual({ active: false });
  });

  it('a public client runs the flow with PKCE alone', async () => {
    const publicConfig = await client.discovery(new URL(t.url), publicApp.clientId, undefined, client.None(), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(publicConfig, {
      redirect_uri: REDIRECT,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const back = await consentAndAllow(browser, t.url, url.href, 'Side Project');
    const answer = await client.authorizationCodeGrant(publicConfig, back, {
      pkceCodeVerifier: verifier,
      expectedState: client.skipStateCheck,
    });
    expect((answer as Record<string, unknown>).workspace_name).toBe('Side Project');
  });

  it("a partner's right credentials are never limited, however many requests it makes at once", async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => client.tokenIntrospection(config, 'not-a-token')));
    expect(answers.every((a) => a.active === false)).toBe(true);
  });

  it('counts failed client authentication in Redis: 429 with Retry-After, other clients unaffected', async () => {
    const wrong = await client.discovery(new URL(t.url), confidential.clientId, 'not-the-secret', undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    for (let i = 0; i < 10; i++) await expect(client.tokenIntrospection(wrong, 'x')).rejects.toMatchObject({ status: 401 });
    const limited = await fetch(`${t.url}/v1/oauth/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: 'x', client_id: confidential.clientId, client_secret: 'nope' }),
    });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const { createClient } = await import('redis');
    const redis = createClient({ url: 'redis://127.0.0.1:6379' });
    await redis.connect();
    expect((await redis.keys(`${t.redisPrefix}authfail:*`)).length).toBeGreaterThan(0);
    await redis.quit();
    // Another client from the same address still authenticates (the per-address limit is higher).
    const bystander = await registerApp(t.gatehouse, { name: 'Bystander', redirectUris: [REDIRECT] });
    const bystanderConfig = await client.discovery(new URL(t.url), bystander.clientId, bystander.clientSecret!, undefined, {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    expect((await client.tokenIntrospection(bystanderConfig, 'x')).active).toBe(false);
  });

  async function freshTokens(): Promise<client.TokenEndpointResponse> {
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const back = await consentAndAllow(browser, t.url, url.href, 'Acme');
    return client.authorizationCodeGrant(config, back, { pkceCodeVerifier: verifier, expectedState: client.skipStateCheck });
  }
});
