/**
 * The demo as a new user meets it: `npm start` on a fresh data folder (a
 * real process), Chromium signs in as Ada, sees Acme and Side Project
 * already connected and indexed, and connects Archive through the sandbox
 * Notion's own authorisation page.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import { expectAccessible } from '../support/chromium.js';
import { startEmbeddedDemo } from '../support/processes.js';

/** "Your workspaces" refreshes itself while indexing; wait for a workspace's row to say it is indexed. */
async function waitUntilIndexed(page: Page, workspace: string): Promise<string> {
  const state = page.getByRole('row', { name: new RegExp(`^${workspace}\\b`) }).locator('[data-index-state]');
  for (let attempt = 0; attempt < 60; attempt++) {
    if ((await state.getAttribute('data-index-state')) === 'ready') return (await state.textContent()) ?? '';
    await page.waitForTimeout(500);
    await page.reload();
  }
  throw new Error(`${workspace} was not indexed`);
}

describe('an owner tries the demo and connects a third workspace', () => {
  let demo: Awaited<ReturnType<typeof startEmbeddedDemo>>;
  let baseUrl: string;
  let page: Page;

  beforeAll(async () => {
    demo = await startEmbeddedDemo();
    ({ baseUrl, page } = demo);
  });
  afterAll(async () => demo?.stop());

  it('signs in as ada@example.com on the sandbox sign-in page', async () => {
    await page.goto(baseUrl);
    await page.getByRole('link', { name: 'Sign in' }).click();
    // Every sandbox page says it is a sandbox.
    expect(await page.getByRole('note').first().textContent()).toContain('Sandbox');
    await expectAccessible(page);
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${baseUrl}/workspaces**`);
  });

  it('shows the header every signed-in page has', async () => {
    await expect(page.getByText('Ada Lovelace').isVisible()).resolves.toBe(true);
    for (const link of ['Your workspaces', 'My connections', 'Connections']) {
      expect(await page.getByRole('link', { name: link, exact: true }).count()).toBe(1);
    }
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(1);
  });

  it('sees Acme and Side Project already connected, as owner, and indexed', async () => {
    for (const name of ['Acme', 'Side Project']) {
      const row = page.getByRole('row', { name: new RegExp(`^${name}\\b`) });
      await expect(row.getByRole('cell', { name: 'Owner' }).count()).resolves.toBe(1);
    }
    expect(await waitUntilIndexed(page, 'Acme')).toMatch(/^(6\d|[7-9]\d|\d{3,}) pages indexed$/);
    await waitUntilIndexed(page, 'Side Project');
    expect(await page.getByRole('row', { name: /^Archive\b/ }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Refresh pages/ }).count()).toBe(2);
    await expectAccessible(page);
  });

  it('connects Archive through the sandbox Notion authorisation page', async () => {
    await page.getByRole('button', { name: 'Connect a workspace' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('ada-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('note').first().textContent()).toContain('Sandbox');
    await expectAccessible(page);
    await page.getByLabel('Workspace').selectOption({ label: 'Archive' });
    await page.getByRole('button', { name: 'Choose workspace' }).click();
    const boxes = page.getByRole('checkbox');
    expect(await boxes.count()).toBeGreaterThan(0);
    await expectAccessible(page);
    for (const box of await boxes.all()) await box.check();
    await page.getByRole('button', { name: 'Allow access' }).click();
    await page.waitForURL(`${baseUrl}/workspaces?notice=connected`);
    await expect(page.getByText('Workspace connected.').isVisible()).resolves.toBe(true);
  });

  it('sees Archive indexed', async () => {
    expect(await waitUntilIndexed(page, 'Archive')).toMatch(/^\d+ pages indexed$/);
    const row = page.getByRole('row', { name: /^Archive\b/ });
    await expect(row.getByRole('cell', { name: 'Owner' }).count()).resolves.toBe(1);
  });

  it('signs out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${baseUrl}/`);
    expect(await page.getByRole('link', { name: 'Sign in' }).count()).toBe(1);
  });
});
