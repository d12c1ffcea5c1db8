/**
 * The sandbox IdP on a real port, mounted as Gatehouse mounts it, with an
 * openid-client relying party. The server listens first so that the issuer
 * (which includes the port) is known before the provider is built.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as client from 'openid-client';
import { createSandboxIdp, type SandboxIdp, type SandboxIdpOptions } from '../../src/sandbox/idp/index.js';

export const CLIENT_ID = 'gatehouse-test';
/** Characters that ClientSecretBasic percent-encodes (RFC 6749 §2.3.1), to prove the provider decodes them. */
export const CLIENT_SECRET = 'test-secret_with:colon+plus%percent';

export interface Harness {
  origin: string;
  issuer: string;
  redirectUri: string;
  idp: SandboxIdp;
  discover(auth?: client.ClientAuth): Promise<client.Configuration>;
  close(): Promise<void>;
}

export async function startSandboxIdp(overrides: Partial<SandboxIdpOptions> = {}): Promise<Harness> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${origin}/sandbox/idp`;
  const redirectUri = `${origin}/auth/callback`;

  const idp = await createSandboxIdp({
    issuer,
    clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirectUri] }],
    cookieKeys: ['test-cookie-key-1'],
    ...overrides,
  });
  const app = express();
  app.use('/sandbox/idp', idp.router);
  app.get('/auth/callback', (_req, res) => {
    res.send('relying party callback');
  });
  server.on('request', app);

  return {
    origin,
    issuer,
    redirectUri,
    idp,
    discover: (auth) => client.discovery(new URL(issuer), CLIENT_ID, CLIENT_SECRET, auth, { execute: [client.allowInsecureRequests] }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export interface AuthorizationRequest {
  url: URL;
  state: string;
  codeVerifier: string;
}

export async function authorizationRequest(
  config: client.Configuration,
  redirectUri: string,
  extra: Record<string, string> = {},
): Promise<AuthorizationRequest> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    ...extra,
  });
  return { url, state, codeVerifier };
}
