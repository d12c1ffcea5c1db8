/**
 * Builds and runs one Gatehouse instance: used by `src/server.ts` and by the
 * test harness, so tests run the same wiring as production. Start-up order:
 * lock the data folder, secrets, database and migrations, Redis, sandboxes,
 * app, listen, demo seed and data-folder files, background jobs.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type session from 'express-session';
import type { Router } from 'express';
import { createApp } from './app.js';
import type { DocumentFetchOptions } from './oauth/client-metadata-document.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { Keyring } from './crypto/keyring.js';
import { createLogger } from './http/logging.js';
import { createMetrics } from './http/metrics.js';
import { lazyDiscovery } from './identity/oidc-strategy.js';
import { loadSecrets } from './bootstrap/secrets.js';
import { seedDemo } from './bootstrap/demo-seed.js';
import { demoPartnerRouter, ensureDemoPartner } from './sandbox/partner/index.js';
import { createDemoPartnerWebhooks, subscribeDemoPartner, type DemoPartnerWebhooks } from './sandbox/partner/webhooks.js';
import { createSandboxNotion, type SandboxNotion, type SandboxNotionOptions } from './sandbox/notion/index.js';
import { dataFiles, lockDataDir, writePrivateFile } from './store/data-dir.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './store/database.js';
import { DatabaseSessionStore } from './store/session-store.js';
import { HashedSessionIdStore } from './identity/hashed-session-store.js';
import { createStores, type Stores } from './store/stores.js';
import { MembershipSync } from './upstream/membership-sync.js';
import { revokeGrantsOfPerson, systemActor } from './admin/revocation.js';
import type { NotionUpstream } from './upstream/notion.js';
import { PageIndexer } from './page-index/sync.js';
import { createUpstreamGateway, type UpstreamGateway } from './upstream/gateway.js';
import { memoryRateBudget, observedRateBudget, redisRateBudget } from './upstream/rate-budget.js';
import { postgresRefreshLock, redisRefreshLock } from './upstream/refresh-lock.js';
import { memoryFailureLimiter, redisFailureLimiter } from './oauth/failure-limiter.js';
import { memoryAncestryCache, redisAncestryCache } from './proxy/scope.js';
import { subscribeSandboxToIntake } from './webhooks/sandbox-subscription.js';
import { createWebhookPipeline, type WebhookPipeline } from './webhooks/pipeline.js';
import { createWebhookMetrics } from './webhooks/metrics.js';
import { QUEUES } from './webhooks/engine.js';
import { startHousekeeping } from './runtime/housekeeping.js';
import { closeServer, waitForServices } from './runtime/services.js';
import { identityProvider } from './runtime/identity-provider.js';
import { observedTokenStore } from './runtime/observed-tokens.js';
import { ALL_CAPABILITIES, SANDBOX_CLIENT_ID } from './runtime/sandbox-client.js';
import { connectRedis, type RedisHandle } from './runtime/redis.js';

export { SANDBOX_CLIENT_ID };

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** An already listening server (tests listen on port 0 first to learn the URL). */
  server?: http.Server;
  /** PostgreSQL schema for this instance's tables (tests: one per file). */
  databaseSchema?: string;
  /** PGlite in memory instead of the data folder (tests). */
  pgliteInMemory?: boolean;
  /** Redis key prefix (tests: one per file). */
  redisPrefix?: string;
  /** Overrides for the in-process sandbox Notion (tests: short token lifetime, clock). */
  sandboxNotion?: Partial<Omit<SandboxNotionOptions, 'oauthClients' | 'publicUrl'>>;
  /** Subscribe the sandbox Notion to the webhook intake at start (default true; tests opt in). */
  sandboxWebhooks?: boolean;
  /** Skip the periodic background jobs (tests run them on demand). */
  periodicJobs?: boolean;
  /** Tests only: how Client ID Metadata Documents are fetched (a test CA, loopback allowed). */
  clientMetadataFetch?: DocumentFetchOptions;
}

