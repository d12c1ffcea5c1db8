/**
 * `BENCH_ONLY=fairshare npm run bench`: three partners share one workspace's
 * Notion budget for real. Sandbox Notion in its own process at its default
 * limit (3 a second, bursts of 10), Gatehouse in front of it with its default
 * budget (3 a second, burst 5, 5 s wait; the budget in Redis) on a fresh
 * PostgreSQL database. Three partner apps hold a grant on the same page of
 * Acme and read a page below it as fast as they can with 8, 2 and 1
 * concurrent callers; a caller told 429 comes back after its Retry-After.
 *
 * Prints each partner's successful calls per second, Jain's fairness index
 * over them (1 = equal), the light partner's p50 wait (its calls' latency as
 * it sees it, and Gatehouse's own budget wait), the 429s each partner got
 * from Gatehouse, and Notion's own 429s (which would reach partners: goal 0).
 * Figures, not assertions.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { parseEncryptionKeys } from '../src/config.js';
import { Keyring } from '../src/crypto/keyring.js';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { SEED_PAGE_IDS } from '../src/sandbox/notion/index.js';
import { migrateToLatest, openDatabase } from '../src/store/database.js';
import { createStores } from '../src/store/stores.js';
import { connectInternalToken } from '../src/upstream/connect.js';
import { startSandboxNotion } from './support.js';

const SECONDS = Number(process.env.BENCH_FAIRSHARE_SECONDS ?? 15);
/** Load before the measured window, so that the start's burst does not count in anyone's share. */
const WARM_UP_SECONDS = Number(process.env.BENCH_FAIRSHARE_WARM_UP_SECONDS ?? 4);
const PARTNERS = [
  { name: 'heavy', callers: 8 },
  { name: 'medium', callers: 2 },
  { name: 'light', callers: 1 },
];

export interface FairShareBenchArgs {
  admin: pg.Client;
  databaseUrl: URL;
  redisUrl: string;
  redisPrefix: string;
  dataDir: string;
  children: ChildProcess[];
  freePort: () => Promise<number>;
  startProcess: (args: string[], env: Record<string, string>, readyText: string) => Promise<ChildProcess>;
}

const median = (values: number[]) => (values.length ? values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)]! : NaN);

