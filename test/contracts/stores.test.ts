/**
 * One store contract suite, run against PGlite and against this machine's
 * PostgreSQL (a schema of its own), so both modes behave the same.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../../src/store/database.js';
import { DatabaseSessionStore } from '../../src/store/session-store.js';
import { createStores, type Stores } from '../../src/store/stores.js';
import { dropSchema, POSTGRES_URL, uniqueName } from '../support/databases.js';

const T0 = new Date('2026-11-01T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

describe.each([['pglite'], ['postgres']] as const)('stores on %s', (kind) => {
  let handle: DatabaseHandle;
  let stores: Stores;
  const schema = uniqueName('contract');

  beforeAll(async () => {
    handle =
      kind === 'pglite'
        ? await openDatabase({ kind: 'pglite', dataDir: null })
        : await openDatabase({ kind: 'postgres', url: POSTGRES_URL, schema });
    await migrateToLatest(handle, kind === 'postgres' ? schema : undefined);
    stores = createStores(handle.db);
  });

  afterAll(async () => {
    await handle.close();
    if (kind === 'postgres') await dropSchema(schema);
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
    await stores.pageIndex.upsertBatch(
      connection.id,
      [{ pageId: root, parentId: null, parentType: 'workspace', title: 'Root v2', objectType: 'page' }],
      later(1000),
    );
    expect(await stores.pageIndex.removeNotSeenSince(connection.id, later(1000))).toBe(6);
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

  // ---- stores added with the owners' console ----------------------

  /** A person, a workspace they connected first (so they own it) and their upstream connection to it. */
  const owner = async (subject: string, workspaceId: string) => {
    const person = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject, email: `${subject}@example.com`, emailVerified: true, name: subject },
      T0,
    );
    await stores.workspaces.upsertWithConnector({ id: workspaceId, name: workspaceId, icon: null }, person.id, T0);
    const connection = await stores.connections.save(
      {
        personId: person.id,
        workspaceId,
        kind: 'oauth',
        botId: 'b',
        notionUserId: `n-${subject}`,
        notionUser: {},
        encrypt: (id) => `cipher-${id}`,
      },
      T0,
    );
    return { person, connection };
  };
  const partnerApp = (name: string) =>
    stores.partnerApps.create(
      {
        clientId: `client-${randomUUID()}`,
        clientSecretHash: 'hash',
        name,
        website: null,
        supportContact: null,
        logo: null,
        redirectUris: ['https://partner.example/cb'],
        capabilities: ['read_content', 'no_user_info'],
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      T0,
    );

  it('grants: one per (person, app, workspace); revoke records once and is idempotent; bulk targets by filter', async () => {
    const { person, connection } = await owner('grantor', 'ws-grants');
    const app = await partnerApp('Grant app');
    const other = await partnerApp('Other app');
    const first = await stores.grants.upsert(
      {
        personId: person.id,
        appId: app.id,
        workspaceId: 'ws-grants',
        upstreamConnectionId: connection.id,
        capabilities: ['read_content'],
        pageIds: ['p1'],
      },
      T0,
    );
    const again = await stores.grants.upsert(
      {
        personId: person.id,
        appId: app.id,
        workspaceId: 'ws-grants',
        upstreamConnectionId: connection.id,
        capabilities: ['read_content', 'no_user_info'],
        pageIds: ['p1', 'p2'],
      },
      later(1),
    );
    expect([first.created, again.created, again.grant.id]).toEqual([true, false, first.grant.id]);
    const second = await stores.grants.upsert(
      {
        personId: person.id,
        appId: other.id,
        workspaceId: 'ws-grants',
        upstreamConnectionId: connection.id,
        capabilities: ['read_content'],
        pageIds: [],
      },
      later(2),
    );
    expect(await stores.grants.listActiveIds({ workspaceId: 'ws-grants' })).toEqual([first.grant.id, second.grant.id]);
    expect(await stores.grants.listActiveIds({ workspaceId: 'ws-grants', appId: other.id })).toEqual([second.grant.id]);
    expect(await stores.grants.listActiveIds({ upstreamConnectionId: connection.id, personId: person.id })).toHaveLength(2);
    expect((await stores.grants.listActiveForWorkspace('ws-grants')).map((g) => [g.appName, g.personEmail, g.pageCount])).toEqual([
      ['Other app', 'grantor@example.com', 0],
      ['Grant app', 'grantor@example.com', 2],
    ]);

    // Two revocations at once: exactly one records who and why.
    const results = await Promise.all([
      stores.grants.revoke(first.grant.id, { by: 'person:a', reason: 'first' }, later(3)),
      stores.grants.revoke(first.grant.id, { by: 'person:b', reason: 'second' }, later(3)),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await stores.grants.revoke(first.grant.id, { by: 'person:c', reason: 'third' }, later(4))).toBe(false);
    expect(await stores.grants.revoke('not-a-uuid', { by: 'x', reason: 'x' }, later(4))).toBe(false);
    const row = await handle.db
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason', 'revoked_at'])
      .where('id', '=', first.grant.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('revoked');
    expect(['person:a', 'person:b']).toContain(row.revoked_by);
    expect(row.revoke_reason).toBe(row.revoked_by === 'person:a' ? 'first' : 'second');
    expect(row.revoked_at).toEqual(later(3));
    expect(await stores.grants.listActiveIds({ workspaceId: 'ws-grants' })).toEqual([second.grant.id]);
    expect((await stores.grants.listActiveForPerson(person.id)).map((g) => g.id)).toEqual([second.grant.id]);
    // Authorising again re-activates the same grant (the partner's bot_id) and clears the revocation.
    const back = await stores.grants.upsert(
      {
        personId: person.id,
        appId: app.id,
        workspaceId: 'ws-grants',
        upstreamConnectionId: connection.id,
        capabilities: ['read_content'],
        pageIds: ['p1'],
      },
      later(5),
    );
    expect([back.grant.id, back.grant.status, back.created]).toEqual([first.grant.id, 'active', false]);
  });

  it('tokens: the proxy reads an access token, its grant and its upstream connection in one query, each as its own store reads it', async () => {
    const { person, connection } = await owner('hot-path', 'ws-hot-path');
    const app = await partnerApp('Hot path app');
    const { grant } = await stores.grants.upsert(
      {
        personId: person.id,
        appId: app.id,
        workspaceId: 'ws-hot-path',
        upstreamConnectionId: connection.id,
        capabilities: ['read_content', 'no_user_info'],
        pageIds: ['p1'],
      },
      T0,
    );
    await stores.tokens.saveAccessToken(
      {
        tokenHash: 'hot-path-hash',
        grantId: grant.id,
        appId: app.id,
        refreshTokenHash: null,
        codeHash: null,
        capabilities: ['read_content'],
        expiresAt: later(60_000),
      },
      T0,
    );
    const found = await stores.tokens.findAccessTokenWithGrant('hot-path-hash');
    expect(found?.access).toEqual(await stores.tokens.findAccessToken('hot-path-hash'));
    expect(found?.grant).toEqual(await stores.grants.findById(grant.id));
    expect(found?.connection).toEqual(await stores.connections.findById(connection.id));
    expect(await stores.tokens.findAccessTokenWithGrant('no-such-hash')).toBeNull();
  });

  it('grants: the approved list: approve and unapprove once each, listed oldest first', async () => {
    await owner('approver', 'ws-approved');
    const a = await partnerApp('Approved A');
    const b = await partnerApp('Approved B');
    expect(await stores.grants.isApproved('ws-approved', a.id)).toBe(false);
    expect(await stores.grants.approve('ws-approved', b.id, null, later(2))).toBe(true);
    expect(await stores.grants.approve('ws-approved', a.id, null, later(1))).toBe(true);
    expect(await stores.grants.approve('ws-approved', a.id, null, later(9))).toBe(false);
    expect(await stores.grants.listApproved('ws-approved')).toEqual([
      { appId: a.id, addedBy: null, addedAt: later(1) },
      { appId: b.id, addedBy: null, addedAt: later(2) },
    ]);
    expect(await stores.grants.isApproved('ws-approved', a.id)).toBe(true);
    expect(await stores.grants.unapprove('ws-approved', a.id)).toBe(true);
    expect(await stores.grants.unapprove('ws-approved', a.id)).toBe(false);
    expect(await stores.grants.unapprove('ws-approved', 'not-a-uuid')).toBe(false);
    expect((await stores.grants.listApproved('ws-approved')).map((e) => e.appId)).toEqual([b.id]);
    expect(await stores.grants.listApproved('ws-nobody')).toEqual([]);
  });

  it('workspaces: roles keep at least one owner, even when two owners step down at once; the policy is saved', async () => {
    const { person: first } = await owner('role-a', 'ws-roles');
    const second = await stores.people.upsertFromSignIn(
      { issuer: 'https://idp', subject: 'role-b', email: 'role-b@example.com', emailVerified: true, name: 'B' },
      T0,
    );
    await stores.workspaces.upsertWithConnector({ id: 'ws-roles', name: 'ws-roles', icon: null }, second.id, T0);
    expect(await stores.workspaces.setRole('ws-roles', first.id, 'member')).toBe('last_owner');
    expect(await stores.workspaces.setRole('ws-roles', second.id, 'member')).toBe('unchanged');
    expect(await stores.workspaces.setRole('ws-roles', second.id, 'owner')).toBe('changed');
    const outcomes = await Promise.all([
      stores.workspaces.setRole('ws-roles', first.id, 'member'),
      stores.workspaces.setRole('ws-roles', second.id, 'member'),
    ]);
    expect([...outcomes].sort()).toEqual(['changed', 'last_owner']);
    const members = await stores.workspaces.listMembers('ws-roles');
    expect(members.filter((m) => m.role === 'owner')).toHaveLength(1);
    expect(await stores.workspaces.setRole('ws-roles', randomUUID(), 'owner')).toBe('not_member');
    const leaver = members.find((m) => m.role === 'member')!.personId;
    await stores.workspaces.markLeft('ws-roles', leaver, later(1));
    expect(await stores.workspaces.setRole('ws-roles', leaver, 'owner')).toBe('not_member');

    const ws = (await stores.workspaces.findById('ws-roles'))!;
    expect([ws.installPolicy, ws.autoApproveOrganisation]).toEqual(['no_restrictions', true]);
    expect(await stores.workspaces.setPolicy('ws-roles', { installPolicy: 'approved_only', autoApproveOrganisation: false })).toMatchObject(
      { id: 'ws-roles', installPolicy: 'approved_only', autoApproveOrganisation: false },
    );
    expect(await stores.workspaces.findById('ws-roles')).toMatchObject({ installPolicy: 'approved_only', autoApproveOrganisation: false });
    expect(await stores.workspaces.setPolicy('ws-nowhere', { installPolicy: 'approved_only', autoApproveOrganisation: false })).toBeNull();
  });

  it('upstream connections: disconnect destroys the ciphertext once; a reconnect keeps the id', async () => {
    const { person, connection } = await owner('disc', 'ws-disc');
    expect(await stores.connections.disconnect(connection.id, later(1))).toBe(true);
    expect(await stores.connections.disconnect(connection.id, later(2))).toBe(false);
    expect(await stores.connections.disconnect('not-a-uuid', later(2))).toBe(false);
    const gone = (await stores.connections.findById(connection.id))!;
    expect([gone.status, gone.credentialCiphertext, gone.version]).toEqual(['disconnected', null, connection.version + 1]);
    expect(await stores.connections.listActiveForWorkspace('ws-disc')).toEqual([]);
    expect((await stores.connections.listForWorkspace('ws-disc')).map((c) => c.id)).toEqual([connection.id]);
    expect((await stores.connections.listCiphertexts()).map((c) => c.id)).not.toContain(connection.id);
    // A broken connection still holds its credential: disconnecting it destroys that.
    const again = await stores.connections.save(
      {
        personId: person.id,
        workspaceId: 'ws-disc',
        kind: 'oauth',
        botId: 'b',
        notionUserId: 'n',
        notionUser: {},
        encrypt: (id) => `cipher-again-${id}`,
      },
      later(3),
    );
    expect([again.id, again.status, again.credentialCiphertext]).toEqual([connection.id, 'active', `cipher-again-${connection.id}`]);
    await stores.connections.setStatus(connection.id, 'broken', later(4));
    expect(await stores.connections.disconnect(connection.id, later(5))).toBe(true);
    expect((await stores.connections.findById(connection.id))!.credentialCiphertext).toBeNull();
  });

  it('internal integrations: token kept encrypted and hashed, pages connected once, disconnected by app or connection, converted atomically', async () => {
    const { person, connection } = await owner('intl', 'ws-intl');
    await stores.pageIndex.upsertBatch(
      connection.id,
      ['pa', 'pb', 'pc'].map((id) => ({
        pageId: id,
        parentId: null,
        parentType: 'workspace',
        title: `Title ${id}`,
        objectType: 'page' as const,
      })),
      T0,
    );
    const seen: string[] = [];
    const app = await stores.internalIntegrations.create(
      {
        name: 'Digest',
        workspaceId: 'ws-intl',
        capabilities: ['read_content', 'no_user_info'],
        logo: null,
        createdBy: person.id,
        tokenHash: `hash-${randomUUID()}`,
        encrypt: (id) => {
          seen.push(id);
          return `sealed-${id}`;
        },
      },
      T0,
    );
    expect(seen).toEqual([app.id]);
    expect(app).toEqual({
      id: app.id,
      name: 'Digest',
      workspaceId: 'ws-intl',
      capabilities: ['read_content', 'no_user_info'],
      hasLogo: false,
      createdBy: person.id,
      createdAt: T0,
    });
    expect(await stores.internalIntegrations.findById(app.id)).toEqual(app);
    expect(await stores.internalIntegrations.findById('not-a-uuid')).toBeNull();
    expect(await stores.internalIntegrations.findById((await partnerApp('Public one')).id)).toBeNull();
    expect(await stores.internalIntegrations.tokenCiphertext(app.id)).toBe(`sealed-${app.id}`);
    const hash = (
      await handle.db.selectFrom('partner_apps').select('internal_token_hash').where('id', '=', app.id).executeTakeFirstOrThrow()
    ).internal_token_hash!;

    expect(
      await stores.internalIntegrations.connectPage(
        { appId: app.id, pageId: 'pb', connectionId: connection.id, connectedBy: person.id },
        later(1),
      ),
    ).toBe(true);
    expect(
      await stores.internalIntegrations.connectPage(
        { appId: app.id, pageId: 'pa', connectionId: connection.id, connectedBy: person.id },
        later(2),
      ),
    ).toBe(true);
    expect(
      await stores.internalIntegrations.connectPage(
        { appId: app.id, pageId: 'pa', connectionId: connection.id, connectedBy: person.id },
        later(3),
      ),
    ).toBe(false);
    expect(await stores.internalIntegrations.listPages(app.id)).toEqual([
      {
        pageId: 'pa',
        title: 'Title pa',
        connectionId: connection.id,
        connectedBy: person.id,
        connectedByEmail: 'intl@example.com',
        connectedAt: later(2),
      },
      {
        pageId: 'pb',
        title: 'Title pb',
        connectionId: connection.id,
        connectedBy: person.id,
        connectedByEmail: 'intl@example.com',
        connectedAt: later(1),
      },
    ]);
    expect((await stores.internalIntegrations.listForWorkspaces(['ws-intl'])).map((a) => [a.id, a.pageCount])).toEqual([[app.id, 2]]);
    expect(await stores.internalIntegrations.listForWorkspaces([])).toEqual([]);
    expect((await stores.internalIntegrations.listForPage('ws-intl', 'pa')).map((a) => [a.id, a.connectedBy])).toEqual([
      [app.id, person.id],
    ]);
    expect(await stores.internalIntegrations.findByTokenHash(hash)).toEqual({
      app,
      pages: [
        { pageId: 'pa', connectionId: connection.id, connectedBy: person.id },
        { pageId: 'pb', connectionId: connection.id, connectedBy: person.id },
      ],
    });
    expect(await stores.internalIntegrations.findByTokenHash('no-such-hash')).toBeNull();

    expect(await stores.internalIntegrations.disconnectPage(app.id, 'pb')).toBe(true);
    expect(await stores.internalIntegrations.disconnectPage(app.id, 'pb')).toBe(false);
    await stores.internalIntegrations.connectPage(
      { appId: app.id, pageId: 'pc', connectionId: connection.id, connectedBy: person.id },
      later(4),
    );
    expect(await stores.internalIntegrations.disconnectAllPages(app.id)).toEqual(['pa', 'pc']);
    expect(await stores.internalIntegrations.disconnectAllPages(app.id)).toEqual([]);
    expect(await stores.internalIntegrations.disconnectAllPages('not-a-uuid')).toEqual([]);
    for (const pageId of ['pa', 'pb'])
      await stores.internalIntegrations.connectPage(
        { appId: app.id, pageId, connectionId: connection.id, connectedBy: person.id },
        later(5),
      );
    expect(await stores.internalIntegrations.disconnectPagesOfConnection(connection.id)).toEqual([
      { appId: app.id, pageId: 'pa' },
      { appId: app.id, pageId: 'pb' },
    ]);
    expect(await stores.internalIntegrations.disconnectPagesOfConnection(connection.id)).toEqual([]);

    // Keys rotate: compare-and-swap on the old ciphertext.
    expect((await stores.internalIntegrations.listTokenCiphertexts()).find((c) => c.id === app.id)).toEqual({
      id: app.id,
      ciphertext: `sealed-${app.id}`,
    });
    expect(await stores.internalIntegrations.replaceTokenCiphertext(app.id, 'stale', 'x')).toBe(false);
    expect(await stores.internalIntegrations.replaceTokenCiphertext(app.id, `sealed-${app.id}`, `resealed-${app.id}`)).toBe(true);
    expect(await stores.internalIntegrations.tokenCiphertext(app.id)).toBe(`resealed-${app.id}`);

    // Converted to public: the connected pages become the connector's grant; the token is retired.
    for (const pageId of ['pa', 'pc'])
      await stores.internalIntegrations.connectPage(
        { appId: app.id, pageId, connectionId: connection.id, connectedBy: person.id },
        later(6),
      );
    const grants = (await stores.internalIntegrations.convertToPublic(
      { appId: app.id, clientId: `cid-${app.id}`, clientSecretHash: 'secret-hash', redirectUris: ['https://digest.example/cb'] },
      later(7),
    ))!;
    expect(grants.map((g) => [g.personId, g.upstreamConnectionId, [...g.pageIds].sort()])).toEqual([
      [person.id, connection.id, ['pa', 'pc']],
    ]);
    expect(await stores.grants.findById(grants[0]!.id)).toMatchObject({
      appId: app.id,
      workspaceId: 'ws-intl',
      status: 'active',
      capabilities: ['read_content', 'no_user_info'],
    });
    expect(await stores.internalIntegrations.findById(app.id)).toBeNull();
    expect(await stores.internalIntegrations.findByTokenHash(hash)).toBeNull();
    expect(await stores.internalIntegrations.listPages(app.id)).toEqual([]);
    expect(await stores.partnerApps.findById(app.id)).toMatchObject({
      integrationKind: 'public',
      clientId: `cid-${app.id}`,
      redirectUris: ['https://digest.example/cb'],
    });
    expect(
      await stores.internalIntegrations.convertToPublic(
        { appId: app.id, clientId: 'again', clientSecretHash: 'h', redirectUris: [] },
        later(8),
      ),
    ).toBeNull();
  });

  it('audit query: time, actor (id or label, any case), partner, action and workspace filters, always inside the scope; paging', async () => {
    const appId = randomUUID();
    const other = randomUUID();
    const at = (n: number) => later(100_000 + n * 1000);
    await stores.audit.record(
      {
        action: 'approved_app.added',
        actor: { type: 'person', id: 'person-1', label: 'Ada@Example.com' },
        workspaceId: 'ws-aq1',
        outcome: 'success',
        target: { type: 'partner_app', id: appId },
      },
      at(1),
    );
    await stores.audit.record(
      {
        action: 'approved_app.removed',
        actor: { type: 'partner', id: appId, label: 'Zapflow' },
        workspaceId: 'ws-aq1',
        outcome: 'failure',
      },
      at(2),
    );
    await stores.audit.record(
      {
        action: 'approved_app.added',
        actor: { type: 'system', label: 'membership sync' },
        workspaceId: 'ws-aq2',
        outcome: 'success',
        detail: { appId },
      },
      at(3),
    );
    await stores.audit.record(
      {
        action: 'approved_app.added',
        actor: { type: 'person', id: 'person-2', label: 'ben@example.com' },
        workspaceId: 'ws-aq2',
        outcome: 'success',
        detail: { appId: other },
      },
      at(4),
    );
    await stores.audit.record(
      { action: 'admin_token.created', actor: { type: 'admin_token', label: 'bootstrap' }, outcome: 'success' },
      at(5),
    );
    const search = (filter: Partial<Parameters<Stores['auditQuery']['search']>[0]>) =>
      stores.auditQuery.search({ scope: ['ws-aq1', 'ws-aq2'], limit: 100, since: at(0), ...filter });
    const actions = async (filter: Partial<Parameters<Stores['auditQuery']['search']>[0]>) =>
      (await search(filter)).map((e) => `${e.action}@${e.workspaceId}`);

    expect(await actions({})).toEqual([
      'approved_app.added@ws-aq2',
      'approved_app.added@ws-aq2',
      'approved_app.removed@ws-aq1',
      'approved_app.added@ws-aq1',
    ]);
    expect(await actions({ scope: ['ws-aq1'] })).toEqual(['approved_app.removed@ws-aq1', 'approved_app.added@ws-aq1']);
    expect(await actions({ scope: [] })).toEqual([]);
    expect(
      (await actions({ scope: null })).filter((a) =>
        ['admin_token.created', 'approved_app.added', 'approved_app.removed'].includes(a.split('@')[0]!),
      ),
    ).toEqual([
      'admin_token.created@null',
      'approved_app.added@ws-aq2',
      'approved_app.added@ws-aq2',
      'approved_app.removed@ws-aq1',
      'approved_app.added@ws-aq1',
    ]);
    expect(await actions({ since: at(2), until: at(4) })).toEqual(['approved_app.added@ws-aq2', 'approved_app.removed@ws-aq1']);
    expect(await actions({ actor: 'ada@example.COM' })).toEqual(['approved_app.added@ws-aq1']);
    expect(await actions({ actor: 'person-2' })).toEqual(['approved_app.added@ws-aq2']);
    expect(await actions({ partnerAppId: appId })).toEqual([
      'approved_app.added@ws-aq2',
      'approved_app.removed@ws-aq1',
      'approved_app.added@ws-aq1',
    ]);
    expect(await actions({ action: 'approved_app.removed' })).toEqual(['approved_app.removed@ws-aq1']);
    expect(await actions({ workspaceId: 'ws-aq2', action: 'approved_app.added' })).toEqual([
      'approved_app.added@ws-aq2',
      'approved_app.added@ws-aq2',
    ]);
    // A workspace outside the scope stays outside, whatever the filter asks.
    expect(await actions({ scope: ['ws-aq1'], workspaceId: 'ws-aq2' })).toEqual([]);
    const firstPage = await search({ limit: 2 });
    expect(firstPage).toHaveLength(2);
    const nextPage = await search({ limit: 2, before: firstPage[1]!.id });
    expect(nextPage.map((e) => e.action)).toEqual(['approved_app.removed', 'approved_app.added']);
    expect(nextPage[1]).toMatchObject({
      actor: { type: 'person', id: 'person-1', label: 'Ada@Example.com' },
      target: { type: 'partner_app', id: appId },
      outcome: 'success',
      occurredAt: at(1),
    });
    expect(await actions({ before: 'not-a-number' })).toHaveLength(4);
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
