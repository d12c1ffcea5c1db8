/**
 * The consent screen through the real routes: GET /v1/oauth/authorize opens
 * a transaction, then /consent/:id (who asks, for what, which workspace),
 * /consent/:id/pages (the picker) and the posts behind "Allow access" and
 * "Cancel". Opened by the refusals. The refused posts are in
 * consent-refusals.test.ts; the install policy, a missing connection, a
 * large index and expiry in consent-situations.test.ts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { Browser } from '../support/browser.js';
import type { TestGatehouse } from '../support/harness.js';
import { postForm } from '../support/notion-connect.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';
import { ACME, checkboxesOf, consentScreen, HTML, hiddenOf, pickerForm, REDIRECT_URI, SIDE_PROJECT } from '../support/consent-screen.js';

describe('the consent screen', () => {
  const { shared, ada, grantRows, codeRows, snapshot, authorize, page, postPicker, picker } = consentScreen();
  let t: TestGatehouse;
  let app: PartnerApp;
  let adaId: string;
  beforeAll(() => {
    ({ t, app, adaId } = shared);
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
});
