/**
 * The Notion API for Gatehouse tokens: `/v1/...` except `/v1/oauth/*`.
 * HTTP only, in Notion's order of checks: Notion-Version (400), token (401),
 * endpoint (400 invalid_request_url), capability (403), body (400/413),
 * then the rule (calls.ts): scope (404), forwarding, shaping. Mounted before
 * the session middleware: partner calls carry no cookies and get none.
 */
import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { AuditStore } from '../store/audit.js';
import type { GrantStore } from '../store/grants.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { PageIndexStore } from '../store/page-index.js';
import type { PartnerAppStore } from '../store/partner-apps.js';
import type { TokenStore } from '../store/tokens.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import type { UpstreamGateway } from '../upstream/gateway.js';
import { authenticateFor, bearerToken, type TokenScope } from './authenticate.js';
import { runCall, type CallDeps } from './calls.js';
import { allowedQuery, matchEndpoint, type Endpoint } from './endpoints.js';
import { NotionError, restricted, unauthorized, unavailable, validationError } from './errors.js';
import type { AncestryCache } from './scope.js';

export const NOTION_VERSIONS = ['2022-06-28', '2025-09-03'] as const;
/** Notion's request limit: refused before anything is forwarded. */
export const BODY_LIMIT = '500kb';

export interface ProxyDeps {
  tokens: Pick<TokenStore, 'findAccessTokenWithGrant' | 'markAccessTokenUsed'>;
  grants: Pick<GrantStore, 'findById'>;
  /** Internal integration tokens (gh_int_), resolved in ./authenticate.ts. */
  internalIntegrations?: Pick<InternalIntegrationStore, 'findByTokenHash'>;
  connections: Pick<UpstreamConnectionStore, 'findById'>;
  workspaces: Pick<WorkspaceStore, 'findById'>;
  partnerApps: Pick<PartnerAppStore, 'findById'>;
  pageIndex: Pick<PageIndexStore, 'get'>;
  audit: AuditStore;
  clock: Clock;
  gateway: UpstreamGateway;
  ancestry: AncestryCache;
  registry: Registry;
  logger: Logger;
  /** Asks the page indexer to resync a connection (Notion's answer contradicted the index). */
  requestIndex?: (connectionId: string) => void;
}

