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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createClient } from 'redis';
import { describeParts, loadConfig, parseEncryptionKeys } from '../src/config.js';
import { Keyring } from '../src/crypto/keyring.js';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { SEED_PAGE_IDS } from '../src/sandbox/notion/index.js';
import { connectInternalToken } from '../src/upstream/connect.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import { createStores } from '../src/store/stores.js';
import { benchFairShare } from './fair-share.js';
import { benchWebhooks } from './webhooks.js';
import { benchOAuthPeers } from './oauth-peers.js';
import { benchMcp } from './mcp.js';
import { benchPicker } from './picker.js';

const POSTGRES = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const COUNT = Number(process.env.BENCH_COUNT ?? 2000);
const LATENCY_COUNT = Number(process.env.BENCH_LATENCY_COUNT ?? 500);

interface Result {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** CPU time (user + system) a child process has used so far, in ms, from /proc (Linux); null elsewhere. */
function cpuMs(child: ChildProcess | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${child?.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `count` requests, `concurrency` at a time; each makes one HTTP call. */
async function measure(name: string, count: number, call: (i: number) => Promise<void>, concurrency = CONCURRENCY): Promise<Result> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await call(i);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { name, perSecond: count / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function startProcess(args: string[], env: Record<string, string>, readyText: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(readyText)) resolve(child);
    });
    // The standalone sandbox Notion says it is listening on stderr.
    child.stderr!.on('data', (d) => {
      err += d;
      if (err.includes(readyText)) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`process exited ${code}\n${err}`)));
  });
}

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

/** SIGTERM to each child, then waits (up to 10 s) until they have exited: a profiled process writes its profile on the way out. */
async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(resolve, 10_000);
          child.once('exit', () => (clearTimeout(timer), resolve()));
          child.kill('SIGTERM');
        }),
    ),
  );
}

function require_resolve(name: string): string {
  return path.resolve('node_modules', name);
}

/**
 * The proxy's cost: the same read (retrieve a page) directly against the
 * sandbox Notion in its own process, and through a Gatehouse process in
 * front of it (PostgreSQL + Redis, token lookup, scope check with a warm
 * ancestry cache, the rate budget's script, upstream call). Notion's rate
 * limit and Gatehouse's budget are raised out of the way: this measures
 * Gatehouse, not the limit.
 */
