/**
 * Two Gatehouse instances on one PostgreSQL schema and one Redis prefix,
 * behind one public URL that sends each request to the next instance: the
 * MCP SDK's own Client lists and calls tools through both (stateless: no
 * session id ties it to one), and revoking the grant ends the next MCP
 * request with 401 on each instance, nothing cached in either.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ManualClock, systemClock } from '../../src/clock.js';
import { revokeGrant, systemActor } from '../../src/admin/revocation.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { GATEHOUSE_CLIENT, startSandbox, type RunningSandbox } from '../sandbox-notion/harness.js';
import { deleteRedisPrefix, dropSchema, uniqueName } from '../support/databases.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { startRoundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy.js';
import { connectAdaToAcme, sharedUpstreamEnv } from '../support/shared-upstream.js';
import { connectAgent, mcpClient, toolJson, type AgentSession } from './agent-session.js';

describe('MCP across two instances behind one URL (PostgreSQL + Redis)', () => {
  let sandbox: RunningSandbox;
  let proxy: RoundRobinProxy;
  let a: TestGatehouse;
  let b: TestGatehouse;
  let session: AgentSession;
  let client: Client;
  const schema = uniqueName('mcp2');
  const redisPrefix = `${uniqueName('mcp2')}:`;

  beforeAll(async () => {
    sandbox = await startSandbox({ oauthClients: [{ ...GATEHOUSE_CLIENT, redirectUris: [...GATEHOUSE_CLIENT.redirectUris] }] });
    proxy = await startRoundRobinProxy();
    const options = {
      database: 'postgres' as const,
      redis: true,
      schema,
      redisPrefix,
      env: { ...sharedUpstreamEnv(sandbox), GATEHOUSE_SANDBOX: '1', GATEHOUSE_PUBLIC_URL: proxy.url },
    };
    a = await startTestGatehouse(options);
    b = await startTestGatehouse(options);
    proxy.targets = [a.url, b.url];
    await connectAdaToAcme(a.gatehouse, sandbox, new ManualClock());
    session = await connectAgent(a.gatehouse, proxy.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock: systemClock,
      resource: `${proxy.url}/mcp`,
      name: 'Two-instance agent',
    });
    client = await mcpClient(proxy.url, session.accessToken);
  });
  afterAll(async () => {
    await client?.close();
    await b?.stop();
    await a?.stop();
    await proxy?.close();
    await sandbox?.stop();
    await dropSchema(schema);
    await deleteRedisPrefix(redisPrefix);
  });

  it('lists and calls tools, each instance answering in turn', async () => {
    proxy.served.clear();
    for (let i = 0; i < 2; i += 1) {
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain('notion-fetch');
      const fetched = toolJson(await client.callTool({ name: 'notion-fetch', arguments: { id: SEED_PAGE_IDS.architecture } }));
      expect(fetched.id).toBe(SEED_PAGE_IDS.architecture);
      const refused = await client.callTool({ name: 'notion-fetch', arguments: { id: SEED_PAGE_IDS.roadmap2026 } });
      expect(refused.isError).toBe(true);
    }
    expect(proxy.served.get(new URL(a.url).origin)).toBeGreaterThanOrEqual(3);
    expect(proxy.served.get(new URL(b.url).origin)).toBeGreaterThanOrEqual(3);
  });

  it('revoking the grant ends the next MCP request with 401 on both instances', async () => {
    const list = (url: string) =>
      fetch(`${url}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${session.accessToken}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    // Straight to each instance (the Host differs, the token's resource does not): both serve it now.
    expect((await list(a.url)).status).toBe(200);
    expect((await list(b.url)).status).toBe(200);
    await revokeGrant({ ...b.gatehouse.stores, clock: systemClock }, session.grantId, systemActor('test'), 'revoked in test');
    for (const url of [a.url, b.url]) {
      const response = await list(url);
      expect({ url, status: response.status }).toEqual({ url, status: 401 });
      expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
    }
    await expect(client.listTools()).rejects.toThrow();
  });
});
