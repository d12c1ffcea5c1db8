/**
 * The "AI agents" section of "Connections" in Chromium, at phone width in
 * dark mode: Ada picks "Only agents from approved redirect hosts", lists a
 * host and saves with "Save agent policy"; the section passes axe and fits
 * the screen (a screenshot of it is saved under test-artifacts/screenshots).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { startTestGatehouse, type TestGatehouse } from '../support/harness.js';
import { SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';

describe('"AI agents" on "Connections", at phone width in dark mode', () => {
  let t: TestGatehouse;
  let browser: Browser;
  let ada: Page;

  beforeAll(async () => {
    t = await startTestGatehouse();
    browser = await launchChromium();
    ada = await (await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' })).newPage();
    await ada.goto(`${t.url}/auth/sign-in`);
    await ada.getByLabel('Email').fill('ada@example.com');
    await ada.getByLabel('Password').fill('ada-demo');
    await ada.getByRole('button', { name: 'Sign in' }).click();
    await ada.waitForURL(`${t.url}/workspaces**`);
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  const sectionIsAccessible = async () => {
    const results = await new AxeBuilder({ page: ada }).include('section[aria-labelledby="agents-heading"]').analyze();
    expect(results.violations.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
    const fits = await ada
      .locator('section[aria-labelledby="agents-heading"]')
      .evaluate((s) => s.getBoundingClientRect().right <= document.documentElement.clientWidth && s.scrollWidth <= s.clientWidth);
    expect(fits).toBe(true);
  };

  it('Ada restricts agents to an approved host and saves; the section passes axe before and after', async () => {
    await ada.goto(`${t.url}/connections?workspace=${SEED_WORKSPACE_IDS.acme}`);
    const agents = ada.getByRole('region', { name: 'AI agents' });
    const choices = agents.getByRole('group', { name: 'Which AI agents members may connect' });
    await expect(choices.getByLabel('Any agent', { exact: true }).isChecked()).resolves.toBe(true);
    await sectionIsAccessible();
    await choices.getByLabel('Only agents from approved redirect hosts').check();
    await agents.getByRole('textbox', { name: 'Approved redirect hosts' }).fill('claude.ai\nchatgpt.com');
    await agents.getByRole('button', { name: 'Save agent policy' }).click();
    await ada.waitForURL(/agent_notice=saved/);
    await expect(ada.getByRole('region', { name: 'AI agents' }).getByRole('status').textContent()).resolves.toBe('Agent policy saved.');
    await expect(ada.getByLabel('Only agents from approved redirect hosts').isChecked()).resolves.toBe(true);
    await expect(ada.getByRole('textbox', { name: 'Approved redirect hosts' }).inputValue()).resolves.toBe('claude.ai\nchatgpt.com');
    await sectionIsAccessible();
    // For a reviewer, not asserted.
    await ada
      .locator('section[aria-labelledby="agents-heading"]')
      .screenshot({ path: 'test-artifacts/screenshots/agent-policy-phone-dark.png' });
    expect(await t.gatehouse.stores.agentPolicies.get(SEED_WORKSPACE_IDS.acme)).toEqual({
      policy: 'approved_hosts',
      approvedHosts: ['claude.ai', 'chatgpt.com'],
    });
  });

  it('a host with a scheme is refused with an alert in the section, and nothing changes', async () => {
    await ada.getByLabel('No agents', { exact: true }).check();
    await ada.getByRole('textbox', { name: 'Approved redirect hosts' }).fill('https://claude.ai');
    await ada.getByRole('button', { name: 'Save agent policy' }).click();
    await ada.waitForURL(/agent_error=hosts/);
    await expect(ada.getByRole('region', { name: 'AI agents' }).getByRole('alert').textContent()).resolves.toContain('Nothing saved');
    await expect(ada.getByLabel('Only agents from approved redirect hosts').isChecked()).resolves.toBe(true);
    await sectionIsAccessible();
  });
});