function jainIndex(values: number[]): number {
  const sum = values.reduce((a, b) => a + b, 0);
  const squares = values.reduce((a, b) => a + b * b, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}

/** One counter's value per partner label from Prometheus text. */
function counterByPartner(text: string, name: string, workspaceId: string): Map<string, number> {
  const values = new Map<string, number>();
  const pattern = new RegExp(`^${name}\\{workspace="${workspaceId}",partner="([^"]+)"\\} ([0-9.e+-]+)$`, 'gm');
  for (const [, partner, value] of text.matchAll(pattern)) values.set(partner!, Number(value));
  return values;
}

export async function benchFairShare(args: FairShareBenchArgs): Promise<void> {
  const setupStarted = performance.now();
  const database = `${args.databaseUrl.pathname.slice(1)}_fairshare`;
  await args.admin.query(`create database ${database}`);
  const databaseUrl = new URL(args.databaseUrl.href);
  databaseUrl.pathname = `/${database}`;
  const dataDir = path.join(args.dataDir, 'fairshare');
  fs.mkdirSync(dataDir, { recursive: true });
  const encryptionKeys = `f1:${randomBytes(32).toString('base64')}`;
  const metricsToken = randomString(32);

  // Sandbox Notion as `npm run sandbox:notion` runs it, at its default limit.
  const notionPort = await args.freePort();
  const notionUrl = `http://127.0.0.1:${notionPort}`;
  const notionClient = { id: 'gatehouse-bench', secret: randomString(32) };
  const port = await args.freePort();
  const url = `http://127.0.0.1:${port}`;
  await startSandboxNotion({
    start: args.startProcess,
    port: notionPort,
    dataDir,
    client: notionClient,
    gatehouseUrl: url,
    children: args.children,
  });

  // Set-up, not measured: Ada's connection to Acme, three partner apps, each granted Engineering.
  const integration = (await (
    await fetch(`${notionUrl}/_sandbox/internal-integrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceName: 'Acme', name: 'Gatehouse bench', capabilities: ['read_content', 'user_info_with_email'] }),
    })
  ).json()) as { token: string };
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
  const partners: Array<{ name: string; callers: number; appId: string; clientId: string; secret: string; code: string }> = [];
  for (const partner of PARTNERS) {
    const clientId = randomString(18);
    const secret = generateToken('gh_cs');
    const app = await stores.partnerApps.create(
      {
        clientId,
        clientSecretHash: hashToken(secret),
        name: `Bench ${partner.name} partner`,
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
          id: `bench-${partner.name}`,
          status: 'signed_in',
          appId: app.id,
          clientId,
          redirectUri: 'https://bench.example/cb',
          redirectUriExplicit: true,
          state: null,
          codeChallenge: null,
          capabilities: ['read_content', 'no_user_info'],
          createdAt: Date.now(),
          picks: { workspaceId: workspace.id, pageIds: [SEED_PAGE_IDS.engineering] },
        },
        personId: ada.id,
        personLabel: 'bench',
        workspaceId: workspace.id,
        upstreamConnectionId: connection.id,
        pageIds: [SEED_PAGE_IDS.engineering],
        address: null,
      },
    );
    partners.push({ ...partner, appId: app.id, clientId, secret, code });
  }

  // Gatehouse with its default budget; it indexes the new connection at start (through the same budget).
  args.children.push(
    await args.startProcess(
      [...process.execArgv, 'bench/run.ts', '--gatehouse-with-tunables'],
      {
        PORT: String(port),
        GATEHOUSE_PUBLIC_URL: url,
        GATEHOUSE_DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl.href,
        REDIS_URL: args.redisUrl,
        GATEHOUSE_SANDBOX: '1',
        GATEHOUSE_ENCRYPTION_KEYS: encryptionKeys,
        GATEHOUSE_SESSION_SECRET: randomBytes(32).toString('hex'),
        GATEHOUSE_NOTION_BASE_URL: notionUrl,
        GATEHOUSE_NOTION_CLIENT_ID: notionClient.id,
        GATEHOUSE_NOTION_CLIENT_SECRET: notionClient.secret,
        GATEHOUSE_METRICS_TOKEN: metricsToken,
        LOG_LEVEL: 'warn',
        GATEHOUSE_REDIS_PREFIX: `${args.redisPrefix}fairshare:`,
        BENCH_TUNABLES: '{}',
      },
      'Gatehouse ready',
    ),
  );
  for (let i = 0; (await stores.connections.findById(connection.id))?.indexState !== 'ready'; i++) {
    if (i > 300) throw new Error('the bench connection was not indexed within 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  await handle.close();

  const tokens = new Map<string, string>();
  for (const partner of partners) {
    const answer = await fetch(`${url}/v1/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${partner.clientId}:${partner.secret}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ grant_type: 'authorization_code', code: partner.code, redirect_uri: 'https://bench.example/cb' }),
    }).then((r) => r.json() as Promise<{ access_token: string }>);
    tokens.set(partner.name, answer.access_token);
  }
  const metrics = async () => (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
  // The measure: every caller reads Entity Glossary (three levels below the grant) in a loop; calls that
  // end within the window count, after WARM_UP_SECONDS of the same load.
  const stats = new Map(partners.map((p) => [p.name, { ok: 0, gatehouse429: 0, other: 0, latencies: [] as number[] }]));
  const setupMs = performance.now() - setupStarted;
  const startAt = performance.now() + WARM_UP_SECONDS * 1000;
  const stopAt = startAt + SECONDS * 1000;
  let before = '';
  const snapshot = setTimeout(() => void metrics().then((text) => (before = text)), WARM_UP_SECONDS * 1000);
  await Promise.all(
    partners.flatMap((partner) =>
      Array.from({ length: partner.callers }, async () => {
        const stat = stats.get(partner.name)!;
        while (performance.now() < stopAt) {
          const t0 = performance.now();
          const response = await fetch(`${url}/v1/pages/${SEED_PAGE_IDS.entityGlossary}`, {
            headers: { authorization: `Bearer ${tokens.get(partner.name)}`, 'notion-version': '2025-09-03' },
          });
          await response.arrayBuffer();
          if (performance.now() < startAt || performance.now() >= stopAt) {
            if (response.status === 429) await new Promise((r) => setTimeout(r, Number(response.headers.get('retry-after') ?? 1) * 1000));
            continue;
          }
          if (response.status === 200) {
            stat.ok += 1;
            stat.latencies.push(performance.now() - t0);
          } else if (response.status === 429) {
            stat.gatehouse429 += 1;
            const retryAfter = Number(response.headers.get('retry-after') ?? 1);
            await new Promise((r) => setTimeout(r, Math.min(retryAfter * 1000, Math.max(0, stopAt - performance.now()))));
          } else {
            stat.other += 1;
          }
        }
      }),
    ),
  );
  clearTimeout(snapshot);
  const after = await metrics();

  const notion429 = (text: string) =>
    Number(
      new RegExp(`^gatehouse_upstream_notion_rate_limited_total\\{workspace="${workspace.id}"\\} ([0-9.]+)$`, 'm').exec(text)?.[1] ?? 0,
    );
  const waitSeconds = counterByPartner(after, 'gatehouse_upstream_budget_wait_seconds_total', workspace.id);
  const waitSecondsBefore = counterByPartner(before, 'gatehouse_upstream_budget_wait_seconds_total', workspace.id);
  const granted = counterByPartner(after, 'gatehouse_upstream_budget_granted_total', workspace.id);
  const grantedBefore = counterByPartner(before, 'gatehouse_upstream_budget_granted_total', workspace.id);
  const rates = partners.map((p) => stats.get(p.name)!.ok / SECONDS);

  process.stdout.write(
    `\nFair share: three partners read one page of Acme as fast as they can, measured over ${SECONDS} s after ${WARM_UP_SECONDS} s of the same load (set-up ${(setupMs / 1000).toFixed(0)} s; 8, 2 and 1 callers; sandbox Notion at 3/s, Gatehouse's default budget, in Redis)\n`,
  );
  process.stdout.write(
    `${'partner'.padEnd(10)} ${'callers'.padStart(7)} ${'calls/s'.padStart(8)} ${'share'.padStart(6)} ${'p50 ms'.padStart(7)} ${'upstream/s'.padStart(10)} ${'budget wait ms/req'.padStart(18)} ${'429 from Gatehouse'.padStart(18)} ${'errors'.padStart(6)}\n`,
  );
  const total = rates.reduce((a, b) => a + b, 0);
  partners.forEach((p, i) => {
    const stat = stats.get(p.name)!;
    const requests = (granted.get(p.appId) ?? 0) - (grantedBefore.get(p.appId) ?? 0);
    const waitMs = requests ? (((waitSeconds.get(p.appId) ?? 0) - (waitSecondsBefore.get(p.appId) ?? 0)) * 1000) / requests : NaN;
    process.stdout.write(
      `${p.name.padEnd(10)} ${String(p.callers).padStart(7)} ${rates[i]!.toFixed(2).padStart(8)} ${`${((rates[i]! / (total || 1)) * 100).toFixed(0)}%`.padStart(6)} ${median(stat.latencies).toFixed(0).padStart(7)} ${(requests / SECONDS).toFixed(2).padStart(10)} ${waitMs.toFixed(0).padStart(18)} ${String(stat.gatehouse429).padStart(18)} ${String(stat.other).padStart(6)}\n`,
    );
  });
  const others = [...granted].filter(([key]) => !partners.some((p) => p.appId === key));
  for (const [key, count] of others) {
    const requests = count - (grantedBefore.get(key) ?? 0);
    if (requests) process.stdout.write(`(${key}: ${(requests / SECONDS).toFixed(2)} upstream requests/s)\n`);
  }
  process.stdout.write(
    `Jain's index ${jainIndex(rates).toFixed(3)} (goal ≥ 0.95); light partner's p50 wait ${median(stats.get('light')!.latencies).toFixed(0)} ms; Notion 429s surfaced: ${notion429(after) - notion429(before)} (goal 0); total ${total.toFixed(2)} calls/s of 3\n`,
  );
}
