/**
 * The Notion API subset, driven with @notionhq/client on both supported
 * versions: seed shape, search and pagination, reach (404), capabilities
 * (403), token and version errors, content reads and writes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { APIErrorCode, collectPaginatedAPI, isFullBlock, isFullPage } from '@notionhq/client';
import type { BlockObjectResponse, Client, PageObjectResponse } from '@notionhq/client';
import {
  SEED_DATA_SOURCE_IDS,
  SEED_DATABASE_IDS,
  SEED_PAGE_IDS,
  SEED_USER_IDS,
  SEED_WORKSPACE_IDS,
  seedPageId,
} from '../../src/sandbox/notion/index.js';
import type { SandboxCapability } from '../../src/sandbox/notion/index.js';
import { GATEHOUSE_CLIENT, startSandbox } from './harness.js';
import type { RunningSandbox } from './harness.js';

let running: RunningSandbox;
/** Ada's Gatehouse connection to Acme, reaching every top-level page. */
let ada: Client;
let adaLegacy: Client;

beforeAll(async () => {
  running = await startSandbox({ rateLimitPerSecond: Infinity });
  const grant = await running.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email: 'ada@example.com', workspaceName: 'Acme' });
  ada = running.client(grant.access_token);
  adaLegacy = running.client(grant.access_token, '2022-06-28');
});
afterAll(async () => running.stop());

async function internal(capabilities: SandboxCapability[], pageIds?: string[], workspaceName = 'Acme', version?: string): Promise<Client> {
  const { token } = await running.sandbox.createInternalIntegration({ workspaceName, name: 'Test bot', capabilities, pageIds });
  expect(token).toMatch(/^ntn_/);
  return running.client(token, version);
}

async function allPages(client: Client): Promise<PageObjectResponse[]> {
  const results = await collectPaginatedAPI(client.search, { filter: { property: 'object', value: 'page' }, page_size: 7 });
  return results.filter(isFullPage);
}

describe('seed', () => {
  it('has a deep Acme tree of at least 60 pages with unique titles', async () => {
    const pages = await allPages(ada);
    const parentOf = new Map(pages.map((p) => [p.id, p.parent.type === 'page_id' ? p.parent.page_id : null]));
    const titles = pages.map(
      (p) => (Object.values(p.properties).find((v) => v.type === 'title') as { title: Array<{ plain_text: string }> }).title[0].plain_text,
    );
    const plainPages = pages.filter((p) => p.parent.type !== 'data_source_id');
    expect(plainPages.length).toBeGreaterThanOrEqual(60);
    expect(new Set(titles).size).toBe(titles.length);
    const depth = (id: string): number => (parentOf.get(id) ? 1 + depth(parentOf.get(id) as string) : 1);
    expect(Math.max(...pages.map((p) => depth(p.id)))).toBeGreaterThanOrEqual(4);
    expect(titles).toEqual(expect.arrayContaining(['Engineering', 'Roadmap 2026', 'Website Redesign']));
  });

  it('exposes workspaces and users with fixed ids', () => {
    expect(running.sandbox.workspaces().map((w) => w.name)).toEqual(['Acme', 'Side Project', 'Archive']);
    expect(running.sandbox.workspaces()[0].id).toBe(SEED_WORKSPACE_IDS.acme);
    expect(running.sandbox.users()).toEqual([
      { id: SEED_USER_IDS.ada, name: 'Ada Lovelace', email: 'ada@example.com' },
      { id: SEED_USER_IDS.ben, name: 'Ben Bitdiddle', email: 'ben@example.com' },
    ]);
  });

  it('has content blocks, a link_to_page, a page mention and comments', async () => {
    const children = (await collectPaginatedAPI(ada.blocks.children.list, { block_id: SEED_PAGE_IDS.engineering })).filter(isFullBlock);
    const types = children.map((b) => b.type);
    expect(types).toEqual(expect.arrayContaining(['heading_2', 'paragraph', 'child_page', 'link_to_page']));
    const link = children.find((b) => b.type === 'link_to_page') as Extract<BlockObjectResponse, { type: 'link_to_page' }>;
    expect(link.link_to_page).toEqual({ type: 'page_id', page_id: SEED_PAGE_IDS.roadmap2026 });
    const roadmap = (await ada.blocks.children.list({ block_id: SEED_PAGE_IDS.roadmap2026 })).results.filter(isFullBlock);
    const mention = roadmap.flatMap((b) => (b.type === 'paragraph' ? b.paragraph.rich_text : [])).find((t) => t.type === 'mention');
    expect(mention).toMatchObject({ mention: { type: 'page', page: { id: SEED_PAGE_IDS.engineering } }, plain_text: 'Engineering' });
    const comments = await ada.comments.list({ block_id: SEED_PAGE_IDS.engineering });
    expect(comments.results).toHaveLength(2);
    expect(comments.results[0].discussion_id).toBe(comments.results[1].discussion_id);
  });
});

