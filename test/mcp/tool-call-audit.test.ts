/**
 * Tool calls are audited and counted like proxy calls: one audit line per
 * call (which tool, which object, outcome), refusals with their reason, and
 * the counters on /metrics by tool and outcome and by app and workspace.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ManualClock } from '../../src/clock.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectAgent, mcpClient, type AgentSession } from './agent-session.js';

describe('MCP tool calls in the audit log and metrics', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let client: Client;
  let session: AgentSession;

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { rateLimitPerSecond: Infinity } });
    session = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content', 'read_comments', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: `${t.url}/mcp`,
      name: 'Audited agent',
    });
    client = await mcpClient(t.url, session.accessToken);
  });
  afterAll(async () => {
    await client?.close();
    await t.stop();
  });

  const events = (action: string) =>
    t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('occurred_at').execute();

  it('audits a successful call with its tool and page, and a refused one with its reason', async () => {
    expect((await client.callTool({ name: 'notion-fetch', arguments: { id: SEED_PAGE_IDS.architecture } })).isError).toBeFalsy();
    expect((await client.callTool({ name: 'notion-fetch', arguments: { id: SEED_PAGE_IDS.roadmap2026 } })).isError).toBe(true);
    expect((await client.callTool({ name: 'notion-get-comments', arguments: { page_id: SEED_PAGE_IDS.roadmap2026 } })).isError).toBe(true);

    const called = await events('mcp.tool_called');
    expect(called).toHaveLength(1);
    expect(called[0]).toMatchObject({ outcome: 'success', target_type: 'grant', target_id: session.grantId, actor_type: 'partner' });
    expect(called[0]!.detail).toEqual({ tool: 'notion-fetch', target: SEED_PAGE_IDS.architecture });
    const refused = await events('mcp.tool_refused');
    expect(refused.map((e) => e.detail)).toContainEqual({
      tool: 'notion-fetch',
      target: SEED_PAGE_IDS.roadmap2026,
      reason: 'not_reachable',
    });
  });

  it('audits a refusal by the proxy rule with its reason and status', async () => {
    const refused = await events('mcp.tool_refused');
    expect(refused.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ tool: 'notion-get-comments', target: SEED_PAGE_IDS.roadmap2026, reason: expect.any(String) }),
    );
  });

  it('audits a step-up refusal (a capability the grant lacks) before answering 403', async () => {
    const response = await fetch(`${t.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${session.accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'notion-update-page', arguments: { page_id: SEED_PAGE_IDS.architecture, content: 'x' } },
      }),
    });
    expect(response.status).toBe(403);
    const refused = await events('mcp.tool_refused');
    expect(refused.map((e) => e.detail)).toContainEqual({
      tool: 'notion-update-page',
      target: SEED_PAGE_IDS.architecture,
      reason: 'insufficient_scope',
      status: 403,
    });
  });

  it('counts calls by tool and outcome, and forwarded calls by app and workspace', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/gatehouse_mcp_tool_calls_total\{tool="notion-fetch",outcome="ok"\} 1/);
    expect(metrics).toMatch(/gatehouse_mcp_tool_calls_total\{tool="notion-fetch",outcome="error"\} 1/);
    expect(metrics).toMatch(/gatehouse_mcp_tool_calls_total\{tool="notion-update-page",outcome="insufficient_scope"\} 1/);
    expect(metrics).toMatch(/gatehouse_mcp_tool_calls_forwarded_total\{app="[0-9a-f-]+",workspace="[^"]+"\} 1/);
  });
});
