/**
 * createApp(deps): the Express application, never listening. Order matters:
 * health and metrics first (they must answer while sessions are down), the
 * sandboxes before any body parser (oidc-provider parses its own), then
 * sessions, sign-in, CSRF and the pages.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import type session from 'express-session';
import type * as oidcClient from 'openid-client';
import type { Clock } from './clock.js';
import type { Config } from './config.js';
import type { Keyring } from './crypto/keyring.js';
import { adminApi } from './admin/api.js';
import { partnerAppRoutes } from './admin/partner-app-routes.js';
import { logoRoutes } from './admin/logo-routes.js';
import { adminTokenRoutes } from './admin/admin-token-routes.js';
import { auditRoutes } from './admin/audit-routes.js';
import { internalIntegrationRoutes } from './admin/internal-integration-routes.js';
import { consoleRoutes } from './admin/console-routes.js';
import { pageChrome } from './http/auth-guards.js';
import { zoneGuards } from './http/zones.js';
import { csrfProtection, csrfTokenForViews } from './http/csrf.js';
import { errorHandler, notFound } from './http/errors.js';
import { rejectNulInBody, rejectNulInUrl } from './http/reject-nul.js';
import { healthRoutes, type RedisPing } from './http/health.js';
import { requestLogger } from './http/logging.js';
import type { Metrics } from './http/metrics.js';
import { createPassport, identityRoutes } from './identity/routes.js';
import { absoluteTimeout, sessionLifetimes, sessionMiddleware } from './identity/sessions.js';
import type { DatabaseHandle } from './store/database.js';
import type { Stores } from './store/stores.js';
import type { NotionUpstream } from './upstream/notion.js';
import { workspaceRoutes } from './upstream/routes.js';
import { consentRoutes } from './consent/routes.js';
import { withClientMetadataDocuments, type DocumentFetchOptions } from './oauth/client-metadata-document.js';
import type { FailureLimiter } from './oauth/failure-limiter.js';
import type { UpstreamGateway } from './upstream/gateway.js';
import { authorizeRoutes, oauthEndpointRoutes } from './oauth/routes.js';
import { proxyRoutes } from './proxy/routes.js';
import { mcpRoutes } from './mcp/routes.js';
import type { AncestryCache } from './proxy/scope.js';
import type { Transaction } from 'kysely';
import type { Database } from './store/schema.js';
import { webhookIntakeAdminRoutes, webhookIntakeRoutes } from './webhooks/intake-routes.js';
import { partnerVerifyRoutes, subscriptionAdminApi, type SubscriptionRouteDeps } from './webhooks/subscription-routes.js';
import { subscriptionPageRoutes } from './webhooks/subscription-page-routes.js';
import type { PartnerUsage } from './upstream/rate-budget.js';
import type { WebhookPipeline } from './webhooks/pipeline.js';
import { deliveryRoutes } from './webhooks/delivery-routes.js';
import { docsRoutes } from './docs/routes.js';

export interface AppDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  database: DatabaseHandle;
  redis: RedisPing | null;
  stores: Stores;
  keyring: Keyring;
  sessionStore: session.Store;
  sessionSecret: string;
  upstream: NotionUpstream;
  discover: () => Promise<oidcClient.Configuration>;
  sandboxRouters: Array<{ mount: string; router: Router }>;
  requestIndex: (connectionId: string) => void;
  onSignedIn: (person: Express.User) => void;
  clientAuthLimiter: FailureLimiter;
  /** Partner calls to Notion go through here (the proxy). */
  gateway: UpstreamGateway;
  /** The proxy's ancestry cache (Redis when configured, else in process). */
  ancestry: AncestryCache;
  /** True once a graceful shutdown began. */
  isDraining?: () => boolean;
  /** Adds a stored webhook event's fan-out job to the transaction that stores it. */
  enqueueFanOut: (trx: Transaction<Database>, eventId: string) => Promise<void>;
  /** Each partner's grants from the workspace's Notion budget over the last hour (the owners' "Connections"). */
  budgetUsage?: (workspaceId: string) => Promise<PartnerUsage[]>;
  /** Webhook fan-out and delivery: the admin surfaces act through it. */
  webhooks?: WebhookPipeline;
  /** Tests only: the CA of a local https server, and loopback allowed, for Client ID Metadata Documents. */
  clientMetadataFetch?: DocumentFetchOptions;
}

const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public');

