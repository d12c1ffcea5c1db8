/**
 * Membership follows each workspace's Notion member list, read through any
 * working connection to it: on demand (the periodic job's entry point) and
 * at sign-in. A person who left is marked so and audited, and the workspace
 * leaves their "Your workspaces". An unreadable list changes nobody.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { workspaceRow, workspacesPage } from '../support/notion-connect.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const BEN = { email: 'ben@example.com', password: 'ben-demo' };
const ACME = SEED_WORKSPACE_IDS.acme;
const SIDE_PROJECT = SEED_WORKSPACE_IDS.sideProject;

function helpers(get: () => TestGatehouse) {
  const g = () => get().gatehouse;
  const personId = async (email: string) => (await g().stores.people.findByEmail(email))[0]!.id;
  return {
    personId,
    members: (workspaceId: string) =>
      g()
        .database.db.selectFrom('workspace_members')
        .select(['person_id', 'role', 'status', 'left_at'])
        .where('workspace_id', '=', workspaceId)
        .orderBy('person_id')
        .execute(),
    memberEvents: () =>
      g()
        .stores.audit.list({})
        .then((events) => events.filter((e) => e.action.startsWith('workspace_member.'))),
    sync: async () => {
      g().membership.request();
      await g().membership.idle();
    },
  };
}

describe('membership sync, on demand', () => {
  let t: TestGatehouse;
  const ben = new Browser();
  const h = helpers(() => t);
  let adaId: string;
  let benId: string;

  beforeAll(async () => {
    t = await startTestGatehouse();
    await signIn(ben, t.url, BEN.email, BEN.password);
    await t.gatehouse.membership.idle();
    await t.gatehouse.indexer.idle();
    adaId = await h.personId(ADA.email);
    benId = await h.personId(BEN.email);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('rejects unauthenticated callers: "Your workspaces" sends them to sign in', async () => {
    const response = await fetch(`${t.url}/workspaces`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/auth/sign-in?return_to=%2Fworkspaces');
  });

  it("while Notion's lists match, a sync reads them and changes nobody", async () => {
    const calls = t.gatehouse.sandboxNotion!.stats().apiCalls;
    await h.sync();
    expect(t.gatehouse.sandboxNotion!.stats().apiCalls).toBe(calls + 2); // users.list for Acme and for Side Project
    expect(await h.members(ACME)).toEqual(
      expect.arrayContaining([
        { person_id: adaId, role: 'owner', status: 'active', left_at: null },
        { person_id: benId, role: 'member', status: 'active', left_at: null },
      ]),
    );
    expect(await h.memberEvents()).toEqual([]);
    expect(workspaceRow((await workspacesPage(ben, t.url)).html, ACME)).toMatchObject({ role: 'Member', state: 'ready' });
  });

  it('Ben removed from Acme in Notion: after a sync he has left, it is audited, and Acme leaves his "Your workspaces"', async () => {
    await t.gatehouse.sandboxNotion!.removeMember({ workspaceName: 'Acme', email: BEN.email });
    await h.sync();

    const members = await h.members(ACME);
    expect(members.find((m) => m.person_id === benId)).toEqual({
      person_id: benId,
      role: 'member',
      status: 'left',
      left_at: expect.any(Date),
    });
    expect(members.find((m) => m.person_id === adaId)).toMatchObject({ role: 'owner', status: 'active' });
    expect(await t.gatehouse.stores.workspaces.membership(ACME, benId)).toMatchObject({ status: 'left' });
    expect(await h.memberEvents()).toEqual([
      expect.objectContaining({
        action: 'workspace_member.left',
        actor: { type: 'system', id: null, label: null },
        target: { type: 'person', id: benId },
        workspaceId: ACME,
        outcome: 'success',
        detail: { reason: 'not on the Notion member list' },
      }),
    ]);

    const page = await workspacesPage(ben, t.url);
    expect(page.status).toBe(200);
    expect(workspaceRow(page.html, ACME)).toBeNull();
    expect(page.html).toContain('You have not connected a Notion workspace yet.');
    expect((await t.gatehouse.stores.workspaces.listForPerson(benId)).map((w) => w.name)).toEqual([]);
    // The admin API agrees: Acme has one active member left.
    const api = await fetch(`${t.url}/api/admin/v1/workspaces`, { headers: { authorization: `Bearer ${t.gatehouse.adminToken}` } });
    const acme = (await api.json()).workspaces.find((w: { id: string }) => w.id === ACME);
    expect(acme).toMatchObject({ owners: 1, members: 1 });
  });

  it('a second sync changes nothing more (no repeated audit)', async () => {
    await h.sync();
    expect((await h.memberEvents()).map((e) => e.action)).toEqual(['workspace_member.left']);
  });

  it('a list that cannot be read is not "everyone left": Ada keeps Side Project when her only connection to it is revoked', async () => {
    await t.gatehouse.sandboxNotion!.removeMember({ workspaceName: 'Side Project', email: ADA.email });
    await h.sync();
    expect(await t.gatehouse.stores.workspaces.membership(SIDE_PROJECT, adaId)).toMatchObject({ role: 'owner', status: 'active' });
    expect((await h.memberEvents()).map((e) => e.action)).toEqual(['workspace_member.left']);
    // What did change is visible: the connection that could not read the list is broken and audited.
    const connection = await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, SIDE_PROJECT);
    expect(connection).toMatchObject({ status: 'broken' });
    expect(await t.gatehouse.stores.audit.list({ action: 'upstream_connection.broken', workspaceId: SIDE_PROJECT })).toEqual([
      expect.objectContaining({ target: { type: 'upstream_connection', id: connection!.id } }),
    ]);
  });
});

describe('membership sync, at sign-in', () => {
  let t: TestGatehouse;
  const h = helpers(() => t);

  beforeAll(async () => {
    t = await startTestGatehouse();
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('nothing runs by itself: Ben, removed in Notion, is still a member until someone signs in', async () => {
    await t.gatehouse.sandboxNotion!.removeMember({ workspaceName: 'Acme', email: BEN.email });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await t.gatehouse.membership.idle();
    expect(await t.gatehouse.stores.workspaces.membership(ACME, await h.personId(BEN.email))).toMatchObject({ status: 'active' });
    expect(await h.memberEvents()).toEqual([]);
  });

  it('Ben signing in triggers the sync: he has left Acme, audited, and his "Your workspaces" no longer lists it', async () => {
    const ben = new Browser();
    const { url } = await signIn(ben, t.url, BEN.email, BEN.password);
    expect(url).toBe(`${t.url}/workspaces`);
    await t.gatehouse.membership.idle();
    const benId = await h.personId(BEN.email);
    expect(await t.gatehouse.stores.workspaces.membership(ACME, benId)).toMatchObject({ status: 'left' });
    expect(await h.memberEvents()).toEqual([
      expect.objectContaining({ action: 'workspace_member.left', target: { type: 'person', id: benId }, workspaceId: ACME }),
    ]);
    const page = await workspacesPage(ben, t.url);
    expect(workspaceRow(page.html, ACME)).toBeNull();
  });

  it("Ada signing in runs it again and keeps her as Acme's owner", async () => {
    const ada = new Browser();
    await signIn(ada, t.url, ADA.email, ADA.password);
    await t.gatehouse.membership.idle();
    expect(await t.gatehouse.stores.workspaces.membership(ACME, await h.personId(ADA.email))).toMatchObject({
      role: 'owner',
      status: 'active',
    });
    expect(await h.memberEvents()).toHaveLength(1);
    expect(workspaceRow((await workspacesPage(ada, t.url)).html, ACME)).toMatchObject({ role: 'Owner' });
  });
});
