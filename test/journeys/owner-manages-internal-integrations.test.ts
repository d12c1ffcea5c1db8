/**
 * An owner in Chromium: "New integration", "Copy internal integration token",
 * "Add connections" and "Disconnect" on a page, "Convert to public", the
 * audit log and admin tokens. Every page passes axe-core with no violations.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { expectAccessible, launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';

describe('an owner manages internal integrations, the audit log and admin tokens, on accessible pages', () => {
  let t: TestGatehouse;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    t = await startTestGatehouse();
    await t.gatehouse.indexer.idle();
    browser = await launchChromium();
    page = await (await browser.newContext()).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('signs in as Ada and opens "Integrations"', async () => {
    await page.goto(`${t.url}/auth/sign-in?return_to=%2Fintegrations`);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${t.url}/integrations`);
    expect(await page.getByRole('link', { name: 'Integrations', exact: true }).count()).toBe(1);
    await expectAccessible(page);
  });

  it('creates one with "New integration" and copies its token', async () => {
    await page.getByLabel('Name').fill('Acme digest');
    await page.getByLabel(/Associated workspace/).selectOption({ label: 'Acme' });
    await page.getByLabel('Read content').check();
    await page.getByRole('button', { name: 'New integration' }).click();
    await page.waitForURL(/\/integrations\/[0-9a-f-]{36}\?notice=created$/);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Copy internal integration token' }).click();
    await expect(page.getByLabel('Internal integration token').inputValue()).resolves.toMatch(/^gh_int_/);
    await expectAccessible(page);
  });

  it('connects it from a page: "Add connections", then "Disconnect"', async () => {
    await page.getByRole('link', { name: 'Acme', exact: true }).click();
    await page.waitForURL(/\/workspaces\/[^/]+\/pages$/);
    await expectAccessible(page);
    await page.getByLabel('Search pages').fill('a');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('li[data-page-id] a').first().click();
    await page.waitForURL(/\/pages\/[^/?]+$/);
    await expectAccessible(page);
    await page.getByLabel('Integration', { exact: true }).selectOption({ label: 'Acme digest' });
    await page.getByRole('button', { name: 'Add connections' }).click();
    await page.waitForURL(/notice=added$/);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Disconnect Acme digest' }).click();
    // The confirm step keeps the button's name.
    await page.getByRole('button', { name: 'Disconnect Acme digest' }).click();
    await page.waitForURL(/notice=removed$/);
    expect(await page.getByText('No internal integration is connected to this page.').count()).toBe(1);
    // Connected again, to be kept by the conversion.
    await page.getByLabel('Integration', { exact: true }).selectOption({ label: 'Acme digest' });
    await page.getByRole('button', { name: 'Add connections' }).click();
    await page.waitForURL(/notice=added$/);
  });

  it('converts it to public: the client secret is shown once', async () => {
    await page.goto(`${t.url}/integrations`);
    await page.getByRole('link', { name: 'Acme digest' }).click();
    await page.getByLabel(/Redirect URIs/).fill('https://digest.acme.example/callback');
    await page.getByRole('button', { name: 'Convert to public' }).click();
    expect(await page.locator('[data-client-secret]').textContent()).toMatch(/^gh_cs_/);
    await expectAccessible(page);
  });

  it('reads the audit log and filters it', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.waitForURL(`${t.url}/admin/audit`);
    await expectAccessible(page);
    await page.getByLabel(/^Action/).fill('internal_integration.token_read');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/action=internal_integration.token_read/);
    expect(await page.locator('tr[data-event-id]').count()).toBe(1);
    await expectAccessible(page);
  });

  it('creates and revokes a personal admin token', async () => {
    await page.getByRole('link', { name: 'Admin tokens' }).click();
    await expectAccessible(page);
    await page.getByLabel('Label').fill('laptop');
    await page.getByRole('button', { name: 'Create admin token' }).click();
    await expect(page.getByLabel('Admin token', { exact: true }).inputValue()).resolves.toMatch(/^gh_admin_/);
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Revoke laptop' }).click();
    // The confirm step keeps the button's name.
    await page.getByRole('button', { name: 'Revoke laptop' }).click();
    expect(await page.getByText('Token revoked: it no longer works.').count()).toBe(1);
    await expectAccessible(page);
  });
});
