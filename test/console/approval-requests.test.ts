/**
 * Members ask, owners decide: under "Only from approved list", Ben (a member
 * of Acme) presses "Request approval" on the consent page; Ada (an owner)
 * sees the request on "Connections" and presses "Approve" or "Decline"; Ben
 * reads the answer under "My connections", and once approved his consent
 * proceeds. Repeated presses do not duplicate; refusals change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Browser, csrfTokenOf, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;
const REDIRECT_URI = 'https://zapflow.example/oauth/callback';
const HTML = { accept: 'text/html' };

describe('approval requests: a member asks, an owner decides', () => {
  let t: TestGatehouse;
  let zapflow: RegisteredApp;
  let othertool: RegisteredApp;
  const ada = new Browser();
  const ben = new Browser();
  const db = () => t.gatehouse.database.db;

  const get = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: HTML });
    return { status: response.status, html: decodeHtml(await response.text()), location: response.headers.get('location') };
  };
  const authorize = async (browser: Browser, registered: RegisteredApp) => {
    const query = new URLSearchParams({
      client_id: registered.clientId,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      owner: 'user',
      state: randomBytes(8).toString('hex'),
    });
    const response = await browser.request(`${t.url}/v1/oauth/authorize?${query}`, { headers: HTML });
    expect(response.status).toBe(303);
    return /^\/consent\/([0-9a-f-]{36})$/.exec(response.headers.get('location')!)![1]!;
  };
  const requests = () => db().selectFrom('approval_requests').selectAll().orderBy('requested_at').execute();
  const auditCount = async (action: string) =>
    Number(
      (
        await db()
          .selectFrom('audit_events')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('action', '=', action)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const requestRow = (html: string, app: string) =>
    new RegExp(`<tr data-approval-request-id="([0-9a-f-]{36})">\\s*<th scope="row">${app}</th>`).exec(html)?.[1];

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true });
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow', redirectUris: [REDIRECT_URI] });
    othertool = await registerApp(t.gatehouse, { name: 'Othertool', redirectUris: [REDIRECT_URI] });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    await t.gatehouse.stores.workspaces.setPolicy(ACME, { installPolicy: 'approved_only', autoApproveOrganisation: false });
  });
  afterAll(async () => t?.stop());

  it('offers "Request approval" on the refusal; pressing twice makes one pending request, audited once', async () => {
    const id = await authorize(ben, zapflow);
    const first = await get(ben, `/consent/${id}?workspace=${ACME}`);
    expect(first.status).toBe(200);
    expect(first.html).toContain('data-refusal="policy"');
    expect(first.html).toMatch(/<form method="post" action="\/consent\/[^"]+\/approval-request">/);
    expect(first.html).toContain('<button type="submit">Request approval</button>');
    const csrf = csrfTokenOf(first.html);
    for (let i = 0; i < 2; i++) {
      const posted = await postForm(ben, `${t.url}/consent/${id}/approval-request`, { _csrf: csrf, workspace: ACME });
      expect([posted.status, posted.headers.get('location')]).toEqual([303, `/consent/${id}?workspace=${ACME}`]);
    }
    const rows = await requests();
    expect(rows.map((r) => [r.app_id, r.status])).toEqual([[zapflow.app.id, 'pending']]);
    expect(await auditCount('approval_request.created')).toBe(1);
    const after = await get(ben, `/consent/${id}?workspace=${ACME}`);
    expect(after.html).toContain('data-approval-request="pending"');
    expect(after.html).not.toContain('Request approval</button>');
    expect((await get(ben, '/connections/mine')).html).toContain('Waiting for an owner');
  });

  it('refuses bad requests and changes nothing: no workspace, a workspace he is not in, an unknown transaction', async () => {
    const id = await authorize(ben, zapflow);
    const csrf = csrfTokenOf((await get(ben, `/consent/${id}?workspace=${ACME}`)).html);
    const before = await requests();
    expect((await postForm(ben, `${t.url}/consent/${id}/approval-request`, { _csrf: csrf })).status).toBe(400);
    expect((await postForm(ben, `${t.url}/consent/${id}/approval-request`, { _csrf: csrf, workspace: 'no-such-ws' })).status).toBe(403);
    const unknown = await postForm(ben, `${t.url}/consent/00000000-0000-4000-8000-000000000000/approval-request`, {
      _csrf: csrf,
      workspace: ACME,
    });
    expect(unknown.status).toBeGreaterThanOrEqual(400);
    expect(unknown.status).toBeLessThan(500);
    // An owner needs no approval: nothing to ask for.
    const adaTxn = await authorize(ada, zapflow);
    const adaCsrf = csrfTokenOf((await get(ada, `/consent/${adaTxn}?workspace=${ACME}`)).html);
    expect((await postForm(ada, `${t.url}/consent/${adaTxn}/approval-request`, { _csrf: adaCsrf, workspace: ACME })).status).toBe(403);
    expect(await requests()).toEqual(before);
  });

  it('shows owners the pending request on "Connections"; a member cannot answer it', async () => {
    const page = await get(ada, `/connections?workspace=${ACME}`);
    expect(page.html).toContain('<h3 id="requests-heading">Requests to approve</h3>');
    const requestId = requestRow(page.html, 'Zapflow');
    expect(requestId).toBeDefined();
    expect(page.html).toContain('aria-label="Approve Zapflow for ben@example.com">Approve</button>');
    expect(page.html).toContain('aria-label="Decline Zapflow for ben@example.com">Decline</button>');
    const benCsrf = csrfTokenOf((await get(ben, '/connections/mine')).html);
    const refused = await postForm(ben, `${t.url}/connections/${ACME}/approval-requests/${requestId}/approve`, { _csrf: benCsrf });
    expect(refused.status).toBe(403);
    expect((await requests())[0]!.status).toBe('pending');
    expect(await db().selectFrom('approved_apps').selectAll().execute()).toEqual([]);
  });

  it('"Approve" puts the app on the approved list, audited; the member sees it and his consent proceeds', async () => {
    const page = await get(ada, `/connections?workspace=${ACME}`);
    const requestId = requestRow(page.html, 'Zapflow')!;
    const csrf = csrfTokenOf(page.html);
    const approved = await postForm(ada, `${t.url}/connections/${ACME}/approval-requests/${requestId}/approve`, { _csrf: csrf });
    expect([approved.status, approved.headers.get('location')]).toEqual([303, `/connections?workspace=${ACME}&notice=request_approved`]);
    expect((await get(ada, approved.headers.get('location')!)).html).toContain('Request approved');
    expect((await db().selectFrom('approved_apps').select('app_id').execute()).map((r) => r.app_id)).toEqual([zapflow.app.id]);
    expect(await auditCount('approval_request.approved')).toBe(1);
    // Answered once: a second press says so and changes nothing.
    const again = await postForm(ada, `${t.url}/connections/${ACME}/approval-requests/${requestId}/decline`, { _csrf: csrf });
    expect(again.headers.get('location')).toBe(`/connections?workspace=${ACME}&error=request_answered`);
    expect((await requests())[0]!.status).toBe('approved');

    expect((await get(ben, '/connections/mine')).html).toContain('Approved: you can connect it now');
    const id = await authorize(ben, zapflow);
    const consent = await get(ben, `/consent/${id}?workspace=${ACME}`);
    expect(consent.html).not.toContain('data-refusal="policy"');
    expect(consent.html).toContain('<button type="submit">Select pages</button>');
  });

  it('"Decline" keeps the app off the list; the member sees "Declined" and may ask again', async () => {
    const id = await authorize(ben, othertool);
    const csrf = csrfTokenOf((await get(ben, `/consent/${id}?workspace=${ACME}`)).html);
    expect((await postForm(ben, `${t.url}/consent/${id}/approval-request`, { _csrf: csrf, workspace: ACME })).status).toBe(303);
    const page = await get(ada, `/connections?workspace=${ACME}`);
    const requestId = requestRow(page.html, 'Othertool')!;
    const declined = await postForm(ada, `${t.url}/connections/${ACME}/approval-requests/${requestId}/decline`, {
      _csrf: csrfTokenOf(page.html),
    });
    expect(declined.headers.get('location')).toBe(`/connections?workspace=${ACME}&notice=request_declined`);
    expect(await auditCount('approval_request.declined')).toBe(1);
    expect((await db().selectFrom('approved_apps').select('app_id').execute()).map((r) => r.app_id)).toEqual([zapflow.app.id]);
    const mine = await get(ben, '/connections/mine');
    expect(mine.html).toMatch(/<th scope="row">Othertool<\/th>[\s\S]*?Declined by an owner/);
    const consent = await get(ben, `/consent/${id}?workspace=${ACME}`);
    expect(consent.html).toContain('data-refusal="policy"');
    expect(consent.html).toContain('Request approval</button>');
    // Unknown and malformed request ids name nothing.
    const adaCsrf = csrfTokenOf(page.html);
    expect(
      (
        await postForm(ada, `${t.url}/connections/${ACME}/approval-requests/00000000-0000-4000-8000-000000000000/approve`, {
          _csrf: adaCsrf,
        })
      ).status,
    ).toBe(404);
    expect((await postForm(ada, `${t.url}/connections/${ACME}/approval-requests/not%20an%20id/approve`, { _csrf: adaCsrf })).status).toBe(
      404,
    );
  });

  it('the admin API lists pending requests and answers one, with the same audit; refusals change nothing', async () => {
    const api = (path: string, init: { method?: string; token?: string } = {}) =>
      fetch(`${t.url}/api/admin/v1/workspaces/${ACME}/approval-requests${path}`, {
        method: init.method ?? 'GET',
        headers: { accept: 'application/json', authorization: `Bearer ${init.token ?? t.gatehouse.adminToken}` },
      });
    const thirdtool = await registerApp(t.gatehouse, { name: 'Thirdtool', redirectUris: [REDIRECT_URI] });
    const id = await authorize(ben, thirdtool);
    const csrf = csrfTokenOf((await get(ben, `/consent/${id}?workspace=${ACME}`)).html);
    expect((await postForm(ben, `${t.url}/consent/${id}/approval-request`, { _csrf: csrf, workspace: ACME })).status).toBe(303);

    const listed = await api('');
    expect(listed.status).toBe(200);
    const list = (await listed.json()) as { object: string; total: number; approval_requests: Array<Record<string, unknown>> };
    expect(list.object).toBe('list');
    const pending = list.approval_requests.find((r) => r.app_id === thirdtool.app.id)!;
    expect(pending).toMatchObject({
      object: 'approval_request',
      app_name: 'Thirdtool',
      person_email: 'ben@example.com',
      status: 'pending',
    });
    expect(list.approval_requests.every((r) => r.status === 'pending')).toBe(true);

    const before = await requests();
    for (const bad of ['?limit=0', '?limit=abc', '?offset=-1', '?colour=red']) {
      const refused = await api(bad);
      expect([bad, refused.status]).toEqual([bad, 400]);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    }
    expect((await api('/00000000-0000-4000-8000-000000000000/approve', { method: 'POST' })).status).toBe(404);
    expect((await api(`/${pending.id as string}/approve`, { method: 'GET' })).status).toBeGreaterThanOrEqual(400);
    expect(await requests()).toEqual(before);

    const approvedBefore = await auditCount('approval_request.approved');
    const answered = await api(`/${pending.id as string}/approve`, { method: 'POST' });
    expect(answered.status).toBe(200);
    expect(await answered.json()).toEqual({ object: 'approval_request', id: pending.id, status: 'approved' });
    expect(await auditCount('approval_request.approved')).toBe(approvedBefore + 1);
    expect((await db().selectFrom('approved_apps').select('app_id').execute()).map((r) => r.app_id)).toContain(thirdtool.app.id);
    // The first answer stands.
    const again = await api(`/${pending.id as string}/decline`, { method: 'POST' });
    expect(again.status).toBe(409);
    expect((await requests()).find((r) => r.id === pending.id)!.status).toBe('approved');
  });
});
