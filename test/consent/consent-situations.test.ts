/**
 * The consent screen in particular situations, on an instance of its own:
 * "Only from approved list", no active connection to the workspace, 10,000
 * indexed pages, and a transaction left until it expires.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
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

describe('the consent screen: install policy, no connection, a large index, expiry', () => {
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
