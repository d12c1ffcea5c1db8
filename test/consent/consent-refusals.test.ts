/**
 * The consent screen's refused posts, on an instance of its own: each asserts
 * the page (4xx, no redirect) AND that nothing was issued: no grant row, no
 * code row.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { TestGatehouse } from '../support/harness.js';
import { postForm } from '../support/notion-connect.js';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { ACME, consentScreen, hiddenOf, pickerForm, SIDE_PROJECT } from '../support/consent-screen.js';

describe('the consent screen: refused posts', () => {
  const { shared, ada, ben, snapshot, authorize, page, postPicker, picker } = consentScreen();
  let t: TestGatehouse;
  let adaId: string;
  beforeAll(() => {
    ({ t, adaId } = shared);
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
