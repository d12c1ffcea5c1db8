/** The proxy part of `npm run bench` (see ./run.ts). */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { parseEncryptionKeys } from '../src/config.js';
import { Keyring } from '../src/crypto/keyring.js';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { SEED_PAGE_IDS } from '../src/sandbox/notion/index.js';
import { connectInternalToken } from '../src/upstream/connect.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import { createStores } from '../src/store/stores.js';
import {
  BUDGET_OUT_OF_THE_WAY,
  CONCURRENCY,
  COUNT,
  cpuMs,
  freePort,
  LATENCY_COUNT,
  measure,
  REDIS,
  startProcess,
  startSandboxNotion,
  require_resolve,
} from './support.js';

/**
 * The proxy's cost: the same read (retrieve a page) directly against the
 * sandbox Notion in its own process, and through a Gatehouse process in
 * front of it (PostgreSQL + Redis, token lookup, scope check with a warm
 * ancestry cache, the rate budget's script, upstream call). Notion's rate
 * limit and Gatehouse's budget are raised out of the way: this measures
 * Gatehouse, not the limit.
 */
export async function benchProxy(args: {
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
  const sandboxProcess = await startSandboxNotion({
    start: startProcess,
    port: notionPort,
    dataDir,
    client: notionClient,
    gatehouseUrl: url,
    children: args.children,
    rateLimit: 1_000_000_000,
  });

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
  const gatehouseProcess = await startProcess(
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
      BENCH_TUNABLES: JSON.stringify(BUDGET_OUT_OF_THE_WAY),
    },
    'Gatehouse ready',
  );
  args.children.push(gatehouseProcess);
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
  const forwarderProcess = await startProcess(['-e', forwarderSource], { BENCH_UPSTREAM_TOKEN: integration.token }, 'forwarder ready');
  args.children.push(forwarderProcess);
  const forwarded = read(`http://127.0.0.1:${forwarderPort}`, 'unused');
  // The same forwarder plus the round trips Gatehouse's guarantees need (./peers/proxy-round-trip-floor.ts), with the same token.
  const floorPort = await freePort();
  const floorProcess = await startProcess(
    ['--import', 'tsx', 'bench/peers/proxy-round-trip-floor.ts'],
    {
      FLOOR_PORT: String(floorPort),
      FLOOR_DATABASE_URL: databaseUrl.href,
      FLOOR_REDIS_URL: REDIS,
      FLOOR_REDIS_PREFIX: `${args.redisPrefix}proxy:`,
      FLOOR_NOTION_URL: notionUrl,
      BENCH_UPSTREAM_TOKEN: integration.token,
    },
    'proxy round-trip floor ready',
  );
  args.children.push(floorProcess);
  const floored = read(`http://127.0.0.1:${floorPort}`, token.access_token);
  try {
    await proxied();
  } catch (err) {
    process.stdout.write(
      `\nproxy: skipped, ${(err as Error).message} (the measure runs once Gatehouse's proxy answers GET /v1/pages/:id)\n`,
    );
    return;
  }
  // Warm-up (JIT, pools, the ancestry cache), then the same read four ways: latency one call at a
  // time (nothing queued), throughput CONCURRENCY at a time, with each process's CPU time per call.
  for (const call of [direct, forwarded, floored, proxied]) await measure('warm-up', 300, call);
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
    await run('round-trip floor (forwarder + the round trips)', floored, floorProcess),
    await run('through Gatehouse', proxied, gatehouseProcess),
  ];
  const [straight, bare, floor, through] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
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
    `added latency through Gatehouse: ${added(through)} (bare forwarder: ${added(bare)}; round-trip floor: ${added(floor)}); throughput through Gatehouse ${(through.throughput.perSecond / straight.throughput.perSecond).toFixed(3)} of direct, ${(through.throughput.perSecond / bare.throughput.perSecond).toFixed(3)} of the bare forwarder\n`,
  );
  // The targets, as ratios to the bare forwarder; the round-trip floor's own ratios say what the round trips alone cost.
  const cpuRatio = (r: typeof straight) => (r.frontCpu === null || !bare.frontCpu ? 'n/a' : `${(r.frontCpu / bare.frontCpu).toFixed(2)}x`);
  const addedRatio = (r: typeof straight) =>
    `${((r.latency.p50 - straight.latency.p50) / (bare.latency.p50 - straight.latency.p50)).toFixed(2)}x`;
  process.stdout.write(
    `vs the bare forwarder: CPU per call ${cpuRatio(through)} (target at most 1.25x; round-trip floor ${cpuRatio(floor)}), added p50 ${addedRatio(through)} (target at most 1.5x; round-trip floor ${addedRatio(floor)})\n`,
  );
}
