/**
 * The console at scale: "Connections", "Approved connections", "View users
 * with access" and the audit log over many rows seeded through the stores.
 * Each list pages in SQL and searches without case; the links are plain
 * GET links that keep the search (and the other lists' place) across
 * pages; the audit log filters by person, action and time range, pages with
 * "Older events", and its export takes the same filters.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml } from '../support/notion-connect.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

const ACME = SEED_WORKSPACE_IDS.acme;
const pad = (n: number) => String(n).padStart(3, '0');

describe('console lists at scale: paging and search', () => {
  let t: TestGatehouse;
  let crowd: RegisteredApp;
  const ada = new Browser();
  const base = new Date('2026-01-01T00:00:00Z');

  const get = async (path: string) => {
    const response = await ada.request(`${t.url}${path}`, { headers: { accept: 'text/html' } });
    return { status: response.status, html: decodeHtml(await response.text()) };
  };
  const appRows = (html: string) => [...html.matchAll(/<tr data-app-id="[^"]+">\s*<th scope="row">\s*([^<\n]+)/g)].map((m) => m[1]!.trim());
  const approvedRows = (html: string) =>
    [...html.matchAll(/<tr data-approved-app-id="[^"]+">\s*<th scope="row">([^<]+)/g)].map((m) => m[1]!);
  const userRows = (html: string) => [...html.matchAll(/<tr>\s*<th scope="row">([^<]+@[^<]+)<\/th>/g)].map((m) => m[1]!);
  const link = (html: string, rel: 'next' | 'prev', label: string) => {
    const nav = new RegExp(`<nav aria-label="${label}" class="pager">([\\s\\S]*?)</nav>`).exec(html)?.[1] ?? '';
    return new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(nav)?.[1];
  };

  beforeAll(async () => {
    t = await startTestGatehouse({ database: 'postgres', redis: true });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    const { stores } = t.gatehouse;
    const adaId = (await stores.people.findByEmail('ada@example.com'))[0]!.id;
    const connection = (await stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    let seq = 0;
    const grant = (personId: string, appId: string) =>
      stores.grants.upsert(
        { personId, appId, workspaceId: ACME, upstreamConnectionId: connection.id, capabilities: ['read_content'], pageIds: [] },
        new Date(base.getTime() + ++seq * 1000),
      );
    // 60 apps Ada installed, 40 of them approved.
    for (let i = 1; i <= 60; i++) {
      const app = await registerApp(t.gatehouse, { name: `App ${pad(i)}` });
      await grant(adaId, app.app.id);
      if (i <= 40) await stores.grants.approve(ACME, app.app.id, adaId, base);
    }
    // One app 70 people use.
    crowd = await registerApp(t.gatehouse, { name: 'Crowd' });
    for (let i = 0; i < 70; i++) {
      const person = await stores.people.upsertFromSignIn(
        {
          issuer: 'https://seed.example',
          subject: `s${i}`,
          email: `person-${String(i).padStart(2, '0')}@example.com`,
          emailVerified: true,
          name: `Person ${i}`,
        },
        base,
      );
      await grant(person.id, crowd.app.id);
    }
    // 120 policy changes by Ada, a minute apart, and 30 by the system.
    for (let i = 0; i < 150; i++) {
      await stores.audit.record(
        {
          action: i < 120 ? 'workspace.policy_changed' : 'workspace_member.left',
          actor: i < 120 ? { type: 'person', id: adaId, label: 'ada@example.com' } : { type: 'system', id: null, label: null },
          target: i < 120 ? { type: 'workspace', id: ACME } : { type: 'person', id: adaId },
          workspaceId: ACME,
          address: null,
          outcome: 'success',
        },
        new Date(base.getTime() + i * 60_000),
      );
    }
  });
  afterAll(async () => t?.stop());

  it('"Connections" pages by name, 25 a page, with Previous and Next links that work without JavaScript', async () => {
    const first = await get(`/connections?workspace=${ACME}`);
    expect(first.status).toBe(200);
    expect(appRows(first.html)).toEqual([...Array.from({ length: 25 }, (_, i) => `App ${pad(i + 1)}`)]);
    expect(first.html).toContain('Page 1 of 3 (61)');
    expect(first.html).toContain('<label for="connections-search" class="inline-label">Search connections</label>');
    const next = link(first.html, 'next', 'Pages of connections')!;
    expect(next).toBe(`/connections?workspace=${ACME}&page=2`);
    const second = await get(next);
    expect(appRows(second.html)[0]).toBe('App 026');
    expect(link(second.html, 'prev', 'Pages of connections')).toBe(`/connections?workspace=${ACME}`);
    const third = await get(link(second.html, 'next', 'Pages of connections')!);
    expect(appRows(third.html)).toEqual([...Array.from({ length: 10 }, (_, i) => `App ${pad(i + 51)}`), 'Crowd']);
    expect(link(third.html, 'next', 'Pages of connections')).toBeUndefined();
    // Crowd's 70 installers: the first 10 named, the rest counted (all of them under "View users with access").
    expect(third.html).toContain('<li>and 60 more</li>');
  });

  it('searches connections without case, keeping the search across pages; % and _ match themselves', async () => {
    const found = await get(`/connections?workspace=${ACME}&q=APP%2005`);
    expect(appRows(found.html)).toEqual(Array.from({ length: 10 }, (_, i) => `App ${pad(i + 50)}`));
    expect(found.html).toContain('value="APP 05"');
    const wide = await get(`/connections?workspace=${ACME}&q=app%200`);
    expect(wide.html).toContain('Page 1 of 3 (60)');
    const next = link(wide.html, 'next', 'Pages of connections')!;
    expect(next).toBe(`/connections?workspace=${ACME}&q=app+0&page=2`);
    expect(appRows((await get(next)).html)[0]).toBe('App 026');
    // The search form keeps the workspace as a hidden field.
    expect(found.html).toMatch(
      /<form method="get" action="\/connections" role="search" class="list-search" aria-label="Connections search">\s*<input type="hidden" name="workspace" value="[^"]+">/,
    );
    for (const q of ['%25', '_', '%5C']) {
      const none = await get(`/connections?workspace=${ACME}&q=${q}`);
      expect(appRows(none.html)).toEqual([]);
      expect(none.html).toContain('No connection matches this search.');
    }
  });

  it('"Approved connections" pages and searches on its own, leaving the connections list where it was', async () => {
    const page = await get(`/connections?workspace=${ACME}&page=2`);
    expect(approvedRows(page.html)).toEqual(Array.from({ length: 25 }, (_, i) => `App ${pad(i + 1)}`));
    expect(page.html).toContain('Page 1 of 2 (40)');
    const next = link(page.html, 'next', 'Pages of approved connections')!;
    expect(next).toBe(`/connections?workspace=${ACME}&page=2&approved_page=2`);
    const both = await get(next);
    expect(appRows(both.html)[0]).toBe('App 026');
    expect(approvedRows(both.html)).toEqual(Array.from({ length: 15 }, (_, i) => `App ${pad(i + 26)}`));
    const searched = await get(`/connections?workspace=${ACME}&approved_q=app%2003`);
    expect(approvedRows(searched.html)).toEqual(Array.from({ length: 10 }, (_, i) => `App ${pad(i + 30)}`));
    expect(appRows(searched.html)).toHaveLength(25);
  });

  it('"View users with access" pages and searches by email or name', async () => {
    const path = `/connections/${ACME}/apps/${crowd.app.id}`;
    const first = await get(path);
    expect(first.status).toBe(200);
    expect(userRows(first.html)).toHaveLength(25);
    expect(first.html).toContain('Page 1 of 3 (70)');
    const third = await get(
      link((await get(link(first.html, 'next', 'Pages of users with access')!)).html, 'next', 'Pages of users with access')!,
    );
    expect(userRows(third.html)).toHaveLength(20);
    expect(userRows((await get(`${path}?q=PERSON-1`)).html)).toEqual(Array.from({ length: 10 }, (_, i) => `person-1${i}@example.com`));
    expect(userRows((await get(`${path}?q=Person%2042`)).html)).toEqual(['person-42@example.com']);
    expect((await get(`${path}?q=nobody-here`)).html).toContain('Nobody with access matches this search.');
  });

  it('a page number out of shape or range shows a list, never an error', async () => {
    for (const q of [
      'page=abc',
      'page=-1',
      'page=0',
      'page=99999',
      'page=1&page=2',
      'approved_page=1e9',
      'requests_page=x',
      `q=${'x'.repeat(500)}`,
    ]) {
      const response = await get(`/connections?workspace=${ACME}&${q}`);
      expect([q, response.status]).toEqual([q, 200]);
    }
    expect(appRows((await get(`/connections?workspace=${ACME}&page=99999`)).html)).toEqual([]);
  });

  it('the audit log filters by person, action and time range, pages with "Older events", and exports the same filters', async () => {
    const filter = `actor=ada%40example.com&action=workspace.policy_changed`;
    const first = await get(`/admin/audit?${filter}`);
    expect(first.status).toBe(200);
    const rows = (html: string) => [...html.matchAll(/<td>workspace\.policy_changed<\/td>|>workspace\.policy_changed</g)].length;
    expect(rows(first.html)).toBeGreaterThanOrEqual(100);
    const older = /<a href="([^"]+)">Older events<\/a>/.exec(first.html)![1]!;
    expect(older).toContain('actor=ada%40example.com');
    expect(older).toContain('action=workspace.policy_changed');
    expect(older).toContain('before=');
    const rest = await get(older);
    expect(rest.html).not.toContain('Older events');

    const exported = await ada.request(`${t.url}/admin/audit/export?${filter}`);
    const body = (await exported.json()) as { events: Array<{ action: string; occurred_at: string }> };
    expect(body.events).toHaveLength(120);
    expect(new Set(body.events.map((e) => e.action))).toEqual(new Set(['workspace.policy_changed']));
    const since = new Date(base.getTime() + 10 * 60_000).toISOString();
    const until = new Date(base.getTime() + 20 * 60_000).toISOString();
    const ranged = await ada.request(`${t.url}/admin/audit/export?${filter}&since=${since}&until=${until}`);
    expect(((await ranged.json()) as { events: unknown[] }).events).toHaveLength(10);
    const system = await ada.request(`${t.url}/admin/audit/export?action=workspace_member.left`);
    expect(((await system.json()) as { events: unknown[] }).events).toHaveLength(30);
  });
});
