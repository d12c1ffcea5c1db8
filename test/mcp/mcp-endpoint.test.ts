/**
 * /mcp as a resource server: discovery metadata, the 401 challenge, Origin,
 * malformed JSON-RPC, and the audience binding both ways (a token for /mcp
 * is refused by the proxy, a proxy token by /mcp), revocation at once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectAgent, mcpClient, toolJson } from './agent-session.js';

const INIT = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};
const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('the MCP endpoint', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let mcp: string;

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    mcp = `${t.url}/mcp`;
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers with where to authorise and the default agent scope', async () => {
    const response = await fetch(mcp, { method: 'POST', headers: HEADERS, body: JSON.stringify(INIT) });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${t.url}/.well-known/oauth-protected-resource/mcp", scope="read_content read_comments user_info_without_email"`,
    );
  });

  it('serves protected resource metadata naming Gatehouse and the capabilities', async () => {
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const body = (await (await fetch(`${t.url}${path}`)).json()) as Record<string, unknown>;
      expect(body).toMatchObject({ resource: mcp, authorization_servers: [t.url] });
      expect(body.scopes_supported).toEqual(expect.arrayContaining(['read_content', 'insert_comments', 'user_info_with_email']));
    }
    const as = (await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as).toMatchObject({ registration_endpoint: `${t.url}/v1/oauth/register`, client_id_metadata_document_supported: true });
  });

  it('refuses a present foreign Origin with 403, and GET with 405', async () => {
    const foreign = await fetch(mcp, {
      method: 'POST',
      headers: { ...HEADERS, origin: 'https://evil.example' },
      body: JSON.stringify(INIT),
    });
    expect(foreign.status).toBe(403);
    expect((await fetch(mcp, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
  });

  it('binds tokens to their resource: /mcp refuses proxy tokens, the proxy refuses /mcp tokens', async () => {
    const pageIds = [SEED_PAGE_IDS.engineering];
    const capabilities = ['read_content', 'read_comments', 'user_info_without_email'] as const;
    const forProxy = await connectAgent(t.gatehouse, t.url, { capabilities: [...capabilities], pageIds, clock, resource: null, name: 'P' });
    const forMcp = await connectAgent(t.gatehouse, t.url, { capabilities: [...capabilities], pageIds, clock, resource: mcp, name: 'M' });
    const atMcp = await fetch(mcp, {
      method: 'POST',
      headers: { ...HEADERS, authorization: `Bearer ${forProxy.accessToken}` },
      body: JSON.stringify(INIT),
    });
    expect(atMcp.status).toBe(401);
    expect(atMcp.headers.get('www-authenticate')).toContain('error="invalid_token"');
    const atProxy = await fetch(`${t.url}/v1/pages/${SEED_PAGE_IDS.engineering}`, {
      headers: { authorization: `Bearer ${forMcp.accessToken}`, 'notion-version': '2025-09-03' },
    });
    expect(atProxy.status).toBe(401);
    const client = await mcpClient(t.url, forMcp.accessToken);
    const fetched = toolJson(await client.callTool({ name: 'notion-fetch', arguments: { id: SEED_PAGE_IDS.engineering } }));
    expect(fetched.id).toBe(SEED_PAGE_IDS.engineering);
    await client.close();
  });

  it('answers malformed JSON-RPC with 4xx, never 500', async () => {
    const { accessToken } = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: mcp,
      name: 'Malformed',
    });
    const auth = { ...HEADERS, authorization: `Bearer ${accessToken}` };
    for (const body of ['{not json', '"a string"', '{"jsonrpc":"1.0","method":5}', '[]']) {
      const response = await fetch(mcp, { method: 'POST', headers: auth, body });
      expect({ body, status: response.status >= 400 && response.status < 500 }).toEqual({ body, status: true });
    }
  });

  it('ends the next request with 401 once the grant is revoked', async () => {
    const session = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: mcp,
      name: 'Revoked',
    });
    const client = await mcpClient(t.url, session.accessToken);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual([
      'notion-search',
      'notion-fetch',
      'notion-query-data-sources',
    ]);
    await t.gatehouse.stores.tokens.revokeGrant(session.grantId, { by: 'test', reason: 'test' }, clock.now(), null);
    await expect(client.listTools()).rejects.toThrow(/401|nauthorized/);
  });
});
