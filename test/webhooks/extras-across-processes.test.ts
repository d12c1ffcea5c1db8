/**
 * A change made through the proxy reaches a partner's receiver, every part
 * in a process of its own: the sandbox Notion (`npm run sandbox:notion`) →
 * Gatehouse (`src/server.ts`, its job workers running, so the job engine
 * delivers by itself) → the partner's receiver, which checks each delivery
 * with `@notionhq/client`'s `verifyWebhookSignature` and `standardwebhooks`'
 * `Webhook.verify`. Everything is set up over HTTP, as people do it: the
 * organisation admin subscribes the sandbox Notion to the intake and enters
 * the token Gatehouse kept; Ada connects Acme and grants the partner a page;
 * the partner subscribes, enters the token its URL received, and creates a
 * page under its grant with `@notionhq/client` pointed at Gatehouse.
 * Once on embedded PGlite, once on PostgreSQL + Redis.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client } from '@notionhq/client';
import pg from 'pg';
import { dataFiles } from '../../src/store/data-dir.js';
import { Browser, signIn } from '../support/browser.js';
import { consentAndAllow } from '../support/consent-driver.js';
import { deleteRedisPrefix, POSTGRES_URL, REDIS_URL, uniqueName } from '../support/databases.js';
import { testKeys } from '../support/harness.js';
import { connectNotion } from '../support/notion-connect.js';
import { basic } from '../support/partner.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import {
  eventually,
  freeUrl,
  startReceiverProcess,
  startSandboxNotionProcess,
  type ChildService,
  type ReceiverProcess,
} from './extras-processes.js';

const NOTION_CLIENT = { clientId: 'gatehouse-e2e', clientSecret: 'gatehouse-e2e-secret' };
const PARTNER_REDIRECT = 'http://127.0.0.1:9/callback';

async function adminSql(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

describe.each([
  { mode: 'embedded PGlite', postgres: false },
  { mode: 'PostgreSQL + Redis', postgres: true },
])('sandbox Notion → Gatehouse → partner receiver, three processes ($mode)', ({ postgres }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-e2e-'));
  const database = uniqueName('gh_e2e');
  const redisPrefix = `${uniqueName('e2e')}:`;
  let notion: ChildService;
  let receiver: ReceiverProcess;
  let gatehouse: ServerProcess;
  let url: string;
  let adminToken: string;
  let app: { client_id: string; client_secret: string };
  let accessToken: string;
  let subscriptionId: string;
  const ada = new Browser();

  const admin = (method: string, route: string, body?: unknown) =>
    fetch(`${url}${route}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const control = (route: string, body?: unknown) =>
    fetch(`${notion.url}/_sandbox/webhooks${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });

  beforeAll(async () => {
    url = await freeUrl();
    notion = await startSandboxNotionProcess({
      ...NOTION_CLIENT,
      redirectUris: [`${url}/connect/notion/callback`],
      stateFile: path.join(dir, 'sandbox-notion.json'),
    });
    receiver = await startReceiverProcess();
    let databaseEnv: Record<string, string> = {};
    if (postgres) {
      await adminSql(`create database "${database}"`);
      const databaseUrl = new URL(POSTGRES_URL);
      databaseUrl.pathname = `/${database}`;
      databaseEnv = { DATABASE_URL: databaseUrl.toString(), GATEHOUSE_SANDBOX: '1', REDIS_URL, GATEHOUSE_REDIS_PREFIX: redisPrefix };
    }
    gatehouse = await startServerProcess({
      ...databaseEnv,
      ...testKeys(),
      PORT: new URL(url).port,
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: path.join(dir, 'gatehouse'),
      GATEHOUSE_ADMIN_EMAILS: 'ada@example.com',
      GATEHOUSE_NOTION_BASE_URL: notion.url,
      GATEHOUSE_NOTION_CLIENT_ID: NOTION_CLIENT.clientId,
      GATEHOUSE_NOTION_CLIENT_SECRET: NOTION_CLIENT.clientSecret,
    });
    adminToken = fs.readFileSync(dataFiles.adminToken(path.join(dir, 'gatehouse')), 'utf8').trim();
  }, 120_000);
  afterAll(async () => {
    if (gatehouse) await stopServerProcess(gatehouse);
    await receiver?.stop();
    await notion?.stop();
    if (postgres) {
      await adminSql(`drop database if exists "${database}" with (force)`).catch(() => undefined);
      await deleteRedisPrefix(redisPrefix);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an organisation admin subscribes the sandbox Notion to the intake and enters back the token Gatehouse kept', async () => {
    const created = await control('/subscriptions', { clientId: NOTION_CLIENT.clientId, url: `${url}/webhooks/notion` });
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await control('/idle');
    const kept = (await (await admin('GET', '/api/admin/v1/webhooks/notion-token')).json()) as { verification_token: string | null };
    expect(kept.verification_token).toEqual(expect.any(String));
    expect((await control(`/subscriptions/${id}/verify`, { verificationToken: kept.verification_token })).status).toBe(204);
  });

  it('Ada connects Acme and grants the partner one page; the partner redeems the code', async () => {
    const registered = await admin('POST', '/api/admin/v1/apps', {
      name: 'Relay',
      redirect_uris: [PARTNER_REDIRECT],
      capabilities: ['read_content', 'insert_content', 'no_user_info'],
    });
    expect(registered.status).toBe(201);
    app = (await registered.json()) as typeof app;
    await signIn(ada, url, 'ada@example.com', 'ada-demo');
    const { callback } = await connectNotion(ada, url, { email: 'ada@example.com', password: 'ada-demo', workspaceName: 'Acme' });
    expect(callback.status).toBe(303);
    const authorize = `${url}/v1/oauth/authorize?${new URLSearchParams({ client_id: app.client_id, redirect_uri: PARTNER_REDIRECT, response_type: 'code', state: 's' })}`;
    // The page index fills in the background after the connection: the picker offers pages once it has.
    const redirect = await eventually(
      () => consentAndAllow(ada, url, authorize, 'Acme').catch(() => undefined),
      30_000,
      'the consent page picker',
    );
    const token = await fetch(`${url}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(app.client_id, app.client_secret), 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', code: redirect.searchParams.get('code'), redirect_uri: PARTNER_REDIRECT }),
    });
    expect(token.status).toBe(200);
    accessToken = ((await token.json()) as { access_token: string }).access_token;
  });

  it('the partner subscribes its receiver, which gets the verification POST; the partner enters the token back', async () => {
    const created = await admin('POST', '/api/admin/v1/webhooks/subscriptions', {
      client_id: app.client_id,
      url: receiver.hookUrl,
      events: ['page.created'],
    });
    expect(created.status).toBe(201);
    const subscription = (await created.json()) as { id: string; status: string; signing_secret: string };
    expect(subscription).toMatchObject({ status: 'pending', signing_secret: expect.stringMatching(/^whsec_/) });
    subscriptionId = subscription.id;
    await receiver.configure(subscription.signing_secret);
    const token = await eventually(async () => (await receiver.report()).verificationToken ?? undefined, 10_000, 'the verification POST');
    const verified = await fetch(`${url}/v1/webhooks/subscriptions/${subscriptionId}/verify`, {
      method: 'POST',
      headers: { authorization: basic(app.client_id, app.client_secret), 'content-type': 'application/json' },
      body: JSON.stringify({ verification_token: token }),
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ id: subscriptionId, status: 'active' });
  });

  it('a page created through the proxy under the grant reaches the receiver as page.created, signed both ways', async () => {
    const partner = new Client({ auth: accessToken, baseUrl: url, retry: false, logger: () => undefined });
    const granted = (await partner.search({ filter: { property: 'object', value: 'page' } })).results[0];
    expect(granted).toBeDefined();
    const page = await partner.pages.create({
      parent: { page_id: granted!.id },
      properties: { title: { title: [{ text: { content: 'Across processes' } }] } },
    });
    const delivery = await eventually(
      async () => (await receiver.report()).deliveries.find((d) => d.entity.id === page.id),
      30_000,
      'the delivery to the receiver',
    );
    expect(delivery).toMatchObject({ type: 'page.created', notionValid: true, standardValid: true });
    expect(delivery.webhookId).toEqual(expect.any(String));
    expect(delivery.json).toMatchObject({
      subscription_id: subscriptionId,
      integration_id: app.client_id,
      entity: { id: page.id, type: 'page' },
      attempt_number: 1,
    });
    const deliveries = (await (await admin('GET', `/api/admin/v1/webhooks/subscriptions/${subscriptionId}/deliveries`)).json()) as {
      deliveries: Array<{ status: string; event_type: string }>;
    };
    expect(deliveries.deliveries).toEqual([expect.objectContaining({ status: 'delivered' })]);
  }, 60_000);
});
