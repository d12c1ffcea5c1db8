/**
 * The consent screen in particular situations, on an instance of its own:
 * "Only from approved list", no active connection to the workspace, 10,000
 * indexed pages, and a transaction left until it expires.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { TestGatehouse } from '../support/harness.js';
import { passNotion, postForm } from '../support/notion-connect.js';
import { seedPageId, SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import type { PartnerApp } from '../../src/store/partner-apps.js';
import { ACME, ADA, checkboxesOf, consentScreen, HTML, SIDE_PROJECT } from '../support/consent-screen.js';

describe('the consent screen: install policy, no connection, a large index, expiry', () => {
  const { clock, shared, ada, ben, db, grantRows, snapshot, authorize, page, postPicker, picker } = consentScreen();
  let t: TestGatehouse;
  let app: PartnerApp;
  let adaId: string;
  let benId: string;
  beforeAll(() => {
    ({ t, app, adaId, benId } = shared);
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
