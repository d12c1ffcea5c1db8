/**
 * Every tool through the proxy's rules: on a granted page, on a child of
 * it, on an ungranted page (a tool error that reads as a missing id), and
 * without the capability it needs (not listed; a call is 403 step-up).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ManualClock } from '../../src/clock.js';
import { SEED_DATA_SOURCE_IDS, SEED_DATABASE_IDS, SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectAgent, mcpClient, toolJson } from './agent-session.js';

const ALL = ['read_content', 'update_content', 'insert_content', 'read_comments', 'insert_comments', 'user_info_without_email'] as const;

describe('MCP tools under the grant', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let client: Client;
  const call = (name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args });

  beforeAll(async () => {
    t = await startTestGatehouse({
      clock,
      sandboxNotion: { rateLimitPerSecond: Infinity },
      tunables: { upstreamRequestsPerSecond: 10_000, upstreamBurst: 10_000 },
    });
    const session = await connectAgent(t.gatehouse, t.url, {
      capabilities: [...ALL],
      pageIds: [SEED_PAGE_IDS.engineering, SEED_DATABASE_IDS.projects],
      clock,
      resource: `${t.url}/mcp`,
      name: 'Full agent',
    });
    client = await mcpClient(t.url, session.accessToken);
  });
  afterAll(async () => {
    await client?.close();
    await t.stop();
  });

  it('lists every tool for a grant with every capability, write tools marked', async () => {
    const { tools } = await client.listTools();
    expect(tools).toHaveLength(9);
    const move = tools.find((tool) => tool.name === 'notion-move-pages')!;
    expect(move.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(move.inputSchema.required).toEqual(['ids', 'new_parent']);
  });

  it('creates pages under a granted page with Markdown content, never under an ungranted one', async () => {
    const created = toolJson(
      await call('notion-create-pages', {
        parent: { page_id: SEED_PAGE_IDS.architecture },
        pages: [{ title: 'Agent notes', content: '# Heading\n- one\n- two' }],
      }),
    );
    const pageId = (created.pages as Array<{ id: string }>)[0]!.id;
    const fetched = toolJson(await call('notion-fetch', { id: pageId }));
    expect(fetched.title).toBe('Agent notes');
    expect(fetched.content).toBe('# Heading\n- one\n- two');
    const refused = await call('notion-create-pages', { parent: { page_id: SEED_PAGE_IDS.product }, pages: [{ title: 'x' }] });
    expect(refused).toMatchObject({ isError: true, content: [{ text: 'Nothing with that id is reachable through this connection.' }] });
  });

  it('updates a child page, comments on it and reads the comments; an ungranted page reveals nothing', async () => {
    const updated = await call('notion-update-page', { page_id: SEED_PAGE_IDS.dataModel, content: 'Appended by the agent.' });
    expect(updated.isError).toBeFalsy();
    expect(toolJson(await call('notion-fetch', { id: SEED_PAGE_IDS.dataModel })).content).toContain('Appended by the agent.');
    expect((await call('notion-create-comment', { page_id: SEED_PAGE_IDS.dataModel, text: 'Reviewed.' })).isError).toBeFalsy();
    const comments = toolJson(await call('notion-get-comments', { page_id: SEED_PAGE_IDS.dataModel })).comments as Array<{ text: string }>;
    expect(comments.map((c) => c.text)).toContain('Reviewed.');
    for (const [name, args] of [
      ['notion-update-page', { page_id: SEED_PAGE_IDS.roadmap2026, content: 'x' }],
      ['notion-create-comment', { page_id: SEED_PAGE_IDS.roadmap2026, text: 'x' }],
      ['notion-get-comments', { page_id: SEED_PAGE_IDS.roadmap2026 }],
      ['notion-fetch', { id: SEED_PAGE_IDS.roadmap2026 }],
    ] as const) {
      const refused = await call(name, args);
      expect({ name, refused }).toEqual({
        name,
        refused: { isError: true, content: [{ type: 'text', text: 'Nothing with that id is reachable through this connection.' }] },
      });
    }
    // Audited like the proxy's refusals: which tool, which object, why.
    const audited = await t.gatehouse.database.db.selectFrom('audit_events').selectAll().where('action', '=', 'mcp.tool_refused').execute();
    expect(audited.map((event) => event.detail)).toContainEqual(
      expect.objectContaining({ tool: 'notion-get-comments', target: SEED_PAGE_IDS.roadmap2026, reason: 'out_of_scope' }),
    );
  });

  it('moves pages only between granted pages', async () => {
    const moved = await call('notion-move-pages', {
      ids: [SEED_PAGE_IDS.incidentResponse],
      new_parent: { page_id: SEED_PAGE_IDS.architecture },
    });
    expect(moved.isError).toBeFalsy();
    const out = await call('notion-move-pages', { ids: [SEED_PAGE_IDS.incidentResponse], new_parent: { page_id: SEED_PAGE_IDS.product } });
    expect(out.isError).toBe(true);
    const into = await call('notion-move-pages', { ids: [SEED_PAGE_IDS.roadmap2026], new_parent: { page_id: SEED_PAGE_IDS.architecture } });
    expect(into.isError).toBe(true);
  });

  it('queries a granted data source', async () => {
    const rows = toolJson(await call('notion-query-data-sources', { data_source_id: SEED_DATA_SOURCE_IDS.projects }));
    expect(Array.isArray(rows.results)).toBe(true);
  });

  it('refuses bad arguments as a tool error', async () => {
    expect((await call('notion-fetch', { id: 'not an id' })).isError).toBe(true);
    expect((await call('notion-search', { query: 'x', unexpected: 1 })).isError).toBe(true);
  });

  it('a read-only grant lists no write tools, and calling one is 403 insufficient_scope', async () => {
    const readOnly = await connectAgent(t.gatehouse, t.url, {
      capabilities: ['read_content', 'no_user_info'],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      resource: `${t.url}/mcp`,
      name: 'Read-only agent',
    });
    const reader = await mcpClient(t.url, readOnly.accessToken);
    expect((await reader.listTools()).tools.map((tool) => tool.name)).toEqual([
      'notion-search',
      'notion-fetch',
      'notion-query-data-sources',
    ]);
    await expect(reader.callTool({ name: 'notion-get-users', arguments: {} })).rejects.toThrow(/Forbidden/);
    await reader.close().catch(() => undefined);
  });
});