describe('search', () => {
  it('paginates with start_cursor until has_more is false, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const page = await ada.search({ page_size: 10, start_cursor: cursor });
      expect(page.results.length).toBeLessThanOrEqual(10);
      seen.push(...page.results.map((r) => r.id));
      cursor = page.next_cursor ?? undefined;
      calls += 1;
      if (page.has_more) expect(page.next_cursor).toEqual(expect.any(String));
    } while (cursor);
    expect(calls).toBeGreaterThan(6);
    expect(new Set(seen).size).toBe(seen.length);
    const all = await ada.search({});
    expect(all.results).toHaveLength(seen.length);
    expect(all.results.length).toBeLessThanOrEqual(100);
  });

  it('rejects page_size above 100', async () => {
    await expect(ada.search({ page_size: 101 })).rejects.toMatchObject({ code: APIErrorCode.ValidationError, status: 400 });
  });

  it('finds by title and filters data sources (2025-09-03) or databases (2022-06-28)', async () => {
    const found = await ada.search({ query: 'roadmap 20' });
    expect(found.results.map((r) => r.id)).toEqual([SEED_PAGE_IDS.roadmap2026]);
    const sources = await ada.search({ filter: { property: 'object', value: 'data_source' } });
    expect(sources.results).toEqual([expect.objectContaining({ object: 'data_source', id: SEED_DATA_SOURCE_IDS.projects })]);
    const legacy = (await adaLegacy.search({ filter: { property: 'object', value: 'database' as 'data_source' } })) as unknown as {
      results: Array<{ object: string; id: string; properties: Record<string, unknown> }>;
    };
    expect(legacy.results).toEqual([expect.objectContaining({ object: 'database', id: SEED_DATABASE_IDS.projects })]);
    expect(Object.keys(legacy.results[0].properties)).toEqual(['Name', 'Status', 'Depends on', 'Summary']);
    await expect(adaLegacy.search({ filter: { property: 'object', value: 'data_source' } })).rejects.toMatchObject({ status: 400 });
  });
});

