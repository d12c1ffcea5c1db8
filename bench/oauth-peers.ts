/**
 * Gatehouse's token path beside its peers, in one run with one load
 * generator (./peers/load.ts): node-oidc-provider on Redis doing
 * introspection and `client_credentials` (./peers/oidc-provider.ts), a
 * bare Express POST as the floor any Node server pays, and a round-trip
 * floor: Gatehouse's own statements and Redis calls from a bare Express
 * server (./peers/round-trip-floor.ts), what the round trips alone cost.
 * Gatehouse runs on PostgreSQL + Redis in its own process and database, as
 * in production.
 * The runs alternate peer and Gatehouse, round after round, so drift on a
 * shared machine falls on both; each figure is the median over rounds.
 *
 * Then scale: introspection and the proxy's token check with 1,000 and with
 * BENCH_SCALE_LARGE (default 1,000,000) live grants and access tokens,
 * bulk-loaded with generate_series (./peers/seed.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { randomString } from '../src/crypto/tokens.js';
import { combine, runLoad, type LoadResult, type LoadSpec } from './peers/load.js';
import { bufferCounters, bulkLoadLiveTokens, cloneCodes, seedPartner } from './peers/seed.js';
import { BUDGET_OUT_OF_THE_WAY } from './support.js';

type StartProcess = (args: string[], env: Record<string, string>, readyText: string) => Promise<ChildProcess>;

export interface PeersContext {
  admin: pg.Client;
  databaseUrl: URL;
  redisUrl: string;
  redisPrefix: string;
  dataDir: string;
  children: ChildProcess[];
  freePort: () => Promise<number>;
  startProcess: StartProcess;
}

const SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_PEER_CONNECTIONS ?? 10);
const LARGE = Number(process.env.BENCH_SCALE_LARGE ?? 1_000_000);
const SMALL = 1000;
const FORM = 'application/x-www-form-urlencoded';

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export async function benchOAuthPeers(ctx: PeersContext): Promise<void> {
  const database = `${ctx.databaseUrl.pathname.slice(1)}_peers`;
  await ctx.admin.query(`create database ${database}`);
  const databaseUrl = new URL(ctx.databaseUrl.href);
  databaseUrl.pathname = `/${database}`;

  // The floor: a bare Express POST.
  const floorPort = await ctx.freePort();
  const floorSource = `const express=require(${JSON.stringify(path.resolve('node_modules', 'express'))});const a=express();a.post('/',(q,s)=>s.json({ok:true}));a.listen(${floorPort},'127.0.0.1',()=>console.log('floor ready'));`;
  const floor = await ctx.startProcess(['-e', floorSource], {}, 'floor ready');
  ctx.children.push(floor);

  // The peer: node-oidc-provider on Redis.
  const peerPort = await ctx.freePort();
  const peerClient = { id: 'bench-peer', secret: randomString(32) };
  const peer = await ctx.startProcess(
    ['--import', 'tsx', 'bench/peers/oidc-provider.ts'],
    {
      PEER_PORT: String(peerPort),
      PEER_REDIS_URL: ctx.redisUrl,
      PEER_REDIS_PREFIX: `${ctx.redisPrefix}peer:`,
      PEER_CLIENT_ID: peerClient.id,
      PEER_CLIENT_SECRET: peerClient.secret,
    },
    'peer ready',
  );
  ctx.children.push(peer);

  // Gatehouse, as `npm start` runs it (profiled with BENCH_PROFILE=<dir>).
  const port = await ctx.freePort();
  const url = `http://127.0.0.1:${port}`;
  const gatehouse = await ctx.startProcess(
    [
      ...process.execArgv,
      ...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE] : []),
      'bench/run.ts',
      '--gatehouse-with-tunables',
    ],
    {
      PORT: String(port),
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: path.join(ctx.dataDir, 'peers'),
      DATABASE_URL: databaseUrl.href,
      REDIS_URL: ctx.redisUrl,
      GATEHOUSE_SANDBOX: '1',
      GATEHOUSE_ENCRYPTION_KEYS: `q1:${randomBytes(32).toString('base64')}`,
      GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      GATEHOUSE_REDIS_PREFIX: `${ctx.redisPrefix}peers:`,
      // The proxy's budget out of the way: this measures Gatehouse, not Notion's limit.
      BENCH_TUNABLES: JSON.stringify(BUDGET_OUT_OF_THE_WAY),
    },
    'Gatehouse ready',
  );
  ctx.children.push(gatehouse);

  // The round-trip floor: Gatehouse's own statements and Redis calls from a bare Express server (./peers/round-trip-floor.ts),
  // on Gatehouse's database once it has migrated it.
  const roundTripPort = await ctx.freePort();
  const roundTrip = await ctx.startProcess(
    ['--import', 'tsx', 'bench/peers/round-trip-floor.ts'],
    {
      FLOOR_PORT: String(roundTripPort),
      FLOOR_DATABASE_URL: databaseUrl.href,
      FLOOR_REDIS_URL: ctx.redisUrl,
      FLOOR_REDIS_PREFIX: ctx.redisPrefix,
    },
    'round-trip floor ready',
  );
  ctx.children.push(roundTrip);

  // Set-up, not measured.
  const partner = await seedPartner(databaseUrl.href, url);
  const codes = await cloneCodes(databaseUrl.href, partner, 40_000);
  let loaded = await bulkLoadLiveTokens(databaseUrl.href, partner, 0, SMALL);
  const peerTokens: string[] = [];
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`http://127.0.0.1:${peerPort}/token`, {
      method: 'POST',
      headers: { authorization: basic(peerClient.id, peerClient.secret), 'content-type': FORM },
      body: 'grant_type=client_credentials&scope=read',
    });
    peerTokens.push(((await response.json()) as { access_token: string }).access_token);
  }

  const common = { seconds: SECONDS, connections: CONNECTIONS };
  const gatehouseAuth = { authorization: basic(partner.clientId, partner.secret), 'content-type': FORM };
  const peerAuth = { authorization: basic(peerClient.id, peerClient.secret), 'content-type': FORM };
  let n = 0;
  const liveToken = (size: number) => `gh_at_bench${Math.floor(Math.random() * size)}`;
  const refreshPool: string[] = [];
  const keepRefresh = (status: number, body: string) => {
    if (status === 200) refreshPool.push((JSON.parse(body) as { refresh_token: string }).refresh_token);
    else if (process.env.BENCH_DEBUG) process.stderr.write(`${status} ${body}\n`);
  };
  const specs: Record<string, () => LoadSpec> = {
    floor: () => ({
      name: 'bare Express POST (floor)',
      url: `http://127.0.0.1:${floorPort}/`,
      headers: { 'content-type': FORM },
      body: 'a=b',
      expect: 200,
      pid: floor.pid,
      ...common,
    }),
    peerIntrospect: () => ({
      name: 'node-oidc-provider introspection',
      url: `http://127.0.0.1:${peerPort}/token/introspection`,
      headers: peerAuth,
      body: () => `token=${peerTokens[n++ % peerTokens.length]}`,
      expect: 200,
      pid: peer.pid,
      ...common,
    }),
    peerCredentials: () => ({
      name: 'node-oidc-provider client_credentials',
      url: `http://127.0.0.1:${peerPort}/token`,
      headers: peerAuth,
      body: 'grant_type=client_credentials&scope=read',
      expect: 200,
      pid: peer.pid,
      ...common,
    }),
    // Gatehouse's introspection request, sent to the floor: the same credentials and tokens.
    roundTripIntrospect: () => ({
      ...specs.introspect!(),
      name: 'round-trip floor: introspection',
      url: `http://127.0.0.1:${roundTripPort}/introspect`,
      pid: roundTrip.pid,
    }),
    roundTripWrite: () => ({
      name: 'round-trip floor: read + durable write',
      url: `http://127.0.0.1:${roundTripPort}/write`,
      headers: gatehouseAuth,
      body: () => `code=${randomString(16)}`,
      expect: 200,
      pid: roundTrip.pid,
      ...common,
    }),
    introspect: () => ({
      name: 'Gatehouse introspection',
      url: `${url}/v1/oauth/introspect`,
      headers: gatehouseAuth,
      body: () => `token=${liveToken(loaded)}`,
      expect: 200,
      pid: gatehouse.pid,
      ...common,
    }),
    redeem: () => ({
      name: 'Gatehouse code redemption',
      url: `${url}/v1/oauth/token`,
      headers: gatehouseAuth,
      body: () => `grant_type=authorization_code&code=${codes.next()}&redirect_uri=${encodeURIComponent(partner.redirectUri)}`,
      onBody: keepRefresh,
      expect: 200,
      pid: gatehouse.pid,
      ...common,
    }),
    refresh: () => ({
      name: 'Gatehouse refresh',
      url: `${url}/v1/oauth/token`,
      headers: gatehouseAuth,
      body: () => `grant_type=refresh_token&refresh_token=${refreshPool.shift()}`,
      onBody: keepRefresh,
      expect: 200,
      pid: gatehouse.pid,
      ...common,
    }),
    // GET /v1/users/me: the token check, then an answer from the grant's own facts, nothing forwarded to Notion. (A page
    // outside the grant is first asked of Notion, whose sandbox limit then answered 429: that measured Notion, not the check.)
    proxyCheck: () => ({
      name: "Gatehouse proxy's token check",
      url: `${url}/v1/users/me`,
      method: 'GET',
      headers: { 'notion-version': '2025-09-03' },
      body: undefined,
      expect: 200,
      pid: gatehouse.pid,
      ...common,
    }),
  };
  const proxyCheck = (size: number): LoadSpec => ({ ...specs.proxyCheck!(), bearer: () => liveToken(size) });

  // BENCH_PEERS_OPS=introspect,redeem,...: only these rows and no scale part (e.g. to profile one operation).
  const only = process.env.BENCH_PEERS_OPS?.split(',');
  // Warm-up (JIT, pools), not measured.
  for (const key of [
    'floor',
    'roundTripIntrospect',
    'roundTripWrite',
    'peerIntrospect',
    'peerCredentials',
    'introspect',
    'redeem',
    'refresh',
  ].filter((k) => !only || only.includes(k)))
    await runLoad({ ...specs[key]!(), seconds: 1 });
  if (!only) await runLoad({ ...proxyCheck(loaded), seconds: 1 });

  const order = [
    'peerIntrospect',
    'introspect',
    'roundTripIntrospect',
    'floor',
    'redeem',
    'roundTripWrite',
    'peerCredentials',
    'refresh',
  ].filter((key) => !only || only.includes(key));
  const runs: Record<string, LoadResult[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const sequence = round % 2 ? [...order].reverse() : order;
    for (const key of sequence) (runs[key] ??= []).push(await runLoad(specs[key]!()));
  }
  const results = Object.fromEntries(Object.entries(runs).map(([key, list]) => [key, combine(list)])) as Record<string, LoadResult>;

  if (only) {
    for (const r of Object.values(results))
      process.stdout.write(
        `${r.name}: ${r.perSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, CPU ${r.cpuMs?.toFixed(3)} ms/req ${JSON.stringify(r.statuses)}\n`,
      );
    return;
  }
  // Scale: the same token lookups with SMALL, then LARGE live grants and tokens.
  const scale: ScaleRow[] = [];
  const atSize = async (size: number) => {
    // Warm-up at this size (the first pass reads the new rows' index pages in), not measured.
    await runLoad({ ...specs.introspect!(), seconds: 1 });
    await runLoad({ ...proxyCheck(size), seconds: 1 });
    const introspect: LoadResult[] = [];
    const check: LoadResult[] = [];
    // The bare Express POST beside each size: the two sizes are measured minutes apart (the bulk load), and a
    // shared machine's speed drifts meanwhile; the POST touches no database, so its change is the drift.
    const control: LoadResult[] = [];
    const before = await bufferCounters(databaseUrl.href);
    for (let round = 0; round < 2; round++) {
      introspect.push(await runLoad(specs.introspect!()));
      check.push(await runLoad(proxyCheck(size)));
      control.push(await runLoad(specs.floor!()));
    }
    const after = await bufferCounters(databaseUrl.href);
    const requests = [...introspect, ...check].reduce((sum, r) => sum + r.requests, 0);
    const blocks = { hit: (after.hit - before.hit) / requests, read: (after.read - before.read) / requests };
    return { size, introspect: combine(introspect), check: combine(check), control: combine(control), blocks };
  };
  scale.push(await atSize(loaded));
  const loadStarted = performance.now();
  loaded = await bulkLoadLiveTokens(databaseUrl.href, partner, loaded, LARGE);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  scale.push({ ...(await atSize(loaded)), seconds: loadSeconds });

  printTables(results, scale);
  const odd = [...Object.values(results), ...scale.flatMap((s) => [s.introspect, s.check])].filter((r) => r.unexpected);
  for (const r of odd) process.stdout.write(`unexpected answers in "${r.name}": ${JSON.stringify(r.statuses)}\n`);
}

/** One size of the scale part: its measures, the Express POST beside them, and PostgreSQL's blocks per token request. */
interface ScaleRow {
  size: number;
  introspect: LoadResult;
  check: LoadResult;
  control: LoadResult;
  /** Blocks per request found in PostgreSQL's buffer cache (hit) and read from the operating system (read). */
  blocks: { hit: number; read: number };
  seconds?: number;
}

