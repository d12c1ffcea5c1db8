/**
 * The page index under Notion's rate limit: an instance on real time with a
 * low rate limit shows its progress step by step; and the index rows made
 * from Notion's search results.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { APIErrorCode, Client, isNotionClientError } from '@notionhq/client';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectNotion, workspaceRow, workspacesPage } from '../support/notion-connect.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import type { NotionUpstream } from '../../src/upstream/notion.js';
import { toIndexedPages } from '../../src/page-index/sync.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const ACME = SEED_WORKSPACE_IDS.acme;

function helpers(get: () => TestGatehouse) {
  const g = () => get().gatehouse;
  return {
    connection: async (email: string, workspaceId: string) => {
      const person = (await g().stores.people.findByEmail(email))[0]!;
      return (await g().stores.connections.findForPersonAndWorkspace(person.id, workspaceId))!;
    },
    indexed: (connectionId: string) =>
      g()
        .database.db.selectFrom('page_index')
        .select(['page_id', 'parent_id', 'parent_type', 'title', 'object_type'])
        .where('connection_id', '=', connectionId)
        .orderBy('title')
        .orderBy('page_id')
        .execute(),
    /** Gatehouse's own client at the sandbox Notion (its secret is in the embedded default's secrets.json). */
    upstream: (): NotionUpstream => ({
      baseUrl: `${get().url}/sandbox/notion`,
      clientId: 'gatehouse',
      notionVersion: g().config.tunables.notionVersion,
      timeoutMs: 10_000,
      clientSecret: JSON.parse(fs.readFileSync(path.join(get().dataDir, 'secrets.json'), 'utf8')).sandboxNotionClientSecret,
    }),
  };
}

describe("indexing progress under Notion's rate limit", () => {
  const RATE = 3;
  let t: TestGatehouse;
  const ada = new Browser();
  const h = helpers(() => t);

  beforeAll(async () => {
    t = await startTestGatehouse({ sandboxNotion: { rateLimitPerSecond: RATE } });
    await signIn(ada, t.url, ADA.email, ADA.password);
    await t.gatehouse.membership.idle();
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('shows "running" with a growing count, then "ready", while pages keep answering', async () => {
    const sandbox = t.gatehouse.sandboxNotion!;
    const { rootPageId } = await sandbox.addGeneratedPages('Acme', 2000);
    const expected = 1 + 20 + 2000; // the root, 20 sections of 100, the pages
    // Empty Notion's bucket for Gatehouse in Acme first (its burst is 10), so the run meets 429s from its first call.
    const current = await h.connection(ADA.email, ACME);
    const { accessToken } = decryptCredential(t.gatehouse.keyring, current.credentialCiphertext!, current.id);
    const client = new Client({ auth: accessToken, baseUrl: `${t.url}/sandbox/notion`, retry: false });
    for (let i = 0; i < 20; i++) {
      const limited = await client.users.me({}).then(
        () => false,
        (err) => isNotionClientError(err) && err.code === APIErrorCode.RateLimited,
      );
      if (limited) break;
    }
    const calls = sandbox.stats().apiCalls;
    const started = Date.now();
    // Ada shares the new top-level page with Gatehouse: reconnect Acme and tick it on Notion's page.
    const { status } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Acme', pages: ['Generated pages 1'], reconnect: ACME });
    expect(status).toBe(200);

    const seen: Array<{ state: string; text: string }> = [];
    let slowest = 0;
    for (;;) {
      const asked = Date.now();
      const { status: pageStatus, html } = await workspacesPage(ada, t.url);
      slowest = Math.max(slowest, Date.now() - asked);
      expect(pageStatus).toBe(200);
      const row = workspaceRow(html, ACME)!;
      if (seen.at(-1)?.text !== row.text) seen.push({ state: row.state, text: row.text });
      if (row.state === 'ready' || row.state === 'failed') break;
      if (row.state === 'running') expect(html).toContain('<meta http-equiv="refresh" content="3">');
      if (Date.now() - started > 45_000) throw new Error(`indexing did not finish: ${JSON.stringify(seen)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
    await t.gatehouse.indexer.idle();

    const running = seen.filter((s) => s.state === 'running').map((s) => Number(/Indexing pages… (\d+) so far/.exec(s.text)?.[1]));
    expect(running.length).toBeGreaterThanOrEqual(2);
    expect(running.every((n, i) => Number.isInteger(n) && (i === 0 || n > running[i - 1]!))).toBe(true);
    // Progress is this run's: it starts from nothing, not from the previous index's 80-odd rows, and stays below the total.
    expect(running.every((n) => n % 100 === 0)).toBe(true); // whole search pages of 100, nothing carried over
    expect(running.at(-1)!).toBeLessThan(expected);
    expect(seen.at(-1)).toEqual({ state: 'ready', text: `${expected} pages indexed` });
    expect(slowest).toBeLessThan(5000); // a bound on "never blocks a request", not a speed measurement

    const connection = await h.connection(ADA.email, ACME);
    expect(connection).toMatchObject({ indexState: 'ready', indexCount: expected });
    const rows = await h.indexed(connection.id);
    expect(rows.find((r) => r.page_id === rootPageId)).toMatchObject({ parent_id: null, title: 'Generated pages 1' });
    expect(rows.some((r) => r.page_id === SEED_PAGE_IDS.companyHome)).toBe(false); // no longer ticked
    // 21 search pages went through; the 429s in between were waited out (Retry-After), not hammered:
    // at most one refusal per page, and the run took at least as long as the limit requires.
    const searches = Math.ceil(expected / 100);
    const refused = sandbox.stats().apiCalls - calls - searches;
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(searches);
    expect(Date.now() - started).toBeGreaterThanOrEqual(((searches - 1) / RATE) * 1000);
  });
});

describe("index rows from Notion's search results", () => {
  const row = (parent: Record<string, unknown>) => ({
    object: 'page',
    id: 'row',
    parent,
    properties: { Name: { type: 'title', title: [{ plain_text: 'A row' }] } },
  });

  it('a 2025-09-03 row points at its data source; the data source at its database', () => {
    expect(toIndexedPages(row({ type: 'data_source_id', data_source_id: 'ds', database_id: 'db' }))).toEqual([
      { pageId: 'row', parentId: 'ds', parentType: 'data_source', title: 'A row', objectType: 'page' },
    ]);
    expect(
      toIndexedPages({
        object: 'data_source',
        id: 'ds',
        title: [{ plain_text: 'Projects' }],
        parent: { type: 'database_id', database_id: 'db' },
        database_parent: { type: 'page_id', page_id: 'home' },
      }),
    ).toEqual([
      { pageId: 'ds', parentId: 'db', parentType: 'database', title: 'Projects', objectType: 'data_source' },
      { pageId: 'db', parentId: 'home', parentType: 'page', title: 'Projects', objectType: 'database' },
    ]);
  });

  it('a 2022-06-28 row points at its database (no data source is named)', () => {
    expect(toIndexedPages(row({ type: 'database_id', database_id: 'db' }))).toEqual([
      { pageId: 'row', parentId: 'db', parentType: 'database', title: 'A row', objectType: 'page' },
    ]);
  });
});