describe('reach', () => {
  it('a token reaches its picks and their descendants, and answers 404 elsewhere', async () => {
    const engineering = await internal(['read_content', 'read_comments'], [SEED_PAGE_IDS.engineering]);
    const pages = await allPages(engineering);
    expect(pages.map((p) => p.id)).toEqual(expect.arrayContaining([SEED_PAGE_IDS.engineering, SEED_PAGE_IDS.entityGlossary]));
    expect(pages.map((p) => p.id)).not.toContain(SEED_PAGE_IDS.roadmap2026);
    const failure = await engineering.pages.retrieve({ page_id: SEED_PAGE_IDS.roadmap2026 }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: APIErrorCode.ObjectNotFound, status: 404 });
    expect((failure as Error).message).toBe(
      `Could not find page with ID: ${SEED_PAGE_IDS.roadmap2026}. Make sure the relevant pages and databases are shared with your integration.`,
    );
    await expect(engineering.blocks.children.list({ block_id: SEED_PAGE_IDS.product })).rejects.toMatchObject({ status: 404 });
    await expect(engineering.comments.list({ block_id: SEED_PAGE_IDS.roadmap2026 })).rejects.toMatchObject({ status: 404 });
    await expect(engineering.dataSources.retrieve({ data_source_id: SEED_DATA_SOURCE_IDS.projects })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('never reaches another workspace', async () => {
    const side = await internal(['read_content'], undefined, 'Side Project');
    await expect(side.pages.retrieve({ page_id: SEED_PAGE_IDS.engineering })).rejects.toMatchObject({ status: 404 });
    await expect(side.pages.retrieve({ page_id: SEED_PAGE_IDS.sideProjectHome })).resolves.toMatchObject({
      id: SEED_PAGE_IDS.sideProjectHome,
    });
  });

  it('accepts ids without dashes and answers with dashes', async () => {
    const page = await ada.pages.retrieve({ page_id: SEED_PAGE_IDS.engineering.replace(/-/g, '') });
    expect(page.id).toBe(SEED_PAGE_IDS.engineering);
  });
});

describe('errors', () => {
  it('answers 401 "API token is invalid." to a bad token', async () => {
    const failure = await running
      .client('ntn_nope')
      .users.me({})
      .catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: APIErrorCode.Unauthorized, status: 401, message: 'API token is invalid.' });
  });

  it("answers 400 to a missing or unsupported Notion-Version, in Notion's error shape", async () => {
    const grant = await running.sandbox.grantDirect({
      clientId: GATEHOUSE_CLIENT.clientId,
      email: 'ben@example.com',
      workspaceName: 'Acme',
    });
    await expect(running.client(grant.access_token, '2021-05-13').users.me({})).rejects.toMatchObject({
      code: APIErrorCode.ValidationError,
      status: 400,
    });
    const response = await fetch(`${running.baseUrl}/v1/users/me`, { headers: { authorization: `Bearer ${grant.access_token}` } });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      object: 'error',
      status: 400,
      code: 'missing_version',
      message: expect.any(String),
      request_id: expect.any(String),
    });
  });

  it('answers 400 invalid_json to a malformed body', async () => {
    const grant = await running.sandbox.grantDirect({
      clientId: GATEHOUSE_CLIENT.clientId,
      email: 'ada@example.com',
      workspaceName: 'Acme',
    });
    const response = await fetch(`${running.baseUrl}/v1/search`, {
      method: 'POST',
      headers: { authorization: `Bearer ${grant.access_token}`, 'notion-version': '2025-09-03', 'content-type': 'application/json' },
      body: '{"query":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ object: 'error', code: 'invalid_json' });
  });

  it('answers 403 restricted_resource for each missing capability', async () => {
    const insertOnly = await internal(['insert_content']);
    await expect(insertOnly.pages.retrieve({ page_id: SEED_PAGE_IDS.engineering })).rejects.toMatchObject({
      code: APIErrorCode.RestrictedResource,
      status: 403,
    });
    await expect(insertOnly.search({})).rejects.toMatchObject({ status: 403 });
    const readOnly = await internal(['read_content']);
    await expect(readOnly.pages.update({ page_id: SEED_PAGE_IDS.engineering, in_trash: true })).rejects.toMatchObject({ status: 403 });
    await expect(readOnly.blocks.delete({ block_id: SEED_PAGE_IDS.engineering })).rejects.toMatchObject({ status: 403 });
    await expect(
      readOnly.pages.create({
        parent: { page_id: SEED_PAGE_IDS.engineering },
        properties: { title: { title: [{ text: { content: 'x' } }] } },
      }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(readOnly.blocks.children.append({ block_id: SEED_PAGE_IDS.engineering, children: [] })).rejects.toMatchObject({
      status: 403,
    });
    await expect(readOnly.comments.list({ block_id: SEED_PAGE_IDS.engineering })).rejects.toMatchObject({ status: 403 });
    await expect(
      readOnly.comments.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, rich_text: [{ text: { content: 'x' } }] }),
    ).rejects.toMatchObject({ status: 403 });
    await expect(readOnly.users.list({})).rejects.toMatchObject({ code: APIErrorCode.RestrictedResource, status: 403 });
    await expect(readOnly.users.me({})).resolves.toMatchObject({ type: 'bot' });
  });
});

