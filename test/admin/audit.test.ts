/**
 * The audit log: who may read it and what they see (an
 * owner only their workspaces' events, never another workspace's nor
 * events without a workspace; an organisation admin everything), the
 * filters (time, actor, partner, action, workspace), the JSON export from the
 * page, the API and the command line. Opened by the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { createOutsider, csrfOf, signInAs } from '../support/admin-actors.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { postForm } from '../support/notion-connect.js';
import { runCli } from '../../src/cli/gatehouse.js';
import type { Person } from '../../src/store/people.js';

interface WireEvent {
  id: string;
  action: string;
  occurred_at: string;
  actor: { type: string; id: string | null; label: string | null };
  target: { type: string; id: string } | null;
  workspace_id: string | null;
  address: string | null;
  outcome: string;
  detail: Record<string, unknown>;
}

describe('audit log: scoped to the reader, filtered, exported', () => {
  let t: TestGatehouse;
  const ada = new Browser();
  const ben = new Browser();
  let cyBrowser: Browser;
  let olgaBrowser: Browser;
  let cy: Person;
  let olga: Person;
  let adaPerson: Person;
  let tokens: Record<'ada' | 'ben' | 'cy' | 'olga', string>;
  let acmeId: string;
  let sideId: string;
  let partner: RegisteredApp;

  const api = async (path: string, token: string | null) =>
    fetch(`${t.url}/api/admin/v1${path}`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), accept: 'application/json' },
    });
  const events = async (query: string, token: string): Promise<WireEvent[]> => {
    const response = await api(`/audit${query}`, token);
    expect(response.status).toBe(200);
    return ((await response.json()) as { events: WireEvent[] }).events;
  };
  const count = async () =>
    Number(
      (
        await t.gatehouse.database.db
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const adminTokenFor = async (browser: Browser) => {
    const created = await postForm(browser, `${t.url}/admin/tokens`, { _csrf: await csrfOf(browser, t.url), label: 'audit tests' });
    return /value="(gh_admin_[^"]+)" data-admin-token/.exec(await created.text())![1]!;
  };

  beforeAll(async () => {
    t = await startTestGatehouse({ env: { GATEHOUSE_ADMIN_EMAILS: 'olga@example.com' } });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    cy = await createOutsider(t, { email: 'cy@example.com', name: 'Cy Outsider', workspace: { id: 'ws-elsewhere', name: 'Elsewhere' } });
    olga = await createOutsider(t, { email: 'olga@example.com', name: 'Olga Admin' });
    cyBrowser = await signInAs(t, cy);
    olgaBrowser = await signInAs(t, olga);
    tokens = {
      ada: await adminTokenFor(ada),
      ben: await adminTokenFor(ben),
      cy: await adminTokenFor(cyBrowser),
      olga: await adminTokenFor(olgaBrowser),
    };
    const workspaces = await t.gatehouse.stores.workspaces.listAll();
    acmeId = workspaces.find((w) => w.name === 'Acme')!.id;
    sideId = workspaces.find((w) => w.name === 'Side Project')!.id;
    [adaPerson] = (await t.gatehouse.stores.people.findByEmail('ada@example.com')) as [Person];
    partner = await registerApp(t.gatehouse, { name: 'Audited partner' });
    const record = (at: string, event: Parameters<typeof t.gatehouse.stores.audit.record>[0]) =>
      t.gatehouse.stores.audit.record(event, new Date(at));
    await record('2030-01-01T10:00:00Z', {
      action: 'grant.created',
      actor: { type: 'person', id: adaPerson.id, label: 'ada@example.com' },
      target: { type: 'grant', id: 'g-acme' },
      workspaceId: acmeId,
      address: '203.0.113.7',
      outcome: 'success',
      detail: { appId: partner.app.id },
    });
    await record('2030-01-02T10:00:00Z', {
      action: 'grant.revoked',
      actor: { type: 'person', id: adaPerson.id, label: 'ada@example.com' },
      target: { type: 'grant', id: 'g-acme' },
      workspaceId: acmeId,
      address: '203.0.113.7',
      outcome: 'success',
      detail: { appId: partner.app.id },
    });
    await record('2030-01-03T10:00:00Z', {
      action: 'token.revoked',
      actor: { type: 'partner', id: partner.app.id, label: 'Audited partner' },
      target: { type: 'grant', id: 'g-side' },
      workspaceId: sideId,
      address: '198.51.100.1',
      outcome: 'success',
    });
    await record('2030-01-04T10:00:00Z', {
      action: 'grant.created',
      actor: { type: 'person', id: cy.id, label: 'cy@example.com' },
      target: { type: 'grant', id: 'g-elsewhere' },
      workspaceId: 'ws-elsewhere',
      address: '192.0.2.1',
      outcome: 'failure',
      detail: { appId: partner.app.id },
    });
    await record('2030-01-05T10:00:00Z', {
      action: 'partner_app.secret_rotated',
      actor: { type: 'admin_token', id: null, label: 'bootstrap admin token' },
      target: { type: 'partner_app', id: partner.app.id },
      address: '127.0.0.1',
      outcome: 'success',
    });
  });
  afterAll(async () => t.stop());

  it('rejects unauthenticated callers: 401 from the API, sign-in for the page and the export', async () => {
    expect((await api('/audit', null)).status).toBe(401);
    expect((await api('/audit', 'gh_admin_not-a-real-token-at-all')).status).toBe(401);
    for (const path of ['/admin/audit', '/admin/audit/export']) {
      const response = await fetch(`${t.url}${path}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toMatch(/^\/auth\/sign-in\?return_to=/);
    }
  });

  it('refuses a member who owns no workspace (Ben): 403 on the page, the export and the API', async () => {
    const before = await count();
    expect((await ben.request(`${t.url}/admin/audit`, { headers: { accept: 'text/html' } })).status).toBe(403);
    expect((await ben.request(`${t.url}/admin/audit/export`, { headers: { accept: 'application/json' } })).status).toBe(403);
    expect((await api('/audit', tokens.ben)).status).toBe(403);
    expect(await count()).toBe(before);
  });

  it("shows an owner only the events of the workspaces they own: never another workspace's, never events without one", async () => {
    const seen = await events('?limit=1000', tokens.ada);
    expect(seen.length).toBeGreaterThan(3);
    expect(new Set(seen.map((e) => e.workspace_id))).toEqual(new Set([acmeId, sideId]));
    expect(seen.some((e) => e.target?.id === 'g-elsewhere')).toBe(false);
    expect(seen.some((e) => e.action === 'partner_app.secret_rotated')).toBe(false);
    const cySees = await events('?limit=1000', tokens.cy);
    expect(cySees.map((e) => e.target?.id)).toEqual(['g-elsewhere']);
    // Naming another owner's workspace is a 404, not an empty answer.
    expect((await api(`/audit?workspace=${acmeId}`, tokens.cy)).status).toBe(404);
    expect((await api('/audit?workspace=ws-elsewhere', tokens.ada)).status).toBe(404);
  });

  it('shows an organisation admin everything, events without a workspace included', async () => {
    const seen = await events('?limit=1000', tokens.olga);
    expect(seen.map((e) => e.target?.id)).toEqual(expect.arrayContaining(['g-acme', 'g-side', 'g-elsewhere', partner.app.id]));
    expect(seen.some((e) => e.workspace_id === null)).toBe(true);
  });

  it('each event carries actor, target, time, address and outcome', async () => {
    const [event] = await events('?action=grant.revoked', tokens.ada);
    expect(event).toEqual({
      id: expect.stringMatching(/^\d+$/),
      action: 'grant.revoked',
      occurred_at: '2030-01-02T10:00:00.000Z',
      actor: { type: 'person', id: adaPerson.id, label: 'ada@example.com' },
      target: { type: 'grant', id: 'g-acme' },
      workspace_id: acmeId,
      address: '203.0.113.7',
      outcome: 'success',
      detail: { appId: partner.app.id },
    });
  });

  it('filters by time, actor, partner, action and workspace, alone and together', async () => {
    const ids = (list: WireEvent[]) => list.map((e) => e.target?.id ?? null);
    expect(ids(await events('?since=2030-01-02T00:00:00Z&until=2030-01-05T00:00:00Z', tokens.olga))).toEqual([
      'g-elsewhere',
      'g-side',
      'g-acme',
    ]);
    expect(ids(await events('?since=2030-01-01T00:00:00Z&actor=ada@example.com', tokens.olga))).toEqual(['g-acme', 'g-acme']);
    expect(ids(await events(`?since=2030-01-01T00:00:00Z&actor=${cy.id}`, tokens.olga))).toEqual(['g-elsewhere']);
    // A partner: events by it, about it, or naming it; by app id or by client id.
    expect(ids(await events(`?partner=${partner.app.id}`, tokens.olga))).toEqual([
      partner.app.id,
      'g-elsewhere',
      'g-side',
      'g-acme',
      'g-acme',
    ]);
    expect(ids(await events(`?partner=${partner.clientId}`, tokens.ada))).toEqual(['g-side', 'g-acme', 'g-acme']);
    expect(ids(await events('?partner=no-such-partner', tokens.olga))).toEqual([]);
    expect(ids(await events('?action=grant.created&since=2030-01-01T00:00:00Z', tokens.olga))).toEqual(['g-elsewhere', 'g-acme']);
    expect(ids(await events(`?action=grant.created&since=2030-01-01T00:00:00Z&workspace=${acmeId}`, tokens.olga))).toEqual(['g-acme']);
    expect(ids(await events(`?workspace=${sideId}&since=2030-01-01T00:00:00Z`, tokens.ada))).toEqual(['g-side']);
  });

  it('refuses malformed filters with 400', async () => {
    expect((await api('/audit?since=yesterday', tokens.olga)).status).toBe(400);
    expect((await api('/audit?limit=100000', tokens.olga)).status).toBe(400);
    expect((await api('/audit?colour=blue', tokens.olga)).status).toBe(400);
  });

  it('the page shows the events with its filters; "Export JSON" downloads the same events', async () => {
    const pageResponse = await ada.request(`${t.url}/admin/audit?action=grant.revoked`, { headers: { accept: 'text/html' } });
    expect(pageResponse.status).toBe(200);
    const html = await pageResponse.text();
    expect(html).toContain('<label for="audit-action">Action');
    expect(html).toMatch(
      /<td>2030-01-02T10:00:00.000Z<\/td><th scope="row">grant.revoked<\/th><td>ada@example.com <small>\(person\)<\/small><\/td><td>grant g-acme<\/td><td>Acme<\/td><td>203.0.113.7<\/td><td>success<\/td>/,
    );
    expect(html).toContain('href="/admin/audit/export?action=grant.revoked"');
    const exported = await ada.request(`${t.url}/admin/audit/export?action=grant.revoked`, { headers: { accept: 'application/json' } });
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="gatehouse-audit-\d{4}-\d{2}-\d{2}\.json"$/);
    const body = (await exported.json()) as { events: WireEvent[] };
    expect(body.events).toEqual(await events('?action=grant.revoked', tokens.ada));
    // Cy's page never shows Acme.
    const cyPage = await (await cyBrowser.request(`${t.url}/admin/audit`, { headers: { accept: 'text/html' } })).text();
    expect(cyPage).not.toContain('g-acme');
    expect(cyPage).toContain('g-elsewhere');
  });

  it('`gatehouse audit export` prints the same events as one JSON object', async () => {
    const env = { GATEHOUSE_URL: t.url, GATEHOUSE_ADMIN_TOKEN: tokens.olga, GATEHOUSE_DATA_DIR: t.dataDir };
    const result = (await runCli(
      ['audit', 'export', '--since', '2030-01-01T00:00:00Z', '--action', 'grant.created', '--workspace', acmeId],
      env,
    )) as { events: WireEvent[] };
    expect(result.events.map((e) => e.target?.id)).toEqual(['g-acme']);
    await expect(runCli(['audit', 'export', '--since', 'not-a-date'], env)).rejects.toThrow('--since must be an ISO 8601 date and time');
    const asAda = (await runCli(['audit', 'export', '--since', '2030-01-01T00:00:00Z'], { ...env, GATEHOUSE_ADMIN_TOKEN: tokens.ada })) as {
      events: WireEvent[];
    };
    expect(asAda.events.map((e) => e.target?.id)).toEqual(['g-side', 'g-acme', 'g-acme']);
  });

  it('token and secret reads are audit events too: an internal integration token read shows up for its owner', async () => {
    const created = await fetch(`${t.url}/api/admin/v1/integrations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ada}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Audit probe', workspace_id: acmeId, capabilities: ['read_content'] }),
    });
    const { id } = (await created.json()) as { id: string };
    await fetch(`${t.url}/api/admin/v1/integrations/${id}/token`, { method: 'POST', headers: { authorization: `Bearer ${tokens.ada}` } });
    const reads = await events(`?action=internal_integration.token_read&partner=${id}`, tokens.ada);
    expect(reads).toEqual([
      expect.objectContaining({
        actor: { type: 'admin_token', id: adaPerson.id, label: 'admin token of ada@example.com' },
        target: { type: 'partner_app', id },
        workspace_id: acmeId,
        outcome: 'success',
      }),
    ]);
    expect(await events('?action=internal_integration.token_read', tokens.cy)).toEqual([]);
  });

  it('personal admin tokens: shown once, stored as a hash, listed without it, and dead once revoked (audited)', async () => {
    const { hashToken } = await import('../../src/crypto/tokens.js');
    const rows = await t.gatehouse.database.db.selectFrom('admin_tokens').selectAll().where('person_id', '=', adaPerson.id).execute();
    expect(rows.map((r) => r.token_hash)).toContain(hashToken(tokens.ada));
    expect(JSON.stringify(rows)).not.toContain(tokens.ada);
    const listed = (await (await api('/admin-tokens', tokens.ada)).json()) as { admin_tokens: Array<{ id: string; label: string }> };
    expect(JSON.stringify(listed)).not.toContain(tokens.ada);
    const mine = rows.find((r) => r.token_hash === hashToken(tokens.ada))!;
    const revoked = await fetch(`${t.url}/api/admin/v1/admin-tokens/${mine.id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.ada}` },
    });
    expect(revoked.status).toBe(200);
    expect((await api('/audit', tokens.ada)).status).toBe(401);
    const audit = await t.gatehouse.database.db
      .selectFrom('audit_events')
      .select(['action', 'target_id'])
      .where('action', 'like', 'admin_token.%')
      .where('target_id', '=', mine.id)
      .orderBy('id')
      .execute();
    expect(audit.map((a) => a.action)).toEqual(['admin_token.created', 'admin_token.revoked']);
  });
});