async function benchProxy(args: {
  admin: pg.Client;
  databaseUrl: URL;
  redisPrefix: string;
  dataDir: string;
  children: ChildProcess[];
}): Promise<void> {
  const database = `${args.databaseUrl.pathname.slice(1)}_proxy`;
  await args.admin.query(`create database ${database}`);
  const databaseUrl = new URL(args.databaseUrl.href);
  databaseUrl.pathname = `/${database}`;
  const dataDir = path.join(args.dataDir, 'proxy');
  fs.mkdirSync(dataDir, { recursive: true });
  const encryptionKeys = `p1:${randomBytes(32).toString('base64')}`;

  // Sandbox Notion in its own process, as `npm run sandbox:notion` runs it, its limit raised out of the way.
  const notionPort = await freePort();
  const notionUrl = `http://127.0.0.1:${notionPort}`;
  const notionClient = { id: 'gatehouse-bench', secret: randomString(32) };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  args.children.push(
    await startProcess(
      ['--import', 'tsx', 'src/sandbox/notion/standalone.ts'],
      {
        SANDBOX_NOTION_PORT: String(notionPort),
        SANDBOX_NOTION_PUBLIC_URL: notionUrl,
        SANDBOX_NOTION_STATE_FILE: path.join(dataDir, 'sandbox-notion.json'),
        SANDBOX_NOTION_CLIENT_ID: notionClient.id,
        SANDBOX_NOTION_CLIENT_SECRET: notionClient.secret,
        SANDBOX_NOTION_REDIRECT_URIS: `${url}/connect/notion/callback`,
        SANDBOX_NOTION_RATE_LIMIT: '1000000000',
      },
      'sandbox Notion listening',
    ),
  );

  // Set-up, not measured: Ada's connection to Acme (an internal integration token), a partner app, a grant on one page.
  const integration = (await (
    await fetch(`${notionUrl}/_sandbox/internal-integrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceName: 'Acme', name: 'Gatehouse bench', capabilities: ['read_content', 'user_info_with_email'] }),
    })
  ).json()) as { token: string };
  // The grant picks Engineering; the read is Entity Glossary, three levels below it.
  const grantedPageId = SEED_PAGE_IDS.engineering;
  const pageId = SEED_PAGE_IDS.entityGlossary;
  const handle = await openDatabase({ kind: 'postgres', url: databaseUrl.href });
  await migrateToLatest(handle);
  const stores = createStores(handle.db);
  const now = () => new Date();
  const ada = await stores.people.upsertFromSignIn(
    { issuer: `${url}/sandbox/idp`, subject: 'ada', email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace' },
    now(),
  );
  const upstream = {
    baseUrl: notionUrl,
    clientId: notionClient.id,
    clientSecret: notionClient.secret,
    notionVersion: '2025-09-03' as const,
    timeoutMs: 10_000,
  };
  const { connection, workspace } = await connectInternalToken(
    {
      upstream,
      keyring: new Keyring(parseEncryptionKeys('bench', encryptionKeys)),
      connections: stores.connections,
      workspaces: stores.workspaces,
      audit: stores.audit,
      clock: { now },
      requestIndex: () => undefined,
    },
    { person: ada, token: integration.token, address: null },
  );
  const clientId = randomString(18);
  const secret = generateToken('gh_cs');
  const app = await stores.partnerApps.create(
    {
      clientId,
      clientSecretHash: hashToken(secret),
      name: 'Bench proxy partner',
      website: null,
      supportContact: null,
      logo: null,
      redirectUris: ['https://bench.example/cb'],
      capabilities: ['read_content', 'no_user_info'],
      builtByOrganisation: false,
      clientType: 'confidential',
      createdBy: null,
    },
    now(),
  );
  const { code } = await grantAndIssueCode(
    { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: { now }, codeLifetimeSeconds: 600 },
    {
      transaction: {
        id: 'bench-proxy',
        status: 'signed_in',
        appId: app.id,
        clientId,
        redirectUri: 'https://bench.example/cb',
        redirectUriExplicit: true,
        state: null,
        codeChallenge: null,
        capabilities: ['read_content', 'no_user_info'],
        createdAt: Date.now(),
        picks: { workspaceId: workspace.id, pageIds: [grantedPageId] },
      },
      personId: ada.id,
      personLabel: 'bench',
      workspaceId: workspace.id,
      upstreamConnectionId: connection.id,
      pageIds: [grantedPageId],
      address: null,
    },
  );

  // Gatehouse in front of it, with its budget raised out of the way; it indexes the new connection at start.
  args.children.push(
    await startProcess(
      [
        ...process.execArgv,
        ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []),
        'bench/run.ts',
        '--gatehouse-with-tunables',
      ],
      {
        PORT: String(port),
        GATEHOUSE_PUBLIC_URL: url,
        GATEHOUSE_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl.href,
        REDIS_URL: REDIS,
        GATEHOUSE_SANDBOX: '1',
        GATEHOUSE_ENCRYPTION_KEYS: encryptionKeys,
        GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
        GATEHOUSE_NOTION_BASE_URL: notionUrl,
        GATEHOUSE_NOTION_CLIENT_ID: notionClient.id,
        GATEHOUSE_NOTION_CLIENT_SECRET: notionClient.secret,
        LOG_LEVEL: 'warn',
        GATEHOUSE_REDIS_PREFIX: `${args.redisPrefix}proxy:`,
        BENCH_TUNABLES: JSON.stringify({ upstreamRequestsPerSecond: 1_000_000_000, upstreamBurst: 1_000_000_000 }),
      },
      'Gatehouse ready',
    ),
  );
  for (let i = 0; (await stores.connections.findById(connection.id))?.indexState !== 'ready'; i++) {
    if (i > 300) throw new Error('the bench connection was not indexed within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.close();

  const token = await fetch(`${url}/v1/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: 'https://bench.example/cb' }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);

  const read = (base: string, bearer: string) => async () => {
    const response = await fetch(`${base}/v1/pages/${pageId}`, {
      headers: { authorization: `Bearer ${bearer}`, 'notion-version': '2025-09-03' },
    });
    const body = (await response.json()) as { object?: string; code?: string };
    if (response.status !== 200 || body.object !== 'page')
      throw new Error(`GET /v1/pages/:id answered ${response.status} ${body.code ?? ''}`);
  };
  const direct = read(notionUrl, integration.token);
  const proxied = read(url, token.access_token);
  // The floor for any Node proxy here: Express and @notionhq/client forwarding the read, with no token, scope, budget or database.
  const forwarderPort = await freePort();
  const forwarderSource =
    `const express=require(${JSON.stringify(require_resolve('express'))});const {Client}=require(${JSON.stringify(require_resolve('@notionhq/client'))});` +
    `const c=new Client({auth:process.env.BENCH_UPSTREAM_TOKEN,baseUrl:${JSON.stringify(notionUrl)},retry:false,notionVersion:'2025-09-03',logger:()=>{}});const a=express();` +
    `a.get('/v1/pages/:id',async(q,s)=>{try{s.json(await c.request({path:'pages/'+q.params.id,method:'get'}))}catch(e){s.status(502).json({})}});` +
    `a.listen(${forwarderPort},'127.0.0.1',()=>console.log('forwarder ready'));`;
  args.children.push(await startProcess(['-e', forwarderSource], { BENCH_UPSTREAM_TOKEN: integration.token }, 'forwarder ready'));
  const forwarded = read(`http://127.0.0.1:${forwarderPort}`, 'unused');
  try {
    await proxied();
  } catch (err) {
    process.stdout.write(
      `\nproxy: skipped, ${(err as Error).message} (the measure runs once Gatehouse's proxy answers GET /v1/pages/:id)\n`,
    );
    return;
  }
  // Warm-up (JIT, pools, the ancestry cache), then the same read three ways: latency one call at a
  // time (nothing queued), throughput CONCURRENCY at a time, with each process's CPU time per call.
  for (const call of [direct, forwarded, proxied]) await measure('warm-up', 300, call);
  const [sandboxProcess, forwarderProcess, gatehouseProcess] = [args.children.at(-3), args.children.at(-1), args.children.at(-2)];
  const run = async (name: string, call: () => Promise<void>, front: ChildProcess | undefined) => {
    const latency = await measure(name, LATENCY_COUNT, call, 1);
    const before = [cpuMs(sandboxProcess), cpuMs(front)];
    const throughput = await measure(name, COUNT, call);
    const after = [cpuMs(sandboxProcess), cpuMs(front)];
    const perCall = (i: number) => (before[i] === null || after[i] === null ? null : (after[i]! - before[i]!) / COUNT);
    return { name, latency, throughput, sandboxCpu: perCall(0), frontCpu: perCall(1) };
  };
  const rows = [
    await run('directly (sandbox Notion)', direct, undefined),
    await run('bare forwarder (Express + @notionhq/client)', forwarded, forwarderProcess),
    await run('through Gatehouse', proxied, gatehouseProcess),
  ];
  const [straight, bare, through] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
  const ms = (value: number | null, digits = 2) => (value === null ? 'n/a' : value.toFixed(digits));
  process.stdout.write(
    `\nProxy: retrieve a page three levels below the granted page (warm ancestry cache); latency over ${LATENCY_COUNT} calls one at a time, throughput over ${COUNT} calls ${CONCURRENCY} at a time; Notion's limit and Gatehouse's budget raised out of the way\n`,
  );
  process.stdout.write(
    `${'path'.padEnd(46)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'req/s'.padStart(7)} ${'vs direct'.padStart(9)} ${'CPU ms/call: front'.padStart(19)} ${'sandbox'.padStart(8)}\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${r.name.padEnd(46)} ${ms(r.latency.p50).padStart(7)} ${ms(r.latency.p99).padStart(7)} ${r.throughput.perSecond.toFixed(0).padStart(7)} ${(r.throughput.perSecond / straight.throughput.perSecond).toFixed(3).padStart(9)} ${ms(r.frontCpu, 3).padStart(19)} ${ms(r.sandboxCpu, 3).padStart(8)}\n`,
    );
  }
  const added = (r: typeof straight) =>
    `p50 ${(r.latency.p50 - straight.latency.p50).toFixed(2)} ms, p99 ${(r.latency.p99 - straight.latency.p99).toFixed(2)} ms`;
  process.stdout.write(
    `added latency through Gatehouse: ${added(through)} (bare forwarder: ${added(bare)}); throughput through Gatehouse ${(through.throughput.perSecond / straight.throughput.perSecond).toFixed(3)} of direct, ${(through.throughput.perSecond / bare.throughput.perSecond).toFixed(3)} of the bare forwarder\n`,
  );
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
