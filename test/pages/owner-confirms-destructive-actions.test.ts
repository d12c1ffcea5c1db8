/**
 * Every destructive button asks first, without JavaScript: the first press
 * shows what will happen, counted from the store, and changes nothing;
 * "Cancel" leads back with nothing changed; the same button on the confirm
 * page does it. A workspace disconnected from Gatehouse is shown as
 * disconnected, with "Connect a workspace". A member who reaches an owners'
 * page is told who the owners are. Chromium for the workspace (desktop and
 * phone, both schemes, axe), plain HTTP for the rest.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Browser as Chromium, Page } from 'playwright-core';
import { Browser, signIn as httpSignIn } from '../support/browser.js';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { decodeHtml, postForm } from '../support/notion-connect.js';
import { issueCode, registerApp, type RegisteredApp } from '../support/partner.js';
import { applyView, saveScreenshot, signIn, VIEWS } from './views.js';

jest.setTimeout(180_000);

describe('destructive actions ask first, and the page shows the new state', () => {
  let t: TestGatehouse;
  let chromium: Chromium;
  let page: Page;
  let zapflow: RegisteredApp;
  let acmeId: string;
  let sideId: string;
  let benId: string;
  const ada = new Browser();
  const ben = new Browser();
  let adaCsrf: string;
  let benCsrf: string;

  const db = () => t.gatehouse.database.db;
  const snapshot = async () => ({
    grants: await db().selectFrom('grants').select(['id', 'status']).orderBy('id').execute(),
    connections: await db().selectFrom('upstream_connections').select(['id', 'status']).orderBy('id').execute(),
    approved: await db().selectFrom('approved_apps').selectAll().execute(),
    members: await db().selectFrom('workspace_members').select(['person_id', 'workspace_id', 'role']).orderBy('person_id').execute(),
  });
  const csrfOf = async (browser: Browser) => {
    const html = await (await browser.request(`${t.url}/connections/mine`, { headers: { accept: 'text/html' } })).text();
    return /name="_csrf" value="([^"]+)"/.exec(html)![1]!;
  };
  const text = async (response: Response) => decodeHtml((await response.text()).replace(/\s+/g, ' '));

  beforeAll(async () => {
    t = await startTestGatehouse();
    const workspaces = t.gatehouse.sandboxNotion!.workspaces();
    acmeId = workspaces.find((w) => w.name === 'Acme')!.id;
    sideId = workspaces.find((w) => w.name === 'Side Project')!.id;
    zapflow = await registerApp(t.gatehouse, { name: 'Zapflow' });
    await httpSignIn(ada, t.url, 'ada@example.com', 'ada-demo');
    await httpSignIn(ben, t.url, 'ben@example.com', 'ben-demo');
    adaCsrf = await csrfOf(ada);
    benCsrf = await csrfOf(ben);
    benId = (await t.gatehouse.stores.people.findByEmail('ben@example.com'))[0]!.id;
    await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Acme' });
    await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme' });
    await issueCode(t.gatehouse, { registered: zapflow, email: 'ada@example.com', workspaceName: 'Side Project' });
    chromium = await launchChromium();
    page = await (await chromium.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    await signIn(page, t.url, 'ada@example.com', 'ada-demo');
  });
  afterAll(async () => {
    await chromium?.close();
    await t?.stop();
  });

  it('"Disconnect all users": the count sentence, nothing changed by the first press, done by the confirm', async () => {
    const path = `${t.url}/connections/${acmeId}/apps/${zapflow.app.id}/disconnect`;
    const before = await snapshot();
    const first = await postForm(ada, path, { _csrf: adaCsrf, all_users: '1', return_to: `/connections?workspace=${acmeId}` });
    expect(first.status).toBe(200);
    const html = await text(first);
    expect(html).toContain('Disconnecting Zapflow from Acme revokes 2 connections of 2 people (ada@example.com and ben@example.com).');
    expect(html).toMatch(/<button type="submit" aria-label="Disconnect all users of Zapflow">Disconnect all users<\/button>/);
    expect(html).toContain('name="confirm" value="yes"');
    expect(await snapshot()).toEqual(before);
    const done = await postForm(ada, path, { _csrf: adaCsrf, all_users: '1', confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await t.gatehouse.stores.grants.listActiveIds({ workspaceId: acmeId, appId: zapflow.app.id })).toEqual([]);
  });

  it('"Revoke access", "Remove from approved list" and "Remove as owner" each ask first with what will happen', async () => {
    const { grantId } = await issueCode(t.gatehouse, { registered: zapflow, email: 'ben@example.com', workspaceName: 'Acme' });
    await t.gatehouse.stores.grants.approve(acmeId, zapflow.app.id, null, new Date());
    await t.gatehouse.stores.workspaces.setRole(acmeId, benId, 'owner');
    const before = await snapshot();
    const revoke = await text(await postForm(ada, `${t.url}/connections/${acmeId}/grants/${grantId}/revoke`, { _csrf: adaCsrf }));
    expect(revoke).toContain("This revokes ben@example.com's connection of Zapflow to Acme: 1 connection of 1 person.");
    expect(revoke).toContain('>Revoke access</button>');
    const unapprove = await text(
      await postForm(ada, `${t.url}/connections/${acmeId}/approved/${zapflow.app.id}/remove`, { _csrf: adaCsrf }),
    );
    expect(unapprove).toContain('This removes Zapflow from the approved list of Acme.');
    expect(unapprove).toContain('Its 1 existing connection stays until disconnected.');
    const demote = await text(
      await postForm(ada, `${t.url}/connections/${acmeId}/members/${benId}/role`, { _csrf: adaCsrf, role: 'member' }),
    );
    expect(demote).toContain('ben@example.com will no longer be an owner of Acme');
    expect(demote).toContain('aria-label="Remove as owner: ben@example.com">Remove as owner</button>');
    expect(await snapshot()).toEqual(before);
    expect(
      (await postForm(ada, `${t.url}/connections/${acmeId}/grants/${grantId}/revoke`, { _csrf: adaCsrf, confirm: 'yes' })).status,
    ).toBe(303);
    expect((await t.gatehouse.stores.grants.findById(grantId))!.status).toBe('revoked');
    const demoted = await postForm(ada, `${t.url}/connections/${acmeId}/members/${benId}/role`, {
      _csrf: adaCsrf,
      role: 'member',
      confirm: 'yes',
    });
    expect(demoted.status).toBe(303);
    expect((await t.gatehouse.stores.workspaces.membership(acmeId, benId))!.role).toBe('member');
  });

  it("a member who reaches an owners' page is told who the owners are, inside the layout with a way back", async () => {
    const response = await ben.request(`${t.url}/connections?workspace=${acmeId}`, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(403);
    const html = await text(response);
    expect(html).toContain('The owners of Acme: ');
    expect(html).toContain('ada@example.com');
    expect(html).toContain('Sign out');
    expect(html).toContain('href="/workspaces"');
    const posted = await postForm(ben, `${t.url}/connections/${acmeId}/disconnect`, { _csrf: benCsrf });
    expect(posted.status).toBe(403);
    expect(await text(posted)).toContain('ada@example.com');
  });

  it('"Disconnect workspace from Gatehouse": the count, Cancel changes nothing, the same button does it, then shown as disconnected', async () => {
    await page.goto(`${t.url}/connections?workspace=${sideId}`);
    const press = () => page.getByRole('button', { name: 'Disconnect workspace from Gatehouse: Side Project' }).click();
    await press();
    await page.getByRole('heading', { name: 'Disconnect Side Project from Gatehouse?' }).waitFor();
    await expect(page.getByRole('alert').textContent()).resolves.toContain(
      'Disconnecting Side Project from Gatehouse revokes 1 connection of 1 person and removes 1 Notion connection.',
    );
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      await saveScreenshot(page, `confirm-disconnect-workspace-${view.name}`);
    }
    await applyView(page, VIEWS[0]);
    const before = await snapshot();
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Connections', exact: true }).waitFor();
    expect(await snapshot()).toEqual(before);

    await press();
    await page.getByRole('main').getByRole('button', { name: 'Disconnect workspace from Gatehouse' }).click();
    await page.waitForURL(/notice=workspace_disconnected/);
    await page.getByRole('heading', { name: 'Side Project is disconnected from Gatehouse' }).waitFor();
    expect(await page.locator('[data-workspace-state="disconnected"]').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Connect a workspace' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: /Disconnect workspace from Gatehouse/ }).count()).toBe(0);
    for (const view of VIEWS) {
      await applyView(page, view);
      await expectAccessible(page);
      await saveScreenshot(page, `workspace-disconnected-${view.name}`);
    }
    const connections = await db().selectFrom('upstream_connections').select('status').where('workspace_id', '=', sideId).execute();
    expect(connections.every((c) => c.status === 'disconnected')).toBe(true);
  });
});
