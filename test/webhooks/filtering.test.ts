/**
 * Each event reaches exactly the partners whose grant covers it. In Acme:
 * A (Ada: Engineering, content and comments), B (Ada: Product, content
 * only), D (Ben: Engineering); in Side Project: C (Ada: its home page); and
 * the internal integration I (Design, through its own intake). A page moved
 * out of one grant into another: `lost` for one, `gained` for the other; a
 * revoked grant gets nothing from the next event on.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { memoryAncestryCache } from '../../src/proxy/scope.js';
import { fanOut } from '../../src/webhooks/fan-out.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectPartner, type PartnerSession } from '../proxy/partner-session.js';
import { pageParent, storeEvent, subscribe, type EventArgs, type Receiver } from './support.js';

const EVENTS = ['page.created', 'page.moved', 'page.content_updated', 'page.deleted', 'comment.created'];
const NEW_PAGE = '3f0c0c0c-0000-4000-8000-000000000003';

describe('who receives which event', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  const partners: Record<string, PartnerSession> = {};
  const receivers: Record<string, Receiver> = {};
  let ada: string;
  let ben: string;
  let internalAppId: string;

  /** Stores the event, runs the pipeline, and says who received it (and what). */
  const deliver = async (args: Omit<EventArgs, 'workspaceId'> & { workspaceId?: string }) => {
    const before = Object.fromEntries(Object.entries(receivers).map(([name, r]) => [name, r.received.length]));
    await storeEvent(t.gatehouse, { workspaceId: SEED_WORKSPACE_IDS.acme, ...args }, clock.now());
    await t.gatehouse.webhooks.runDue();
    const got: Record<string, Record<string, unknown>> = {};
    for (const [name, r] of Object.entries(receivers)) {
      const fresh = r.received.slice(before[name]);
      expect(fresh.length).toBeLessThanOrEqual(1);
      if (fresh[0]) {
        expect(fresh[0].notionValid && fresh[0].standardValid[0]).toBe(true);
        got[name] = fresh[0].json;
      }
    }
    return got;
  };

  beforeAll(async () => {
    t = await startTestGatehouse({ clock, tunables: { webhookRetryScheduleSeconds: [0], webhookRetryJitter: 0 } });
    const g = t.gatehouse;
    const setups: Array<[string, Parameters<typeof connectPartner>[2]]> = [
      ['A', { capabilities: ['read_content', 'read_comments', 'no_user_info'], pageIds: [SEED_PAGE_IDS.engineering], clock, name: 'A' }],
      ['B', { capabilities: ['read_content', 'user_info_with_email'], pageIds: [SEED_PAGE_IDS.product], clock, name: 'B' }],
      ['C', { capabilities: ['read_content'], pageIds: [SEED_PAGE_IDS.sideProjectHome], workspaceName: 'Side Project', clock, name: 'C' }],
      ['D', { capabilities: ['read_content'], pageIds: [SEED_PAGE_IDS.engineering], email: 'ben@example.com', clock, name: 'D' }],
    ];
    for (const [name, args] of setups) {
      partners[name] = await connectPartner(g, t.url, args);
      receivers[name] = (await subscribe(g, { appId: partners[name]!.registered.app.id, events: EVENTS })).receiver;
    }
    ada = (await g.stores.connections.findById(partners.A!.connectionId))!.notionUserId;
    ben = (await g.stores.connections.findById(partners.D!.connectionId))!.notionUserId;
    const connection = (await g.stores.connections.findById(partners.A!.connectionId))!;
    const internal = await g.stores.internalIntegrations.create(
      {
        name: 'Internal I',
        workspaceId: SEED_WORKSPACE_IDS.acme,
        capabilities: ['read_content', 'read_comments', 'no_user_info'],
        logo: null,
        createdBy: connection.personId,
        tokenHash: hashToken('gh_int_test'),
        encrypt: (id) => g.keyring.encrypt('gh_int_test', `internal:${id}`),
      },
      clock.now(),
    );
    internalAppId = internal.id;
    await g.stores.internalIntegrations.connectPage(
      { appId: internal.id, pageId: SEED_PAGE_IDS.design, connectionId: connection.id, connectedBy: connection.personId },
      clock.now(),
    );
    receivers.I = (await subscribe(g, { appId: internal.id, events: EVENTS })).receiver;
  });
  afterAll(async () => {
    for (const r of Object.values(receivers)) await r.close();
    await t?.stop();
  });

  it('a page created under Engineering reaches A (and D only once Ben can see it)', async () => {
    const got = await deliver({
      type: 'page.created',
      entity: { id: NEW_PAGE, type: 'page' },
      data: pageParent(SEED_PAGE_IDS.architecture),
      accessibleBy: [ada],
    });
    expect(Object.keys(got)).toEqual(['A']);
    expect(got.A!.accessible_by).toEqual([{ id: partners.A!.grantId, type: 'bot' }]);
    const both = await deliver({
      type: 'page.content_updated',
      entity: { id: NEW_PAGE, type: 'page' },
      data: { ...pageParent(SEED_PAGE_IDS.architecture), updated_blocks: [] },
      accessibleBy: [ada, ben],
    });
    expect(Object.keys(both).sort()).toEqual(['A', 'D']);
  });

  it('comments need read_comments: an Engineering comment reaches A; a Product comment nobody', async () => {
    const comment = (pageId: string) => ({
      type: 'comment.created',
      entity: { id: '4f0c0c0c-0000-4000-8000-000000000004', type: 'comment' },
      data: { page_id: pageId, parent: { id: pageId, type: 'page' } },
      accessibleBy: [ada],
    });
    expect(Object.keys(await deliver(comment(SEED_PAGE_IDS.engineering)))).toEqual(['A']);
    expect(Object.keys(await deliver(comment(SEED_PAGE_IDS.roadmap2026)))).toEqual([]);
  });

  it('other workspaces stay apart: a Side Project page reaches C only', async () => {
    const got = await deliver({
      type: 'page.content_updated',
      workspaceId: SEED_WORKSPACE_IDS.sideProject,
      entity: { id: SEED_PAGE_IDS.sideProjectHome, type: 'page' },
      data: { parent: { id: SEED_WORKSPACE_IDS.sideProject, type: 'space' }, updated_blocks: [] },
      accessibleBy: [ada],
    });
    expect(Object.keys(got)).toEqual(['C']);
  });

  it('an internal integration hears its own intake only, about its connected pages', async () => {
    const event = { type: 'page.content_updated', entity: { id: SEED_PAGE_IDS.design, type: 'page' }, data: { updated_blocks: [] } };
    expect(Object.keys(await deliver({ ...event, intakeId: internalAppId }))).toEqual(['I']);
    expect(Object.keys(await deliver({ ...event, accessibleBy: [ada] }))).toEqual([]);
    const outside = { ...event, entity: { id: SEED_PAGE_IDS.engineering, type: 'page' } };
    expect(Object.keys(await deliver({ ...outside, intakeId: internalAppId }))).toEqual([]);
  });

  it('a move from Engineering into Product: A loses the page (location withheld), B gains it', async () => {
    const got = await deliver({
      type: 'page.moved',
      entity: { id: NEW_PAGE, type: 'page' },
      data: pageParent(SEED_PAGE_IDS.roadmap2026),
      accessibleBy: [ada],
    });
    expect(Object.keys(got).sort()).toEqual(['A', 'B']);
    expect(got.A).toMatchObject({ data: { parent: { type: 'space', id: SEED_WORKSPACE_IDS.acme } }, gatehouse: { access: 'lost' } });
    expect(got.B).toMatchObject({ data: { parent: { type: 'page', id: SEED_PAGE_IDS.roadmap2026 } }, gatehouse: { access: 'gained' } });
    expect(await t.gatehouse.stores.pageIndex.get(partners.A!.connectionId, NEW_PAGE)).toMatchObject({
      parentId: SEED_PAGE_IDS.roadmap2026,
    });
    // The next event about it follows the page: B now, A no more.
    const next = await deliver({
      type: 'page.content_updated',
      entity: { id: NEW_PAGE, type: 'page' },
      data: { ...pageParent(SEED_PAGE_IDS.roadmap2026), updated_blocks: [] },
      accessibleBy: [ada],
    });
    expect(Object.keys(next)).toEqual(['B']);
  });

  it('and back: A gains it, B loses it', async () => {
    const got = await deliver({
      type: 'page.moved',
      entity: { id: NEW_PAGE, type: 'page' },
      data: pageParent(SEED_PAGE_IDS.engineering),
      accessibleBy: [ada],
    });
    expect(got.A).toMatchObject({ gatehouse: { access: 'gained' } });
    expect(got.B).toMatchObject({ gatehouse: { access: 'lost' }, data: { parent: { type: 'space' } } });
  });

  it('the page index, not a cache the proxy already updated, says where a moved page was', async () => {
    const g = t.gatehouse;
    // The proxy learned the new place from the answer to the call that moved the page, before Notion's event.
    const cache = memoryAncestryCache(clock);
    for (const p of Object.values(partners))
      await cache.set(p.connectionId, [{ id: NEW_PAGE, chain: [SEED_PAGE_IDS.roadmap2026, SEED_PAGE_IDS.product] }]);
    const before = receivers.A!.received.length;
    const eventId = await storeEvent(
      g,
      {
        type: 'page.moved',
        workspaceId: SEED_WORKSPACE_IDS.acme,
        entity: { id: NEW_PAGE, type: 'page' },
        data: pageParent(SEED_PAGE_IDS.roadmap2026),
        accessibleBy: [ada],
      },
      clock.now(),
    );
    await fanOut({ db: g.database.db, cache, engine: g.webhooks.engine, clock }, { eventId });
    await g.webhooks.runDue();
    expect(receivers.A!.received.slice(before).map((r) => r.json.gatehouse)).toEqual([{ access: 'lost' }]);
    await deliver({
      type: 'page.moved',
      entity: { id: NEW_PAGE, type: 'page' },
      data: pageParent(SEED_PAGE_IDS.engineering),
      accessibleBy: [ada],
    });
  });

  it('a deleted page leaves the page index at once', async () => {
    const got = await deliver({
      type: 'page.deleted',
      entity: { id: NEW_PAGE, type: 'page' },
      data: pageParent(SEED_PAGE_IDS.engineering),
      accessibleBy: [ada],
    });
    expect(Object.keys(got)).toEqual(['A']);
    expect(await t.gatehouse.stores.pageIndex.get(partners.A!.connectionId, NEW_PAGE)).toBeNull();
  });

  it('a revoked grant gets nothing from the next event on', async () => {
    await t.gatehouse.stores.grants.revoke(partners.A!.grantId, { by: 'test', reason: 'test' }, clock.now());
    const got = await deliver({
      type: 'page.content_updated',
      entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
      data: { ...pageParent(SEED_PAGE_IDS.engineering), updated_blocks: [] },
      accessibleBy: [ada, ben],
    });
    expect(Object.keys(got)).toEqual(['D']);
  });
});
