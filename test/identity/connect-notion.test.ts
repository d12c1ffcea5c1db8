/**
 * Connecting Notion accounts through the real routes: POST /workspaces/connect
 * (or /workspaces/:id/reconnect) → sandbox Notion's OAuth pages → GET
 * /connect/notion/callback, and POST /workspaces/internal-token. Each step
 * asserts the answer and what was (or was not) stored: workspace rows,
 * memberships, the encrypted credential, audit events and the calls that
 * reached Notion. Opened by the refusals. An attempt that expires is in
 * connect-notion-expiry.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Client } from '@notionhq/client';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { connectNotion, passNotion, postForm, startConnect, workspaceRow, workspacesPage } from '../support/notion-connect.js';
import { DecryptionError } from '../../src/crypto/keyring.js';
import { decryptCredential } from '../../src/upstream/connect.js';
import { SEED_PAGE_IDS, SEED_USER_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const BEN = { email: 'ben@example.com', password: 'ben-demo' };
const ARCHIVE = SEED_WORKSPACE_IDS.archive;
const SIDE_PROJECT = SEED_WORKSPACE_IDS.sideProject;
const ACME = SEED_WORKSPACE_IDS.acme;

describe('connecting Notion accounts', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let adaId: string;
  let benId: string;

  const db = () => t.gatehouse.database.db;
  const sandbox = () => t.gatehouse.sandboxNotion!;
  const callbackBase = () => `${t.url}/connect/notion/callback`;

  const connectionRows = (personId: string, workspaceId: string) =>
    db().selectFrom('upstream_connections').selectAll().where('person_id', '=', personId).where('workspace_id', '=', workspaceId).execute();
  const auditOf = (action: string, workspaceId: string) => t.gatehouse.stores.audit.list({ action, workspaceId });

  /** Everything connecting may change, to show that a refused attempt changed none of it. */
  const snapshot = async () => ({
    workspaces: await db().selectFrom('workspaces').select(['id', 'name']).orderBy('id').execute(),
    members: await db()
      .selectFrom('workspace_members')
      .select(['workspace_id', 'person_id', 'role', 'status'])
      .orderBy('workspace_id')
      .orderBy('person_id')
      .execute(),
    connections: await db()
      .selectFrom('upstream_connections')
      .select(['id', 'person_id', 'workspace_id', 'kind', 'version', 'status', 'credential_ciphertext', 'bot_id'])
      .orderBy('id')
      .execute(),
    audit: await db()
      .selectFrom('audit_events')
      .select(['action', 'target_id'])
      .where('action', 'not like', 'person.%')
      .orderBy('id')
      .execute(),
  });

  beforeAll(async () => {
    t = await startTestGatehouse();
    await signIn(ada, t.url, ADA.email, ADA.password);
    await signIn(ben, t.url, BEN.email, BEN.password);
    adaId = (await t.gatehouse.stores.people.findByEmail(ADA.email))[0]!.id;
    benId = (await t.gatehouse.stores.people.findByEmail(BEN.email))[0]!.id;
    // The demo's own connections finish indexing and the sign-in syncs run before the steps count anything.
    await t.gatehouse.indexer.idle();
    await t.gatehouse.membership.idle();
  });
  afterAll(async () => {
    await t.stop();
  });

  it('rejects unauthenticated callers: no redirect to Notion, no token checked, nothing stored', async () => {
    const before = await snapshot();
    const calls = sandbox().stats();
    const stranger = new Browser();
    for (const path of [
      '/workspaces/connect',
      `/workspaces/${ARCHIVE}/reconnect`,
      '/workspaces/internal-token',
      `/workspaces/${ACME}/refresh`,
    ]) {
      const response = await postForm(stranger, `${t.url}${path}`, { token: `ntn_${randomBytes(32).toString('base64url')}` });
      // No session means no CSRF token either: the global CSRF check refuses it (403) before requireSignIn (401) runs.
      expect([response.status, path]).toEqual([403, path]);
      expect(response.headers.get('location')).toBeNull();
    }
    const callback = await stranger.request(`${callbackBase()}?code=ncode_x&state=y`);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toMatch(/^\/auth\/sign-in\?return_to=/);
    expect(sandbox().stats()).toEqual(calls);
    expect(await snapshot()).toEqual(before);
  });

  it('a forged CSRF token is 403 and changes nothing (not even a call to Notion)', async () => {
    const before = await snapshot();
    const calls = sandbox().stats();
    const { token } = await sandbox().createInternalIntegration({
      workspaceName: 'Archive',
      name: 'Forged bot',
      capabilities: ['read_content'],
    });
    const connect = await postForm(ada, `${t.url}/workspaces/connect`, { _csrf: 'forged' });
    expect(connect.status).toBe(403);
    expect(connect.headers.get('location')).toBeNull();
    expect(await connect.text()).toContain('The form expired or did not come from Gatehouse');
    const paste = await postForm(ada, `${t.url}/workspaces/internal-token`, { _csrf: 'forged', token });
    expect(paste.status).toBe(403);
    const missing = await postForm(ada, `${t.url}/workspaces/internal-token`, { token });
    expect(missing.status).toBe(403);
    expect(sandbox().stats()).toEqual(calls);
    expect(await snapshot()).toEqual(before);
  });

  it("Ada connects Archive: Notion's pages, a new workspace she owns, an encrypted credential, an audit event", async () => {
    const codesBefore = sandbox().stats().tokenCalls.authorization_code;
    const toNotion = await startConnect(ada, t.url);
    const authorize = new URL(toNotion.headers.get('location')!);
    expect(authorize.href.startsWith(`${t.url}/sandbox/notion/v1/oauth/authorize?`)).toBe(true);
    expect(Object.fromEntries(authorize.searchParams)).toEqual({
      client_id: 'gatehouse',
      redirect_uri: callbackBase(),
      response_type: 'code',
      owner: 'user',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
    });
    const callbackUrl = await passNotion(ada, t.url, toNotion, { ...ADA, workspaceName: 'Archive', pages: ['Old Wiki'] });
    expect(new URL(callbackUrl).searchParams.get('state')).toBe(authorize.searchParams.get('state'));
    const callback = await ada.request(callbackUrl);
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/workspaces?notice=connected');
    expect(sandbox().stats().tokenCalls.authorization_code).toBe(codesBefore + 1);

    const workspace = await db().selectFrom('workspaces').selectAll().where('id', '=', ARCHIVE).execute();
    expect(workspace).toEqual([expect.objectContaining({ id: ARCHIVE, name: 'Archive', install_policy: 'no_restrictions' })]);
    expect(await t.gatehouse.stores.workspaces.listMembers(ARCHIVE)).toEqual([
      { workspaceId: ARCHIVE, personId: adaId, role: 'owner', status: 'active' },
    ]);

    const [row, ...others] = await connectionRows(adaId, ARCHIVE);
    expect(others).toEqual([]);
    expect(row).toMatchObject({ kind: 'oauth', status: 'active', version: 1, notion_user_id: SEED_USER_IDS.ada });
    // The ciphertext names its key, is not the token, and opens only with the keyring and this row's id.
    const ciphertext = row!.credential_ciphertext!;
    expect(ciphertext).toMatch(new RegExp(`^v1\\.${t.gatehouse.keyring.currentKeyId}\\.`));
    const credential = decryptCredential(t.gatehouse.keyring, ciphertext, row!.id);
    expect(credential.accessToken).toMatch(/^ntn_/);
    expect(credential.refreshToken).toMatch(/^nrt_/);
    expect(ciphertext).not.toContain(credential.accessToken);
    expect(ciphertext).not.toContain(credential.refreshToken!);
    expect(ciphertext).not.toContain('ntn_');
    expect(() => decryptCredential(t.gatehouse.keyring, ciphertext, (others[0] ?? { id: adaId }).id)).toThrow(DecryptionError);
    // It is Ada's own Notion token, for the bot the row names.
    const me = await new Client({ auth: credential.accessToken, baseUrl: `${t.url}/sandbox/notion`, retry: false }).users.me({});
    expect(me.id).toBe(row!.bot_id);

    expect(await auditOf('upstream_connection.created', ARCHIVE)).toEqual([
      expect.objectContaining({
        actor: { type: 'person', id: adaId, label: ADA.email },
        target: { type: 'upstream_connection', id: row!.id },
        workspaceId: ARCHIVE,
        outcome: 'success',
        address: expect.stringContaining('127.0.0.1'),
        detail: { kind: 'oauth', workspaceCreated: true, role: 'owner' },
      }),
    ]);

    // The index becomes ready with exactly what she ticked: Old Wiki and the pages inside it, not "Archived Notes".
    await t.gatehouse.indexer.idle();
    const indexed = await db()
      .selectFrom('page_index')
      .select(['page_id', 'title', 'parent_id'])
      .where('connection_id', '=', row!.id)
      .orderBy('title')
      .execute();
    expect(indexed.map((p) => p.title)).toEqual(['2019 Plans', 'Legacy Processes', 'Old Wiki', 'Project Falcon', 'Retired Projects']);
    expect(indexed.find((p) => p.title === 'Old Wiki')).toMatchObject({ page_id: SEED_PAGE_IDS.oldWiki, parent_id: null });
    expect(indexed.find((p) => p.title === 'Legacy Processes')!.parent_id).toBe(SEED_PAGE_IDS.oldWiki);
    expect(await t.gatehouse.stores.connections.findById(row!.id)).toMatchObject({ indexState: 'ready', indexCount: 5, indexError: null });
    const page = await workspacesPage(ada, t.url);
    expect(workspaceRow(page.html, ARCHIVE)).toEqual({ state: 'ready', text: '5 pages indexed', role: 'Owner' });
  });

  it('connecting an already connected workspace again makes no duplicate: one row, its version bumped', async () => {
    const [before] = await connectionRows(adaId, ARCHIVE);
    const { callback } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Archive' });
    expect(callback.status).toBe(303);
    expect(await db().selectFrom('workspaces').select('id').where('name', '=', 'Archive').execute()).toHaveLength(1);
    expect(await t.gatehouse.stores.workspaces.listMembers(ARCHIVE)).toEqual([
      { workspaceId: ARCHIVE, personId: adaId, role: 'owner', status: 'active' },
    ]);
    const rows = await connectionRows(adaId, ARCHIVE);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: before!.id, version: before!.version + 1, status: 'active', bot_id: before!.bot_id });
    expect(rows[0]!.credential_ciphertext).not.toBe(before!.credential_ciphertext);
    expect(await auditOf('upstream_connection.replaced', ARCHIVE)).toEqual([
      expect.objectContaining({
        target: { type: 'upstream_connection', id: before!.id },
        detail: { kind: 'oauth', workspaceCreated: false, role: 'owner' },
      }),
    ]);
    // Every page ticked this time: "Archived Notes" joins the index.
    await t.gatehouse.indexer.idle();
    expect(await t.gatehouse.stores.connections.findById(before!.id)).toMatchObject({ indexState: 'ready', indexCount: 6 });
  });

  it('reconnecting Archive but landing on Side Project is refused with a clear message and changes nothing', async () => {
    const before = await snapshot();
    const { callback, status, html } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Side Project', reconnect: ARCHIVE });
    expect(callback.status).toBe(400);
    expect(status).toBe(400);
    expect(html).toContain('<p class="error" role="alert">You reconnected to a different Notion workspace than the one you chose.');
    expect(await snapshot()).toEqual(before);
  });

  it('reconnecting Acme as another Notion user (Ada signed in to Notion as Ben) is refused and changes nothing', async () => {
    const before = await snapshot();
    const adaElsewhere = new Browser();
    await signIn(adaElsewhere, t.url, ADA.email, ADA.password);
    await t.gatehouse.membership.idle(); // the sync a sign-in starts
    const { callback, html } = await connectNotion(adaElsewhere, t.url, { ...BEN, workspaceName: 'Acme', reconnect: ACME });
    expect(callback.status).toBe(400);
    expect(html).toContain('You are already connected to Acme as another Notion user.');
    expect(await snapshot()).toEqual(before);
  });

  it('a callback that no connect started is refused and stores nothing', async () => {
    const before = await snapshot();
    const response = await ada.request(`${callbackBase()}?code=ncode_forged&state=forged`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('This connection attempt was not started here or was already used.');
    expect(await snapshot()).toEqual(before);
  });

  it('a callback with a wrong or missing state is refused, the code is never redeemed, and the attempt is spent', async () => {
    const before = await snapshot();
    const codes = sandbox().stats().tokenCalls.authorization_code;
    for (const tamper of [(u: URL) => u.searchParams.set('state', 'wrong'), (u: URL) => u.searchParams.delete('state')]) {
      const genuine = await passNotion(ada, t.url, await startConnect(ada, t.url), { ...ADA, workspaceName: 'Archive' });
      const forged = new URL(genuine);
      tamper(forged);
      const refused = await ada.request(forged, { headers: { accept: 'text/html' } });
      expect(refused.status).toBe(400);
      expect(await refused.text()).toContain('This connection attempt was not started here or was already used.');
      // The state was single use: the genuine answer arriving afterwards is refused too.
      expect((await ada.request(genuine)).status).toBe(400);
    }
    expect(sandbox().stats().tokenCalls.authorization_code).toBe(codes);
    expect(await snapshot()).toEqual(before);
  });

  it('a replayed callback is refused and stores nothing more', async () => {
    const { callbackUrl, callback } = await connectNotion(ada, t.url, { ...ADA, workspaceName: 'Archive' });
    expect(callback.status).toBe(303);
    await t.gatehouse.indexer.idle();
    const before = await snapshot();
    const codes = sandbox().stats().tokenCalls.authorization_code;
    const replay = await ada.request(callbackUrl, { headers: { accept: 'text/html' } });
    expect(replay.status).toBe(400);
    const inAnotherSession = await ben.request(callbackUrl, { headers: { accept: 'text/html' } });
    expect(inAnotherSession.status).toBe(400);
    expect(sandbox().stats().tokenCalls.authorization_code).toBe(codes);
    expect(await snapshot()).toEqual(before);
  });

  it("a code that Notion's token endpoint refuses is reported on the page and stores nothing", async () => {
    const before = await snapshot();
    const codes = sandbox().stats().tokenCalls.authorization_code;
    const genuine = new URL(await passNotion(ada, t.url, await startConnect(ada, t.url), { ...ADA, workspaceName: 'Archive' }));
    genuine.searchParams.set('code', `ncode_${randomBytes(32).toString('base64url')}`);
    const refused = await ada.request(genuine, { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Notion did not accept this connection (the code was refused).');
    expect(sandbox().stats().tokenCalls.authorization_code).toBe(codes + 1);
    expect(await snapshot()).toEqual(before);
  });

  it('"Cancel" on Notion\'s page comes back as access_denied and stores nothing', async () => {
    const before = await snapshot();
    const codes = sandbox().stats().tokenCalls.authorization_code;
    const toNotion = await startConnect(ada, t.url);
    const callbackUrl = await passNotion(ada, t.url, toNotion, { ...ADA, workspaceName: 'Archive', decision: 'cancel' });
    expect(new URL(callbackUrl).searchParams.get('error')).toBe('access_denied');
    const response = await ada.request(callbackUrl, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('You cancelled on Notion&#39;s page; nothing was connected.');
    expect(sandbox().stats().tokenCalls.authorization_code).toBe(codes);
    expect(await snapshot()).toEqual(before);
  });

  it('a pasted token that Notion rejects: the form says so (400) and nothing is stored', async () => {
    await t.gatehouse.indexer.idle();
    const before = await snapshot();
    const { csrf } = await workspacesPage(ada, t.url);
    const apiCalls = sandbox().stats().apiCalls;
    const rejected = await postForm(ada, `${t.url}/workspaces/internal-token`, {
      _csrf: csrf,
      token: `ntn_${randomBytes(32).toString('base64url')}`,
    });
    expect(rejected.status).toBe(400);
    const html = await rejected.text();
    expect(html).toContain('<p class="error" role="alert">Notion rejected this token.');
    expect(html).toContain('<h1>Your workspaces</h1>');
    expect(sandbox().stats().apiCalls).toBe(apiCalls + 1); // users.me asked Notion, once
    const malformed = await postForm(ada, `${t.url}/workspaces/internal-token`, { _csrf: csrf, token: 'not a token' });
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toContain('That does not look like a Notion internal integration token');
    expect(sandbox().stats().apiCalls).toBe(apiCalls + 1); // never sent to Notion
    expect(await snapshot()).toEqual(before);
  });

  it('a valid internal integration token pasted by an owner connects', async () => {
    const [before] = await connectionRows(adaId, SIDE_PROJECT);
    expect(before).toMatchObject({ kind: 'oauth' });
    const { token, botId } = await sandbox().createInternalIntegration({
      workspaceName: 'Side Project',
      name: "Ada's wiki bot",
      capabilities: ['read_content', 'read_comments'],
      pageIds: [SEED_PAGE_IDS.sideProjectHome],
    });
    const { csrf } = await workspacesPage(ada, t.url);
    const pasted = await postForm(ada, `${t.url}/workspaces/internal-token`, { _csrf: csrf, token: `  ${token}\n` });
    expect(pasted.status).toBe(303);
    expect(pasted.headers.get('location')).toBe('/workspaces?notice=connected');

    // One connection per person and workspace: hers now holds the internal token.
    const rows = await connectionRows(adaId, SIDE_PROJECT);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: before!.id,
      kind: 'internal',
      bot_id: botId,
      notion_user_id: botId,
      version: before!.version + 1,
      status: 'active',
    });
    expect(rows[0]!.credential_ciphertext).not.toContain(token);
    expect(decryptCredential(t.gatehouse.keyring, rows[0]!.credential_ciphertext!, rows[0]!.id)).toEqual({
      accessToken: token,
      refreshToken: null,
    });
    expect((await t.gatehouse.stores.workspaces.membership(SIDE_PROJECT, adaId))?.role).toBe('owner');
    expect(await auditOf('upstream_connection.replaced', SIDE_PROJECT)).toEqual([
      expect.objectContaining({
        actor: { type: 'person', id: adaId, label: ADA.email },
        target: { type: 'upstream_connection', id: before!.id },
        detail: { kind: 'internal', workspaceCreated: false, role: 'owner' },
      }),
    ]);
    await t.gatehouse.indexer.idle();
    const titles = (
      await db().selectFrom('page_index').select('title').where('connection_id', '=', before!.id).orderBy('title').execute()
    ).map((p) => p.title);
    expect(titles).toEqual(['App Ideas', 'Blog Post Ideas', 'Ideas', 'Reading List', 'Side Project Home', 'Weekend Plans']);
    const page = await workspacesPage(ada, t.url);
    expect(workspaceRow(page.html, SIDE_PROJECT)).toEqual({ state: 'ready', text: '6 pages indexed', role: 'Owner' });
  });

  it('a member (Ben in Acme) pasting a token for Acme is refused 403 and nothing changes', async () => {
    const before = await snapshot();
    const { token } = await sandbox().createInternalIntegration({
      workspaceName: 'Acme',
      name: "Ben's bot",
      capabilities: ['read_content'],
    });
    const { csrf } = await workspacesPage(ben, t.url);
    const refused = await postForm(ben, `${t.url}/workspaces/internal-token`, { _csrf: csrf, token });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('Only owners of Acme can connect it with an internal integration token.');
    expect((await connectionRows(benId, ACME))[0]).toMatchObject({ kind: 'oauth', status: 'active' });
    expect(await snapshot()).toEqual(before);
  });
});
