/**
 * The demo partner's round trip on the embedded default (a real `npm start`
 * process): "Connect Notion" on /sandbox/partner, sign in, the consent
 * screen, pick pages, "Allow access", and the partner shows what came back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../support/chromium.js';
import { startEmbeddedDemo } from '../support/processes.js';

describe('a person connects the demo partner to Notion through Gatehouse', () => {
  let demo: Awaited<ReturnType<typeof startEmbeddedDemo>>;
  let baseUrl: string;
  let page: Page;

  beforeAll(async () => {
    demo = await startEmbeddedDemo();
    ({ baseUrl, page } = demo);
  });
  afterAll(async () => demo?.stop());

  it('the demo partner offers "Connect Notion" and says it is a sandbox', async () => {
    await page.goto(`${baseUrl}/sandbox/partner`);
    expect(await page.getByRole('note').first().textContent()).toContain('Sandbox');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Connect Notion' }).click();
  });

  it('signs in on the way', async () => {
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/consent\//);
  });

  it("shows the partner and what it asks for in Notion's words", async () => {
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Demo partner wants to access your workspace');
    for (const line of ['Read content', 'Insert content', 'Read comments', 'Read user information without email addresses']) {
      expect(await page.getByText(line, { exact: true }).count()).toBe(1);
    }
    expect(await page.getByRole('img', { name: 'Demo partner logo' }).count()).toBe(1);
    await expectAccessible(page);
  });

  it('picks Acme, searches and ticks a page, and allows access', async () => {
    await page.getByLabel('Workspace').selectOption({ label: 'Acme' });
    await page.getByRole('button', { name: 'Select pages' }).click();
    await page.waitForURL(/\/pages/);
    await page.getByLabel('Search pages').fill('Engineering');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('checkbox', { name: 'Engineering', exact: true }).check();
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(`${baseUrl}/sandbox/partner/callback**`);
  });

  it('the partner shows the workspace, capabilities, pages and a token prefix', async () => {
    expect(await page.locator('[data-field="workspace"]').textContent()).toBe('Acme');
    expect(await page.locator('[data-field="capabilities"]').textContent()).toBe(
      'read_content, insert_content, read_comments, user_info_without_email',
    );
    expect(await page.locator('[data-field="pages"]').textContent()).toBe('Engineering');
    expect(await page.locator('[data-field="token-prefix"]').textContent()).toMatch(/^gh_at_.{6}…$/);
  });
});
