/**
 * The store contract, on PGlite and PostgreSQL: internal integrations and
 * the audit query.
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
});
