/**
 * One store contract suite, run against PGlite and against this machine's
 * PostgreSQL (a schema of its own), so both modes behave the same: people,
 * workspaces, upstream connections, the page index, audit records, admin
 * tokens and sessions. Grants and tokens are in stores-grants.test.ts,
 * internal integrations and the audit query in stores-integrations.test.ts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { migrateToLatest, type DatabaseHandle } from '../../src/store/database.js';
import { DatabaseSessionStore } from '../../src/store/session-store.js';
import type { Stores } from '../../src/store/stores.js';
import { T0, later, storeBench, STORE_KINDS } from '../support/store-contract.js';

describe.each(STORE_KINDS)('stores on %s', (kind) => {
  const bench = storeBench(kind);
  const schema = bench.schema;
  let handle: DatabaseHandle;
  let stores: Stores;
  beforeAll(() => {
    ({ handle, stores } = bench);
  });

  it('migrations are idempotent', async () => {
    expect(await migrateToLatest(handle, kind === 'postgres' ? schema : undefined)).toEqual([]);
  });

  it('keys people by (issuer, subject) and follows the provider on email and name', async () => {
    const first = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 's1', email: 'Ada@Example.com', emailVerified: true, name: 'Ada' },
      T0,
    );
    const again = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 's1', email: 'ada@example.com', emailVerified: true, name: 'Ada L.' },
      later(1000),
    );
    const other = await stores.people.upsertFromSignIn(
      { issuer: 'https://other-idp', subject: 's1', email: 'ada@example.com', emailVerified: true, name: 'Ada' },
      T0,
    );
    expect(again.id).toBe(first.id);
    expect(again.name).toBe('Ada L.');
    expect(first.email).toBe('ada@example.com');
    expect(other.id).not.toBe(first.id);
    expect(await stores.people.findById('not-a-uuid')).toBeNull();
    expect((await stores.people.findByEmail('ADA@example.com')).length).toBe(2);
  });

  it('makes the first connector of a workspace its owner, later ones members, even when racing', async () => {
    const people = await Promise.all(
      ['p1', 'p2', 'p3', 'p4'].map((s) =>
        stores.people.upsertFromSignIn({ issuer: 'https://idp', subject: s, email: `${s}@example.com`, emailVerified: true, name: s }, T0),
      ),
    );
    const results = await Promise.all(
      people.map((p) =>
        stores.workspaces.upsertWithConnector({ id: 'ws-race', name: 'Race', icon: null }, p.id, T0).catch((e: Error) => e),
      ),
    );
    const roles = results.map((r) => (r instanceof Error ? 'error' : r.role));
    // Under contention a loser may fail its transaction, but never become a second "first" owner.
    expect(roles.filter((r) => r === 'owner').length).toBeLessThanOrEqual(1);
    const members = await stores.workspaces.listMembers('ws-race');
    expect(members.filter((m) => m.role === 'owner').length).toBe(1);
    const again = await stores.workspaces.upsertWithConnector(
      { id: 'ws-race', name: 'Race renamed', icon: 'https://icon' },
      people[0]!.id,
      later(1),
    );
    expect(again.created).toBe(false);
    expect(again.workspace.name).toBe('Race renamed');
  });

  it('marks a member who left and reactivates one who came back', async () => {
    const person = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 'leaver', email: 'leaver@example.com', emailVerified: true, name: 'L' },
      T0,
    );
    await stores.workspaces.upsertWithConnector({ id: 'ws-leave', name: 'Leave', icon: null }, person.id, T0);
    expect(await stores.workspaces.markLeft('ws-leave', person.id, T0)).toBe(true);
    expect(await stores.workspaces.markLeft('ws-leave', person.id, T0)).toBe(false);
    expect(await stores.workspaces.listForPerson(person.id)).toEqual([]);
    await stores.workspaces.ensureMember('ws-leave', person.id, T0);
    expect((await stores.workspaces.membership('ws-leave', person.id))?.status).toBe('active');
  });

  it('keeps one upstream connection per person and workspace, swapped by compare-and-swap', async () => {
    const person = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 'conn', email: 'conn@example.com', emailVerified: true, name: 'C' },
      T0,
    );
    await stores.workspaces.upsertWithConnector({ id: 'ws-conn', name: 'Conn', icon: null }, person.id, T0);
    const args = {
      personId: person.id,
      workspaceId: 'ws-conn',
      kind: 'oauth' as const,
      botId: 'bot',
      notionUserId: 'nu',
      notionUser: { id: 'nu' },
    };
    const first = await stores.connections.save({ ...args, encrypt: (id) => `cipher-1-${id}` }, T0);
    const second = await stores.connections.save({ ...args, encrypt: (id) => `cipher-2-${id}` }, later(1));
    expect(second.id).toBe(first.id);
    expect(second.version).toBe(first.version + 1);
    expect(second.credentialCiphertext).toBe(`cipher-2-${first.id}`);
    expect(await stores.connections.replaceCredential(first.id, second.version, 'cipher-3', later(2))).toBe(true);
    expect(await stores.connections.replaceCredential(first.id, second.version, 'cipher-stale', later(3))).toBe(false);
    expect((await stores.connections.findById(first.id))?.credentialCiphertext).toBe('cipher-3');
    expect(await stores.connections.claimIndexing(first.id, later(4), T0)).toBe(true);
    expect(await stores.connections.claimIndexing(first.id, later(5), T0)).toBe(false);
    expect(await stores.connections.claimIndexing(first.id, later(10 * 60_000), later(9 * 60_000))).toBe(true);
    expect(await stores.connections.setStatus(first.id, 'broken', later(6))).toBe(true);
    expect(await stores.connections.setStatus(first.id, 'broken', later(6))).toBe(false);
  });

  it('indexes pages, pages through children, searches titles literally and forgets unseen pages', async () => {
    const person = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 'idx', email: 'idx@example.com', emailVerified: true, name: 'I' },
      T0,
    );
    await stores.workspaces.upsertWithConnector({ id: 'ws-idx', name: 'Idx', icon: null }, person.id, T0);
    const connection = await stores.connections.save(
      { personId: person.id, workspaceId: 'ws-idx', kind: 'oauth', botId: 'b', notionUserId: 'n', notionUser: {}, encrypt: () => 'c' },
      T0,
    );
    const root = randomUUID();
    await stores.pageIndex.upsertBatch(
      connection.id,
      [
        { pageId: root, parentId: null, parentType: 'workspace', title: 'Root', objectType: 'page' },
        ...Array.from({ length: 5 }, (_, i) => ({
          pageId: `child-${i}`,
          parentId: root,
          parentType: 'page',
          title: `Child ${i}`,
          objectType: 'page' as const,
        })),
        { pageId: 'percent', parentId: root, parentType: 'page', title: '100% done', objectType: 'page' },
      ],
      T0,
    );
    expect(await stores.pageIndex.count(connection.id)).toBe(7);
    expect((await stores.pageIndex.children(connection.id, null, 10, 0)).map((p) => p.title)).toEqual(['Root']);
    expect((await stores.pageIndex.children(connection.id, root, 2, 2)).map((p) => p.title)).toEqual(['Child 1', 'Child 2']);
    expect((await stores.pageIndex.search(connection.id, 'child 3', 10)).map((p) => p.pageId)).toEqual(['child-3']);
    expect((await stores.pageIndex.search(connection.id, '%', 10)).map((p) => p.pageId)).toEqual(['percent']);
    // Which shown pages have children, in one query: the parent, not its leaves nor an id the index lacks.
    expect(await stores.pageIndex.withChildren(connection.id, [root, 'child-1', 'percent', 'absent'])).toEqual(new Set([root]));
    expect(await stores.pageIndex.withChildren(connection.id, [])).toEqual(new Set());
    // A page and its ancestors in one query, bounded by depth; ids the index lacks are absent.
    await stores.pageIndex.upsertBatch(
      connection.id,
      [{ pageId: 'grandchild', parentId: 'child-0', parentType: 'page', title: 'Grandchild', objectType: 'page' }],
      T0,
    );
    const chain = await stores.pageIndex.withAncestors(connection.id, ['grandchild', 'absent'], 5);
    expect([...chain.keys()].sort()).toEqual(['child-0', 'grandchild', root].sort());
    expect(chain.get('child-0')).toMatchObject({ parentId: root, title: 'Child 0' });
    expect([...(await stores.pageIndex.withAncestors(connection.id, ['grandchild'], 1)).keys()].sort()).toEqual(['child-0', 'grandchild']);
    expect(await stores.pageIndex.withAncestors(connection.id, [], 5)).toEqual(new Map());
    await stores.pageIndex.upsertBatch(
      connection.id,
      [{ pageId: root, parentId: null, parentType: 'workspace', title: 'Root v2', objectType: 'page' }],
      later(1000),
    );
    expect(await stores.pageIndex.removeNotSeenSince(connection.id, later(1000))).toBe(7);
    expect((await stores.pageIndex.get(connection.id, root))?.title).toBe('Root v2');
  });

  it('records and filters audit events', async () => {
    await stores.audit.record(
      { action: 'keys.rotated', actor: { type: 'system' }, workspaceId: 'ws-audit', outcome: 'success', detail: { n: 1 } },
      T0,
    );
    await stores.audit.record(
      { action: 'keys.rotated', actor: { type: 'person', id: 'p' }, workspaceId: 'ws-audit', outcome: 'failure' },
      later(1000),
    );
    const all = await stores.audit.list({ action: 'keys.rotated' });
    expect(all.map((e) => e.outcome)).toEqual(['failure', 'success']);
    expect(all[1]!.detail).toEqual({ n: 1 });
    expect((await stores.audit.list({ action: 'keys.rotated', since: later(500) })).length).toBe(1);
  });

  it('stores admin tokens as hashes; a replaced bootstrap token stops working', async () => {
    const first = await stores.adminTokens.replaceBootstrap('bootstrap@test', T0);
    expect(await stores.adminTokens.authenticate(first, T0)).toMatchObject({ bootstrap: true, personId: null });
    const second = await stores.adminTokens.replaceBootstrap('bootstrap@test', later(1));
    expect(await stores.adminTokens.authenticate(first, later(2))).toBeNull();
    expect(await stores.adminTokens.authenticate(second, later(2))).not.toBeNull();
    const rows = await handle.db.selectFrom('admin_tokens').select('token_hash').execute();
    for (const row of rows) expect([first, second]).not.toContain(row.token_hash);
  });

  it('keeps sessions until they expire', async () => {
    let now = T0;
    const store = new DatabaseSessionStore(handle.db, () => now, 60_000);
    const cookie = { originalMaxAge: 60_000, expires: later(60_000) } as never;
    await new Promise<void>((resolve, reject) =>
      store.set('sid-1', { cookie, returnTo: '/x' } as never, (err) => (err ? reject(err) : resolve())),
    );
    const read = () => new Promise<unknown>((resolve, reject) => store.get('sid-1', (err, s) => (err ? reject(err) : resolve(s))));
    expect(await read()).toMatchObject({ returnTo: '/x' });
    now = later(61_000);
    expect(await read()).toBeNull();
    expect(await store.prune()).toBeGreaterThanOrEqual(1);
  });
});
