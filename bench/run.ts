/**
 * `npm run bench`: partner OAuth throughput on PostgreSQL and Redis, against
 * a bare Express hello-world on the same machine as the ceiling; then the
 * proxy: one read (retrieve a page) through Gatehouse, directly against the
 * sandbox Notion in its own process, and through a bare forwarder (Express +
 * @notionhq/client, nothing checked: the floor for any Node proxy on this
 * machine), as added latency, throughput ratio and CPU time per call.
 *
 * Gatehouse runs as its own process (as in production) on a fresh database;
 * this process only drives load over loopback HTTP with a fixed concurrency.
 * Prints requests per second, p50 and p99 latency, and each ratio to the
 * ceiling. Figures, not assertions: speed is never a test.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import { describeParts, loadConfig } from '../src/config.js';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { openDatabase } from '../src/store/database.js';
import { createStores } from '../src/store/stores.js';
import { benchFairShare } from './fair-share.js';
import { benchWebhooks } from './webhooks.js';
import { benchOAuthPeers } from './oauth-peers.js';
import { benchMcp } from './mcp.js';
import { benchPicker } from './picker.js';
import { benchProxy } from './proxy.js';
import { CONCURRENCY, COUNT, freePort, measure, POSTGRES, REDIS, startProcess, stopAll, require_resolve } from './support.js';

async function main(): Promise<void> {
  const database = `gatehouse_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  await admin.query(`create database ${database}`);
  const databaseUrl = new URL(POSTGRES);
  databaseUrl.pathname = `/${database}`;
  const redisPrefix = `bench:${randomBytes(4).toString('hex')}:`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-'));
  const children: ChildProcess[] = [];
  try {
    if (process.env.BENCH_ONLY === 'picker') return await benchPicker({ admin, databaseUrl }); // the page picker at 10,000 pages (bench/picker.ts)
    // BENCH_ONLY=proxy: the proxy measure alone (a quicker loop while working on the hot path).
    if (process.env.BENCH_ONLY === 'proxy') {
      await benchProxy({ admin, databaseUrl, redisPrefix, dataDir, children });
      return;
    }
    // BENCH_ONLY=peers: the token path beside node-oidc-provider and a bare Express POST, and at scale (bench/oauth-peers.ts).
    if (process.env.BENCH_ONLY === 'peers') {
      await benchOAuthPeers({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
      return;
    }
    // BENCH_ONLY=fairshare: three partners sharing one workspace's Notion budget (bench/fair-share.ts).
    if (process.env.BENCH_ONLY === 'fairshare') {
      await benchFairShare({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
      return;
    }
    // BENCH_ONLY=mcp: tools/call notion-fetch through /mcp against the same read through the proxy (bench/mcp.ts).
    if (process.env.BENCH_ONLY === 'mcp') {
      await benchMcp({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
      return;
    }
    // BENCH_ONLY=webhooks: Notion's events through the intake to 1, 10 and 100 partners (bench/webhooks.ts).
    if (process.env.BENCH_ONLY === 'webhooks') {
      await benchWebhooks({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
      return;
    }
    // The ceiling: a bare Express hello-world in its own process.
    const helloPort = await freePort();
    const helloSource = `const express=require(${JSON.stringify(require_resolve('express'))});const a=express();a.post('/',(q,s)=>s.json({ok:true}));a.listen(${helloPort},'127.0.0.1',()=>console.log('hello ready'));`;
    children.push(await startProcess(['-e', helloSource], {}, 'hello ready'));

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    children.push(
      await startProcess(
        ['--import', 'tsx', 'src/server.ts'],
        {
          PORT: String(port),
          GATEHOUSE_PUBLIC_URL: url,
          GATEHOUSE_DATA_DIR: dataDir,
          DATABASE_URL: databaseUrl.href,
          REDIS_URL: REDIS,
          GATEHOUSE_SANDBOX: '1',
          GATEHOUSE_ENCRYPTION_KEYS: `b1:${randomBytes(32).toString('base64')}`,
          GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
          LOG_LEVEL: 'warn',
          GATEHOUSE_REDIS_PREFIX: redisPrefix,
        },
        'Gatehouse ready',
      ),
    );

    // Set-up, not measured: a partner app and COUNT codes for Ada in Acme, issued as "Allow access" issues them.
    const handle = await openDatabase({ kind: 'postgres', url: databaseUrl.href });
    const stores = createStores(handle.db);
    const clientId = randomString(18);
    const secret = generateToken('gh_cs');
    const app = await stores.partnerApps.create(
      {
        clientId,
        clientSecretHash: hashToken(secret),
        name: 'Bench partner',
        website: null,
        supportContact: null,
        logo: null,
        redirectUris: ['https://bench.example/cb'],
        capabilities: ['read_content', 'no_user_info'],
        builtByOrganisation: false,
        clientType: 'confidential',
        createdBy: null,
      },
      new Date(),
    );
    const [ada] = await stores.people.findByEmail('ada@example.com');
    const acme = (await stores.workspaces.listForPerson(ada!.id)).find((w) => w.name === 'Acme')!;
    const connection = (await stores.connections.findForPersonAndWorkspace(ada!.id, acme.id))!;
    const codes: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const { code } = await grantAndIssueCode(
        { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: { now: () => new Date() }, codeLifetimeSeconds: 600 },
        {
          transaction: {
            id: 'bench',
            status: 'signed_in',
            appId: app.id,
            clientId,
            redirectUri: 'https://bench.example/cb',
            redirectUriExplicit: true,
            state: null,
            codeChallenge: null,
            capabilities: ['read_content', 'no_user_info'],
            createdAt: Date.now(),
            picks: { workspaceId: acme.id, pageIds: [] },
          },
          personId: ada!.id,
          personLabel: 'bench',
          workspaceId: acme.id,
          upstreamConnectionId: connection.id,
          pageIds: [],
          address: null,
        },
      );
      codes.push(code);
    }
    await handle.close();

    const authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
    const post = async (path: string, body: Record<string, string>) => {
      const response = await fetch(`${url}${path}`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      });
      const json = (await response.json()) as Record<string, string>;
      if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(json)}`);
      return json;
    };

    const helloCall = async () => {
      const response = await fetch(`http://127.0.0.1:${helloPort}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      await response.json();
    };
    await measure('warm-up', 500, helloCall); // JIT and connection pools of the load generator, not measured
    const hello = await measure('bare Express hello-world (ceiling)', COUNT, helloCall);
    const accessTokens: string[] = [];
    const refreshTokens: string[] = [];
    const redemptions = await measure('code redemptions', COUNT, async (i) => {
      const answer = await post('/v1/oauth/token', {
        grant_type: 'authorization_code',
        code: codes[i]!,
        redirect_uri: 'https://bench.example/cb',
      });
      accessTokens.push(answer.access_token!);
      refreshTokens.push(answer.refresh_token!);
    });
    const refreshes = await measure('refreshes', COUNT, async (i) => {
      await post('/v1/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshTokens[i]! });
    });
    const introspections = await measure('introspections', COUNT, async (i) => {
      await post('/v1/oauth/introspect', { token: accessTokens[i % accessTokens.length]! });
    });

    const rows = [hello, redemptions, refreshes, introspections];
    process.stdout.write(
      `Gatehouse partner OAuth on PostgreSQL + Redis, ${COUNT} requests each, concurrency ${CONCURRENCY}, ${os.cpus().length} cores (load generator on the same machine)\n`,
    );
    process.stdout.write(
      `${'operation'.padEnd(38)} ${'req/s'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'vs ceiling'.padStart(11)}\n`,
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.name.padEnd(38)} ${r.perSecond.toFixed(0).padStart(9)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${(r.perSecond / hello.perSecond).toFixed(3).padStart(11)}\n`,
      );
    }
    // Gatehouse's OAuth process is done: stop it so the proxy measure has the cores to itself.
    children.pop()!.kill('SIGTERM');
    await benchProxy({ admin, databaseUrl, redisPrefix, dataDir, children });
    for (const child of children.splice(0)) child.kill('SIGTERM');
    await benchOAuthPeers({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
    await stopAll(children);
    await benchFairShare({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
    await stopAll(children);
    await benchMcp({ admin, databaseUrl, redisUrl: REDIS, redisPrefix, dataDir, children, freePort, startProcess });
  } finally {
    await stopAll(children);
    await admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
    await admin.query(`drop database if exists ${database}_proxy with (force)`).catch(() => undefined);
    await admin.query(`drop database if exists ${database}_fairshare with (force)`).catch(() => undefined);
    await admin.query(`drop database if exists ${database}_peers with (force)`).catch(() => undefined);
    await admin.query(`drop database if exists ${database}_mcp with (force)`).catch(() => undefined);
    await admin.end();
    const redis = createClient({ url: REDIS });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${redisPrefix}*`, COUNT: 500 })) {
      const list = Array.isArray(keys) ? keys : [keys];
      if (list.length) await redis.del(list);
    }
    await redis.quit();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Gatehouse as `npm start` runs it, with tunables from BENCH_TUNABLES (the bench must not write config/local.json). */
async function serveGatehouseWithTunables(): Promise<void> {
  const config = loadConfig();
  config.tunables = { ...config.tunables, ...JSON.parse(process.env.BENCH_TUNABLES ?? '{}') };
  const { startGatehouse } = await import('../src/runtime.js');
  // BENCH_SANDBOX_UNLIMITED: the in-process sandbox Notion's 3 requests a second out of the way (bench/mcp.ts).
  const gatehouse = await startGatehouse(
    config,
    process.env.BENCH_SANDBOX_UNLIMITED ? { sandboxNotion: { rateLimitPerSecond: Infinity } } : {},
  );
  process.stdout.write(`${describeParts(config)}\n`);
  process.once('SIGTERM', () => void gatehouse.stop().then(() => process.exit(0)));
}

const entry = process.argv[2] === '--gatehouse-with-tunables' ? serveGatehouseWithTunables : main;
entry().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
