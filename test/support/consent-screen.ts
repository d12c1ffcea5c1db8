/**
 * The consent screen's test bench, shared by the consent suites: the demo's
 * Ada and Ben signed in on an instance of the suite's own, a partner app
 * ("Zapflow <Automations>") asking for content and email, and the moves a
 * browser makes: authorize, open a screen, tick pages on the picker and post.
 * `consentScreen()` registers its own beforeAll/afterAll; a suite reads the
 * instance and the app from `shared` once they are set.
 */
import { afterAll, beforeAll, expect } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { Browser, signIn } from './browser.js';
import { startTestGatehouse, type TestGatehouse } from './harness.js';
import { decodeHtml, postForm } from './notion-connect.js';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/crypto/tokens.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';

export const ADA = { email: 'ada@example.com', password: 'ada-demo' };
export const BEN = { email: 'ben@example.com', password: 'ben-demo' };
export const ACME = SEED_WORKSPACE_IDS.acme;
export const SIDE_PROJECT = SEED_WORKSPACE_IDS.sideProject;
export const REDIRECT_URI = 'https://zapflow.example/oauth/callback';
export const HTML = { accept: 'text/html' };

export interface Checkbox {
  id: string;
  title: string;
  checked: boolean;
}

export function checkboxesOf(html: string): Checkbox[] {
  return [
    ...html.matchAll(/<input type="checkbox" id="page-([^"]+)" name="pages" value="\1"( checked)?> <label for="page-\1">([^<]*)<\/label>/g),
  ].map(([, id, checked, title]) => ({ id: id!, title: decodeHtml(title!), checked: checked !== undefined }));
}

/** The picker's one form: its hidden fields (repeated names kept), to post back as the browser would. */
export function pickerForm(html: string): { action: string; fields: Array<[string, string]> } {
  const form = /<form method="post" action="([^"]+\/pages)">([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error('no picker form');
  const fields = [...form[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map(
    ([, n, v]) => [n!, decodeHtml(v!)] as [string, string],
  );
  return { action: decodeHtml(form[1]!), fields };
}

export function hiddenOf(fields: Array<[string, string]>, name: string): string[] {
  return fields.filter(([n]) => n === name).map(([, v]) => v);
}

export interface ConsentState {
  t: TestGatehouse;
  app: PartnerApp;
  adaId: string;
  benId: string;
}

export function consentScreen() {
  const clock = new ManualClock();
  const shared = {} as ConsentState;
  const ada = new Browser();
  const ben = new Browser();

  const db = () => shared.t.gatehouse.database.db;
  const grantRows = () => db().selectFrom('grants').selectAll().where('app_id', '=', shared.app.id).orderBy('created_at').execute();
  const codeRows = () => db().selectFrom('authorization_codes').selectAll().where('app_id', '=', shared.app.id).execute();
  /** What consenting may change: to show that a refusal changed none of it. */
  const snapshot = async () => ({ grants: await grantRows(), codes: await codeRows() });

  /** The partner's "Connect Notion" button: GET /v1/oauth/authorize, answered by a redirect to the consent screen. */
  const authorize = async (browser: Browser, extra: Record<string, string> = {}) => {
    const state = randomBytes(12).toString('base64url');
    const query = new URLSearchParams({
      client_id: shared.app.clientId!,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      owner: 'user',
      state,
      ...extra,
    });
    const response = await browser.request(`${shared.t.url}/v1/oauth/authorize?${query}`, { headers: HTML });
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    const id = /^\/consent\/([0-9a-f-]{36})$/.exec(location)?.[1];
    if (!id) throw new Error(`authorize led to ${location}`);
    return { id, state };
  };

  const page = async (browser: Browser, path: string) => {
    const response = await browser.request(`${shared.t.url}${path}`, { headers: HTML });
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
    return postForm(browser, new URL(action, shared.t.url).href, body);
  };

  const picker = (id: string, workspace: string, query = '') => page(ada, `/consent/${id}/pages?workspace=${workspace}${query}`);

  beforeAll(async () => {
    const t = (shared.t = await startTestGatehouse({ clock }));
    await signIn(ada, t.url, ADA.email, ADA.password);
    await signIn(ben, t.url, BEN.email, BEN.password);
    shared.adaId = (await t.gatehouse.stores.people.findByEmail(ADA.email))[0]!.id;
    shared.benId = (await t.gatehouse.stores.people.findByEmail(BEN.email))[0]!.id;
    shared.app = await t.gatehouse.stores.partnerApps.create(
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
    await shared.t?.stop();
  });

  return { clock, shared, ada, ben, db, grantRows, codeRows, snapshot, authorize, page, postPicker, picker };
}
