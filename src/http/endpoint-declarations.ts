/**
 * Endpoints declared as data whose handlers are not (yet) contracts served by
 * a zone router: the partner-facing protocol (OAuth, the Notion proxy, MCP),
 * the probes (not pages: they answer before sessions) and Notion's webhooks,
 * each with its zone and what it audits. ./endpoint-registry.ts adds the declared
 * contracts; test/server/endpoint-registry.test.ts walks the running
 * application and fails on any route missing from the registry.
 */
import type { AuditRecord, Zone } from './contract.js';
import { ENDPOINTS } from '../proxy/endpoints.js';

/** 'all': a route answering every other method (405 with Allow). 'put' for completeness of Express's verbs. */
export type DeclaredMethod = 'get' | 'post' | 'delete' | 'patch' | 'put' | 'all';

export interface EndpointDeclaration {
  zone: Zone;
  method: DeclaredMethod;
  /** Express path, as mounted on the application. */
  path: string;
  audit: AuditRecord;
  /** The folder whose code answers it. */
  area: string;
  /** 'zone-router': a contract mounted by mountZone (./zones.ts); 'own-router': its area's own router, with the zone's guard. */
  served: 'zone-router' | 'own-router';
}

type Row = [DeclaredMethod, string, AuditRecord];

function rows(zone: Zone, area: string, list: Row[]): EndpointDeclaration[] {
  return list.map(([method, path, audit]) => ({ zone, method, path, audit, area, served: 'own-router' }));
}

const notAllowed = { none: 'answers 405 with Allow' } as const;

/** The OAuth endpoints (src/oauth/routes.ts): partners authenticate themselves (RFC 6749 §2.3). */
const OAUTH = [
  ...rows('public', 'oauth', [['get', '/.well-known/oauth-authorization-server', { none: 'public metadata (RFC 8414)' }]]),
  ...rows('partner', 'oauth', [
    [
      'post',
      '/v1/oauth/token',
      [
        'code.redeemed',
        'code.redeem_failed',
        'code.replayed',
        'token.issued',
        'token.refreshed',
        'refresh.reused',
        'client.authentication_failed',
      ],
    ],
    ['post', '/v1/oauth/introspect', ['client.authentication_failed']],
    ['post', '/v1/oauth/revoke', ['token.revoked', 'client.authentication_failed']],
    ['post', '/v1/oauth/register', ['client.registered', 'client.unused_deleted']],
    ...(['/v1/oauth/token', '/v1/oauth/introspect', '/v1/oauth/revoke', '/v1/oauth/register'] as const).map((p): Row => [
      'all',
      p,
      notAllowed,
    ]),
  ]),
  // The browser's entry into consent: a redirect to sign-in or the consent page (RFC 6749 §4.1.1).
  ...rows('public', 'oauth', [['get', '/v1/oauth/authorize', ['client.metadata_document_fetched']]]),
];

/** The Notion API proxy (src/proxy/endpoints.ts is its allow-list; one handler serves all of them under /v1). */
const PROXY: EndpointDeclaration[] = ENDPOINTS.map((e) => ({
  zone: 'partner',
  method: e.method.toLowerCase() as DeclaredMethod,
  path: `/v1/${e.segments.map((s) => (s.startsWith('*') ? `:${s.slice(1)}` : s)).join('/')}`,
  audit: ['proxy.refused'],
  area: 'proxy',
  served: 'own-router',
}));

/** MCP (src/mcp/routes.ts): bearer tokens; its resource metadata is public (RFC 9728). */
const MCP = [
  ...rows('public', 'mcp', [
    ['get', '/.well-known/oauth-protected-resource/mcp', { none: 'public metadata (RFC 9728)' }],
    ['get', '/.well-known/oauth-protected-resource', { none: 'public metadata (RFC 9728)' }],
  ]),
  ...rows('partner', 'mcp', [
    ['all', '/mcp', notAllowed],
    ['post', '/mcp', ['mcp.tool_called', 'mcp.tool_refused']],
  ]),
];

/** Probes (src/http/health.ts): mounted first, before sessions, so they answer while sessions are down. */
const PUBLIC = [
  ...rows('public', 'http', [
    ['get', '/healthz', { none: 'a probe' }],
    ['get', '/readyz', { none: 'a probe' }],
    // The metrics token (or the embedded mode) is checked by the route itself.
    ['get', '/metrics', { none: 'a probe' }],
  ]),
];

/** Notion's webhooks (src/webhooks/intake-routes.ts): raw bodies, signed by Notion; the partner verify endpoint. */
const WEBHOOKS_PUBLIC = [
  ...rows('public', 'webhooks', [
    ['post', '/webhooks/notion', ['webhook_intake.token_received', 'webhook_intake.token_refused']],
    ['post', '/webhooks/notion/internal/:integrationId', ['webhook_intake.token_received', 'webhook_intake.token_refused']],
  ]),
  ...rows('partner', 'webhooks', [
    [
      'post',
      '/v1/webhooks/subscriptions/:id/verify',
      ['webhook_subscription.verified', 'webhook_subscription.verification_failed', 'client.authentication_failed'],
    ],
    ['all', '/v1/webhooks/subscriptions/:id/verify', notAllowed],
  ]),
];

/** Every endpoint declared as data (the contracts are added by ./endpoint-registry.ts). */
export function declaredEndpoints(): EndpointDeclaration[] {
  return [...OAUTH, ...PROXY, ...MCP, ...PUBLIC, ...WEBHOOKS_PUBLIC];
}
