/**
 * GET /consent/:transactionId/pages/children: the fragment a folded group
 * of the picker loads. Opened by "rejects unauthenticated callers"; every
 * bad input is a clear 4xx, and nothing outside the person's own index and
 * open transaction is listed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Browser, signIn } from '../support/browser.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { registerApp, type RegisteredApp } from '../support/partner.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';

const CALLBACK = 'https://partner.example/callback';
const HTML = { accept: 'text/html' };

describe('the picker children fragment', () => {
  let t: TestGatehouse;
  let registered: RegisteredApp;
  let acmeId: string;
  let sideId: string;
  const ada = new Browser();
  const ben = new Browser();

  const authorize = async (browser: Browser) => {
    const query = new URLSearchParams({ client_id: registered.clientId, redirect_uri: CALLBACK, response_type: 'code', state: 's' });
    const response = await browser.request(`${t.url}/v1/oauth/authorize?${query}`, { headers: HTML });
    return /^\/consent\/([0-9a-f-]{36})$/.exec(response.headers.get('location') ?? '')![1]!;
  };
  const children = (browser: Browser, id: string, query: string) =>
    browser.request(`${t.url}/consent/${id}/pages/children?${query}`, { headers: HTML });

  beforeAll(async () => {
    t = await startTestGatehouse();
    registered = await registerApp(t.gatehouse, { name: 'Fragment partner', redirectUris: [CALLBACK] });
    const workspaces = t.gatehouse.sandboxNotion!.workspaces();
    acmeId = workspaces.find((w) => w.name === 'Acme')!.id;
    sideId = workspaces.find((w) => w.name === 'Side Project')!.id;
    await signIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await signIn(ben, t.url, 'ben@example.com', 'ben-demo');
    await t.gatehouse.indexer.idle();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('rejects unauthenticated callers: sign-in first, nothing listed', async () => {
    const id = await authorize(ada);
    const response = await children(new Browser(), id, `workspace=${acmeId}&parent=${SEED_PAGE_IDS.engineering}`);
    expect(response.status).toBeGreaterThanOrEqual(300);
    expect(response.status).toBeLessThan(500);
    expect(await response.text()).not.toContain('Architecture');
  });

  it("lists a page's children as checkboxes labelled with their titles, with the ids it shows", async () => {
    const id = await authorize(ada);
    const response = await children(ada, id, `workspace=${acmeId}&parent=${SEED_PAGE_IDS.engineering}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    const html = await response.text();
    expect(html).toContain(`<label for="page-${SEED_PAGE_IDS.architecture}">Architecture</label>`);
    expect(html).toMatch(new RegExp(`data-shown="[^"]*${SEED_PAGE_IDS.architecture}`));
    // A fragment, not a page: no layout around it.
    expect(html).not.toContain('<html');
  });

  it('bad input is a clear 400: missing or malformed workspace or parent', async () => {
    const id = await authorize(ada);
    for (const query of [
      '',
      `workspace=${acmeId}`,
      `parent=${SEED_PAGE_IDS.engineering}`,
      `workspace=${acmeId}&parent=../x`,
      `workspace=a%00b&parent=x`,
    ]) {
      const response = await children(ada, id, query);
      expect([query, response.status]).toEqual([query, 400]);
    }
  });

  it('a page outside the index is 404; another workspace is 403; an unknown transaction is 400', async () => {
    const id = await authorize(ada);
    expect((await children(ada, id, `workspace=${acmeId}&parent=${SEED_PAGE_IDS.sideProjectHome}`)).status).toBe(404);
    // Ben is not a member of Side Project.
    const bens = await authorize(ben);
    const refused = await children(ben, bens, `workspace=${sideId}&parent=${SEED_PAGE_IDS.sideProjectHome}`);
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('Side Project Home</label>');
    // Ada's transaction is not open in Ben's browser.
    expect((await children(ben, id, `workspace=${acmeId}&parent=${SEED_PAGE_IDS.engineering}`)).status).toBe(400);
  });
});