export interface Gatehouse {
  url: string;
  config: Config;
  server: http.Server;
  database: DatabaseHandle;
  stores: Stores;
  keyring: Keyring;
  indexer: PageIndexer;
  membership: MembershipSync;
  /** The door to Notion (budget + refresh), as the proxy uses it. */
  gateway: UpstreamGateway;
  sandboxNotion: SandboxNotion | null;
  /** Webhook fan-out and delivery (the intake calls `enqueueFanOut` in its transaction). */
  webhooks: WebhookPipeline;
  adminToken: string;
  /** Graceful shutdown, step one: /readyz answers 503 and connections close after their answer; requests are still served. */
  drain(): void;
  stop(): Promise<void>;
}

export async function startGatehouse(config: Config, options: StartOptions = {}): Promise<Gatehouse> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void> | void> = [];
  let draining = false;
  let startedResponder = () => {};
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err: String(err) }, 'shutdown step failed');
      }
    }
  };

  try {
    if (config.embedded && !options.pgliteInMemory) {
      const unlock = await lockDataDir(config.dataDir, (err) => logger.error({ err: String(err) }, 'data folder lock lost'));
      cleanups.push(unlock);
    } else {
      fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    }
    const secrets = loadSecrets(config, (message) => logger.warn(message));
    const keyring = new Keyring(secrets.encryptionKeys);

    // PostgreSQL and Redis may come up after Gatehouse: answer health checks on the port while waiting for them.
    const server = options.server ?? http.createServer();
    const waited = await waitForServices(config, server, logger);
    if (waited) {
      cleanups.push(() => closeServer(server, 1000));
      startedResponder = waited.stopAnswering;
    }

    const database = config.databaseUrl
      ? await openDatabase({
          kind: 'postgres',
          url: config.databaseUrl,
          schema: options.databaseSchema,
          timeoutMs: config.tunables.databaseTimeoutMs,
          onError: (err) => logger.warn({ err: err.message }, 'database connection lost'),
        })
      : await openDatabase({ kind: 'pglite', dataDir: options.pgliteInMemory ? null : dataFiles.pglite(config.dataDir) });
    cleanups.push(() => database.close());
    await migrateToLatest(database, options.databaseSchema);
    const metrics = createMetrics();
    const stores = createStores(database.db);
    stores.tokens = observedTokenStore(stores.tokens, metrics.tokens);

    let redis: RedisHandle | null = null;
    let sessionStore: session.Store;
    const prefix = options.redisPrefix ?? config.redisPrefix;
    const sessionTtlSeconds = config.tunables.sessionIdleMinutes * 60;
    if (config.redisUrl) {
      const handle = await connectRedis({ url: config.redisUrl, cluster: config.redisCluster }, logger);
      redis = handle;
      cleanups.push(() => handle.close());
      sessionStore = new HashedSessionIdStore(handle.sessionStore(`${prefix}sess:`, sessionTtlSeconds));
    } else {
      const store = new DatabaseSessionStore(database.db, () => clock.now(), sessionTtlSeconds * 1000);
      const timer = setInterval(() => void store.prune().catch(() => undefined), 10 * 60_000);
      timer.unref();
      cleanups.push(() => clearInterval(timer));
      sessionStore = new HashedSessionIdStore(store);
    }

    const sandboxRouters: Array<{ mount: string; router: Router }> = [];

    let upstream: NotionUpstream;
    let sandboxNotion: SandboxNotion | null = null;
    if (config.notion.mode === 'sandbox') {
      sandboxNotion = await createSandboxNotion({
        stateFile: options.pgliteInMemory ? null : dataFiles.sandboxNotion(config.dataDir),
        publicUrl: `${config.publicUrl}/sandbox/notion`,
        clock: () => clock.now(),
        ...options.sandboxNotion,
        oauthClients: [
          {
            clientId: SANDBOX_CLIENT_ID,
            clientSecret: secrets.sandboxNotionClientSecret,
            redirectUris: [`${config.publicUrl}/connect/notion/callback`],
            name: `${config.organisationName} Gatehouse`,
            capabilities: [...ALL_CAPABILITIES],
          },
        ],
      });
      const sandbox = sandboxNotion;
      cleanups.push(() => sandbox.close());
      sandboxRouters.push({ mount: '/sandbox/notion', router: sandboxNotion.router });
      upstream = {
        baseUrl: `${config.publicUrl}/sandbox/notion`,
        clientId: SANDBOX_CLIENT_ID,
        clientSecret: secrets.sandboxNotionClientSecret,
        notionVersion: config.tunables.notionVersion,
        timeoutMs: config.tunables.requestTimeoutMs,
      };
    } else {
      upstream = {
        baseUrl: config.notion.baseUrl,
        clientId: config.notion.clientId,
        clientSecret: config.notion.clientSecret,
        notionVersion: config.tunables.notionVersion,
        timeoutMs: config.tunables.requestTimeoutMs,
      };
    }

    const idpIssuer = `${config.publicUrl}/sandbox/idp`;
    const discoverSettings = await identityProvider(config, secrets, idpIssuer, logger, sandboxRouters);

    let demoWebhooks: DemoPartnerWebhooks | null = null;
    if (sandboxNotion && config.oidc.mode === 'sandbox') {
      demoWebhooks = createDemoPartnerWebhooks({ publicUrl: config.publicUrl, clientSecret: secrets.demoPartnerClientSecret, clock });
      const demo = { publicUrl: config.publicUrl, clientSecret: secrets.demoPartnerClientSecret, stores, clock, webhooks: demoWebhooks };
      await ensureDemoPartner(demo);
      sandboxRouters.push({ mount: '/sandbox/partner', router: demoPartnerRouter(demo) });
    }

    // One refresh per credential across instances (Redis lock; advisory lock on PostgreSQL alone; PGlite is one process).
    const refreshLock = redis
      ? redisRefreshLock(redis.commander, prefix, { ttlMs: config.tunables.requestTimeoutMs * 3 })
      : database.kind === 'postgres'
        ? postgresRefreshLock(database.db)
        : undefined;
    const credentialDeps = { upstream, keyring, connections: stores.connections, audit: stores.audit, clock, refreshLock };
    // Notion's limit runs on real seconds, as the gateway's waits do: never on a test's frozen clock. Redis decides on its own TIME.
    const budgetSettings = {
      ratePerSecond: config.tunables.upstreamRequestsPerSecond,
      burst: config.tunables.upstreamBurst,
      maxWaitMs: config.tunables.upstreamMaxWaitMs,
      weights: config.tunables.upstreamPartnerWeights,
    };
    const budget = observedRateBudget(
      redis ? redisRateBudget(redis.commander, prefix, budgetSettings) : memoryRateBudget(systemClock, budgetSettings),
      metrics.budget,
    );
    const gateway = createUpstreamGateway({ ...credentialDeps, budget, metrics: metrics.upstream });
    const indexer = new PageIndexer({ ...credentialDeps, pageIndex: stores.pageIndex, logger, gateway, metrics: metrics.index });
    metrics.index.watchStates(async () => (await stores.connections.listActive()).map((c) => c.indexState));
    cleanups.push(() => indexer.stop());
    const membership = new MembershipSync({
      ...credentialDeps,
      people: stores.people,
      workspaces: stores.workspaces,
      logger,
      gateway,
      // A person who left a workspace loses every grant they made in it.
      onLeft: async (workspaceId, personId) => {
        await revokeGrantsOfPerson(
          { grants: stores.grants, tokens: stores.tokens, audit: stores.audit, clock },
          workspaceId,
          personId,
          systemActor('membership sync'),
          'person left the workspace',
        );
      },
    });
    cleanups.push(() => membership.stop());
    const requestIndex = (id: string) => indexer.request(id);

    const limiterSettings = { windowSeconds: config.tunables.clientAuthFailureWindowSeconds };
    const clientAuthLimiter = redis
      ? redisFailureLimiter(redis.commander, prefix, limiterSettings)
      : memoryFailureLimiter(clock, limiterSettings);

    const ancestry = redis ? redisAncestryCache(redis.cache, prefix, clock) : memoryAncestryCache(clock);

    const tunables = config.tunables;
    const webhooks = createWebhookPipeline({
      handle: database,
      databaseSchema: options.databaseSchema,
      stores,
      keyring,
      clock,
      cache: ancestry,
      logger,
      allowLoopbackHttp: config.sandboxAllowed,
      policy: {
        scheduleMs: tunables.webhookRetryScheduleSeconds.map((s) => Math.round(s * 1000)),
        jitter: tunables.webhookRetryJitter,
        timeoutMs: tunables.webhookDeliveryTimeoutMs,
        disableAfterFailingMs: tunables.webhookDisableAfterFailingDays * 86_400_000,
        maxRetryAfterMs: 24 * 3_600_000,
      },
      metrics: createWebhookMetrics(metrics.registry, async () => ({
        deliveries: await stores.webhookDeliveries.countOpen(),
        [QUEUES.fanOut]: await webhooks.engine.depth(QUEUES.fanOut),
        [QUEUES.deliver]: await webhooks.engine.depth(QUEUES.deliver),
      })),
    });
    await webhooks.start();
    cleanups.push(() => webhooks.stop());
    const app = createApp({
      config,
      clock,
      logger,
      metrics,
      database,
      redis,
      stores,
      keyring,
      sessionStore,
      sessionSecret: secrets.sessionSecret,
      upstream,
      discover: lazyDiscovery(discoverSettings),
      sandboxRouters,
      requestIndex,
      onSignedIn: () => membership.request(),
      clientAuthLimiter,
      gateway,
      ancestry,
      isDraining: () => draining,
      clientMetadataFetch: options.clientMetadataFetch,
      enqueueFanOut: (trx, eventId) => webhooks.enqueueFanOut(trx, eventId),
      budgetUsage: async (workspaceId) => (await budget.usageLastHour?.(workspaceId)) ?? [],
      webhooks,
    });
    startedResponder();
    server.on('request', app);
    if (!server.listening) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, () => resolve());
      });
    }
    // A proxied call may wait for the budget and then for Notion: that is the longest a request in flight needs.
    cleanups.push(() => closeServer(server, config.tunables.upstreamMaxWaitMs + config.tunables.requestTimeoutMs + 1000));
    const port = (server.address() as AddressInfo).port;
    const url = config.publicUrl;
    if (sandboxNotion && options.sandboxWebhooks !== false) {
      await subscribeSandboxToIntake({
        sandbox: sandboxNotion,
        clientId: SANDBOX_CLIENT_ID,
        publicUrl: config.publicUrl,
        events: stores.webhookEvents,
        keyring,
        logger,
      });
    }

    if (sandboxNotion && config.oidc.mode === 'sandbox') {
      const connectDeps = {
        upstream,
        keyring,
        connections: stores.connections,
        workspaces: stores.workspaces,
        audit: stores.audit,
        clock,
        requestIndex,
      };
      if (await seedDemo({ stores, sandbox: sandboxNotion, clientId: SANDBOX_CLIENT_ID, idpIssuer, connect: connectDeps }))
        logger.info('demo workspaces connected for Ada and Ben');
    }

    // The embedded default as a person runs it (a data folder, not a test's in-memory database): the demo partner subscribes.
    // Done before "ready", so what a new user sees (and `keys rotate` counts) does not depend on timing.
    if (demoWebhooks && config.embedded && !options.pgliteInMemory) {
      const subscribed = subscribeDemoPartner({ stores, config, keyring, clock, limiter: clientAuthLimiter, logger }, demoWebhooks);
      cleanups.push(subscribed);
      await subscribed();
    }

    // The command line reads these when GATEHOUSE_URL / GATEHOUSE_ADMIN_TOKEN are unset.
    const adminToken = await stores.adminTokens.replaceBootstrap(`bootstrap@${os.hostname()}:${config.dataDir}`, clock.now());
    writePrivateFile(dataFiles.url(config.dataDir), `${url}\n`);
    writePrivateFile(dataFiles.adminToken(config.dataDir), `${adminToken}\n`);

    // Connections left mid-index by a previous run (or never indexed) are picked up again.
    for (const connection of await stores.connections.listActive()) {
      if (connection.indexState !== 'ready') indexer.request(connection.id);
    }
    if (options.periodicJobs !== false) {
      indexer.startPeriodic(config.tunables.pageIndexRefreshMinutes * 60_000);
      membership.startPeriodic(config.tunables.membershipSyncMinutes * 60_000);
      cleanups.push(startHousekeeping(stores, clock, config.tunables));
      await webhooks.startWorkers();
    }

    logger.debug({ port }, 'listening');
    return {
      url,
      config,
      server,
      database,
      stores,
      keyring,
      indexer,
      membership,
      gateway,
      sandboxNotion,
      webhooks,
      adminToken,
      drain: () => {
        draining = true;
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
