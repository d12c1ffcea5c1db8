/**
 * BENCH_ONLY=mcp: `tools/call notion-fetch` through /mcp against the same
 * read through the proxy (the page, then its blocks: the two Notion calls
 * notion-fetch makes), one call at a time so p50 is latency, not queueing.
 * Gatehouse runs in its own process on PostgreSQL + Redis with the sandbox
 * Notion inside it (so both paths pay the same Notion); its CPU time is read
 * from /proc around each series, as bench/peers/load.ts does. Rounds
 * alternate so drift on a shared machine touches both sides alike.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { SEED_PAGE_IDS } from '../src/sandbox/notion/index.js';
import { openDatabase } from '../src/store/database.js';
import { createStores } from '../src/store/stores.js';
import type { PeersContext } from './oauth-peers.js';
import { processCpuMs } from './peers/load.js';
import { BUDGET_OUT_OF_THE_WAY } from './support.js';

const CALLS = Number(process.env.BENCH_MCP_CALLS ?? 200);
const ROUNDS = Number(process.env.BENCH_MCP_ROUNDS ?? 3);
const VERSION = '2025-09-03';
const PAGE = SEED_PAGE_IDS.architecture;

interface Series {
  latencies: number[];
  cpuMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function benchMcp(ctx: PeersContext): Promise<void> {
  const database = `${ctx.databaseUrl.pathname.slice(1)}_mcp`;
  await ctx.admin.query(`create database ${database}`);
  const databaseUrl = new URL(ctx.databaseUrl.href);
  databaseUrl.pathname = `/${database}`;
  const port = await ctx.freePort();
  const url = `http://127.0.0.1:${port}`;
  const gatehouse = await ctx.startProcess(
    ['--import', 'tsx', 'bench/run.ts', '--gatehouse-with-tunables'],
    {
      PORT: String(port),
      GATEHOUSE_PUBLIC_URL: url,
      GATEHOUSE_DATA_DIR: path.join(ctx.dataDir, 'mcp'),
      DATABASE_URL: databaseUrl.href,
      REDIS_URL: ctx.redisUrl,
      GATEHOUSE_SANDBOX: '1',
      GATEHOUSE_ENCRYPTION_KEYS: `m1:${randomBytes(32).toString('base64')}`,
      GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'warn',
      GATEHOUSE_REDIS_PREFIX: `${ctx.redisPrefix}mcp:`,
      BENCH_SANDBOX_UNLIMITED: '1',
      BENCH_TUNABLES: JSON.stringify(BUDGET_OUT_OF_THE_WAY),
    },
    'Gatehouse ready',
  );
  ctx.children.push(gatehouse);

  // Set-up, not measured: one partner, one grant on Engineering, a token for the proxy and one bound to /mcp.
  const handle = await openDatabase({ kind: 'postgres', url: databaseUrl.href });
  const stores = createStores(handle.db);
  const clientId = randomString(18);
  const secret = generateToken('gh_cs');
  const capabilities = ['read_content' as const, 'no_user_info' as const];
  const app = await stores.partnerApps.create(
    {
      clientId,
      clientSecretHash: hashToken(secret),
      name: 'Bench agent',
      website: null,
      supportContact: null,
      logo: null,
      redirectUris: ['https://bench.example/cb'],
      capabilities,
      builtByOrganisation: false,
      clientType: 'confidential',
      createdBy: null,
    },
    new Date(),
  );
  const [ada] = await stores.people.findByEmail('ada@example.com');
  const acme = (await stores.workspaces.listForPerson(ada!.id)).find((w) => w.name === 'Acme')!;
  const connection = (await stores.connections.findForPersonAndWorkspace(ada!.id, acme.id))!;
  for (let i = 0; (await stores.connections.findById(connection.id))?.indexState !== 'ready'; i++) {
    if (i > 300) throw new Error('the bench connection was not indexed within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const token = async (resource: string | null): Promise<string> => {
    const { code } = await grantAndIssueCode(
      { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: { now: () => new Date() }, codeLifetimeSeconds: 600 },
      {
        transaction: {
          id: 'bench-mcp',
          status: 'signed_in',
          appId: app.id,
          clientId,
          redirectUri: 'https://bench.example/cb',
          redirectUriExplicit: true,
          state: null,
          codeChallenge: null,
          capabilities,
          resource,
          createdAt: Date.now(),
          picks: { workspaceId: acme.id, pageIds: [] },
        },
        personId: ada!.id,
        personLabel: 'bench',
        workspaceId: acme.id,
        upstreamConnectionId: connection.id,
        pageIds: [SEED_PAGE_IDS.engineering],
        address: null,
      },
    );
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'https://bench.example/cb' });
    if (resource) form.set('resource', resource);
    const response = await fetch(`${url}/v1/oauth/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: form,
    });
    const answer = (await response.json()) as { access_token?: string };
    if (!answer.access_token) throw new Error(`token answered ${response.status}: ${JSON.stringify(answer)}`);
    return answer.access_token;
  };
  const proxyToken = await token(null);
  const mcpToken = await token(`${url}/mcp`);
  await handle.close();

  const proxyRead = async () => {
    for (const target of [`pages/${PAGE}`, `blocks/${PAGE}/children?page_size=100`]) {
      const response = await fetch(`${url}/v1/${target}`, {
        headers: { authorization: `Bearer ${proxyToken}`, 'notion-version': VERSION },
      });
      if (response.status !== 200) throw new Error(`proxy answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  let id = 0;
  const mcpFetch = async () => {
    const response = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${mcpToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'notion-fetch', arguments: { id: PAGE } } }),
    });
    const body = (await response.json()) as { result?: { isError?: boolean } };
    if (response.status !== 200 || !body.result || body.result.isError)
      throw new Error(`mcp answered ${response.status}: ${JSON.stringify(body)}`);
  };
  const series = async (call: () => Promise<void>): Promise<Series> => {
    const latencies: number[] = [];
    const before = processCpuMs(gatehouse.pid) ?? NaN;
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      await call();
      latencies.push(performance.now() - t0);
    }
    return { latencies, cpuMs: ((processCpuMs(gatehouse.pid) ?? NaN) - before) / CALLS };
  };

  for (let i = 0; i < 50; i++) await Promise.all([proxyRead(), mcpFetch()]); // warm-up: JIT and pools, not measured
  const proxy: Series[] = [];
  const mcp: Series[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    proxy.push(await series(proxyRead));
    mcp.push(await series(mcpFetch));
  }
  const p50 = (all: Series[]) => median(all.flatMap((s) => s.latencies));
  const p99 = (all: Series[]) => {
    const sorted = all.flatMap((s) => s.latencies).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length * 0.99)]!;
  };
  const cpu = (all: Series[]) => median(all.map((s) => s.cpuMs));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(
    `\nMCP notion-fetch against the same read through the proxy (page + its blocks): ${CALLS} sequential calls x ${ROUNDS} alternating rounds, ${os.cpus().length} cores shared with the load generator`,
  );
  out(`${'path'.padEnd(46)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'CPU ms/call'.padStart(11)}`);
  for (const [name, all] of [
    ['proxy: GET page + GET blocks/children', proxy],
    ['/mcp: tools/call notion-fetch', mcp],
  ] as const)
    out(`${name.padEnd(46)} ${p50(all).toFixed(2).padStart(7)} ${p99(all).toFixed(2).padStart(7)} ${cpu(all).toFixed(2).padStart(11)}`);
  out(
    `added by MCP: p50 ${(p50(mcp) - p50(proxy)).toFixed(2)} ms, CPU ${(cpu(mcp) - cpu(proxy)).toFixed(2)} ms per call (Gatehouse's process, the in-process sandbox Notion included on both sides)`,
  );
}