describe('users', () => {
  it('shapes people by the user-information level', async () => {
    const withEmail = await ada.users.list({});
    expect(withEmail.results.map((u) => u.id)).toEqual([SEED_USER_IDS.ada, SEED_USER_IDS.ben, expect.any(String)]);
    expect(withEmail.results[0]).toMatchObject({ type: 'person', name: 'Ada Lovelace', person: { email: 'ada@example.com' } });
    const withoutEmail = await internal(['read_content', 'user_info_without_email']);
    const ben = await withoutEmail.users.retrieve({ user_id: SEED_USER_IDS.ben });
    expect(ben).toMatchObject({ type: 'person', name: 'Ben Bitdiddle', person: {} });
    expect(JSON.stringify(ben)).not.toContain('@');
    const paged = await ada.users.list({ page_size: 1 });
    expect(paged).toMatchObject({ has_more: true, next_cursor: SEED_USER_IDS.ben });
    await expect(ada.users.retrieve({ user_id: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({ status: 404 });
  });

  it('Side Project does not list Ben', async () => {
    const side = await internal(['user_info_with_email'], [], 'Side Project');
    const users = await side.users.list({});
    expect(users.results.map((u) => u.id)).not.toContain(SEED_USER_IDS.ben);
  });
});

describe('content', () => {
  let created: string;

  it('creates a page under a reached page, with content', async () => {
    const page = await ada.pages.create({
      parent: { page_id: SEED_PAGE_IDS.engineering.replace(/-/g, '') },
      properties: { title: { title: [{ text: { content: 'Gatehouse notes' } }] } },
      icon: { emoji: '🏰' },
      children: [{ paragraph: { rich_text: [{ text: { content: 'First line' } }] } }],
    });
    expect(page).toMatchObject({
      object: 'page',
      parent: { type: 'page_id', page_id: SEED_PAGE_IDS.engineering },
      icon: { type: 'emoji', emoji: '🏰' },
    });
    created = page.id;
    const children = await ada.blocks.children.list({ block_id: SEED_PAGE_IDS.engineering });
    expect(children.results.map((b) => b.id)).toContain(created);
    const block = await ada.blocks.retrieve({ block_id: created });
    expect(block).toMatchObject({ type: 'child_page', child_page: { title: 'Gatehouse notes' } });
  });

  it('appends, updates and deletes blocks', async () => {
    const appended = await ada.blocks.children.append({
      block_id: created,
      children: [
        { heading_1: { rich_text: [{ text: { content: 'Heading' } }] } },
        { to_do: { rich_text: [{ text: { content: 'Ship it' } }], checked: false } },
      ],
    });
    expect(appended.results).toHaveLength(2);
    const todo = appended.results[1];
    const updated = await ada.blocks.update({ block_id: todo.id, to_do: { checked: true } });
    expect(updated).toMatchObject({
      type: 'to_do',
      to_do: { checked: true, rich_text: [expect.objectContaining({ plain_text: 'Ship it' })] },
    });
    await ada.blocks.delete({ block_id: appended.results[0].id });
    const listed = await ada.blocks.children.list({ block_id: created });
    expect(listed.results.map((b) => b.id)).toEqual([expect.any(String), todo.id]);
    await expect(
      ada.blocks.children.append({ block_id: created, children: [{ image: { external: { url: 'https://x/y.png' } } }] }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('renames and trashes a page', async () => {
    const renamed = await ada.pages.update({
      page_id: created,
      properties: { title: { title: [{ text: { content: 'Gatehouse notes v2' } }] } },
    });
    expect((renamed as PageObjectResponse).properties.title).toMatchObject({
      type: 'title',
      title: [{ plain_text: 'Gatehouse notes v2' }],
    });
    const trashed = await ada.pages.update({ page_id: created, in_trash: true });
    expect(trashed).toMatchObject({ in_trash: true, archived: true });
    const found = await ada.search({ query: 'Gatehouse notes' });
    expect(found.results).toHaveLength(0);
  });

  it('comments on a page and replies in a discussion', async () => {
    const comment = await ada.comments.create({
      parent: { page_id: SEED_PAGE_IDS.roadmap2026 },
      rich_text: [{ text: { content: 'From Gatehouse' } }],
    });
    expect(comment).toMatchObject({
      object: 'comment',
      parent: { type: 'page_id', page_id: SEED_PAGE_IDS.roadmap2026 },
      display_name: { type: 'integration' },
    });
    const reply = await ada.comments.create({
      discussion_id: (comment as { discussion_id: string }).discussion_id,
      rich_text: [{ text: { content: 'Reply' } }],
    });
    expect(reply).toMatchObject({ discussion_id: (comment as { discussion_id: string }).discussion_id });
    const list = await ada.comments.list({ block_id: SEED_PAGE_IDS.roadmap2026 });
    expect(list.results.map((c) => c.rich_text[0].plain_text)).toEqual(['Q3 looks ambitious.', 'From Gatehouse', 'Reply']);
  });
});

describe('databases and data sources', () => {
  it('2025-09-03: a database lists its data source; the data source has the properties and is queried', async () => {
    const database = await ada.databases.retrieve({ database_id: SEED_DATABASE_IDS.projects });
    expect(database).toMatchObject({ object: 'database', data_sources: [{ id: SEED_DATA_SOURCE_IDS.projects, name: 'Projects' }] });
    expect(database).not.toHaveProperty('properties');
    const source = await ada.dataSources.retrieve({ data_source_id: SEED_DATA_SOURCE_IDS.projects });
    expect(Object.keys(source)).toContain('properties');
    const inProgress = await ada.dataSources.query({
      data_source_id: SEED_DATA_SOURCE_IDS.projects,
      filter: { property: 'Status', select: { equals: 'In progress' } },
      sorts: [{ property: 'Name', direction: 'ascending' }],
    });
    expect(inProgress.results.map((r) => r.id)).toEqual([seedPageId('Acme', 'Security Audit'), seedPageId('Acme', 'Website Redesign')]);
    expect(inProgress.results[0]).toMatchObject({
      parent: { type: 'data_source_id', data_source_id: SEED_DATA_SOURCE_IDS.projects, database_id: SEED_DATABASE_IDS.projects },
    });
    const row = await ada.pages.create({
      parent: { data_source_id: SEED_DATA_SOURCE_IDS.projects },
      properties: {
        Name: { title: [{ text: { content: 'Gatehouse rollout' } }] },
        Status: { select: { name: 'Planned' } },
        'Depends on': { relation: [{ id: SEED_PAGE_IDS.websiteRedesign }] },
      },
    });
    const dependsOn = await ada.pages.properties.retrieve({ page_id: row.id, property_id: 'deps' });
    expect(dependsOn).toMatchObject({ object: 'list', results: [{ type: 'relation', relation: { id: SEED_PAGE_IDS.websiteRedesign } }] });
    const status = await ada.pages.properties.retrieve({ page_id: row.id, property_id: 'stat' });
    expect(status).toMatchObject({ object: 'property_item', type: 'select', select: { name: 'Planned' } });
    await expect(ada.request({ path: `databases/${SEED_DATABASE_IDS.projects}/query`, method: 'post', body: {} })).rejects.toMatchObject({
      status: 400,
    });
  });

  it('2022-06-28: a database has properties and is queried directly; rows have database parents', async () => {
    const database = (await adaLegacy.databases.retrieve({ database_id: SEED_DATABASE_IDS.projects })) as unknown as Record<
      string,
      unknown
    >;
    expect(database).toHaveProperty('properties');
    expect(database).not.toHaveProperty('data_sources');
    const rows = await adaLegacy.request<{ results: PageObjectResponse[]; has_more: boolean; next_cursor: string | null }>({
      path: `databases/${SEED_DATABASE_IDS.projects}/query`,
      method: 'post',
      body: { page_size: 2 },
    });
    expect(rows.results).toHaveLength(2);
    expect(rows.has_more).toBe(true);
    expect(rows.results[0].parent).toEqual({ type: 'database_id', database_id: SEED_DATABASE_IDS.projects });
    await expect(adaLegacy.dataSources.retrieve({ data_source_id: SEED_DATA_SOURCE_IDS.projects })).rejects.toMatchObject({ status: 400 });
  });
});
