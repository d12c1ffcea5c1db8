/**
 * Every endpoint Gatehouse serves, in one list: the declared contracts
 * (mounted by the zone routers, ./zones.ts) and the endpoints declared as
 * data (./endpoint-declarations.ts). test/server/endpoint-registry.test.ts
 * walks the running application's router stack and fails on a route that is
 * not here, so nothing is mounted outside a zone unnoticed.
 */
import { ADMIN_TOKEN_API, ADMIN_TOKEN_PAGES } from '../admin/admin-token-routes.js';
import { AUDIT_API, AUDIT_PAGES } from '../admin/audit-routes.js';
import { PARTNER_APP_API } from '../admin/partner-app-api.js';
import { PARTNER_APP_PAGES } from '../admin/partner-app-routes.js';
import { INTERNAL_INTEGRATION_API } from '../admin/internal-integration-api.js';
import { INTERNAL_INTEGRATION_PAGES } from '../admin/internal-integration-routes.js';
import { INTAKE_ADMIN_API, INTAKE_ADMIN_PAGES } from '../webhooks/intake-routes.js';
import { DELIVERY_API } from '../webhooks/delivery-api.js';
import { DELIVERY_PAGES } from '../webhooks/delivery-routes.js';
import { SUBSCRIPTION_API } from '../webhooks/subscription-api.js';
import { SUBSCRIPTION_PAGES } from '../webhooks/subscription-page-routes.js';
import { ADMIN_API_ORG_ADMIN, ADMIN_API_OWNER, ADMIN_API_PUBLIC } from '../admin/api.js';
import { CONSOLE_API, CONSOLE_OWNER_PAGES, CONSOLE_SESSION_PAGES } from '../admin/console-routes.js';
import { APPROVAL_REQUEST_PAGES } from '../consent/approval-request-routes.js';
import { CONSENT_PAGES } from '../consent/routes.js';
import { HOME_PAGES, WORKSPACE_PAGES } from '../upstream/routes.js';
import { IDENTITY_PAGES } from '../identity/routes.js';
import { DOCS_PAGES } from '../docs/routes.js';
import { LOGO_PAGES } from '../admin/logo-routes.js';
import type { Contract } from './contract.js';
import { declaredEndpoints, type EndpointDeclaration } from './endpoint-declarations.js';

export type { EndpointDeclaration } from './endpoint-declarations.js';

/** Every contract mounted through a zone router, by the folder whose code answers it. */
const CONTRACTS_BY_AREA: ReadonlyArray<readonly [area: string, contracts: ReadonlyArray<Contract>]> = [
  [
    'admin',
    [
      ...ADMIN_API_PUBLIC,
      ...ADMIN_API_OWNER,
      ...ADMIN_API_ORG_ADMIN,
      ...CONSOLE_API,
      ...CONSOLE_SESSION_PAGES,
      ...CONSOLE_OWNER_PAGES,
      ...ADMIN_TOKEN_API,
      ...ADMIN_TOKEN_PAGES,
      ...AUDIT_API,
      ...AUDIT_PAGES,
      ...PARTNER_APP_API,
      ...PARTNER_APP_PAGES,
      ...INTERNAL_INTEGRATION_API,
      ...INTERNAL_INTEGRATION_PAGES,
      ...LOGO_PAGES,
    ],
  ],
  [
    'webhooks',
    [...INTAKE_ADMIN_API, ...INTAKE_ADMIN_PAGES, ...DELIVERY_API, ...DELIVERY_PAGES, ...SUBSCRIPTION_API, ...SUBSCRIPTION_PAGES],
  ],
  ['consent', [...APPROVAL_REQUEST_PAGES, ...CONSENT_PAGES]],
  ['upstream', [...HOME_PAGES, ...WORKSPACE_PAGES]],
  ['identity', IDENTITY_PAGES],
  ['docs', DOCS_PAGES],
];

/** Every contract mounted through a zone router. */
export function allContracts(): ReadonlyArray<Contract> {
  return CONTRACTS_BY_AREA.flatMap(([, contracts]) => contracts);
}

/** Routers mounted under a path in embedded and test runs only (src/runtime.ts): the sandboxes, not Gatehouse's own endpoints. */
export const SANDBOX_MOUNTS = ['/sandbox/notion', '/sandbox/idp', '/sandbox/partner'] as const;

/** Middleware mounted under a path that answers requests itself, rather than guarding declared routes. */
export const STATIC_MOUNTS = ['/static', '/docs/assets'] as const;

export function endpointRegistry(): EndpointDeclaration[] {
  const contracts = CONTRACTS_BY_AREA.flatMap(([area, list]) =>
    list.map((c): EndpointDeclaration => ({ zone: c.zone, method: c.method, path: c.path, audit: c.audit, area, served: 'zone-router' })),
  );
  return [...contracts, ...declaredEndpoints()];
}
