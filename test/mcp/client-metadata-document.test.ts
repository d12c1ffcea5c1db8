/**
 * Client ID Metadata Documents: an agent whose client_id is an https URL is
 * registered by the document there, fetched under the logo fetcher's SSRF
 * rules from a local https server under a test CA. Refused: loopback without
 * the test override, redirects, oversize, a foreign certificate, a document
 * naming another client_id or carrying a secret. Cached per Cache-Control,
 * within bounds. The SDK's own auth() uses it when the metadata says so.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { ManualClock } from '../../src/clock.js';
import { fetchDocument, freshnessSeconds, requireDocumentUrl } from '../../src/oauth/client-metadata-document.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { startTlsServer, type TlsServer } from './tls-fixture.js';

const CALLBACK = 'http://127.0.0.1:9/callback';
const loopback = async () => [{ address: '127.0.0.1', family: 4 as const }];

describe('Client ID Metadata Documents', () => {
  const clock = new ManualClock();
  let tls: TlsServer;
  let t: TestGatehouse;
  const hits = new Map<string, number>();
  const doc = (name: string, extra: Record<string, unknown> = {}) => ({
    client_id: `${tls.origin}/${name}`,
    client_name: 'Document Agent',
    redirect_uris: [CALLBACK],
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    unknown_field: 'ignored',
    ...extra,
  });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const name = (req.url ?? '/').slice(1);
    hits.set(name, (hits.get(name) ?? 0) + 1);
    const json = (body: unknown, headers: Record<string, string> = {}) =>
      res.writeHead(200, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (name === 'agent.json') return json(doc(name), { 'cache-control': 'public, max-age=600' });
    if (name === 'nostore.json') return json(doc(name), { 'cache-control': 'no-store' });
    if (name === 'wrong.json') return json(doc(name, { client_id: `${tls.origin}/other.json` }));
    if (name === 'secret.json') return json(doc(name, { client_secret: 's3cret' }));
    if (name === 'http-redirect.json') return json(doc(name, { redirect_uris: ['http://agent.example/cb'] }));
    if (name === 'big.json') return json(doc(name, { padding: 'x'.repeat(6000) }));
    if (name === 'moved.json') return res.writeHead(302, { location: `${tls.origin}/agent.json` }).end();
    if (name === 'html.json') return res.writeHead(200, { 'content-type': 'text/html' }).end('<p>hi</p>');
    res.writeHead(404).end();
  };
  const authorize = (clientId: string) => {
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: CALLBACK,
      response_type: 'code',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      scope: 'read_content',
    });
    return fetch(`${t.url}/v1/oauth/authorize?${query}`, { redirect: 'manual' });
  };

  beforeAll(async () => {
    tls = await startTlsServer(handler);
    t = await startTestGatehouse({ clock, clientMetadataFetch: { ca: tls.ca, allowPrivateAddresses: true, resolve: loopback } });
  });
  afterAll(async () => {
    await t?.stop();
    await tls?.close();
  });

  it('says so in the authorisation server metadata', async () => {
    const metadata = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(metadata.client_id_metadata_document_supported).toBe(true);
  });

  it('registers the agent from its document: consent opens, the app is an unverified public agent, audited once', async () => {
    const clientId = `${tls.origin}/agent.json`;
    const response = await authorize(clientId);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/auth\/sign-in\?return_to=%2Fconsent%2F/);
    const app = await t.gatehouse.stores.partnerApps.findByClientId(clientId);
    expect(app).toMatchObject({ clientKind: 'agent', clientType: 'public', builtByOrganisation: false, name: 'Document Agent' });
    expect(app!.redirectUris).toEqual([CALLBACK]);
    const audited = await t.gatehouse.database.db
      .selectFrom('audit_events')
      .selectAll()
      .where('action', '=', 'client.metadata_document_fetched')
      .execute();
    expect(audited.map((e) => e.target_id)).toEqual([app!.id]);
  });

  it('reuses the document while Cache-Control allows, and fetches it again after; no-store is fetched every time', async () => {
    const before = hits.get('agent.json')!;
    expect((await authorize(`${tls.origin}/agent.json`)).status).toBe(303);
    expect(hits.get('agent.json')).toBe(before);
    clock.advance(601_000);
    expect((await authorize(`${tls.origin}/agent.json`)).status).toBe(303);
    expect(hits.get('agent.json')).toBe(before + 1);
    await authorize(`${tls.origin}/nostore.json`);
    await authorize(`${tls.origin}/nostore.json`);
    expect(hits.get('nostore.json')).toBe(2);
  });

  it('refuses a wrong client_id, a secret, a bad redirect, redirects, oversize and non-JSON with a page that says why', async () => {
    const cases: Array<[string, RegExp]> = [
      ['wrong.json', /client_id is not the URL/],
      ['secret.json', /client secret/],
      ['http-redirect.json', /https, or http on localhost/],
      ['moved.json', /redirects/],
      ['big.json', /larger than 5 KB/],
      ['html.json', /not served as JSON/],
      ['missing.json', /answered 404/],
    ];
    for (const [name, message] of cases) {
      const response = await authorize(`${tls.origin}/${name}`);
      const page = await response.text();
      expect({ name, status: response.status, refused: message.test(page) }).toEqual({ name, status: 400, refused: true });
      expect(await t.gatehouse.stores.partnerApps.findByClientId(`${tls.origin}/${name}`)).toBeNull();
    }
  });

  it('refuses loopback and private addresses without the test override, and a certificate from an unknown CA', async () => {
    const url = new URL(`${tls.origin}/agent.json`);
    await expect(fetchDocument(url, { ca: tls.ca, resolve: loopback })).rejects.toThrow(/non-public address/);
    const literal = new URL(url.toString().replace('localhost', '127.0.0.1'));
    await expect(fetchDocument(literal, { ca: tls.ca })).rejects.toThrow(/non-public address/);
    await expect(fetchDocument(url, { resolve: async () => [{ address: '10.0.0.1', family: 4 }] })).rejects.toThrow(/non-public/);
    await expect(fetchDocument(url, { allowPrivateAddresses: true, resolve: loopback })).rejects.toThrow(/TLS certificate is not valid/);
    expect((await fetchDocument(url, { ca: tls.ca, allowPrivateAddresses: true, resolve: loopback })).status).toBe(200);
  });

  it('accepts only https client_id URLs with a path, and bounds the cache lifetime', () => {
    for (const bad of [
      'https://agent.example',
      'https://agent.example/',
      'https://u:p@agent.example/c.json',
      'https://agent.example/a/../c.json',
    ])
      expect(() => requireDocumentUrl(bad)).toThrow();
    const now = new Date();
    expect(freshnessSeconds({ cacheControl: 'max-age=5', expires: null }, now)).toBe(60);
    expect(freshnessSeconds({ cacheControl: 'max-age=999999', expires: null }, now)).toBe(86_400);
    expect(freshnessSeconds({ cacheControl: 'no-store', expires: null }, now)).toBe(0);
    expect(freshnessSeconds({ cacheControl: null, expires: new Date(now.getTime() + 7200_000).toUTCString() }, now)).toBeGreaterThan(7000);
  });

  it("drives the SDK's own auth(): with a clientMetadataUrl it skips registration and Gatehouse accepts the URL", async () => {
    let authorizationUrl: URL | undefined;
    const provider: OAuthClientProvider = {
      clientMetadataUrl: `${tls.origin}/agent.json`,
      redirectUrl: CALLBACK,
      get clientMetadata(): OAuthClientMetadata {
        return { client_name: 'Document Agent', redirect_uris: [CALLBACK], token_endpoint_auth_method: 'none' };
      },
      clientInformation: () => undefined as OAuthClientInformationMixed | undefined,
      saveClientInformation: () => undefined,
      tokens: () => undefined,
      saveTokens: () => undefined,
      redirectToAuthorization: (url: URL) => {
        authorizationUrl = url;
      },
      saveCodeVerifier: () => undefined,
      codeVerifier: () => '',
    };
    expect(await auth(provider, { serverUrl: `${t.url}/mcp` })).toBe('REDIRECT');
    expect(authorizationUrl!.searchParams.get('client_id')).toBe(`${tls.origin}/agent.json`);
    const response = await fetch(authorizationUrl!, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/consent/);
  });
});
