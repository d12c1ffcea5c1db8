/**
 * `BENCH_ONLY=webhooks npm run bench`: Notion's events through Gatehouse to
 * partners. Gatehouse runs as its own process (PostgreSQL + Redis, its job
 * workers on, the demo seed: Ada's Acme connection), with the sandbox Notion
 * inside it. This process plays Notion and the partners: it signs each event
 * with `signWebhookPayload` under the token the intake kept and POSTs it to
 * `/webhooks/notion`, and answers every delivery 200 on one receiver.
 *
 * One workspace, 1, 10 and 100 partner subscriptions (each its own app with
 * a grant on Engineering, the event a `page.content_updated` of a page below
 * it). For each: events per second from the first POST to the last
 * partner's 200 (every subscription got every event), deliveries per second,
 * p50/p99 from Notion's POST to each partner's 200, the intake's own p50/p99
 * (its ack does not wait for fan-out, so it should not grow with the number
 * of partners), and Gatehouse's CPU time per delivery from /proc. A first
 * row sends one event at a time, each after the previous one's delivery:
 * the pipeline's own latency, with no queue in front of it.
 * Figures, not assertions.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import { signWebhookPayload } from '@notionhq/client';
import { parseEncryptionKeys } from '../src/config.js';
import { Keyring } from '../src/crypto/keyring.js';
import { generateToken, hashToken, randomString } from '../src/crypto/tokens.js';
import { grantAndIssueCode } from '../src/oauth/grant-rules.js';
import { SEED_PAGE_IDS } from '../src/sandbox/notion/index.js';
import { dataFiles } from '../src/store/data-dir.js';
import { openDatabase } from '../src/store/database.js';
import { createStores, type Stores } from '../src/store/stores.js';

const PARTNER_COUNTS = [1, 10, 100];
/** Events per run: fewer as partners grow, so each run sends about the same number of deliveries or fewer. */
const EVENTS: Record<number, number> = {
  1: Number(process.env.BENCH_WEBHOOK_EVENTS_1 ?? 150),
  10: Number(process.env.BENCH_WEBHOOK_EVENTS_10 ?? 40),
  100: Number(process.env.BENCH_WEBHOOK_EVENTS_100 ?? 8),
};
/** Notion's concurrent POSTs to the intake. */
const SENDERS = 4;
/** Events sent one at a time (each POST after the previous one's delivery) for the unloaded latency. */
const IDLE_EVENTS = Number(process.env.BENCH_WEBHOOK_IDLE_EVENTS ?? 10);
const RUN_TIMEOUT_MS = 25_000;

