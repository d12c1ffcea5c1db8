/**
 * A person signs in at the sandbox OpenID provider through a standard
 * relying party (openid-client): code flow with PKCE, Gatehouse's own
 * sign-in page, and the ID token claims Gatehouse keys people by.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as client from 'openid-client';
import { DEMO_USERS } from '../../src/sandbox/idp/index.js';
import { Browser, formBody, readSignInForm } from '../support/browser.js';
import { authorizationRequest, startSandboxIdp, type Harness } from './harness.js';

let harness: Harness;
let config: client.Configuration;

beforeAll(async () => {
  harness = await startSandboxIdp({
    extraUsers: [{ subject: 'test-cy', email: 'cy@example.com', password: 'cy-test', name: 'Cy <Script> & Co' }],
  });
  config = await harness.discover();
});
afterAll(() => harness.close());

/** Starts an authorization and follows it to the sign-in page. */
async function openSignInPage(browser: Browser, extra: Record<string, string> = {}) {
  const request = await authorizationRequest(config, harness.redirectUri, extra);
  const { response, url } = await browser.follow(await browser.request(request.url), request.url.href);
  return { request, response, url, html: await response.text() };
}

/** Signs in on the page and follows oidc-provider's redirects back to the relying party. */
async function signIn(browser: Browser, email: string, password: string, auth?: client.ClientAuth) {
  const { request, url, html } = await openSignInPage(browser);
  const form = readSignInForm(html, url);
  const posted = await browser.request(form.action, { method: 'POST', body: formBody(form, email, password) });
  expect(posted.status).toBe(303);
  const back = await browser.follow(posted, form.action, harness.redirectUri);
  expect(back.url.startsWith(harness.redirectUri)).toBe(true);
  const rp = auth ? await harness.discover(auth) : config;
  return client.authorizationCodeGrant(rp, new URL(back.url), { pkceCodeVerifier: request.codeVerifier, expectedState: request.state });
}