function printTables(results: Record<string, LoadResult>, scale: ScaleRow[]): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const ms = (value: number | null, digits = 2) => (value === null || Number.isNaN(value) ? 'n/a' : value.toFixed(digits));
  out(
    `\nToken path beside its peers: autocannon, ${CONNECTIONS} connections, ${ROUNDS} alternating rounds of ${SECONDS} s (medians), ${os.cpus().length} cores shared with the load generator and other work: compare ratios within this run`,
  );
  out(
    `${'server and operation'.padEnd(42)} ${'req/s'.padStart(7)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU ms/req'.padStart(10)} ${'odd'.padStart(5)}`,
  );
  for (const key of [
    'floor',
    'roundTripIntrospect',
    'roundTripWrite',
    'peerCredentials',
    'peerIntrospect',
    'introspect',
    'redeem',
    'refresh',
  ]) {
    const r = results[key]!;
    out(
      `${r.name.padEnd(42)} ${r.perSecond.toFixed(0).padStart(7)} ${ms(r.p50).padStart(7)} ${ms(r.p99).padStart(7)} ${ms(r.cpuMs, 3).padStart(10)} ${String(r.unexpected).padStart(5)}`,
    );
  }
  const ratio = (a: LoadResult, b: LoadResult) => {
    const cpu = a.cpuMs !== null && b.cpuMs !== null ? `${(a.cpuMs / b.cpuMs).toFixed(2)}x CPU/req` : 'CPU n/a';
    return `${(a.perSecond / b.perSecond).toFixed(2)}x req/s, ${cpu}, p50 ${(a.p50 / b.p50).toFixed(2)}x`;
  };
  out(`introspection vs node-oidc-provider's: ${ratio(results.introspect!, results.peerIntrospect!)} (target >= 1.0x req/s, <= 1.2x CPU)`);
  out(`introspection vs the Express floor:     ${ratio(results.introspect!, results.floor!)}`);
  out(`code redemption vs the Express floor:   ${ratio(results.redeem!, results.floor!)} (target >= 0.35x req/s)`);
  out(`refresh vs the Express floor:           ${ratio(results.refresh!, results.floor!)} (target >= 0.35x req/s)`);
  // What bounds the targets: the same round trips with nothing of Gatehouse around them, against the bare POST.
  out(`round-trip floor (introspection) vs the Express floor: ${ratio(results.roundTripIntrospect!, results.floor!)}`);
  out(`round-trip floor (read + write) vs the Express floor:  ${ratio(results.roundTripWrite!, results.floor!)}`);
  out(`introspection vs its round-trip floor:   ${ratio(results.introspect!, results.roundTripIntrospect!)}`);
  out(`code redemption vs its round-trip floor: ${ratio(results.redeem!, results.roundTripWrite!)}`);
  out(`refresh vs its round-trip floor:         ${ratio(results.refresh!, results.roundTripWrite!)}`);
  out(`code redemption vs oidc-provider's client_credentials: ${ratio(results.redeem!, results.peerCredentials!)}`);
  out(`refresh vs oidc-provider's client_credentials:         ${ratio(results.refresh!, results.peerCredentials!)}`);
  out(`\nScale: live grants + access tokens in PostgreSQL (random token per request; "odd" counts unexpected statuses)`);
  out(
    `${'live grants'.padEnd(12)} ${'introspection p50/p99 ms'.padStart(25)} ${'req/s'.padStart(7)} ${'proxy check p50/p99 ms'.padStart(24)} ${'req/s'.padStart(7)} ${'Express POST p50 ms'.padStart(20)} ${'PG blocks/req hit+read'.padStart(23)} ${'odd'.padStart(5)}`,
  );
  for (const s of scale) {
    out(
      `${s.size.toLocaleString('en').padEnd(12)} ${`${ms(s.introspect.p50)} / ${ms(s.introspect.p99)}`.padStart(25)} ${s.introspect.perSecond.toFixed(0).padStart(7)} ${`${ms(s.check.p50)} / ${ms(s.check.p99)}`.padStart(24)} ${s.check.perSecond.toFixed(0).padStart(7)} ${ms(s.control.p50).padStart(20)} ${`${s.blocks.hit.toFixed(1)} + ${s.blocks.read.toFixed(2)}`.padStart(23)} ${String(s.introspect.unexpected + s.check.unexpected).padStart(5)}`,
    );
  }
  const [small, large] = scale;
  if (small && large) {
    const drift = large.control.p50 / small.control.p50;
    const growth = (a: LoadResult, b: LoadResult) => `${(a.p50 / b.p50).toFixed(2)}x (${(a.p50 / b.p50 / drift).toFixed(2)}x)`;
    out(
      `p50 at ${large.size.toLocaleString('en')} vs ${small.size.toLocaleString('en')}: introspection ${growth(large.introspect, small.introspect)}, proxy check ${growth(large.check, small.check)} (target <= 1.2x); in brackets, divided by the Express POST's own change between the two (${drift.toFixed(2)}x); bulk load took ${large.seconds?.toFixed(0)} s`,
    );
  }
}
