/**
 * Revocation holds across instances: two Gatehouse server
 * processes on different ports share one PostgreSQL database (a throwaway
 * one, created here), one Redis key prefix and the same keys, as instances
 * behind a load balancer do. Ben authorises a partner on instance A; the
 * partner holds tokens; an operator revokes the grant on instance B with B's
 * own bootstrap admin token. The very next request on A is refused:
 * introspection {"active": false}, refresh invalid_grant, the proxy 401.
 * Nothing is cached per process, so no wait is needed.
 *
 * Both processes share ONE sandbox Notion, started here on its own port and
 * given to them as "real" Notion (GATEHOUSE_NOTION_BASE_URL and client), so
 * there is one upstream behind both instances. Each keeps its own sandbox
 * OpenID provider (GATEHOUSE_SANDBOX=1). With a non-in-process Notion no demo
 * is seeded: Ben connects Acme himself, through A's "Connect a workspace".
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Client } from '@notionhq/client';
import { Browser, signIn } from '../support/browser.js';
import { consentAndAllow } from '../support/consent-driver.js';
import { connectNotion } from '../support/notion-connect.js';
import { GATEHOUSE_CLIENT, startSandbox, type RunningSandbox } from '../sandbox-notion/harness.js';
import { deleteRedisPrefix, POSTGRES_URL, REDIS_URL, uniqueName } from '../support/databases.js';
import { listenOnFreePort, testKeys } from '../support/harness.js';
import { basic } from '../support/partner.js';
import { startServerProcess, stopServerProcess, type ServerProcess } from '../support/processes.js';
import { dataFiles } from '../../src/store/data-dir.js';

async function freeUrl(): Promise<string> {
  const { server, url } = await listenOnFreePort();
  await new Promise((resolve) => server.close(resolve));
  return url;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('a grant revoked on one instance is refused on another at the very next request', () => {
  const database = uniqueName('gh_xinst');
  const redisPrefix = `${uniqueName('xinst')}:`;
  const dirs = [fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-a-')), fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-b-'))];
  const servers: ServerProcess[] = [];
  let sandbox: RunningSandbox;
  let a: string;
  let b: string;
  const tokenOf = (dir: string) => fs.readFileSync(dataFiles.adminToken(dir), 'utf8').trim();
  let client: { client_id: string; client_secret: string };
  const redirectUri = 'http://127.0.0.1:9/callback';
  const ben = new Browser();
  let tokens: { access_token: string; refresh_token: string; bot_id: string };

  beforeAll(async () => {
    await admin(`create database "${database}"`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${database}`;
    a = await freeUrl();
    b = await freeUrl();
    // The one sandbox Notion both instances use; people connect it through either instance's callback.
    sandbox = await startSandbox({
      oauthClients: [
        {
          ...GATEHOUSE_CLIENT,
          redirectUris: [...GATEHOUSE_CLIENT.redirectUris, `${a}/connect/notion/callback`, `${b}/connect/notion/callback`],
        },
      ],
    });
    const shared = {
      DATABASE_URL: url.toString(),
      GATEHOUSE_SANDBOX: '1',
      REDIS_URL,
      GATEHOUSE_REDIS_PREFIX: redisPrefix,
      ...testKeys(),
      GATEHOUSE_NOTION_BASE_URL: sandbox.baseUrl,
      GATEHOUSE_NOTION_CLIENT_ID: GATEHOUSE_CLIENT.clientId,
      GATEHOUSE_NOTION_CLIENT_SECRET: GATEHOUSE_CLIENT.clientSecret,
    };
    // One after the other: the first runs the migrations.
    servers.push(await startServerProcess({ ...shared, PORT: new URL(a).port, GATEHOUSE_PUBLIC_URL: a, GATEHOUSE_DATA_DIR: dirs[0]! }));
    servers.push(await startServerProcess({ ...shared, PORT: new URL(b).port, GATEHOUSE_PUBLIC_URL: b, GATEHOUSE_DATA_DIR: dirs[1]! }));
  }, 120_000);
  afterAll(async () => {
    for (const server of servers) await stopServerProcess(server);
    await sandbox?.stop();
    await admin(`drop database if exists "${database}"`).catch(() => undefined);
    await deleteRedisPrefix(redisPrefix);
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** users.me (answered by Gatehouse) and search (forwarded upstream) through one instance's proxy; the shared sandbox Notion counts the upstream call. */
  async function proxied(base: string) {
    const partner = new Client({ auth: tokens.access_token, baseUrl: base, retry: false });
    const me = await partner.users.me({});
    const before = sandbox.sandbox.stats().apiCalls;
    const found = await partner.search({});
    expect(sandbox.sandbox.stats().apiCalls).toBeGreaterThan(before);
    return { me, ids: found.results.map((r) => r.id).sort() };
  }

  const introspect = (base: string, token: string) =>
    new Client({ baseUrl: base, retry: false }).oauth.introspect({
      token,
      client_id: client.client_id,
      client_secret: client.client_secret,
    });

  it("registers a partner on A with A's bootstrap admin token", async () => {
    const response = await fetch(`${a}/api/admin/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(dirs[0]!)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Zapflow', redirect_uris: [redirectUri], capabilities: ['read_content', 'user_info_without_email'] }),
    });
    expect(response.status).toBe(201);
    client = (await response.json()) as typeof client;
  });

  it('Ben signs in on A and connects Acme through A\'s "Connect a workspace" on the shared sandbox Notion', async () => {
    await signIn(ben, a, 'ben@example.com', 'ben-demo');
    const { callback } = await connectNotion(ben, a, { email: 'ben@example.com', password: 'ben-demo', workspaceName: 'Acme' });
    expect(callback.status).toBe(303);
    expect(callback.headers.get('location')).toBe('/workspaces?notice=connected');
    expect(sandbox.sandbox.stats().tokenCalls.authorization_code).toBe(1);
  });

  it('Ben authorises it on A and the partner redeems the code on A; B sees the token as active (one database)', async () => {
    const authorize = `${a}/v1/oauth/authorize?${new URLSearchParams({ client_id: client.client_id, redirect_uri: redirectUri, response_type: 'code', state: 'xinst' })}`;
    let answer: URL | null = null;
    // A indexes Ben's pages in the background after the connection: wait until the picker offers some.
    for (let attempt = 0; attempt < 40 && !answer; attempt++) {
      answer = await consentAndAllow(ben, a, authorize, 'Acme').catch(async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return null;
      });
    }
    expect(answer?.searchParams.get('code')).toMatch(/^gh_code_/);
    const response = await fetch(`${a}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(client.client_id, client.client_secret), 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'authorization_code', code: answer!.searchParams.get('code'), redirect_uri: redirectUri }),
    });
    expect(response.status).toBe(200);
    tokens = (await response.json()) as typeof tokens;
    expect((await introspect(a, tokens.access_token)).active).toBe(true);
    expect((await introspect(b, tokens.access_token)).active).toBe(true);
  });

  it('before the revocation the proxy works on both instances, each through the one shared sandbox Notion', async () => {
    const viaA = await proxied(a);
    const viaB = await proxied(b);
    expect(viaA.me.object).toBe('user');
    expect(viaB.me).toEqual(viaA.me);
    expect(viaA.ids.length).toBeGreaterThan(0); // the page Ben picked on the consent screen and what lies under it
    expect(viaB.ids).toEqual(viaA.ids);
  });

  it("revoked on B (B's own bootstrap token): the very next request on A is refused, introspection, refresh and proxy alike", async () => {
    const revoke = await fetch(`${b}/api/admin/v1/grants/${tokens.bot_id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(dirs[1]!)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'cross-instance drill' }),
    });
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toEqual({ object: 'revocation', revoked: [tokens.bot_id], already_revoked: [] });
    expect(await introspect(a, tokens.access_token)).toEqual({ active: false });
    expect(await introspect(a, tokens.refresh_token)).toEqual({ active: false });
    const refreshed = await fetch(`${a}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: basic(client.client_id, client.client_secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
    });
    expect(refreshed.status).toBe(400);
    expect((await refreshed.json()).error).toBe('invalid_grant');
    await expect(
      new Client({ auth: tokens.access_token, baseUrl: a, retry: false, logger: () => undefined }).users.me({}),
    ).rejects.toMatchObject({ status: 401 });
  });

  it('revoking again on A is an idempotent success', async () => {
    const again = await fetch(`${a}/api/admin/v1/grants/${tokens.bot_id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenOf(dirs[0]!)}` },
    });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ object: 'revocation', revoked: [], already_revoked: [tokens.bot_id] });
  });
});