export function createApp(deps: AppDeps): express.Express {
  const { config, stores } = deps;
  const app = express();
  // Every page names the organisation whose Gatehouse it is.
  app.locals.organisationName = config.organisationName;
  app.set('trust proxy', config.trustProxy);
  app.disable('x-powered-by');

  app.use(requestLogger(deps.logger));
  app.use(rejectNulInUrl);
  app.use(deps.metrics.middleware);
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: true,
        directives: {
          'default-src': ["'self'"],
          'script-src': ["'self'"],
          'style-src': ["'self'"],
          // Logos and icons are served by Gatehouse itself: no third-party resources on these pages (RFC 9700 §4.2.4).
          'img-src': ["'self'", 'data:'],
          // Chrome applies form-action to the redirect after a form post: the connect button leads to Notion.
          // The consent page adds the partner's redirect origin to this, on its own responses only (src/consent/routes.ts).
          'form-action': ["'self'", new URL(deps.upstream.baseUrl).origin],
          'frame-ancestors': ["'none'"],
          'upgrade-insecure-requests': config.secureCookies ? [] : null,
        },
      },
      referrerPolicy: { policy: 'no-referrer' },
      // RFC 9700 §4.16: no framing anywhere, consent and sign-in included.
      frameguard: { action: 'deny' },
      strictTransportSecurity: config.secureCookies,
    }),
  );
  // While draining, every answer closes its connection, so keep-alive clients reconnect to another instance.
  app.use((_req, res, next) => {
    if (deps.isDraining?.()) res.setHeader('Connection', 'close');
    next();
  });
  app.use(
    healthRoutes({
      database: deps.database,
      redis: deps.redis,
      registry: deps.metrics.registry,
      metricsToken: config.metricsToken,
      metricsOpen: config.embedded,
      isDraining: deps.isDraining,
    }),
  );
  app.use('/static', express.static(publicDir, { maxAge: '1h', index: false }));
  for (const { mount, router } of deps.sandboxRouters) app.use(mount, router);
  app.use(
    oauthEndpointRoutes({
      partnerApps: stores.partnerApps,
      tokens: stores.tokens,
      grants: stores.grants,
      workspaces: stores.workspaces,
      connections: stores.connections,
      audit: stores.audit,
      limiter: deps.clientAuthLimiter,
      clientAuthFailureLimit: config.tunables.clientAuthFailuresPerWindow,
      clock: deps.clock,
      issuer: config.publicUrl,
      logger: deps.logger,
      accessTokenLifetimeSeconds: config.tunables.accessTokenLifetimeSeconds,
      refreshTokenLifetimeDays: config.tunables.refreshTokenLifetimeDays,
      refreshReuseGraceSeconds: config.tunables.refreshReuseGraceSeconds,
      registrationsPerWindow: config.tunables.agentRegistrationsPerWindow,
    }),
  );
  const subscriptionRouteDeps: SubscriptionRouteDeps = {
    stores,
    config,
    keyring: deps.keyring,
    clock: deps.clock,
    limiter: deps.clientAuthLimiter,
    logger: deps.logger,
  };
  // A partner verifying its webhook subscription: under /v1, so before the proxy claims the path.
  app.use(partnerVerifyRoutes(subscriptionRouteDeps));
  // The Notion API proxy: /v1/... except /v1/oauth/*, before sessions (partners carry no cookies).
  app.use(
    proxyRoutes({
      tokens: stores.tokens,
      grants: stores.grants,
      connections: stores.connections,
      workspaces: stores.workspaces,
      partnerApps: stores.partnerApps,
      internalIntegrations: stores.internalIntegrations,
      pageIndex: stores.pageIndex,
      audit: stores.audit,
      clock: deps.clock,
      gateway: deps.gateway,
      ancestry: deps.ancestry,
      registry: deps.metrics.registry,
      logger: deps.logger,
      requestIndex: deps.requestIndex,
    }),
  );

  // The MCP endpoint and its resource metadata: bearer tokens only, before sessions (agents carry no cookies).
  app.use(
    mcpRoutes({
      tokens: stores.tokens,
      grants: stores.grants,
      connections: stores.connections,
      workspaces: stores.workspaces,
      partnerApps: stores.partnerApps,
      pageIndex: stores.pageIndex,
      audit: stores.audit,
      clock: deps.clock,
      gateway: deps.gateway,
      ancestry: deps.ancestry,
      registry: deps.metrics.registry,
      logger: deps.logger,
      requestIndex: deps.requestIndex,
      issuer: config.publicUrl,
      defaultScope: config.tunables.agentDefaultScope,
    }),
  );

  // Notion's webhooks: raw bodies, before sessions and CSRF (Notion carries no cookies).
  app.use(
    webhookIntakeRoutes({
      events: stores.webhookEvents,
      audit: stores.audit,
      keyring: deps.keyring,
      clock: deps.clock,
      enqueueFanOut: deps.enqueueFanOut,
      internalIntegrations: stores.internalIntegrations,
    }),
  );

  const passport = createPassport(stores.people);
  app.use(
    sessionMiddleware({
      secret: deps.sessionSecret,
      secureCookies: config.secureCookies,
      trustProxy: config.trustProxy !== false,
      idleMinutes: config.tunables.sessionIdleMinutes,
      absoluteHours: config.tunables.sessionAbsoluteHours,
      store: deps.sessionStore,
    }),
  );
  app.use(absoluteTimeout(deps.clock, config.tunables.sessionAbsoluteHours));
  app.use(passport.initialize());
  app.use(passport.session());
  app.use(sessionLifetimes(config.tunables.sessionIdleMinutes));
  // The picker's form posts one field per ticked page, up to a grant's 500 (MAX_PICKED_PAGES), plus its own; elsewhere 200 fields.
  app.use('/consent/:transactionId/pages', express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 600 }));
  app.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 200 }));
  app.use(express.json({ limit: '256kb' }));
  app.use(rejectNulInBody);
  app.use(csrfProtection);
  app.use(pageChrome(stores.workspaces, config.adminEmails));
  app.use(csrfTokenForViews);
  app.use((_req, res, next) => {
    // Pages show personal data and carry CSRF tokens: never cache them.
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  // Who each trust zone lets in, built once: every area's contracts are mounted behind these (src/http/zones.ts).
  const guards = zoneGuards({ adminTokens: stores.adminTokens, people: stores.people, adminEmails: config.adminEmails, clock: deps.clock });
  app.use(
    identityRoutes(
      passport,
      {
        publicUrl: config.publicUrl,
        sessionIdleMinutes: config.tunables.sessionIdleMinutes,
        discover: deps.discover,
        people: stores.people,
        audit: stores.audit,
        clock: deps.clock,
        onSignedIn: deps.onSignedIn,
      },
      guards,
    ),
  );
  app.use(
    workspaceRoutes(
      {
        publicUrl: config.publicUrl,
        upstream: deps.upstream,
        keyring: deps.keyring,
        connections: stores.connections,
        workspaces: stores.workspaces,
        audit: stores.audit,
        clock: deps.clock,
        requestIndex: deps.requestIndex,
      },
      guards,
    ),
  );
  app.use(
    consentRoutes(
      {
        ...stores,
        clock: deps.clock,
        publicUrl: config.publicUrl,
        codeLifetimeSeconds: config.tunables.authorizationCodeLifetimeSeconds,
      },
      guards,
    ),
  );
  // An https client_id is an agent's Client ID Metadata Document: fetched (SSRF rules), checked, kept as an agent app.
  const documentClients = withClientMetadataDocuments({ ...stores, clock: deps.clock, fetch: deps.clientMetadataFetch });
  app.use(authorizeRoutes({ partnerApps: documentClients, clock: deps.clock, issuer: config.publicUrl }));
  app.use(
    consoleRoutes(
      {
        stores,
        config,
        clock: deps.clock,
        keyring: deps.keyring,
        upstream: deps.upstream,
        logger: deps.logger,
        budgetUsage: deps.budgetUsage,
      },
      guards,
    ),
  );
  app.use(partnerAppRoutes({ stores, config, clock: deps.clock }, guards));
  app.use(subscriptionAdminApi(subscriptionRouteDeps, guards));
  app.use(subscriptionPageRoutes(subscriptionRouteDeps, guards));
  app.use(internalIntegrationRoutes({ stores, config, keyring: deps.keyring, clock: deps.clock }, guards));
  app.use(auditRoutes({ stores, config, clock: deps.clock }, guards));
  app.use(adminTokenRoutes({ stores, config, clock: deps.clock }, guards));
  app.use(webhookIntakeAdminRoutes({ stores, config, keyring: deps.keyring, clock: deps.clock }, guards));
  if (deps.webhooks) app.use(deliveryRoutes({ stores, config, clock: deps.clock, pipeline: deps.webhooks }, guards));
  app.use(
    adminApi(
      {
        adminTokens: stores.adminTokens,
        people: stores.people,
        workspaces: stores.workspaces,
        connections: stores.connections,
        audit: stores.audit,
        keyring: deps.keyring,
        adminEmails: config.adminEmails,
        clock: deps.clock,
        publicUrl: config.publicUrl,
        internalIntegrations: stores.internalIntegrations,
        webhookSubscriptions: stores.webhookSubscriptions,
        webhookEvents: stores.webhookEvents,
      },
      guards,
    ),
  );

  app.use(logoRoutes({ partnerApps: stores.partnerApps }, guards));
  app.use(docsRoutes(guards));
  app.use((_req, _res, next) => next(notFound('There is no page here.')));
  app.use(errorHandler(deps.logger));
  return app;
}