export interface WebhookBenchArgs {
  admin: pg.Client;
  databaseUrl: URL;
  redisUrl: string;
  redisPrefix: string;
  dataDir: string;
  children: ChildProcess[];
  freePort: () => Promise<number>;
  startProcess: (args: string[], env: Record<string, string>, readyText: string) => Promise<ChildProcess>;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;

function cpuMs(child: ChildProcess | undefined): number | null {
  try {
    const fields = fs.readFileSync(`/proc/${child?.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** One receiver for every partner (`/hooks/<n>`): the time each event's delivery was answered 200, per subscription. */
async function startReceiver(): Promise<{ url: string; arrived: Map<string, number[]>; close(): Promise<void> }> {
  const arrived = new Map<string, number[]>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      res.writeHead(200).end();
      const id = (JSON.parse(body) as { id?: string }).id;
      if (typeof id === 'string') (arrived.get(id) ?? arrived.set(id, []).get(id)!).push(performance.now());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  server.keepAliveTimeout = 30_000;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrived,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A partner app with a grant on Engineering in Acme, made as "Allow access" makes it. */
async function partnerWithGrant(stores: Stores, n: number, ada: { personId: string; workspaceId: string; connectionId: string }) {
  const clientId = randomString(18);
  const app = await stores.partnerApps.create(
    {
      clientId,
      clientSecretHash: hashToken(generateToken('gh_cs')),
      name: `Bench webhook partner ${n}`,
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
  await grantAndIssueCode(
    { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock: { now: () => new Date() }, codeLifetimeSeconds: 600 },
    {
      transaction: {
        id: `bench-webhooks-${n}`,
        status: 'signed_in',
        appId: app.id,
        clientId,
        redirectUri: 'https://bench.example/cb',
        redirectUriExplicit: true,
        state: null,
        codeChallenge: null,
        capabilities: ['read_content', 'no_user_info'],
        createdAt: Date.now(),
        picks: { workspaceId: ada.workspaceId, pageIds: [SEED_PAGE_IDS.engineering] },
      },
      personId: ada.personId,
      personLabel: 'bench',
      workspaceId: ada.workspaceId,
      upstreamConnectionId: ada.connectionId,
      pageIds: [SEED_PAGE_IDS.engineering],
      address: null,
    },
  );
  return app;
}

export async function benchWebhooks(args: WebhookBenchArgs): Promise<void> {
  const database = `${args.databaseUrl.pathname.slice(1)}_webhooks`;
  await args.admin.query(`create database ${database}`);
  const databaseUrl = new URL(args.databaseUrl.href);
  databaseUrl.pathname = `/${database}`;
  const dataDir = path.join(args.dataDir, 'webhooks');
  fs.mkdirSync(dataDir, { recursive: true });
  const encryptionKeys = `w1:${randomBytes(32).toString('base64')}`;
  const keyring = new Keyring(parseEncryptionKeys('bench', encryptionKeys));
  const port = await args.freePort();
  const url = `http://127.0.0.1:${port}`;
  const receiver = await startReceiver();
  let handle: Awaited<ReturnType<typeof openDatabase>> | null = null;
  try {
    const gatehouse = await args.startProcess(
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
        LOG_LEVEL: 'warn',
        GATEHOUSE_REDIS_PREFIX: `${args.redisPrefix}webhooks:`,
        BENCH_TUNABLES: JSON.stringify({ webhookRetryJitter: 0 }),
      },
      'Gatehouse ready',
    );
    args.children.push(gatehouse);

    // Set-up, not measured: the intake's token, Ada's indexed Acme connection, 100 partner apps with a grant each.
    const adminToken = fs.readFileSync(dataFiles.adminToken(dataDir), 'utf8').trim();
    const intake = (await (
      await fetch(`${url}/api/admin/v1/webhooks/notion-token`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { verification_token: string | null };
    if (!intake.verification_token) throw new Error('the intake kept no verification token');
    const verificationToken = intake.verification_token;
    handle = await openDatabase({ kind: 'postgres', url: databaseUrl.href });
    const stores = createStores(handle.db);
    const [person] = await stores.people.findByEmail('ada@example.com');
    const acme = (await stores.workspaces.listForPerson(person!.id)).find((w) => w.name === 'Acme')!;
    const connection = (await stores.connections.findForPersonAndWorkspace(person!.id, acme.id))!;
    for (let i = 0; (await stores.connections.findById(connection.id))?.indexState !== 'ready'; i++) {
      if (i > 300) throw new Error('the demo connection was not indexed within 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ada = { personId: person!.id, workspaceId: acme.id, connectionId: connection.id };
    const apps: Array<{ id: string }> = [];
    for (let n = 0; n < Math.max(...PARTNER_COUNTS); n++) apps.push(await partnerWithGrant(stores, n, ada));
    let subscribed = 0;
    const subscribeUpTo = async (count: number) => {
      for (; subscribed < count; subscribed++) {
        const secret = `whsec_${randomBytes(32).toString('base64')}`;
        const token = `secret_${randomBytes(24).toString('hex')}`;
        const subscription = await stores.webhookSubscriptions.create(
          {
            appId: apps[subscribed]!.id,
            url: `${receiver.url}/hooks/${subscribed}`,
            events: ['page.content_updated'],
            encrypt: (id) => ({
              verificationTokenCiphertext: keyring.encrypt(token, `webhook_subscription:${id}`),
              signingSecretCiphertext: keyring.encrypt(secret, `webhook_subscription:${id}`),
            }),
          },
          new Date(),
        );
        await stores.webhookSubscriptions.setStatus(subscription.id, ['pending'], 'active', new Date(), { verifiedAt: new Date() });
      }
    };

    /** One Notion event, signed as Notion signs it; answers when it was sent and how long the intake took to ack. */
    const post = async (): Promise<{ id: string; sentAt: number; ackMs: number }> => {
      const id = randomUUID();
      const body = JSON.stringify({
        id,
        timestamp: new Date().toISOString(),
        workspace_id: acme.id,
        workspace_name: 'Acme',
        subscription_id: randomUUID(),
        integration_id: randomUUID(),
        type: 'page.content_updated',
        authors: [{ id: connection.notionUserId, type: 'person' }],
        accessible_by: [{ id: connection.notionUserId, type: 'person' }],
        attempt_number: 1,
        api_version: '2025-09-03',
        entity: { id: SEED_PAGE_IDS.architecture, type: 'page' },
        data: { parent: { id: SEED_PAGE_IDS.engineering, type: 'page' }, updated_blocks: [] },
      });
      const signature = await signWebhookPayload({ body, verificationToken });
      const sentAt = performance.now();
      const response = await fetch(`${url}/webhooks/notion`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-notion-signature': signature },
        body,
      });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the intake answered ${response.status}`);
      return { id, sentAt, ackMs: performance.now() - sentAt };
    };

    const run = async (partners: number, senders = SENDERS, count = EVENTS[partners]!) => {
      await subscribeUpTo(partners);
      // Warm-up, not counted: the first fan-out with this many subscriptions, delivered to all before the clock starts.
      const warm = await post();
      const warmUntil = performance.now() + RUN_TIMEOUT_MS;
      while ((receiver.arrived.get(warm.id)?.length ?? 0) < partners && performance.now() < warmUntil)
        await new Promise((r) => setTimeout(r, 20));
      receiver.arrived.clear();
      const sent: Array<{ id: string; sentAt: number; ackMs: number }> = [];
      const cpuBefore = cpuMs(gatehouse);
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: senders }, async () => {
          while (next++ < count) {
            const one = await post();
            sent.push(one);
            // Alone: the next event waits for this one's delivery, so nothing queues behind it.
            while (senders === 1 && (receiver.arrived.get(one.id)?.length ?? 0) < partners && performance.now() - started < RUN_TIMEOUT_MS)
              await new Promise((r) => setTimeout(r, 5));
          }
        }),
      );
      const done = () => sent.every((s) => (receiver.arrived.get(s.id)?.length ?? 0) >= partners);
      while (!done() && performance.now() - started < RUN_TIMEOUT_MS) await new Promise((r) => setTimeout(r, 20));
      const cpuAfter = cpuMs(gatehouse);
      const latencies: number[] = [];
      let last = started;
      let delivered = 0;
      for (const s of sent) {
        for (const at of receiver.arrived.get(s.id) ?? []) {
          latencies.push(at - s.sentAt);
          last = Math.max(last, at);
          delivered++;
        }
      }
      latencies.sort((a, b) => a - b);
      const acks = sent.map((s) => s.ackMs).sort((a, b) => a - b);
      const seconds = (last - started) / 1000;
      const complete = sent.filter((s) => (receiver.arrived.get(s.id)?.length ?? 0) >= partners).length;
      return {
        label: `${partners}, ${senders} at a time`,
        events: count,
        complete,
        eventsPerSecond: complete / seconds,
        deliveriesPerSecond: delivered / seconds,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        ackP50: percentile(acks, 50),
        ackP99: percentile(acks, 99),
        cpuPerDelivery: cpuBefore === null || cpuAfter === null || delivered === 0 ? null : (cpuAfter - cpuBefore) / delivered,
      };
    };

    const rows = [];
    // Unloaded first: one event at a time, so the latency is the pipeline's own (the workers' polling included), not a queue.
    rows.push(await run(1, 1, IDLE_EVENTS));
    for (const partners of PARTNER_COUNTS) rows.push(await run(partners));
    const cell = (value: number | null, digits: number, width: number) =>
      (value === null || Number.isNaN(value) ? 'n/a' : value.toFixed(digits)).padStart(width);
    process.stdout.write(
      `\nWebhooks: signed page.content_updated events POSTed to the intake (by Notion, i.e. this process, N at a time), fanned out to every subscription of one workspace and delivered by Gatehouse's job workers (PostgreSQL + Redis); latency from Notion's POST to each partner's 200\n`,
    );
    process.stdout.write(
      `${'partners, POSTs'.padEnd(18)} ${'events'.padStart(10)} ${'events/s'.padStart(9)} ${'deliv/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'intake p50'.padStart(10)} ${'intake p99'.padStart(10)} ${'CPU ms/deliv'.padStart(12)}\n`,
    );
    for (const r of rows) {
      process.stdout.write(
        `${r.label.padEnd(18)} ${`${r.complete}/${r.events}`.padStart(10)} ${cell(r.eventsPerSecond, 1, 9)} ${cell(r.deliveriesPerSecond, 1, 8)} ${cell(r.p50, 0, 8)} ${cell(r.p99, 0, 8)} ${cell(r.ackP50, 1, 10)} ${cell(r.ackP99, 1, 10)} ${cell(r.cpuPerDelivery, 2, 12)}\n`,
      );
    }
  } finally {
    await handle?.close();
    for (const child of args.children.splice(0)) child.kill('SIGTERM');
    await receiver.close();
    await new Promise((r) => setTimeout(r, 500));
    await args.admin.query(`drop database if exists ${database} with (force)`).catch(() => undefined);
  }
}
