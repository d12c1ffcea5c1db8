/**
 * The store contract, on PGlite and PostgreSQL: grants, the token read of
 * the proxy, the approved list, workspace roles and upstream connections.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../src/store/database.js';
import type { Stores } from '../../src/store/stores.js';
import { T0, later, owner as ownerIn, partnerApp as partnerAppIn, storeBench, STORE_KINDS } from '../support/store-contract.js';

describe.each(STORE_KINDS)('stores on %s', (kind) => {
  const bench = storeBench(kind);
  let handle: DatabaseHandle;
  let stores: Stores;
  beforeAll(() => {
    ({ handle, stores } = bench);
  });
  const owner = (subject: string, workspaceId: string) => ownerIn(stores, subject, workspaceId);
  const partnerApp = (name: string) => partnerAppIn(stores, name);

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
});
