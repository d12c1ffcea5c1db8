/**
 * The page index: each upstream connection's pages and databases (id, parent,
 * title, type), synced in the background from Notion's search, refreshed by
 * "Refresh pages"; expired upstream tokens are refreshed once
 * (compare-and-swap on the connection's version), and a connection whose
 * token is revoked is marked broken. On an injected clock (token expiry
 * without waiting, rate limit off, since a frozen clock never refills
 * Notion's bucket). Progress under the rate limit is in
 * page-index-progress.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { Client, collectPaginatedAPI } from '@notionhq/client';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectNotion, postForm, workspaceRow, workspacesPage } from '../support/notion-connect.js';
import { ManualClock } from '../../src/clock.js';
import { SEED_DATA_SOURCE_IDS, SEED_DATABASE_IDS, SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { withUpstreamClient } from '../../src/upstream/credentials.js';
import type { NotionUpstream } from '../../src/upstream/notion.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const BEN = { email: 'ben@example.com', password: 'ben-demo' };
const ACME = SEED_WORKSPACE_IDS.acme;
const SIDE_PROJECT = SEED_WORKSPACE_IDS.sideProject;
const ARCHIVE = SEED_WORKSPACE_IDS.archive;

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

describe('the page index', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  const ada = new Browser();
  const h = helpers(() => t);
  const sandbox = () => t.gatehouse.sandboxNotion!;
  const notion = (auth: string) => new Client({ auth, baseUrl: `${t.url}/sandbox/notion`, retry: false });

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, sandboxNotion: { accessTokenLifetimeSeconds: 60, rateLimitPerSecond: Infinity } });
    await signIn(ada, t.url, ADA.email, ADA.password);
    await t.gatehouse.membership.idle();
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('rejects unauthenticated callers of "Refresh pages"; nothing is indexed for them', async () => {
    const calls = sandbox().stats().apiCalls;
    const response = await postForm(new Browser(), `${t.url}/workspaces/${ACME}/refresh`, {});
    expect(response.status).toBe(403); // no session, no CSRF token
    const page = await fetch(`${t.url}/workspaces`, { redirect: 'manual' });
    expect(page.status).toBe(303);
    await t.gatehouse.indexer.idle();
    expect(sandbox().stats().apiCalls).toBe(calls);
  });

  it("indexes the demo connections: Acme's tree of 60+ pages and its database, parents kept", async () => {
    const connection = await h.connection(ADA.email, ACME);
    expect(connection).toMatchObject({ status: 'active', indexState: 'ready', indexError: null });
    const rows = await h.indexed(connection.id);
    const pages = rows.filter((r) => r.object_type === 'page');
    expect(pages.length).toBeGreaterThanOrEqual(60);
    expect(connection.indexCount).toBe(rows.length);
    // The same set Notion's search answers through this connection (a data source also yields its database).
    const credential = decryptCredential(t.gatehouse.keyring, connection.credentialCiphertext!, connection.id);
    const found = await collectPaginatedAPI(notion(credential.accessToken).search, {});
    expect(rows.length).toBe(found.length + 1);
    expect(rows.find((r) => r.page_id === SEED_DATABASE_IDS.projects)).toEqual({
      page_id: SEED_DATABASE_IDS.projects,
      parent_id: null,
      parent_type: 'workspace',
      title: 'Projects',
      object_type: 'database',
    });
    expect(rows.find((r) => r.page_id === SEED_DATA_SOURCE_IDS.projects)).toMatchObject({
      parent_id: SEED_DATABASE_IDS.projects,
      parent_type: 'database',
      object_type: 'data_source',
    });
    // Rows sit under their data source (row → data source → database), as the proxy's scope walks them.
    const projectRows = rows.filter((r) => r.object_type === 'page' && r.parent_id === SEED_DATA_SOURCE_IDS.projects);
    expect(projectRows.length).toBeGreaterThan(1);
    expect(projectRows.every((r) => r.parent_type === 'data_source')).toBe(true);
    expect(rows.find((r) => r.title === 'Website Redesign')).toMatchObject({
      parent_id: SEED_DATA_SOURCE_IDS.projects,
      parent_type: 'data_source',
      object_type: 'page',
    });
    expect(rows.filter((r) => r.object_type === 'page' && r.parent_id === SEED_DATABASE_IDS.projects)).toEqual([]);
    expect(rows.find((r) => r.page_id === SEED_PAGE_IDS.entityGlossary)).toMatchObject({
      title: 'Entity Glossary',
      parent_id: SEED_PAGE_IDS.dataModel,
      parent_type: 'page',
    });
    expect(rows.find((r) => r.page_id === SEED_PAGE_IDS.companyHome)).toMatchObject({ parent_id: null, parent_type: 'workspace' });

    // Ben's connection to Acme and Ada's to Side Project have their own index.
    expect(await h.connection(BEN.email, ACME)).toMatchObject({ indexState: 'ready', indexCount: rows.length });
    const side = await h.connection(ADA.email, SIDE_PROJECT);
    expect(side).toMatchObject({ indexState: 'ready', indexCount: 8 });

    const page = await workspacesPage(ada, t.url);
    expect(workspaceRow(page.html, ACME)).toEqual({ state: 'ready', text: `${rows.length} pages indexed`, role: 'Owner' });
    expect(workspaceRow(page.html, SIDE_PROJECT)).toEqual({ state: 'ready', text: '8 pages indexed', role: 'Owner' });
    expect(page.html).not.toContain('http-equiv="refresh"'); // nothing running: the page does not reload itself
  });

  it('"Refresh pages" re-indexes: a page created upstream appears, one moved to the trash is forgotten', async () => {
    const connection = await h.connection(ADA.email, ACME);
    const before = await h.indexed(connection.id);
    const { accessToken } = decryptCredential(t.gatehouse.keyring, connection.credentialCiphertext!, connection.id);
    const created = await notion(accessToken).pages.create({
      parent: { page_id: SEED_PAGE_IDS.engineering },
      properties: { title: { title: [{ text: { content: 'Incident Review 2026' } }] } },
    });
    await notion(accessToken).pages.update({ page_id: SEED_PAGE_IDS.entityGlossary, in_trash: true });
    clock.advance(1000);
    const calls = sandbox().stats().apiCalls;

    const { csrf } = await workspacesPage(ada, t.url);
    const response = await postForm(ada, `${t.url}/workspaces/${ACME}/refresh`, { _csrf: csrf });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/workspaces?notice=refreshing');
    await t.gatehouse.indexer.idle();

    const after = await h.indexed(connection.id);
    expect(after.find((r) => r.page_id === created.id)).toEqual({
      page_id: created.id,
      parent_id: SEED_PAGE_IDS.engineering,
      parent_type: 'page',
      title: 'Incident Review 2026',
      object_type: 'page',
    });
    expect(after.find((r) => r.page_id === SEED_PAGE_IDS.entityGlossary)).toBeUndefined();
    expect(after).toHaveLength(before.length);
    expect(await h.connection(ADA.email, ACME)).toMatchObject({ indexState: 'ready', indexCount: before.length, indexedAt: clock.now() });
    expect(sandbox().stats().apiCalls).toBe(calls + 1); // one search page of at most 100 results
    // Ben did not refresh: his index still shows what his last sync saw.
    const bens = await h.indexed((await h.connection(BEN.email, ACME)).id);
    expect(bens.some((r) => r.page_id === SEED_PAGE_IDS.entityGlossary)).toBe(true);
    expect(bens.some((r) => r.page_id === created.id)).toBe(false);
  });

  it('"Refresh pages" of a workspace without a working connection of one\'s own is 404 and calls nobody', async () => {
    const calls = sandbox().stats().apiCalls;
    const { csrf } = await workspacesPage(ada, t.url);
    for (const id of [ARCHIVE, 'not-a-workspace']) {
      const response = await postForm(ada, `${t.url}/workspaces/${id}/refresh`, { _csrf: csrf });
      expect(response.status).toBe(404);
    }
    await t.gatehouse.indexer.idle();
    expect(sandbox().stats().apiCalls).toBe(calls);
  });

  it('an expired upstream access token is refreshed once, by compare-and-swap, and indexing still succeeds', async () => {
    const before = await h.connection(ADA.email, ACME);
    const oldCredential = decryptCredential(t.gatehouse.keyring, before.credentialCiphertext!, before.id);
    expect(sandbox().stats().tokenCalls.refresh_token).toBe(0);
    clock.advance(120_000); // past the sandbox's 60-second access tokens

    const { csrf } = await workspacesPage(ada, t.url);
    expect((await postForm(ada, `${t.url}/workspaces/${ACME}/refresh`, { _csrf: csrf })).status).toBe(303);
    await t.gatehouse.indexer.idle();

    expect(sandbox().stats().tokenCalls.refresh_token).toBe(1);
    const after = await h.connection(ADA.email, ACME);
    expect(after).toMatchObject({
      status: 'active',
      version: before.version + 1,
      indexState: 'ready',
      indexCount: before.indexCount,
      indexedAt: clock.now(),
    });
    const credential = decryptCredential(t.gatehouse.keyring, after.credentialCiphertext!, after.id);
    expect(credential.accessToken).not.toBe(oldCredential.accessToken);
    expect(credential.refreshToken).not.toBe(oldCredential.refreshToken); // Notion rotates refresh tokens
    expect((await notion(credential.accessToken).users.me({})).id).toBe(after.botId);
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.broken' })).toEqual([]);
    // Nobody else's credential was touched.
    expect((await h.connection(BEN.email, ACME)).version).toBe(1);
  });

  it('two callers meeting the same expired token at once share one refresh; both succeed', async () => {
    clock.advance(120_000);
    const before = await h.connection(BEN.email, ACME);
    const refreshes = sandbox().stats().tokenCalls.refresh_token;
    const deps = {
      upstream: h.upstream(),
      keyring: t.gatehouse.keyring,
      connections: t.gatehouse.stores.connections,
      audit: t.gatehouse.stores.audit,
      clock,
    };
    const [me, found] = await Promise.all([
      withUpstreamClient(deps, before, (client) => client.users.me({})),
      withUpstreamClient(deps, before, (client) => client.search({ page_size: 1 })),
    ]);
    expect(me.id).toBe(before.botId);
    expect(found.results).toHaveLength(1);
    expect(sandbox().stats().tokenCalls.refresh_token).toBe(refreshes + 1);
    expect(await h.connection(BEN.email, ACME)).toMatchObject({ status: 'active', version: before.version + 1 });
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.broken' })).toEqual([]);
  });

  it('a revoked upstream token that cannot be refreshed marks the connection broken, on the page and in the audit', async () => {
    const before = await h.connection(ADA.email, SIDE_PROJECT);
    const { accessToken } = decryptCredential(t.gatehouse.keyring, before.credentialCiphertext!, before.id);
    // As if Ada removed the connection in Notion: revoking either token of the pair revokes both.
    const upstream = h.upstream();
    await new Client({ baseUrl: upstream.baseUrl, retry: false }).oauth.revoke({
      client_id: upstream.clientId,
      client_secret: upstream.clientSecret,
      token: accessToken,
    });
    const refreshes = sandbox().stats().tokenCalls.refresh_token;

    const { csrf } = await workspacesPage(ada, t.url);
    expect((await postForm(ada, `${t.url}/workspaces/${SIDE_PROJECT}/refresh`, { _csrf: csrf })).status).toBe(303);
    await t.gatehouse.indexer.idle();

    expect(sandbox().stats().tokenCalls.refresh_token).toBe(refreshes + 1); // tried once, refused
    const after = await h.connection(ADA.email, SIDE_PROJECT);
    expect(after).toMatchObject({
      status: 'broken',
      version: before.version,
      indexState: 'failed',
      indexError: 'The Notion connection no longer works: reconnect it.',
    });
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.broken' })).toEqual([
      expect.objectContaining({
        actor: { type: 'system', id: null, label: null },
        target: { type: 'upstream_connection', id: before.id },
        workspaceId: SIDE_PROJECT,
        outcome: 'failure',
        detail: { reason: 'refresh token refused' },
      }),
    ]);

    const page = await workspacesPage(ada, t.url);
    expect(workspaceRow(page.html, SIDE_PROJECT)).toEqual({ state: 'failed', text: 'Connection broken: reconnect it', role: 'Owner' });
    expect(page.html).not.toContain('aria-label="Refresh pages of Side Project"');
    expect(page.html).toContain('<button type="submit" aria-label="Reconnect Side Project">Connect your Notion account</button>');
    // No more calls on a broken connection: "Refresh pages" is refused and Notion is not asked.
    const calls = sandbox().stats();
    expect((await postForm(ada, `${t.url}/workspaces/${SIDE_PROJECT}/refresh`, { _csrf: csrf })).status).toBe(404);
    await t.gatehouse.indexer.idle();
    expect(sandbox().stats()).toEqual(calls);
  });

  it('reconnecting the broken connection makes it work again', async () => {
    const before = await h.connection(ADA.email, SIDE_PROJECT);
    const { status, html } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Side Project', reconnect: SIDE_PROJECT });
    expect(status).toBe(200);
    expect(html).toContain('Workspace connected. Its pages are being indexed.');
    await t.gatehouse.indexer.idle();
    expect(await h.connection(ADA.email, SIDE_PROJECT)).toMatchObject({
      id: before.id,
      status: 'active',
      version: before.version + 1,
      indexState: 'ready',
      indexCount: 8,
      indexError: null,
    });
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.replaced', workspaceId: SIDE_PROJECT })).toHaveLength(1);
  });
});