function counter(registry: Registry, name: string, help: string, labelNames: string[]): Counter<string> {
  return (registry.getSingleMetric(name) as Counter<string> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

export function proxyRoutes(deps: ProxyDeps): RequestHandler {
  // Labels are bounded: app and workspace ids exist only as registered and connected.
  const forwarded = counter(deps.registry, 'gatehouse_proxy_calls_total', 'Partner calls answered through the proxy', ['app', 'workspace']);
  const refused = counter(deps.registry, 'gatehouse_proxy_refused_total', 'Partner calls refused by the proxy', ['reason']);
  const parseJson = express.json({ limit: BODY_LIMIT, type: () => true, strict: true });
  const readJson = (req: Request, res: Response) =>
    new Promise<void>((resolve, reject) => parseJson(req, res, (err?: unknown) => (err ? reject(err) : resolve())));

  const callDeps = proxyCallDeps(deps);

  return async (req, res, next) => {
    const rawPath = req.originalUrl.split('?')[0] ?? '';
    // Gatehouse's own OAuth endpoints live under /v1/oauth (their routes come before or after this one).
    if (!(rawPath === '/v1' || rawPath.startsWith('/v1/')) || rawPath === '/v1/oauth' || rawPath.startsWith('/v1/oauth/')) return next();

    const requestId = randomUUID();
    res.setHeader('Cache-Control', 'no-store');
    let scope: TokenScope | null = null;
    let known: { grantId: string; appId: string; workspaceId: string | null } | null = null;
    let endpoint: Endpoint | null = null;
    try {
      const version = req.get('Notion-Version');
      if (version === undefined)
        throw new NotionError(
          400,
          'missing_version',
          'Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.',
          'bad_version',
        );
      if (!(NOTION_VERSIONS as readonly string[]).includes(version)) {
        throw validationError(
          `Notion-Version header failed validation: Notion-Version header should be one of ${NOTION_VERSIONS.map((v) => `"${v}"`).join(', ')}, instead was \`${JSON.stringify(version.slice(0, 40))}\`.`,
          'bad_version',
        );
      }

      const auth = await authenticateFor(deps, bearerToken(req.get('Authorization')), deps.clock.now(), null);
      if (!auth.ok) {
        known = auth.known ?? null;
        throw unauthorized(auth.reason);
      }
      scope = auth.scope;

      const matched = matchEndpoint(req.method, rawPath);
      endpoint = matched.endpoint;
      requireCapability(endpoint, scope.capabilities);

      let body: Record<string, unknown> = {};
      if (endpoint.body) body = await readBody(req, res, readJson, endpoint);

      const answer = await runCall(callDeps(scope), {
        scope,
        matched,
        notionVersion: version,
        query: allowedQuery(endpoint, req.query as Record<string, unknown>),
        body,
      });
      forwarded.inc({ app: scope.appId, workspace: scope.workspaceId });
      res.status(200).json(answer);
    } catch (err) {
      const error = err instanceof NotionError ? err : (outage(deps.logger, err) ?? unexpected(deps.logger, err));
      refused.inc({ reason: error.reason ?? (error.status >= 500 ? 'upstream_error' : 'upstream_refused') });
      for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
      if (error.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="notion"');
      res
        .status(error.status)
        .json({ object: 'error', status: error.status, code: error.code, message: error.message, request_id: requestId });
      const who = scope ? { grantId: scope.grantId, appId: scope.appId, workspaceId: scope.workspaceId } : known;
      // Refusals of a known token are audited; unknown or missing tokens only counted (no table to flood).
      // Nor outages: the audit table is likely what is unreachable.
      if (who && error.reason && error.reason !== 'rate_limited' && error.reason !== 'unavailable') {
        await deps.audit
          .record(
            {
              action: 'proxy.refused',
              actor: { type: 'partner', id: who.appId },
              target: { type: 'grant', id: who.grantId },
              workspaceId: who.workspaceId,
              address: req.ip ?? null,
              outcome: 'failure',
              detail: { reason: error.reason, status: error.status, endpoint: endpoint?.name ?? null, method: req.method },
            },
            deps.clock.now(),
          )
          .catch((auditErr: unknown) => deps.logger.warn({ err: String(auditErr) }, 'proxy refusal not audited'));
      }
    }
  };
}

/**
 * What a rule needs to run one call for one token: the proxy's routes and the
 * MCP tools (src/mcp/) both run calls through this, so there is one rule set.
 */
export function proxyCallDeps(
  deps: Omit<ProxyDeps, 'tokens' | 'grants' | 'audit' | 'registry' | 'logger'>,
): (scope: TokenScope) => CallDeps {
  const describeBot = async (scope: TokenScope) => {
    const [app, workspace, connection] = await Promise.all([
      deps.partnerApps.findById(scope.appId),
      deps.workspaces.findById(scope.workspaceId),
      // Read with the token on this call: no second lookup.
      scope.connection ?? deps.connections.findById(scope.upstreamConnectionId),
    ]);
    return { appName: app?.name ?? 'Integration', workspaceName: workspace?.name ?? null, notionUser: connection?.notionUser ?? {} };
  };
  return (scope) => ({
    gateway: deps.gateway,
    scope: {
      cache: deps.ancestry,
      pageIndex: deps.pageIndex,
      now: () => deps.clock.now().getTime(),
      onIndexContradicted: () => deps.requestIndex?.(scope.upstreamConnectionId),
    },
    describeBot,
  });
}

export function requireCapability(endpoint: Endpoint, capabilities: readonly string[]): void {
  if (endpoint.capability === null) return;
  if (endpoint.capability === 'user_info') {
    // Notion: reading users without a user-information capability is 403.
    if (!capabilities.includes('user_info_with_email') && !capabilities.includes('user_info_without_email')) throw restricted();
    return;
  }
  if (!capabilities.includes(endpoint.capability)) throw restricted();
}

async function readBody(
  req: Request,
  res: Response,
  readJson: (req: Request, res: Response) => Promise<void>,
  endpoint: Endpoint,
): Promise<Record<string, unknown>> {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (!hasBody) return {};
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type))
    throw new NotionError(400, 'invalid_request', 'Request bodies must be JSON (Content-Type: application/json).', 'invalid_body');
  try {
    await readJson(req, res);
  } catch (err) {
    const failure = err as { type?: string; status?: number };
    if (failure.type === 'entity.too.large')
      throw new NotionError(413, 'validation_error', 'Request body too large: the limit is 500 KB.', 'body_too_large');
    if (failure.type === 'entity.parse.failed') throw new NotionError(400, 'invalid_json', 'Error parsing JSON body.', 'invalid_body');
    throw new NotionError(400, 'invalid_request', 'The request body could not be read.', 'invalid_body');
  }
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw validationError('body failed validation: body should be an object.');
  if (endpoint.bodyKeys) {
    const extra = Object.keys(body).find((key) => !endpoint.bodyKeys!.includes(key));
    if (extra !== undefined) throw validationError(`body failed validation: body.${extra.slice(0, 40)} should be not present.`);
  }
  return body as Record<string, unknown>;
}

function outage(logger: Logger, err: unknown): NotionError | null {
  const error = unavailable(err);
  if (error) logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'proxy: dependency unavailable');
  return error;
}

function unexpected(logger: Logger, err: unknown): NotionError {
  logger.error({ err: err instanceof Error ? err.message : String(err) }, 'proxy call failed');
  return new NotionError(500, 'internal_server_error', 'Unexpected error occurred.');
}
