/**
 * The consent screen's refused posts, on an instance of its own: each asserts
 * the page (4xx, no redirect) AND that nothing was issued: no grant row, no
 * code row.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes, randomUUID } from 'node:crypto';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { SEED_PAGE_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
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

describe('the consent screen: refused posts', () => {
  const clock = new ManualClock();
  let t: TestGatehouse;
  let app: PartnerApp;
  let adaId: string;
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
});