describe('person signs in at the sandbox identity provider', () => {
  it('shows Gatehouse’s own sign-in page: Email, Password, "Sign in", the demo users, the sandbox note', async () => {
    const { response, html } = await openSignInPage(new Browser());
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(html).toContain('<label for="email">Email</label>');
    expect(html).toContain('<label for="password">Password</label>');
    expect(html).toContain('<button type="submit">Sign in</button>');
    for (const user of DEMO_USERS) {
      expect(html).toContain(user.email);
      expect(html).toContain(user.password);
    }
    expect(html).toMatch(/class="sandbox-banner"[^>]*>Sandbox/);
    // helmet's strict CSP: no inline scripts or styles, nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script|<style|style=|https?:\/\//i);
  });

  it('Ada signs in: the ID token names her, with a verified email', async () => {
    const tokens = await signIn(new Browser(), 'ada@example.com', 'ada-demo');
    expect(tokens.claims()).toMatchObject({
      iss: harness.issuer,
      sub: DEMO_USERS[0].subject,
      email: 'ada@example.com',
      email_verified: true,
      name: 'Ada Lovelace',
    });
  });

  it('Ben signs in with his email in another case, the relying party authenticating with client_secret_post', async () => {
    const tokens = await signIn(new Browser(), 'BEN@example.com', 'ben-demo', client.ClientSecretPost());
    expect(tokens.claims()).toMatchObject({ sub: DEMO_USERS[1].subject, email: 'ben@example.com', name: 'Ben Bitdiddle' });
  });

  it('the same claims come from the userinfo endpoint', async () => {
    const tokens = await signIn(new Browser(), 'ada@example.com', 'ada-demo');
    const info = await client.fetchUserInfo(config, tokens.access_token, DEMO_USERS[0].subject);
    expect(info).toMatchObject({ email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' });
  });

  it('asks for the password again on the next sign-in in the same browser (no single sign-on in the sandbox)', async () => {
    const browser = new Browser();
    await signIn(browser, 'ada@example.com', 'ada-demo');
    const tokens = await signIn(browser, 'ben@example.com', 'ben-demo');
    expect(tokens.claims()?.sub).toBe(DEMO_USERS[1].subject);
  });

  it('an extra user given at start signs in too', async () => {
    const tokens = await signIn(new Browser(), 'cy@example.com', 'cy-test');
    expect(tokens.claims()).toMatchObject({ sub: 'test-cy', name: 'Cy <Script> & Co', email_verified: true });
  });

  it('a user changed at runtime signs in with an unverified email', async () => {
    harness.idp.upsertUser({ subject: 'test-dee', email: 'dee@example.com', password: 'dee-test', name: 'Dee', emailVerified: false });
    const tokens = await signIn(new Browser(), 'dee@example.com', 'dee-test');
    expect(tokens.claims()).toMatchObject({ sub: 'test-dee', email: 'dee@example.com', email_verified: false });
  });
});

describe('sign-in refusals', () => {
  it('a wrong password shows the page again with 401 and a clear message, and no code; the right one then works', async () => {
    const browser = new Browser();
    const { request, url, html } = await openSignInPage(browser);
    const form = readSignInForm(html, url);

    const refused = await browser.request(form.action, { method: 'POST', body: formBody(form, 'ada@example.com', 'wrong') });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('location')).toBeNull();
    const page = await refused.text();
    expect(page).toContain('Incorrect email or password.');
    expect(page).toContain('value="ada@example.com"');
    expect(page).not.toContain('code=');

    const retry = readSignInForm(page, form.action);
    const accepted = await browser.request(retry.action, { method: 'POST', body: formBody(retry, 'ada@example.com', 'ada-demo') });
    const back = await browser.follow(accepted, retry.action, harness.redirectUri);
    const tokens = await client.authorizationCodeGrant(config, new URL(back.url), {
      pkceCodeVerifier: request.codeVerifier,
      expectedState: request.state,
    });
    expect(tokens.claims()?.sub).toBe(DEMO_USERS[0].subject);
  });

  it('an unknown email gets the same 401 page', async () => {
    const browser = new Browser();
    const { url, html } = await openSignInPage(browser);
    const form = readSignInForm(html, url);
    const refused = await browser.request(form.action, { method: 'POST', body: formBody(form, 'nobody@example.com', 'ada-demo') });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain('Incorrect email or password.');
  });

  it('a post without the CSRF token, or with a wrong one, is refused with 403', async () => {
    const browser = new Browser();
    const { url, html } = await openSignInPage(browser);
    const form = readSignInForm(html, url);
    const tokenField = Object.keys(form.fields)[0];

    const missing = await browser.request(form.action, {
      method: 'POST',
      body: formBody(form, 'ada@example.com', 'ada-demo', { [tokenField]: null }),
    });
    expect(missing.status).toBe(403);
    expect(missing.headers.get('location')).toBeNull();

    const forged = await browser.request(form.action, {
      method: 'POST',
      body: formBody(form, 'ada@example.com', 'ada-demo', { [tokenField]: 'x'.repeat(43) }),
    });
    expect(forged.status).toBe(403);
  });

  it('the token of one interaction does not sign in another', async () => {
    const browser = new Browser();
    const first = await openSignInPage(browser);
    const firstForm = readSignInForm(first.html, first.url);
    const second = await openSignInPage(browser);
    const secondForm = readSignInForm(second.html, second.url);
    expect(secondForm.action).not.toBe(firstForm.action);

    const crossed = await browser.request(secondForm.action, {
      method: 'POST',
      body: formBody(secondForm, 'ada@example.com', 'ada-demo', firstForm.fields),
    });
    expect(crossed.status).toBe(403);
  });

  it('a post from a browser without the interaction cookie gets a "sign-in expired" page, not a code', async () => {
    const { url, html } = await openSignInPage(new Browser());
    const form = readSignInForm(html, url);
    const stranger = await new Browser().request(form.action, { method: 'POST', body: formBody(form, 'ada@example.com', 'ada-demo') });
    expect(stranger.status).toBe(400);
    expect(await stranger.text()).toContain('Sign-in expired');
  });

  it('PKCE is required: a request without a code challenge goes back with invalid_request', async () => {
    const url = client.buildAuthorizationUrl(config, { redirect_uri: harness.redirectUri, scope: 'openid email profile', state: 's' });
    const response = await new Browser().request(url);
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(location.href.startsWith(harness.redirectUri)).toBe(true);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('code')).toBeNull();
  });
});
