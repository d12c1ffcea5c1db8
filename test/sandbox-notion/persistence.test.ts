/**
 * State survives a restart: a new instance on the same state file (in a
 * temporary folder) keeps tokens, content and membership changes. Also the
 * control surface: internal integrations, removing a member, generated pages,
 * and the /_sandbox endpoints a standalone instance serves.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { collectPaginatedAPI } from '@notionhq/client';
import { SEED_PAGE_IDS } from '../../src/sandbox/notion/index.js';
import { GATEHOUSE_CLIENT, startSandbox } from './harness.js';

let folder: string;
let stateFile: string;
beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'sandbox-notion-'));
  stateFile = path.join(folder, 'nested', 'sandbox-notion.json');
});
afterAll(async () => rm(folder, { recursive: true, force: true }));

describe('persistence across a restart', () => {
  let accessToken: string;
  let refreshToken: string;
  let internalToken: string;
  let pageId: string;

  it('writes the state file atomically on changes', async () => {
    const first = await startSandbox({ stateFile });
    const grant = await first.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email: 'ada@example.com', workspaceName: 'Acme' });
    accessToken = grant.access_token;
    refreshToken = grant.refresh_token as string;
    internalToken = (
      await first.sandbox.createInternalIntegration({ workspaceName: 'Archive', name: 'Archiver', capabilities: ['read_content'] })
    ).token;
    const page = await first.client(accessToken).pages.create({
      parent: { page_id: SEED_PAGE_IDS.engineering },
      properties: { title: { title: [{ text: { content: 'Survives restarts' } }] } },
    });
    pageId = page.id;
    await first.sandbox.removeMember({ workspaceName: 'Acme', email: 'ben@example.com' });
    await first.stop();
    const saved = await readFile(stateFile, 'utf8');
    expect(saved).toContain('Survives restarts');
    // Only hashes of secrets are kept.
    expect(saved).not.toContain(accessToken);
    expect(saved).not.toContain(GATEHOUSE_CLIENT.clientSecret);
    expect((await readdir(path.dirname(stateFile))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a new instance on the same file keeps tokens, content and membership', async () => {
    const second = await startSandbox({ stateFile });
    try {
      const client = second.client(accessToken);
      await expect(client.pages.retrieve({ page_id: pageId })).resolves.toMatchObject({ id: pageId });
      await expect(second.client(internalToken).search({})).resolves.toMatchObject({ object: 'list' });
      const users = await client.users.list({});
      expect(users.results.map((u) => (u.type === 'person' ? u.person.email : null))).not.toContain('ben@example.com');
      await expect(
        second.client().oauth.token({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: GATEHOUSE_CLIENT.clientId,
          client_secret: GATEHOUSE_CLIENT.clientSecret,
        }),
      ).resolves.toMatchObject({ workspace_name: 'Acme' });
      await expect(
        second.sandbox.grantDirect({ clientId: GATEHOUSE_CLIENT.clientId, email: 'ben@example.com', workspaceName: 'Acme' }),
      ).rejects.toThrow(/not a member/);
    } finally {
      await second.stop();
    }
  });
});

describe('removing a member', () => {
  it('stops the tokens of their connections in that workspace', async () => {
    const running = await startSandbox();
    try {
      const ben = await running.sandbox.grantDirect({
        clientId: GATEHOUSE_CLIENT.clientId,
        email: 'ben@example.com',
        workspaceName: 'Acme',
      });
      await expect(running.client(ben.access_token).users.me({})).resolves.toMatchObject({ type: 'bot' });
      await running.sandbox.removeMember({ workspaceName: 'Acme', email: 'ben@example.com' });
      await expect(running.client(ben.access_token).users.me({})).rejects.toMatchObject({ status: 401 });
    } finally {
      await running.stop();
    }
  });
});

describe('generated pages', () => {
  it('adds 10,000 pages that search pages through', async () => {
    const running = await startSandbox({ rateLimitPerSecond: Infinity });
    try {
      const { rootPageId, pageIds } = await running.sandbox.addGeneratedPages('Side Project', 10_000);
      expect(pageIds).toHaveLength(10_000);
      const { token } = await running.sandbox.createInternalIntegration({
        workspaceName: 'Side Project',
        name: 'Bench',
        capabilities: ['read_content'],
        pageIds: [rootPageId],
      });
      // Speed is the benchmark's business, not a test's: only completeness is asserted here.
      const results = await collectPaginatedAPI(running.client(token).search, { filter: { property: 'object', value: 'page' } });
      expect(results).toHaveLength(10_000 + 100 + 1);
    } finally {
      await running.stop();
    }
  });
});

describe('control endpoints (/_sandbox)', () => {
  it('creates internal integrations, removes members and reports stats over HTTP', async () => {
    const running = await startSandbox();
    const app = express();
    app.use('/_sandbox', express.json(), running.sandbox.controlRouter);
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_sandbox`;
    const post = (p: string, body: unknown) =>
      fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    try {
      const created = await post('/internal-integrations', { workspaceName: 'Acme', name: 'HTTP bot', capabilities: ['read_content'] });
      expect(created.status).toBe(201);
      const { token } = (await created.json()) as { token: string };
      await running.client(token).search({});
      const stats = (await (await fetch(`${base}/stats`)).json()) as { apiCalls: number };
      expect(stats.apiCalls).toBe(1);
      expect((await post('/internal-integrations', { workspaceName: 'Acme', name: 'x', capabilities: ['fly'] })).status).toBe(400);
      expect((await post('/remove-member', { workspaceName: 'Acme', email: 'ben@example.com' })).status).toBe(204);
      expect(running.sandbox.stats()).toEqual({ tokenCalls: { authorization_code: 0, refresh_token: 0 }, apiCalls: 1 });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await running.stop();
    }
  });
});
