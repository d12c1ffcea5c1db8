/**
 * Rows of a data source (Notion-Version 2025-09-03): a row sits under its
 * data source, which sits under its database. A grant that picked the
 * Projects data source covers its rows; one that picked the Projects
 * database covers the data source and the rows, in both Notion-Versions.
 * Reading rows never contradicts the page index (no re-index per read).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { PageObjectResponse } from '@notionhq/client';
import { ManualClock } from '../../src/clock.js';
import { buildPicker } from '../../src/consent/picker.js';
import { DEFAULT_ANCESTRY_TTL_MS, memoryAncestryCache, parentLink, ScopeResolver, type ParentLink } from '../../src/proxy/scope.js';
import type { ObjectKind } from '../../src/proxy/errors.js';
import { SEED_DATA_SOURCE_IDS, SEED_DATABASE_IDS, SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { connectPartner, failure, partnerClient, type PartnerSession } from './partner-session.js';

const READ = ['read_content', 'user_info_with_email'] as const;
const DATA_SOURCE = SEED_DATA_SOURCE_IDS.projects;
const DATABASE = SEED_DATABASE_IDS.projects;
const ROW = SEED_PAGE_IDS.websiteRedesign;

type List = { results: Array<{ id: string; object: string }>; has_more: boolean };

describe('rows of a data source through the proxy', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let dataSource: PartnerSession;
  let database: PartnerSession;
  let outsider: PartnerSession;
  let reindex: jest.SpiedFunction<(id: string) => void>;

  const queryDataSource = (p: PartnerSession) =>
    p.notion.request<List>({ path: `data_sources/${DATA_SOURCE}/query`, method: 'post', body: {} });
  const queryDatabaseLegacy = (p: PartnerSession) =>
    p.legacy.request<List>({ path: `databases/${DATABASE}/query`, method: 'post', body: {} });
  /** The next reads start with an empty ancestry cache: chains come from the page index and Notion's answers. */
  const expireCache = () => clock.advance(DEFAULT_ANCESTRY_TTL_MS + 1000);

  beforeAll(async () => {
    t = await startTestGatehouse({
      clock,
      sandboxNotion: { rateLimitPerSecond: Infinity },
      tunables: { upstreamRequestsPerSecond: 10_000, upstreamBurst: 10_000 },
    });
    dataSource = await connectPartner(t.gatehouse, t.url, {
      capabilities: [...READ],
      pageIds: [DATA_SOURCE],
      clock,
      name: 'Data source partner',
    });
    database = await connectPartner(t.gatehouse, t.url, { capabilities: [...READ], pageIds: [DATABASE], clock, name: 'Database partner' });
    outsider = await connectPartner(t.gatehouse, t.url, {
      capabilities: [...READ],
      pageIds: [SEED_PAGE_IDS.engineering],
      clock,
      name: 'Engineering partner',
    });
    reindex = jest.spyOn(t.gatehouse.indexer, 'request');
  });
  afterAll(async () => t.stop());

  it('the page index has the row under its data source, the data source under its database', async () => {
    const row = await t.gatehouse.stores.pageIndex.get(dataSource.connectionId, ROW);
    expect(row).toMatchObject({ parentId: DATA_SOURCE, parentType: 'data_source', objectType: 'page' });
    expect(await t.gatehouse.stores.pageIndex.get(dataSource.connectionId, DATA_SOURCE)).toMatchObject({
      parentId: DATABASE,
      parentType: 'database',
      objectType: 'data_source',
    });
  });

  it('the consent picker nests rows under their data source under the database', async () => {
    const view = await buildPicker(
      t.gatehouse.stores.pageIndex,
      dataSource.connectionId,
      { query: '', parentId: null, offset: 0 },
      new Set(),
    );
    const databaseNode = view.nodes.find((n) => n.id === DATABASE);
    expect(databaseNode?.children.map((c) => c.id)).toEqual([DATA_SOURCE]);
    expect(databaseNode!.children[0]!.children.map((c) => c.id)).toContain(ROW);
    expect(view.nodes.map((n) => n.id)).not.toContain(ROW);
  });

  it('a grant on the data source reads and queries its rows (2025-09-03)', async () => {
    expireCache();
    const source = await dataSource.notion.request<{ id: string }>({ path: `data_sources/${DATA_SOURCE}`, method: 'get' });
    expect(source.id).toBe(DATA_SOURCE);
    const rows = await queryDataSource(dataSource);
    expect(rows.results.length).toBeGreaterThan(1);
    expect(rows.results.map((r) => r.id)).toContain(ROW);
    for (const listed of rows.results) {
      const page = (await dataSource.notion.pages.retrieve({ page_id: listed.id })) as PageObjectResponse;
      expect(page.parent).toMatchObject({ type: 'data_source_id', data_source_id: DATA_SOURCE });
    }
    const blocks = await dataSource.notion.blocks.children.list({ block_id: ROW });
    expect(blocks.object).toBe('list');
    // Search finds the data source and its rows, nothing else.
    const found = await dataSource.notion.search({});
    expect(found.results.map((r) => r.id).sort()).toEqual([DATA_SOURCE, ...rows.results.map((r) => r.id)].sort());
    // Fresh answers agree with the index: no re-index requested.
    expect(reindex).not.toHaveBeenCalled();
  });

  it('a grant on the data source reads nothing outside it: not the database above, not other pages', async () => {
    expireCache();
    expect(await failure(dataSource.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.companyHome }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    expect(await failure(dataSource.notion.pages.retrieve({ page_id: SEED_PAGE_IDS.engineering }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    expect(await failure(dataSource.notion.databases.retrieve({ database_id: DATABASE }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    expect(await failure(dataSource.notion.blocks.children.list({ block_id: SEED_PAGE_IDS.roadmap2026 }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
  });

  it("2022-06-28 answers name the database as a row's parent; the data source between still covers the row", async () => {
    expireCache();
    const page = (await dataSource.legacy.pages.retrieve({ page_id: ROW })) as PageObjectResponse;
    expect(page.parent).toMatchObject({ type: 'database_id', database_id: DATABASE });
    // Once the 2025-09-03 chain is cached, the 2022-06-28 answer agrees with it too.
    await dataSource.notion.pages.retrieve({ page_id: ROW });
    await dataSource.legacy.pages.retrieve({ page_id: ROW });
    expect(reindex).not.toHaveBeenCalled();
  });

  it('2022-06-28: a row made in Notion since the last index, never seen through the proxy, is still covered by a data-source grant', async () => {
    expireCache();
    const connection = await t.gatehouse.stores.connections.findById(dataSource.connectionId);
    const upstream = partnerClient(
      `${t.url}/sandbox/notion`,
      decryptCredential(t.gatehouse.keyring, connection!.credentialCiphertext!, connection!.id).accessToken,
    );
    const fresh = (await upstream.pages.create({
      parent: { type: 'data_source_id', data_source_id: DATA_SOURCE },
      properties: {},
    })) as PageObjectResponse;
    expect(await t.gatehouse.stores.pageIndex.get(dataSource.connectionId, fresh.id)).toBeNull();
    const page = (await dataSource.legacy.pages.retrieve({ page_id: fresh.id })) as PageObjectResponse;
    expect(page.parent).toMatchObject({ type: 'database_id', database_id: DATABASE });
    expect((await dataSource.legacy.blocks.children.list({ block_id: fresh.id })).object).toBe('list');
    // A grant elsewhere in the workspace still does not reach it.
    expect(await failure(outsider.legacy.pages.retrieve({ page_id: fresh.id }))).toMatchObject({ status: 404, code: 'object_not_found' });
  });

  it('a grant on the database covers the data source and its rows, in both Notion-Versions', async () => {
    expireCache();
    const rows = await queryDataSource(database);
    expect(rows.results.map((r) => r.id)).toContain(ROW);
    expect((await database.notion.pages.retrieve({ page_id: ROW })).id).toBe(ROW);
    expect((await database.notion.request<{ id: string }>({ path: `data_sources/${DATA_SOURCE}`, method: 'get' })).id).toBe(DATA_SOURCE);
    expect((await database.notion.databases.retrieve({ database_id: DATABASE })).id).toBe(DATABASE);

    expireCache();
    const legacyRows = await queryDatabaseLegacy(database);
    expect(legacyRows.results.map((r) => r.id).sort()).toEqual(rows.results.map((r) => r.id).sort());
    for (const listed of legacyRows.results) expect((await database.legacy.pages.retrieve({ page_id: listed.id })).id).toBe(listed.id);
    expect((await database.legacy.databases.retrieve({ database_id: DATABASE })).id).toBe(DATABASE);
    expect(await failure(database.legacy.pages.retrieve({ page_id: SEED_PAGE_IDS.companyHome }))).toMatchObject({
      status: 404,
      code: 'object_not_found',
    });
    expect(reindex).not.toHaveBeenCalled();
  });
});

describe('scope walks through data sources without the page index', () => {
  it("a row's data source is looked up as a data source (Notion has no block of that id), then its database", async () => {
    const parents: Record<string, ParentLink | null> = { ds: { id: 'db', kind: 'database' }, db: { id: 'home', kind: 'page' }, home: null };
    const asked: Array<[string, ObjectKind]> = [];
    const resolver = (picks: string[]) =>
      new ScopeResolver(
        {
          cache: memoryAncestryCache(new ManualClock()),
          pageIndex: { get: async () => null },
          lookupParent: async (id, kind) => {
            asked.push([id, kind]);
            return parents[id];
          },
        },
        'connection',
        picks,
      );
    const fresh = parentLink({ type: 'data_source_id', data_source_id: 'ds', database_id: 'db' });
    expect(fresh).toEqual({ id: 'ds', kind: 'data_source' });
    const bySource = resolver(['ds']);
    expect(bySource.covers('row', await bySource.learn('row', fresh, false))).toBe(true);
    expect(asked).toEqual([
      ['ds', 'data_source'],
      ['db', 'database'],
      ['home', 'page'],
    ]);
    const byDatabase = resolver(['db']);
    expect(byDatabase.covers('row', await byDatabase.learn('row', parentLink({ type: 'database_id', database_id: 'db' }), false))).toBe(
      true,
    );
    expect(await resolver(['ds']).inScope('home', 'page')).toBe(false);
  });

  it('2022-06-28 rows the index does not know: a few per call are looked up in Notion; beyond, the chain is not shared', async () => {
    const cache = memoryAncestryCache(new ManualClock());
    const rowLookups: string[] = [];
    const parents: Record<string, ParentLink | null> = { ds: { id: 'db', kind: 'database' }, db: { id: 'home', kind: 'page' }, home: null };
    const resolver = new ScopeResolver(
      {
        cache,
        pageIndex: { get: async () => null },
        lookupParent: async (id) => parents[id],
        lookupRowParent: async (id) => (rowLookups.push(id), { id: 'ds', kind: 'data_source' }),
      },
      'connection',
      ['ds'],
    );
    const legacyParent = parentLink({ type: 'database_id', database_id: 'db' });
    const rows = Array.from({ length: 8 }, (_, i) => `row-${i}`);
    const verdicts: boolean[] = [];
    for (const row of rows) verdicts.push(resolver.covers(row, await resolver.learn(row, legacyParent, false)));
    expect(rowLookups).toEqual(rows.slice(0, 5));
    expect(verdicts).toEqual([true, true, true, true, true, false, false, false]);
    // The rows looked up are shared with the next calls; the others are not (a grant on the data source would miss them).
    expect([...(await cache.get('connection', rows)).keys()]).toEqual(rows.slice(0, 5));
  });
});
