/**
 * The consent screen through the real routes: GET /v1/oauth/authorize opens
 * a transaction, then /consent/:id (who asks, for what, which workspace),
 * /consent/:id/pages (the picker) and the posts behind "Allow access" and
 * "Cancel". Each refusal asserts the page (4xx, no redirect) AND that nothing
 * was issued: no grant row, no code row. Opened by the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, passNotion, postForm } from '../support/notion-connect.js';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { seedPageId, SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';

const ADA = { email: 'ada@example.com', password: 'ada-demo' };
const BEN = { email: 'ben@example.com', password: 'ben-demo' };
const ACME = SEED_WORKSPACE_IDS.acme;
const SIDE_PROJECT = SEED_WORKSPACE_IDS.sideProject;
const REDIRECT_URI = 'https://zapflow.example/oauth/callback';
const HTML = { accept: 'text/html' };

interface Checkbox {
  id: string;
  title: string;
  checked: boolean;
}

function checkboxesOf(html: string): Checkbox[] {
  return [
    ...html.matchAll(/<input type="checkbox" id="page-([^"]+)" name="pages" value="\1"( checked)?> <label for="page-\1">([^<]*)<\/label>/g),
  ].map(([, id, checked, title]) => ({ id: id!, title: decodeHtml(title!), checked: checked !== undefined }));
}

/** The picker's one form: its hidden fields (repeated names kept), to post back as the browser would. */
function pickerForm(html: string): { action: string; fields: Array<[string, string]> } {
  const form = /<form method="post" action="([^"]+\/pages)">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error('no picker form');
  const fields = [...form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(
    ([, n, v]) => [n!, decodeHtml(v!)] as [string, string],
  );
  return { action: decodeHtml(form[1]!), fields };
}

function hiddenOf(fields: Array<[string, string]>, name: string): string[] {
  return fields.filter(([n]) => n === name).map(([, v]) => v);
}

