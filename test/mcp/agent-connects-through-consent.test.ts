/**
 * An AI agent connects as the MCP SDK's own client does it, nothing hand
 * built: its Streamable HTTP transport meets the 401, its `auth()` flow
 * discovers the resource and Gatehouse from it, registers itself (RFC 7591),
 * sends Ada to consent with PKCE and `resource`; Ada picks Engineering in
 * Chromium and allows; the SDK exchanges the code and lists and calls tools,
 * which reach the granted page and its child and nothing else.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import type { Browser, Page } from 'playwright-core';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { launchChromium } from '../support/chromium.js';
import { listenOnFreePort, startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { toolJson } from './agent-session.js';

/** What an MCP client keeps between runs, in memory. */
class AgentProvider implements OAuthClientProvider {
  client?: OAuthClientInformationMixed;
  saved?: OAuthTokens;
  verifier = '';
  authorizationUrl?: URL;
  constructor(private readonly callback: string) {}
  get redirectUrl() {
    return this.callback;
  }
  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'Test Agent',
      redirect_uris: [this.callback],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: OAuthTokens) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

const MODES = [
  { mode: 'PGlite', options: { database: 'pglite' as const } },
  { mode: 'PostgreSQL + Redis', options: { database: 'postgres' as const, redis: true, env: { GATEHOUSE_SANDBOX: '1' } } },
];

describe.each(MODES)('an AI agent connects through the same consent ($mode)', ({ options }) => {
  let t: TestGatehouse;
  let browser: Browser;
  let page: Page;
  let callbackServer: http.Server;
  let provider: AgentProvider;
  let client: Client;

  beforeAll(async () => {
    t = await startTestGatehouse({ ...options, sandboxNotion: { rateLimitPerSecond: Infinity } });
    const listening = await listenOnFreePort();
    callbackServer = listening.server;
    callbackServer.on('request', (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Agent</title><p>Done</p>'),
    );
    provider = new AgentProvider(`${listening.url.replace('localhost', '127.0.0.1')}/callback`);
    await t.gatehouse.indexer.idle();
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await client?.close();
    await browser?.close();
    await new Promise((resolve) => callbackServer?.close(resolve));
    await t?.stop();
  });

  it("the SDK's client meets the 401, discovers Gatehouse, registers and asks for the default agent scope with resource", async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { authProvider: provider });
    await expect(new Client({ name: 'agent', version: '1' }).connect(transport)).rejects.toThrow(/nauthorized/);
    expect(provider.client?.client_id).toMatch(/^agent_/);
    const asked = provider.authorizationUrl!;
    expect(asked.origin + asked.pathname).toBe(`${t.url}/v1/oauth/authorize`);
    expect(asked.searchParams.get('resource')).toBe(`${t.url}/mcp`);
    expect(asked.searchParams.get('code_challenge_method')).toBe('S256');
    expect(asked.searchParams.get('scope')).toBe('read_content read_comments user_info_without_email');
    const app = await t.gatehouse.stores.partnerApps.findByClientId(provider.client!.client_id);
    expect(app).toMatchObject({ clientKind: 'agent', clientType: 'public', builtByOrganisation: false });
  });

  it('Ada signs in, sees an AI agent with an unverified name, picks Engineering and allows', async () => {
    await page.goto(t.url);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.url}/workspaces**`);
    await page.goto(provider.authorizationUrl!.toString());
    await page.waitForURL(new RegExp(`^${t.url}/consent/`));
    expect(await page.getByText('AI agent', { exact: true }).count()).toBe(1);
    expect(await page.getByText(/not verified by your organisation/).count()).toBe(1);
    expect(await page.getByText(/only to a program on your own computer/).count()).toBe(1);
    for (const line of ['Read content', 'Read comments', 'Read user information without email addresses'])
      expect(await page.getByText(line, { exact: true }).count()).toBe(1);
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages\?workspace=/);
    await page.getByLabel('Engineering', { exact: true }).check();
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(/\/callback\?/);
    const code = new URL(page.url()).searchParams.get('code')!;
    expect(code).toMatch(/^gh_code_/);
    const transport = new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { authProvider: provider });
    await transport.finishAuth(code);
    expect(provider.saved?.scope).toBe('read_content read_comments user_info_without_email');
  });

  it('lists the tools the grant allows, with annotations, and no write tools', async () => {
    client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.url}/mcp`), { authProvider: provider }));
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      ['notion-fetch', 'notion-get-comments', 'notion-get-users', 'notion-query-data-sources', 'notion-search'].sort(),
    );
    expect(tools.every((tool) => tool.annotations?.readOnlyHint === true && tool.annotations?.destructiveHint === false)).toBe(true);
  });

  it('reaches the granted page and its child, and nothing else, without saying why', async () => {
    const fetch = (id: string) => client.callTool({ name: 'notion-fetch', arguments: { id } });
    expect(toolJson(await fetch(SEED_PAGE_IDS.engineering)).id).toBe(SEED_PAGE_IDS.engineering);
    expect(toolJson(await fetch(`https://www.notion.so/Architecture-${SEED_PAGE_IDS.architecture.replace(/-/g, '')}`)).id).toBe(
      SEED_PAGE_IDS.architecture,
    );
    const outside = await fetch(SEED_PAGE_IDS.product);
    const missing = await fetch('0badc0de-0000-4000-8000-000000000001');
    expect(outside.isError).toBe(true);
    expect(outside.content).toEqual(missing.content);
    const found = toolJson(await client.callTool({ name: 'notion-search', arguments: { query: '' } }));
    const ids = (found.results as Array<{ id: string }>).map((r) => r.id);
    expect(ids).toContain(SEED_PAGE_IDS.architecture);
    expect(ids).not.toContain(SEED_PAGE_IDS.product);
    expect(
      toolJson(await client.callTool({ name: 'notion-get-comments', arguments: { page_id: SEED_PAGE_IDS.engineering } })).comments,
    ).toBeDefined();
    expect(Array.isArray(toolJson(await client.callTool({ name: 'notion-get-users', arguments: {} })).users)).toBe(true);
  });

  it('a write tool the grant lacks is 403 insufficient_scope naming the wider scope (step-up)', async () => {
    const response = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${provider.saved!.access_token}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'notion-create-comment', arguments: { page_id: SEED_PAGE_IDS.engineering, text: 'hi' } },
      }),
    });
    expect(response.status).toBe(403);
    const challenge = response.headers.get('www-authenticate')!;
    expect(challenge).toContain('error="insufficient_scope"');
    expect(challenge).toContain('scope="read_content read_comments insert_comments user_info_without_email"');
  });
});
