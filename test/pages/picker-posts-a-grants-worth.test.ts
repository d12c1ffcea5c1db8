/**
 * The picker's form carries as many ticks as a grant holds (500): the body
 * parser lets that many fields through on the picker only, one more is a
 * malformed form, and more than 500 picked across screens is refused on the
 * picker itself, its ticks shown, with "Cancel" still answering the partner.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { postForm } from '../support/notion-connect.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { MAX_PICKED_PAGES } from '../../src/consent/decide.js';

const CALLBACK = 'https://zapflow.example/callback';
const HTML = { accept: 'text/html' };

describe("the picker's form holds a grant's worth of ticks", () => {
  let t: TestGatehouse;
  let zapflow: RegisteredApp;
  let acmeId: string;
  const ada = new Browser();

  beforeAll(async () => {
    t = await startTestGatehouse();
    acmeId = t.gatehouse.sandboxNotion!.workspaces().find((w) => w.name === 'Acme')!.id;
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow', redirectUris: [CALLBACK] });
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => t?.stop());

  /** A fresh request, its picker's CSRF token and the picker's post. */
  const open = async (state: string) => {
    const query = new URLSearchParams({ client_id: zapflow.clientId, redirect_uri: CALLBACK, response_type: 'code', state });
    const authorized = await ada.request(`${t.url}/v1/oauth/authorize?${query}`, { headers: HTML });
    const id = /^\/consent\/([0-9a-f-]{36})$/.exec(authorized.headers.get('location') ?? '')![1]!;
    const html = await (await ada.request(`${t.url}/consent/${id}/pages?workspace=${acmeId}`, { headers: HTML })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
    const post = (action: string, pages: string[]) =>
      postForm(ada, `${t.url}/consent/${id}/pages`, { _csrf: csrf, workspace: acmeId, shown: '', q: '', action, pages });
    return { id, csrf, post };
  };
  const grants = () => t.gatehouse.database.db.selectFrom('grants').select('id').where('app_id', '=', zapflow.app.id).execute();
  const ids = (n: number) => Array.from({ length: n }, () => randomUUID());

  it(`${MAX_PICKED_PAGES} ticks in one post pass the body parser and reach the rules (here: pages not in the index, shown on the picker)`, async () => {
    const { post } = await open('full');
    const response = await post('allow', ids(MAX_PICKED_PAGES));
    expect(response.status).toBe(403);
    const html = await response.text();
    expect(html).toContain('Select pages in Acme');
    expect(html).toMatch(/class="error-summary" role="alert" data-refusal="page_outside_index"/);
    expect(await grants()).toEqual([]);
  });

  it('one tick more than a grant holds in one post is a malformed form, 400', async () => {
    const { post } = await open('over');
    const response = await post('allow', ids(MAX_PICKED_PAGES + 1));
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('The form could not be understood');
  });

  it('more than 500 picked across screens: refused on the picker, the count shown; Cancel still answers access_denied', async () => {
    const { id, csrf, post } = await open('many');
    expect((await post('search', ids(300))).status).toBe(303);
    const refused = await post('allow', ids(300));
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toMatch(/data-refusal="too_many_pages"/);
    expect(html).toContain(`Pick at most ${MAX_PICKED_PAGES} pages`);
    expect(html).toContain('<span data-picked-count>600</span>');
    const cancelled = await postForm(ada, `${t.url}/consent/${id}/cancel`, { _csrf: csrf });
    expect(cancelled.status).toBe(303);
    const back = new URL(cancelled.headers.get('location')!);
    expect([back.origin + back.pathname, back.searchParams.get('error'), back.searchParams.get('state')]).toEqual([
      CALLBACK,
      'access_denied',
      'many',
    ]);
    expect(await grants()).toEqual([]);
  });
});
