/**
 * Sandbox Notion's webhook subscriptions, over real HTTP to a local receiver:
 * the verification request, nothing before verification, signed events that
 * @notionhq/client's verifyWebhookSignature accepts, retries, internal
 * integrations, the control routes, the off switch and persistence.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@notionhq/client';
import { SEED_PAGE_IDS, SEED_USER_IDS, SEED_WORKSPACE_IDS } from '../../src/sandbox/notion/index.js';
import { GATEHOUSE_CLIENT, startSandbox } from './harness.js';
import type { RunningSandbox } from './harness.js';
import { WebhookReceiver } from './webhook-receiver.js';

const FAST = { retryDelaysMs: [2, 4, 8], timeoutMs: 200 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const title = (content: string) => ({ title: { title: [{ text: { content } }] } });

let running: RunningSandbox;
let receiver: WebhookReceiver;
let ada: Client;
let adaBotId: string;

beforeAll(async () => {
  running = await startSandbox({ rateLimitPerSecond: Infinity, webhooks: FAST });
  receiver = await WebhookReceiver.start();
  const grant = await running.sandbox.grantDirect({
    clientId: GATEHOUSE_CLIENT.clientId,
    email: 'ada@example.com',
    workspaceName: 'Acme',
    pageIds: [SEED_PAGE_IDS.engineering],
  });
  ada = running.client(grant.access_token);
  adaBotId = grant.bot_id;
});
afterAll(async () => {
  await running.stop();
  await receiver.stop();
});

describe("a public integration's subscription", () => {
  let subscriptionId: string;

  it('sends a verification request whose only key is verification_token', async () => {
    ({ id: subscriptionId } = await running.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, receiver.url));
    expect(subscriptionId).toMatch(UUID);
    await running.sandbox.webhooks.idle();
    expect(receiver.received).toHaveLength(1);
    const [handshake] = receiver.received;
    expect(Object.keys(handshake.json)).toEqual(['verification_token']);
    expect(handshake.json.verification_token).toMatch(/^secret_[A-Za-z0-9]{43}$/);
    expect(handshake.headers['content-type']).toBe('application/json');
    expect(running.sandbox.webhooks.list()).toEqual([
      {
        id: subscriptionId,
        clientId: GATEHOUSE_CLIENT.clientId,
        url: receiver.url,
        eventTypes: null,
        apiVersion: '2025-09-03',
        status: 'pending',
        createdTime: expect.any(String),
      },
    ]);
  });

  it('sends no events before it is verified', async () => {
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Before verification') });
    await running.sandbox.webhooks.idle();
    expect(await receiver.events()).toEqual([]);
  });

  it('refuses a wrong token and a second subscription for the same integration', async () => {
    await expect(running.sandbox.webhooks.verify(subscriptionId, 'secret_wrong')).rejects.toMatchObject({ status: 400 });
    await expect(running.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, receiver.url)).rejects.toMatchObject({
      status: 409,
    });
    expect(running.sandbox.webhooks.list()[0].status).toBe('pending');
  });

  it('once verified, sends page.created, signed with the verification token', async () => {
    await running.sandbox.webhooks.verify(subscriptionId, receiver.verificationToken());
    expect(running.sandbox.webhooks.list()[0].status).toBe('active');
    const page = await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('After verification') });
    await running.sandbox.webhooks.idle();
    const events = await receiver.events();
    expect(events).toEqual([
      {
        id: expect.stringMatching(UUID),
        timestamp: expect.any(String),
        workspace_id: SEED_WORKSPACE_IDS.acme,
        workspace_name: 'Acme',
        subscription_id: subscriptionId,
        integration_id: GATEHOUSE_CLIENT.clientId,
        authors: [{ id: adaBotId, type: 'bot' }],
        accessible_by: [
          { id: SEED_USER_IDS.ada, type: 'person' },
          { id: adaBotId, type: 'bot' },
        ],
        attempt_number: 1,
        api_version: '2025-09-03',
        type: 'page.created',
        entity: { id: page.id, type: 'page' },
        data: { parent: { id: SEED_PAGE_IDS.engineering, type: 'page' } },
      },
    ]);
    expect(new Date(events[0].timestamp).toISOString()).toBe(events[0].timestamp);
    expect(receiver.received.at(-1)?.headers['x-notion-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('retries a failed delivery (5xx, a redirect, no answer in time), counting attempts, until the receiver answers 2xx', async () => {
    receiver.clearEvents();
    receiver.statuses.push(500, 302, 'hang');
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Retried') });
    await running.sandbox.webhooks.idle();
    const events = await receiver.events();
    expect(events.map((e) => e.attempt_number)).toEqual([1, 2, 3, 4]);
    expect(new Set(events.map((e) => e.id)).size).toBe(1);
  });

  it('gives up after 8 attempts and goes on with the next event, in order', async () => {
    receiver.clearEvents();
    receiver.statuses.push(...Array<number>(8).fill(500));
    const first = await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Lost') });
    const second = await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Delivered') });
    await running.sandbox.webhooks.idle();
    const events = await receiver.events();
    expect(events.map((e) => [e.entity.id, e.attempt_number])).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => [first.id, n]),
      [second.id, 1],
    ]);
  });

  it('answers the API call without waiting for the receiver', async () => {
    const slow = await startSandbox({ rateLimitPerSecond: Infinity, webhooks: { retryDelaysMs: [60_000] } });
    try {
      const grant = await slow.sandbox.grantDirect({
        clientId: GATEHOUSE_CLIENT.clientId,
        email: 'ben@example.com',
        workspaceName: 'Acme',
      });
      const other = await WebhookReceiver.start();
      const { id } = await slow.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, other.url);
      await slow.sandbox.webhooks.idle();
      await slow.sandbox.webhooks.verify(id, other.verificationToken());
      other.statuses.push(500);
      // The retry waits a minute; the API answers at once all the same.
      await slow.client(grant.access_token).pages.create({ parent: { page_id: SEED_PAGE_IDS.product }, properties: title('Quick') });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect((await other.events()).map((e) => e.attempt_number)).toEqual([1]);
      await other.stop();
    } finally {
      await slow.stop();
    }
  });

  it('stops sending once unsubscribed', async () => {
    await running.sandbox.webhooks.unsubscribe(subscriptionId);
    receiver.clearEvents();
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Unheard') });
    await running.sandbox.webhooks.idle();
    expect(await receiver.events()).toEqual([]);
    expect(running.sandbox.webhooks.list()).toEqual([]);
  });
});

describe("an internal integration's subscription", () => {
  let internalReceiver: WebhookReceiver;
  afterEach(async () => internalReceiver?.stop());

  it('receives the events of its own pages only, without accessible_by', async () => {
    internalReceiver = await WebhookReceiver.start();
    const { token, botId } = await running.sandbox.createInternalIntegration({
      workspaceName: 'Acme',
      name: 'Design bot',
      capabilities: ['read_content', 'insert_content'],
      pageIds: [SEED_PAGE_IDS.design],
    });
    const { id } = await running.sandbox.webhooks.subscribe({ internalIntegrationId: botId }, internalReceiver.url);
    await running.sandbox.webhooks.idle();
    await running.sandbox.webhooks.verify(id, internalReceiver.verificationToken());
    const own = await running.client(token).pages.create({ parent: { page_id: SEED_PAGE_IDS.design }, properties: title('Design note') });
    await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Not for the design bot') });
    await running.sandbox.webhooks.idle();
    const events = await internalReceiver.events();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'page.created', entity: { id: own.id }, integration_id: botId, subscription_id: id });
    expect(events[0]).not.toHaveProperty('accessible_by');
    await running.sandbox.webhooks.unsubscribe(id);
  });
});

describe('control routes (/_sandbox/webhooks)', () => {
  it('subscribes, verifies, lists, waits for delivery and unsubscribes over HTTP', async () => {
    const app = express();
    app.use('/_sandbox', express.json(), running.sandbox.controlRouter);
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_sandbox/webhooks`;
    const post = (p: string, body: unknown = {}) =>
      fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const other = await WebhookReceiver.start();
    try {
      expect((await post('/subscriptions', { url: other.url })).status).toBe(400);
      expect((await post('/subscriptions', { clientId: 'nobody', url: other.url })).status).toBe(404);
      expect((await post('/subscriptions', { clientId: GATEHOUSE_CLIENT.clientId, url: 'ftp://x' })).status).toBe(400);
      expect(
        (await post('/subscriptions', { clientId: GATEHOUSE_CLIENT.clientId, url: other.url, eventTypes: ['page.nope'] })).status,
      ).toBe(400);
      const created = await post('/subscriptions', { clientId: GATEHOUSE_CLIENT.clientId, url: other.url, eventTypes: ['page.created'] });
      expect(created.status).toBe(201);
      const { id } = (await created.json()) as { id: string };
      expect((await post('/idle')).status).toBe(204);
      expect((await post(`/subscriptions/${id}/verify`, { verificationToken: 'secret_no' })).status).toBe(400);
      expect((await post(`/subscriptions/${id}/resend-verification`)).status).toBe(202);
      await post('/idle');
      expect(other.received).toHaveLength(2);
      expect((await post(`/subscriptions/${id}/verify`, { verificationToken: other.verificationToken() })).status).toBe(204);
      const listed = (await (await fetch(`${base}/subscriptions`)).json()) as { subscriptions: Array<Record<string, unknown>> };
      expect(listed.subscriptions).toEqual([expect.objectContaining({ id, status: 'active', eventTypes: ['page.created'] })]);
      expect(JSON.stringify(listed)).not.toContain(other.verificationToken());
      const page = await ada.pages.create({ parent: { page_id: SEED_PAGE_IDS.engineering }, properties: title('Via control') });
      await ada.pages.update({ page_id: page.id, properties: title('Filtered out') });
      await post('/idle');
      expect((await other.events()).map((e) => e.type)).toEqual(['page.created']);
      expect((await fetch(`${base}/subscriptions/${id}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${base}/subscriptions/${id}`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await other.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('switched off', () => {
  it('refuses subscriptions and sends nothing', async () => {
    const off = await startSandbox({ webhooks: { enabled: false } });
    try {
      await expect(off.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, receiver.url)).rejects.toMatchObject({
        status: 400,
      });
      expect(off.sandbox.webhooks.list()).toEqual([]);
    } finally {
      await off.stop();
    }
  });
});

describe('persistence', () => {
  it('keeps subscriptions and their state across a restart', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'sandbox-webhooks-'));
    const stateFile = path.join(folder, 'sandbox-notion.json');
    const other = await WebhookReceiver.start();
    try {
      const first = await startSandbox({ stateFile, webhooks: FAST });
      const { id } = await first.sandbox.webhooks.subscribe({ clientId: GATEHOUSE_CLIENT.clientId }, other.url, ['page.created']);
      await first.sandbox.webhooks.idle();
      await first.sandbox.webhooks.verify(id, other.verificationToken());
      await first.stop();
      expect(await readFile(stateFile, 'utf8')).toContain(id);
      const second = await startSandbox({ stateFile, webhooks: FAST });
      try {
        expect(second.sandbox.webhooks.list()).toEqual([expect.objectContaining({ id, status: 'active', eventTypes: ['page.created'] })]);
        const grant = await second.sandbox.grantDirect({
          clientId: GATEHOUSE_CLIENT.clientId,
          email: 'ada@example.com',
          workspaceName: 'Acme',
        });
        await second
          .client(grant.access_token)
          .pages.create({ parent: { page_id: SEED_PAGE_IDS.product }, properties: title('After restart') });
        await second.sandbox.webhooks.idle();
        expect((await other.events()).map((e) => e.type)).toEqual(['page.created']);
      } finally {
        await second.stop();
      }
    } finally {
      await other.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('opens a state file written before webhooks existed', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'sandbox-webhooks-'));
    const stateFile = path.join(folder, 'sandbox-notion.json');
    try {
      await (await startSandbox({ stateFile })).stop();
      const saved = JSON.parse(await readFile(stateFile, 'utf8')) as Record<string, unknown>;
      delete saved.webhookSubscriptions;
      await writeFile(stateFile, JSON.stringify(saved));
      const reopened = await startSandbox({ stateFile });
      expect(reopened.sandbox.webhooks.list()).toEqual([]);
      await reopened.stop();
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
