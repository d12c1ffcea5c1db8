/**
 * Revocation in the connections console: one person, all users, own grants,
 * an upstream connection, a person who left, each idempotent, audited and
 * refused by introspection and refresh on the very next request; removing an
 * app from the approved list; the command line driving the same API. The
 * cast is in ./console-fixture.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { issueCode, redeem as redeemCode } from '../support/partner.js';
import { postForm } from '../support/notion-connect.js';
import { runCli } from '../../src/cli/gatehouse.js';
import type { Browser } from '../support/browser.js';
import type { TestGatehouse } from '../support/harness.js';
import type { RegisteredApp } from '../support/partner.js';
import { ACME, setUpConsole, type ConsoleFixture } from './console-fixture.js';

describe('connections console: revocation', () => {
  let f: ConsoleFixture;
  let t: TestGatehouse;
  let ada: Browser;
  let ben: Browser;
  let adaCsrf: string;
  let benCsrf: string;
  let zapflow: RegisteredApp;
  let other: RegisteredApp;
  let adaId: string;
  let benId: string;
  let benToken: string; // Ben's personal admin token
  let labGrantId: string;
  let adaGrant: ConsoleFixture['adaGrant'];
  let benGrant: ConsoleFixture['benGrant'];
  const db = () => f.db();
  const api = (...args: Parameters<ConsoleFixture['api']>) => f.api(...args);
  const snapshot = () => f.snapshot();
  const redeem = (...args: Parameters<ConsoleFixture['redeem']>) => f.redeem(...args);
  const introspect = (...args: Parameters<ConsoleFixture['introspect']>) => f.introspect(...args);
  const refresh = (...args: Parameters<ConsoleFixture['refresh']>) => f.refresh(...args);

  beforeAll(async () => {
    f = await setUpConsole();
    ({ t, ada, ben, adaCsrf, benCsrf, zapflow, other, adaId, benId, benToken, labGrantId, adaGrant, benGrant } = f);
    // What the owner's story (console-owner.test.ts) leaves behind: Zapflow approved in Acme, "Only from approved list".
    for (const [path, form] of [
      [`/connections/${ACME}/approved`, { app_id: zapflow.app.id }],
      [`/connections/${ACME}/policy`, { install_policy: 'approved_only' }],
    ] as const) {
      const response = await postForm(ada, `${t.url}${path}`, { _csrf: adaCsrf, ...form });
      if (response.status !== 303) throw new Error(`replaying ${path} answered ${response.status}`);
    }
  });
  afterAll(async () => f?.t.stop());

  it('"Revoke access" for Ben: 303; the grant records who, when, why; the next introspection is {"active":false} and his refresh is invalid_grant', async () => {
    expect((await introspect(zapflow, benGrant.access)).active).toBe(true);
    const response = await postForm(ada, `${t.url}/connections/${ACME}/grants/${benGrant.grantId}/revoke`, {
      _csrf: adaCsrf,
      confirm: 'yes',
      return_to: `/connections/${ACME}/apps/${zapflow.app.id}`,
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`/connections/${ACME}/apps/${zapflow.app.id}?notice=revoked`);
    const row = await db()
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason', 'revoked_at'])
      .where('id', '=', benGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'revoked', revoked_by: `person:${adaId}`, revoke_reason: 'revoked by a workspace owner' });
    expect(row.revoked_at).toBeInstanceOf(Date);
    expect(await introspect(zapflow, benGrant.access)).toEqual({ active: false });
    expect(await introspect(zapflow, benGrant.refresh)).toEqual({ active: false });
    const refused = await refresh(zapflow, benGrant.refresh);
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toBe('invalid_grant');
    const tokens = await db().selectFrom('access_tokens').select('revoked_at').where('grant_id', '=', benGrant.grantId).execute();
    expect(tokens.every((r) => r.revoked_at !== null)).toBe(true);
    // Ada's own grant is untouched.
    expect((await introspect(zapflow, adaGrant.access)).active).toBe(true);
  });

  it('revoking again is idempotent: 200 "already revoked", the first who/when/why kept, one audit event', async () => {
    const again = await api(`/grants/${benGrant.grantId}/revoke`, { body: { reason: 'again' } });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ object: 'revocation', revoked: [], already_revoked: [benGrant.grantId] });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', benGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ revoked_by: `person:${adaId}`, revoke_reason: 'revoked by a workspace owner' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_id', 'workspace_id', 'detail'])
      .where('action', '=', 'grant.revoked')
      .where('target_id', '=', benGrant.grantId)
      .execute();
    expect(audit).toEqual([
      { actor_id: adaId, workspace_id: ACME, detail: { reason: 'revoked by a workspace owner', appId: zapflow.app.id, personId: benId } },
    ]);
  });

  it('"Remove from approved list" keeps existing grants; a member\'s next install is refused at redemption', async () => {
    // Ben consents again while Zapflow is approved...
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const removed = await postForm(ada, `${t.url}/connections/${ACME}/approved/${zapflow.app.id}/remove`, {
      _csrf: adaCsrf,
      confirm: 'yes',
    });
    expect(removed.status).toBe(303);
    expect(await t.gatehouse.stores.grants.isApproved(ACME, zapflow.app.id)).toBe(false);
    // ...and the policy change between consent and redemption wins.
    const response = await redeemCode(t.url, zapflow, b.code);
    expect(response.status).toBe(400);
    // Ada's grant (an owner's, and existing) stays.
    expect((await introspect(zapflow, adaGrant.access)).active).toBe(true);
  });

  it('the command line: policy set, approved add, grants list, roles set, grants revoke', async () => {
    const env = { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: t.gatehouse.adminToken, GATEHOUSE_DATA_DIR: t.dataDir };
    expect(await runCli(['policy', 'set', '--workspace', ACME, '--restrict', 'no_restrictions', '--auto-approve', 'on'], env)).toEqual({
      object: 'install_policy',
      workspace_id: ACME,
      install_policy: 'no_restrictions',
      auto_approve_organisation: true,
    });
    expect(await runCli(['approved', 'add', '--workspace', ACME, '--client-id', zapflow.clientId], env)).toMatchObject({ added: true });
    expect(await runCli(['approved', 'remove', '--workspace', ACME, '--client-id', zapflow.clientId], env)).toMatchObject({
      removed: true,
    });
    const listed = (await runCli(['grants', 'list', '--workspace', ACME], env)) as {
      grants: Array<{ id: string; person: { email: string } }>;
    };
    // Ben's grant is active again: his consent above re-authorised it, though its code was refused at redemption.
    expect(listed.grants.map((g) => [g.id, g.person.email]).sort()).toEqual(
      [
        [adaGrant.grantId, 'ada@example.com'],
        [benGrant.grantId, 'ben@example.com'],
      ].sort(),
    );
    expect(await runCli(['roles', 'set', '--workspace', ACME, '--email', 'ben@example.com', '--role', 'owner'], env)).toMatchObject({
      role: 'owner',
      changed: true,
    });
    expect(await runCli(['roles', 'set', '--workspace', ACME, '--email', 'ben@example.com', '--role', 'member'], env)).toMatchObject({
      role: 'member',
      changed: true,
    });
    await expect(runCli(['policy', 'set', '--workspace', ACME, '--restrict', 'everyone'], env)).rejects.toMatchObject({
      code: 'bad_arguments',
    });
    await expect(runCli(['grants', 'revoke', '00000000-0000-4000-8000-000000000000'], env)).rejects.toMatchObject({ code: 'not_found' });
    expect(await runCli(['grants', 'revoke', adaGrant.grantId, '--reason', 'rotation drill'], env)).toEqual({
      object: 'revocation',
      revoked: [adaGrant.grantId],
      already_revoked: [],
    });
    expect(await introspect(zapflow, adaGrant.access)).toEqual({ active: false });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', adaGrant.grantId)
      .executeTakeFirstOrThrow();
    expect(row.revoke_reason).toBe('rotation drill');
    expect(row.revoked_by).toMatch(/^admin_token:bootstrap/);
  });

  it('"My connections": Ben revokes his own grant; he cannot revoke anyone else\'s there', async () => {
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const tokens = await redeem(zapflow, b.code);
    const a = await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
    const before = await snapshot();
    expect((await postForm(ben, `${t.url}/connections/mine/${a.grantId}/revoke`, { _csrf: benCsrf })).status).toBe(404);
    expect((await api(`/grants/${a.grantId}/revoke`, { body: {}, browser: ben, csrf: benCsrf })).status).toBe(404);
    expect(await snapshot()).toEqual(before);
    const own = await postForm(ben, `${t.url}/connections/mine/${b.grantId}/revoke`, { _csrf: benCsrf, confirm: 'yes' });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toBe('/connections/mine?notice=revoked');
    expect(await introspect(zapflow, tokens.access_token)).toEqual({ active: false });
    const row = await db()
      .selectFrom('grants')
      .select(['revoked_by', 'revoke_reason'])
      .where('id', '=', b.grantId)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ revoked_by: `person:${benId}`, revoke_reason: 'revoked by the person who granted it' });
    // Ada's fresh grant from above: "Disconnect" (all users of Zapflow in Acme).
    const disconnect = await postForm(ada, `${t.url}/connections/${ACME}/apps/${zapflow.app.id}/disconnect`, {
      _csrf: adaCsrf,
      confirm: 'yes',
    });
    expect(disconnect.status).toBe(303);
    expect(await t.gatehouse.stores.grants.listActiveIds({ workspaceId: ACME, appId: zapflow.app.id })).toEqual([]);
  });

  it("disconnecting Ben's Notion account: revoked at Notion, ciphertext destroyed, his grants through it revoked", async () => {
    const b = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme', pageCount: 1 });
    const tokens = await redeem(zapflow, b.code);
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(benId, ACME))!;
    // Ben's token may disconnect his own connection, not Ada's (he is no owner of Acme): 404.
    const adaConnection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    expect((await api(`/upstream-connections/${adaConnection.id}/disconnect`, { body: {}, token: benToken })).status).toBe(404);
    const response = await api(`/upstream-connections/${connection.id}/disconnect`, { body: {}, token: benToken });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ upstream_connection_id: connection.id, disconnected: true, revoked_at_notion: true });
    expect(body.revoked).toEqual(expect.arrayContaining([b.grantId, labGrantId]));
    const row = await db()
      .selectFrom('upstream_connections')
      .select(['status', 'credential_ciphertext'])
      .where('id', '=', connection.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'disconnected', credential_ciphertext: null });
    expect(await introspect(zapflow, tokens.access_token)).toEqual({ active: false });
    const again = await api(`/upstream-connections/${connection.id}/disconnect`, { body: {}, token: benToken });
    expect(await again.json()).toMatchObject({ disconnected: false, revoked: [] });
  });

  it('a person who left (membership sync) loses their grants in that workspace, audited as the system', async () => {
    // Ben's own credential is gone (above): a grant row standing for one he made in Acme.
    const adaConnection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    const { grant } = await t.gatehouse.stores.grants.upsert(
      {
        personId: benId,
        appId: other.app.id,
        workspaceId: ACME,
        upstreamConnectionId: adaConnection.id,
        capabilities: ['read_content'],
        pageIds: [],
      },
      new Date(),
    );
    await t.gatehouse.sandboxNotion!.removeMember({ workspaceName: 'Acme', email: 'ben@example.com' });
    t.gatehouse.membership.request();
    await t.gatehouse.membership.idle();
    expect((await t.gatehouse.stores.workspaces.membership(ACME, benId))!.status).toBe('left');
    const row = await db()
      .selectFrom('grants')
      .select(['status', 'revoked_by', 'revoke_reason'])
      .where('id', '=', grant.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'revoked', revoked_by: 'system:membership sync', revoke_reason: 'person left the workspace' });
    const audit = await db()
      .selectFrom('audit_events')
      .select(['actor_type'])
      .where('action', '=', 'grant.revoked')
      .where('target_id', '=', grant.id)
      .execute();
    expect(audit).toEqual([{ actor_type: 'system' }]);
  });
});