describe('the consent screen', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let app: PartnerApp;
  let adaId: string;
  let benId: string;
  const ada = new Browser();
  const ben = new Browser();

  const db = () => t.gatehouse.database.db;
  const grantRows = () => db().selectFrom('grants').selectAll().where('app_id', '=', app.id).orderBy('created_at').execute();
  const codeRows = () => db().selectFrom('authorization_codes').selectAll().where('app_id', '=', app.id).execute();
  /** What consenting may change: to show that a refusal changed none of it. */
  const snapshot = async () => ({ grants: await grantRows(), codes: await codeRows() });

  /** The partner's "Connect Notion" button: GET /v1/oauth/authorize, answered by a redirect to the consent screen. */
  const authorize = async (browser: Browser, extra: Record<string, string> = {}) => {
    const state = randomBytes(12).toString('base64url');
    const query = new URLSearchParams({
      client_id: app.clientId!,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      owner: 'user',
      state,
      ...extra,
    });
    const response = await browser.request(`${t.url}/v1/oauth/authorize?${query}`, { headers: HTML });
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    const id = /^\/consent\/([0-9a-f-]{36})$/.exec(location)?.[1];
    if (!id) throw new Error(`authorize led to ${location}`);
    return { id, state };
  };

  const page = async (browser: Browser, path: string) => {
    const response = await browser.request(`${t.url}${path}`, { headers: HTML });
    return { response, status: response.status, html: await response.text() };
  };

  /** Ticks the pages with these titles on the picker and posts the form with the given action. */
  const postPicker = async (
    browser: Browser,
    html: string,
    args: { tick?: string[]; untick?: string[]; action: string; q?: string; override?: Record<string, string | string[]> },
  ) => {
    const { action, fields } = pickerForm(html);
    const boxes = checkboxesOf(html);
    const ticked = new Set(boxes.filter((b) => b.checked).map((b) => b.title));
    for (const title of args.tick ?? []) {
      if (!boxes.some((b) => b.title === title)) throw new Error(`no checkbox labelled "${title}"`);
      ticked.add(title);
    }
    for (const title of args.untick ?? []) ticked.delete(title);
    const body: Record<string, string | string[]> = {};
    for (const [name, value] of fields) body[name] = name in body ? [...[body[name]!].flat(), value] : value;
    body.pages = boxes.filter((b) => ticked.has(b.title)).map((b) => b.id);
    body.q = args.q ?? '';
    body.action = args.action;
    Object.assign(body, args.override ?? {});
    return postForm(browser, new URL(action, t.url).href, body);
  };

  const picker = (id: string, workspace: string, query = '') => page(ada, `/consent/${id}/pages?workspace=${workspace}${query}`);

  beforeAll(async () => {
    t = await startTestGatehouse({ clock });
    await signIn(ada, t.url, ADA.email, ADA.password);
    await signIn(ben, t.url, BEN.email, BEN.password);
    adaId = (await t.gatehouse.stores.people.findByEmail(ADA.email))[0]!.id;
    benId = (await t.gatehouse.stores.people.findByEmail(BEN.email))[0]!.id;
    app = await t.gatehouse.stores.partnerApps.create(
      {
        clientId: `zapflow-${randomBytes(8).toString('base64url')}`,
        clientSecretHash: hashToken('not used here'),
        name: 'Zapflow <Automations>',
        website: 'https://zapflow.example/about',
        supportContact: null,
        logo: { contentType: 'image/png', bytes: Buffer.from('89504e47', 'hex') },
        redirectUris: [REDIRECT_URI],
        capabilities: ['read_content', 'insert_content', 'user_info_with_email'],
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      clock.now(),
    );
    await t.gatehouse.indexer.idle();
    await t.gatehouse.membership.idle();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('rejects unauthenticated callers: sign-in first for pages, 403 for posts, nothing issued', async () => {
    const { id } = await authorize(ada);
    const before = await snapshot();
    const stranger = new Browser();
    const shown = await stranger.request(`${t.url}/consent/${id}`, { headers: HTML });
    expect(shown.status).toBe(303);
    expect(shown.headers.get('location')).toBe(`/auth/sign-in?return_to=${encodeURIComponent(`/consent/${id}`)}`);
    for (const path of [`/consent/${id}/pages`, `/consent/${id}/allow`, `/consent/${id}/cancel`]) {
      const response = await postForm(stranger, `${t.url}${path}`, { workspace: ACME, pages: SEED_PAGE_IDS.engineering, action: 'allow' });
      expect([path, response.status]).toEqual([path, 403]);
      expect(response.headers.get('location')).toBeNull();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('shows who asks and for what, in the fixed words, with the "Workspace" select of the person\'s workspaces', async () => {
    const { id } = await authorize(ada);
    const { response, status, html } = await page(ada, `/consent/${id}`);
    expect(status).toBe(200);
    expect(html).toContain('<h1>Zapflow &lt;Automations&gt; wants to access your workspace</h1>');
    expect(html).toContain(`<img class="app-logo" src="/apps/${app.id}/logo" alt="Zapflow &lt;Automations&gt; logo"`);
    expect(html).toContain('<a href="https://zapflow.example/about" rel="noopener noreferrer">zapflow.example</a>');
    const lines = [...html.matchAll(/<li data-capability="([^"]+)">([^<]*)<\/li>/g)].map(([, , label]) => label);
    expect(lines).toEqual(['Read content', 'Insert content', 'Read user information including email addresses']);
    expect(html).toContain('<label for="workspace">Workspace</label>');
    const options = [...html.matchAll(/<option value="([^"]+)"( selected)?>([^<]*)<\/option>/g)].map(([, value, selected, name]) => ({
      value,
      selected: !!selected,
      name,
    }));
    expect(options).toEqual([
      { value: ACME, selected: true, name: 'Acme' },
      { value: SIDE_PROJECT, selected: false, name: 'Side Project' },
    ]);
    expect(html).toContain(`<form method="get" action="/consent/${id}/pages">`);
    expect(html).toContain('<button type="submit">Select pages</button>');
    expect(html).toContain('<button type="submit">Cancel</button>');
    // A focused page: the person's name and "Sign out", no console navigation.
    expect(html).toContain('<button type="submit">Sign out</button>');
    expect(html).not.toContain('<nav');
    expect(html).not.toContain('>My connections</a>');
    // No grant yet: "Allow access" waits for the picker.
    expect(html).not.toContain('Allow access</button>');
    expect(html).not.toContain('Connect your Notion account');
    // The page's forms may lead to the partner's redirect URI, and to nowhere else new.
    const csp = response.headers.get('content-security-policy')!;
    const formAction = csp
      .split(';')
      .map((d) => d.trim())
      .find((d) => d.startsWith('form-action'))!;
    expect(formAction.split(/\s+/)).toContain('https://zapflow.example');
    expect(formAction).not.toContain('zapflow.example/oauth');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    // ?workspace preselects another of the person's workspaces.
    const side = await page(ada, `/consent/${id}?workspace=${SIDE_PROJECT}`);
    expect(side.html).toMatch(new RegExp(`<option value="${SIDE_PROJECT}" selected>Side Project</option>`));
  });

  it("the picker lists the person's own pages, children under their parents, and searches on the server", async () => {
    const { id } = await authorize(ada);
    const { status, html, response } = await picker(id, ACME);
    expect(status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain('https://zapflow.example');
    const boxes = checkboxesOf(html);
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, ACME))!;
    expect(boxes).toHaveLength(await t.gatehouse.stores.pageIndex.count(connection.id));
    expect(boxes.map((b) => b.title)).toEqual(expect.arrayContaining(['Company Home', 'Engineering', 'Architecture', 'Roadmap 2026']));
    expect(boxes.every((b) => !b.checked)).toBe(true);
    // Architecture is listed inside Engineering's item, in a nested list.
    const engineering = html.indexOf(`<label for="page-${SEED_PAGE_IDS.engineering}">Engineering</label>`);
    const architecture = html.indexOf(`<label for="page-${SEED_PAGE_IDS.architecture}">Architecture</label>`);
    expect(engineering).toBeGreaterThan(0);
    expect(html.slice(engineering, architecture)).toMatch(/<ul class="tree">/);
    expect(html.slice(engineering, architecture)).not.toContain('</li>');
    expect(html).toContain('Ticking a page also shares every page inside it.');
    expect(html).toContain('<label for="page-search">Search pages</label>');
    expect(html).toContain('<button type="submit" name="action" value="search">Search</button>');
    expect(html).toContain('<button type="submit" name="action" value="allow">Allow access</button>');
    // The asked capabilities travel as hidden fields; the page ids shown, so that unticking counts.
    const { fields } = pickerForm(html);
    expect(hiddenOf(fields, 'capabilities')).toEqual(['read_content', 'insert_content', 'user_info_with_email']);
    expect(hiddenOf(fields, 'shown')[0]!.split(',').sort()).toEqual(boxes.map((b) => b.id).sort());
    // Side Project's pages are not in Ada's Acme picker.
    expect(boxes.some((b) => b.id === SEED_PAGE_IDS.sideProjectHome)).toBe(false);

    // Tick Engineering, then search: the tick is remembered and the results are flat.
    const searched = await postPicker(ada, html, { tick: ['Engineering'], action: 'search', q: 'road' });
    expect(searched.status).toBe(303);
    expect(searched.headers.get('location')).toBe(`/consent/${id}/pages?workspace=${ACME}&q=road`);
    const results = await page(ada, searched.headers.get('location')!);
    expect(checkboxesOf(results.html).map((b) => b.title)).toEqual(['Roadmap 2026']);
    expect(results.html).toContain('<p role="status">1 page matches "road".</p>');
    expect(results.html).not.toMatch(/<ul class="tree">\s*<li>[^]*<ul class="tree">/);
    // Tick the result and search again: both ticks survive.
    const again = await postPicker(ada, results.html, { tick: ['Roadmap 2026'], action: 'search', q: '' });
    const all = await page(ada, again.headers.get('location')!);
    expect(
      checkboxesOf(all.html)
        .filter((b) => b.checked)
        .map((b) => b.title)
        .sort(),
    ).toEqual(['Engineering', 'Roadmap 2026']);
    expect((await snapshot()).grants).toEqual([]);
  });

  let firstGrantId: string;

  it('"Allow access" grants the ticked pages and sends a code back with state and iss (303)', async () => {
    const { id, state } = await authorize(ada);
    const shown = await picker(id, ACME);
    const response = await postPicker(ada, shown.html, { tick: ['Engineering', 'Design'], action: 'allow' });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect([...location.searchParams.keys()].sort()).toEqual(['code', 'iss', 'state']);
    expect(location.searchParams.get('state')).toBe(state);
    expect(location.searchParams.get('iss')).toBe(t.url);
    const code = location.searchParams.get('code')!;
    const grants = await grantRows();
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({
      person_id: adaId,
      workspace_id: ACME,
      status: 'active',
      capabilities: ['read_content', 'insert_content', 'user_info_with_email'],
    });
    expect([...grants[0]!.page_ids].sort()).toEqual([SEED_PAGE_IDS.engineering, SEED_PAGE_IDS.design].sort());
    firstGrantId = grants[0]!.id;
    const codes = await codeRows();
    expect(codes).toHaveLength(1);
    expect(codes[0]).toMatchObject({ code_hash: hashToken(code), grant_id: firstGrantId, redirect_uri: REDIRECT_URI, consumed_at: null });
    expect(JSON.stringify(codes)).not.toContain(code);
    expect((await t.gatehouse.stores.audit.list({ action: 'grant.created', workspaceId: ACME })).map((e) => e.target?.id)).toEqual([
      firstGrantId,
    ]);
    // The transaction is finished: posting it again is refused and issues nothing more.
    const replay = await postPicker(ada, shown.html, { tick: ['Engineering'], action: 'allow' });
    expect(replay.status).toBe(400);
    expect(replay.headers.get('location')).toBeNull();
    expect(await replay.text()).toContain('This authorisation request is not open in this browser');
    expect(await codeRows()).toHaveLength(1);
  });

  it('a forged CSRF token is 403 and issues nothing', async () => {
    const { id } = await authorize(ada);
    const shown = await picker(id, ACME);
    const before = await snapshot();
    for (const token of ['forged', '']) {
      const response = await postPicker(ada, shown.html, { tick: ['Engineering'], action: 'allow', override: { _csrf: token } });
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
    }
    // Ben's valid token is not Ada's.
    const bensToken = /name="_csrf" value="([^"]+)"/.exec((await page(ben, '/workspaces')).html)![1]!;
    const crossed = await postPicker(ada, shown.html, { tick: ['Engineering'], action: 'allow', override: { _csrf: bensToken } });
    expect(crossed.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it("another person's transaction is not open in their browser: 400 page, nothing issued", async () => {
    const { id } = await authorize(ada);
    const adas = await picker(id, ACME);
    const before = await snapshot();
    const shown = await page(ben, `/consent/${id}`);
    expect(shown.status).toBe(400);
    expect(shown.html).toContain('This authorisation request is not open in this browser');
    expect((await page(ben, `/consent/${id}/pages?workspace=${ACME}`)).status).toBe(400);
    const bensToken = /name="_csrf" value="([^"]+)"/.exec((await page(ben, '/workspaces')).html)![1]!;
    const posted = await postPicker(ben, adas.html, { tick: ['Engineering'], action: 'allow', override: { _csrf: bensToken } });
    expect(posted.status).toBe(400);
    expect(posted.headers.get('location')).toBeNull();
    const cancelled = await postForm(ben, `${t.url}/consent/${id}/cancel`, { _csrf: bensToken });
    expect(cancelled.status).toBe(400);
    expect((await page(ada, `/consent/${randomUUID()}`)).status).toBe(400);
    expect(await snapshot()).toEqual(before);
    // Ada's own transaction is untouched by Ben's attempts.
    expect((await page(ada, `/consent/${id}`)).status).toBe(200);
  });

  it("a page outside the person's own index for the workspace is 403 and issues nothing", async () => {
    const { id } = await authorize(ada);
    const shown = await picker(id, ACME);
    const before = await snapshot();
    for (const outside of [SEED_PAGE_IDS.sideProjectHome, SEED_PAGE_IDS.oldWiki, randomUUID()]) {
      const response = await postPicker(ada, shown.html, {
        tick: ['Engineering'],
        action: 'allow',
        override: { pages: [SEED_PAGE_IDS.engineering, outside] },
      });
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('does not share with Gatehouse');
    }
    // Remembered through a search, then allowed: still refused.
    const remembered = await postPicker(ada, shown.html, { action: 'search', q: '', override: { pages: [SEED_PAGE_IDS.sideProjectHome] } });
    expect(remembered.status).toBe(303);
    const again = await page(ada, remembered.headers.get('location')!);
    expect((await postPicker(ada, again.html, { tick: ['Design'], action: 'allow' })).status).toBe(403);
    // No pages at all is refused too.
    const fresh = await authorize(ada);
    const empty = await postPicker(ada, (await picker(fresh.id, ACME)).html, { action: 'allow' });
    expect(empty.status).toBe(400);
    expect(await empty.text()).toContain('Pick at least one page');
    expect(await snapshot()).toEqual(before);
    expect((await t.gatehouse.stores.audit.list({ action: 'consent.refused', actorId: adaId })).map((e) => e.detail?.reason)).toContain(
      'page_outside_index',
    );
  });

  it('a capability not asked for is 400 and issues nothing', async () => {
    const { id } = await authorize(ada, { scope: 'read_content user_info_without_email' });
    const shown = await picker(id, ACME);
    expect(hiddenOf(pickerForm(shown.html).fields, 'capabilities')).toEqual(['read_content', 'user_info_without_email']);
    const before = await snapshot();
    for (const capabilities of [
      ['read_content', 'insert_content'],
      ['read_content', 'user_info_with_email'],
      ['read_content', 'delete_everything'],
    ]) {
      const response = await postPicker(ada, shown.html, { tick: ['Engineering'], action: 'allow', override: { capabilities } });
      expect([capabilities, response.status]).toEqual([capabilities, 400]);
      expect(response.headers.get('location')).toBeNull();
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a workspace the person is not a member of is 403 and issues nothing (Ben and Side Project)', async () => {
    const { id } = await authorize(ben);
    const first = await page(ben, `/consent/${id}?workspace=${SIDE_PROJECT}`);
    expect(first.status).toBe(200);
    expect([...first.html.matchAll(/<option value="([^"]+)"/g)].map(([, v]) => v)).toEqual([ACME]);
    expect((await page(ben, `/consent/${id}/pages?workspace=${SIDE_PROJECT}`)).status).toBe(403);
    const shown = await page(ben, `/consent/${id}/pages?workspace=${ACME}`);
    expect(shown.status).toBe(200);
    const before = await snapshot();
    const posted = await postPicker(ben, shown.html, {
      action: 'allow',
      override: { workspace: SIDE_PROJECT, pages: [SEED_PAGE_IDS.sideProjectHome] },
    });
    expect(posted.status).toBe(403);
    expect(posted.headers.get('location')).toBeNull();
    const searched = await postPicker(ben, shown.html, { action: 'search', override: { workspace: SIDE_PROJECT } });
    expect(searched.status).toBe(403);
    const bensToken = /name="_csrf" value="([^"]+)"/.exec(shown.html)![1]!;
    const reauth = await postForm(ben, `${t.url}/consent/${id}/allow`, { _csrf: bensToken, workspace: SIDE_PROJECT });
    expect(reauth.status).toBe(403);
    expect(await snapshot()).toEqual(before);
  });

  it('"Cancel" sends the person back with error=access_denied, the same state and iss (303)', async () => {
    const { id } = await authorize(ada, { state: 'a b&c=d/é' });
    const shown = await page(ada, `/consent/${id}`);
    const before = await snapshot();
    const token = /name="_csrf" value="([^"]+)"/.exec(shown.html)![1]!;
    const response = await postForm(ada, `${t.url}/consent/${id}/cancel`, { _csrf: token });
    expect(response.status).toBe(303);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT_URI);
    expect(Object.fromEntries(location.searchParams)).toEqual({ error: 'access_denied', state: 'a b&c=d/é', iss: t.url });
    expect(await snapshot()).toEqual(before);
    expect((await page(ada, `/consent/${id}`)).status).toBe(400);
  });

  it('re-authorising keeps one grant (same id, the partner\'s bot_id): "Allow access" on the first screen keeps its pages, the picker changes them', async () => {
    const { id } = await authorize(ada);
    const first = await page(ada, `/consent/${id}`);
    expect(first.html).toContain('You already connected Zapflow &lt;Automations&gt; to Acme, sharing 2 pages.');
    expect(first.html).toContain('<button type="submit">Allow access</button>');
    const token = /name="_csrf" value="([^"]+)"/.exec(first.html)![1]!;
    const kept = await postForm(ada, `${t.url}/consent/${id}/allow`, {
      _csrf: token,
      workspace: ACME,
      capabilities: ['read_content', 'insert_content', 'user_info_with_email'],
    });
    expect(kept.status).toBe(303);
    expect(new URL(kept.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    let grants = await grantRows();
    expect(grants.map((g) => g.id)).toEqual([firstGrantId]);
    expect([...grants[0]!.page_ids].sort()).toEqual([SEED_PAGE_IDS.engineering, SEED_PAGE_IDS.design].sort());

    // Through the picker: the earlier pages are not pre-ticked for a new request; new pages and a narrower set of capabilities.
    const second = await authorize(ada);
    const shown = await picker(second.id, ACME);
    const response = await postPicker(ada, shown.html, {
      tick: ['Product'],
      action: 'allow',
      override: { capabilities: ['read_content'] },
    });
    expect(response.status).toBe(303);
    grants = await grantRows();
    expect(grants.map((g) => g.id)).toEqual([firstGrantId]);
    expect(grants[0]!.page_ids).toEqual([SEED_PAGE_IDS.product]);
    // Exactly one user-information level: none was posted, so none is granted.
    expect(grants[0]!.capabilities).toEqual(['read_content', 'no_user_info']);
    expect((await codeRows()).filter((c) => c.grant_id === firstGrantId)).toHaveLength(3);
    expect((await t.gatehouse.stores.audit.list({ action: 'grant.changed', workspaceId: ACME })).length).toBe(2);
  });

  it('"Only from approved list": a member sees the refusal and no "Allow access", the owner is exempt, approving lets the member through', async () => {
    await db().updateTable('workspaces').set({ install_policy: 'approved_only' }).where('id', '=', ACME).execute();
    try {
      const { id } = await authorize(ben);
      const refused = await page(ben, `/consent/${id}?workspace=${ACME}`);
      expect(refused.status).toBe(200);
      expect(refused.html).toContain('data-refusal="policy"');
      expect(refused.html).toContain('only allow connections from their approved list');
      expect(refused.html).not.toContain('Allow access</button>');
      expect(refused.html).not.toContain('>Select pages</button>');
      // Going to the picker anyway leads back to the first screen; posting anyway is refused and issues nothing.
      const toPicker = await page(ben, `/consent/${id}/pages?workspace=${ACME}`);
      expect(toPicker.status).toBe(303);
      const before = await snapshot();
      const token = /name="_csrf" value="([^"]+)"/.exec(refused.html)![1]!;
      const posted = await postForm(ben, `${t.url}/consent/${id}/pages`, {
        _csrf: token,
        workspace: ACME,
        shown: '',
        pages: [SEED_PAGE_IDS.engineering],
        capabilities: ['read_content'],
        action: 'allow',
      });
      expect(posted.status).toBe(403);
      expect(await snapshot()).toEqual(before);

      // Ada owns Acme: owners are exempt.
      const owner = await authorize(ada);
      expect((await page(ada, `/consent/${owner.id}?workspace=${ACME}`)).html).toContain('>Select pages</button>');

      // Approved: Ben goes through.
      await db()
        .insertInto('approved_apps')
        .values({ workspace_id: ACME, app_id: app.id, added_by: adaId, added_at: clock.now() })
        .execute();
      const approved = await page(ben, `/consent/${id}?workspace=${ACME}`);
      expect(approved.html).not.toContain('data-refusal');
      const shown = await page(ben, `/consent/${id}/pages?workspace=${ACME}`);
      const allowed = await postPicker(ben, shown.html, { tick: ['Engineering'], action: 'allow' });
      expect(allowed.status).toBe(303);
      expect(new URL(allowed.headers.get('location')!).searchParams.get('code')).toBeTruthy();
      expect((await grantRows()).filter((g) => g.person_id === benId)).toHaveLength(1);
    } finally {
      await db().updateTable('workspaces').set({ install_policy: 'no_restrictions' }).where('id', '=', ACME).execute();
      await db().deleteFrom('approved_apps').where('app_id', '=', app.id).execute();
    }
  });

  it('without an active connection to the workspace: "Connect your Notion account", which comes back to the consent screen', async () => {
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, SIDE_PROJECT))!;
    await t.gatehouse.stores.connections.setStatus(connection.id, 'disconnected', clock.now());
    const { id } = await authorize(ada);
    const shown = await page(ada, `/consent/${id}?workspace=${SIDE_PROJECT}`);
    expect(shown.html).toContain('<button type="submit">Connect your Notion account</button>');
    expect(shown.html).not.toContain('>Select pages</button>');
    expect(shown.html).toContain(`<input type="hidden" name="return_to" value="/consent/${id}?workspace=${SIDE_PROJECT}">`);
    expect((await page(ada, `/consent/${id}/pages?workspace=${SIDE_PROJECT}`)).status).toBe(303);
    const before = await snapshot();
    const token = /name="_csrf" value="([^"]+)"/.exec(shown.html)![1]!;
    const posted = await postForm(ada, `${t.url}/consent/${id}/pages`, {
      _csrf: token,
      workspace: SIDE_PROJECT,
      shown: '',
      pages: [SEED_PAGE_IDS.sideProjectHome],
      capabilities: ['read_content'],
      action: 'allow',
    });
    expect(posted.status).toBe(409);
    expect(await snapshot()).toEqual(before);

    const toNotion = await postForm(ada, `${t.url}/workspaces/${SIDE_PROJECT}/reconnect`, {
      _csrf: token,
      return_to: `/consent/${id}?workspace=${SIDE_PROJECT}`,
    });
    expect(toNotion.status).toBe(303);
    const callbackUrl = await passNotion(ada, t.url, toNotion, { ...ADA, workspaceName: 'Side Project' });
    const callback = await ada.request(callbackUrl, { headers: HTML });
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe(`/consent/${id}?workspace=${SIDE_PROJECT}`);
    await t.gatehouse.indexer.idle();
    const back = await page(ada, callback.headers.get('location')!);
    expect(back.html).toContain('>Select pages</button>');
    // An outside return_to is not followed.
    const evil = await postForm(ada, `${t.url}/workspaces/${SIDE_PROJECT}/reconnect`, { _csrf: token, return_to: '//evil.example/x' });
    const evilCallback = await ada.request(await passNotion(ada, t.url, evil, { ...ADA, workspaceName: 'Side Project' }), {
      headers: HTML,
    });
    expect(evilCallback.headers.get('location')).toBe('/workspaces');
    await t.gatehouse.indexer.idle();
  });

  it('pages 10,000 indexed pages: top-level pages 50 at a time, "Next pages", opening a parent, ticks kept across screens', async () => {
    const connection = (await t.gatehouse.stores.connections.findForPersonAndWorkspace(adaId, SIDE_PROJECT))!;
    const title = (i: number) => `Bulk ${String(i).padStart(5, '0')}`;
    const bulk = Array.from({ length: 10_000 }, (_, i) => ({
      pageId: seedPageId('Bulk', title(i)),
      parentId: i < 200 ? null : seedPageId('Bulk', title(i % 200)),
      parentType: i < 200 ? 'workspace' : 'page_id',
      title: title(i),
      objectType: 'page' as const,
    }));
    for (let i = 0; i < bulk.length; i += 1000)
      await t.gatehouse.stores.pageIndex.upsertBatch(connection.id, bulk.slice(i, i + 1000), clock.now());
    const { id } = await authorize(ada);
    // Quick means paged (50 rows rendered, not 10,000); speed itself is measured by the benchmark, never asserted.
    const top = await picker(id, SIDE_PROJECT);
    expect(top.status).toBe(200);
    const boxes = checkboxesOf(top.html);
    expect(boxes).toHaveLength(50);
    expect(boxes[0]!.title).toBe('Bulk 00000');
    expect(top.html).toContain('<button type="submit" name="action" value="next">Next pages</button>');
    expect(top.html).toContain(`aria-label="Show pages inside Bulk 00000"`);

    const next = await postPicker(ada, top.html, { tick: ['Bulk 00001'], action: 'next' });
    expect(next.headers.get('location')).toBe(`/consent/${id}/pages?workspace=${SIDE_PROJECT}&offset=50`);
    const second = await page(ada, next.headers.get('location')!);
    expect(checkboxesOf(second.html)[0]!.title).toBe('Bulk 00050');
    expect(second.html).toContain('value="previous">Previous pages</button>');

    const opened = await postPicker(ada, second.html, { tick: ['Bulk 00050'], action: `open:${seedPageId('Bulk', title(50))}` });
    const inside = await page(ada, opened.headers.get('location')!);
    const insideBoxes = checkboxesOf(inside.html);
    expect(insideBoxes[0]).toEqual({ id: seedPageId('Bulk', title(50)), title: 'Bulk 00050', checked: true });
    expect(insideBoxes.slice(1).map((b) => b.title)).toEqual(['Bulk 00250', ...Array.from({ length: 48 }, (_, k) => title(450 + k * 200))]);
    const allowed = await postPicker(ada, inside.html, {
      tick: ['Bulk 00250'],
      action: 'allow',
      override: { capabilities: ['read_content'] },
    });
    expect(allowed.status).toBe(303);
    const grant = (await grantRows()).find((g) => g.person_id === adaId && g.workspace_id === SIDE_PROJECT)!;
    expect([...grant.page_ids].sort()).toEqual([title(1), title(50), title(250)].map((x) => seedPageId('Bulk', x)).sort());
  });

  it('an expired transaction (10 minutes) is a 400 page saying so, and issues nothing', async () => {
    const { id } = await authorize(ada);
    const shown = await picker(id, ACME);
    const before = await snapshot();
    clock.advance(10 * 60_000 + 1000);
    const posted = await postPicker(ada, shown.html, { tick: ['Engineering'], action: 'allow' });
    expect(posted.status).toBe(400);
    expect(posted.headers.get('location')).toBeNull();
    expect(await posted.text()).toContain('expired');
    expect(await snapshot()).toEqual(before);
    const second = await authorize(ada);
    clock.advance(10 * 60_000 + 1000);
    const expired = await page(ada, `/consent/${second.id}`);
    expect(expired.status).toBe(400);
    expect(expired.html).toContain('This authorisation request expired');
  });
});
