/**
 * The connections console over HTTP, as declared contracts (../http/contract.ts):
 * the admin JSON API under /api/admin/v1 (zone owner: session + CSRF, or
 * Bearer admin token) and the pages (zones session-page and owner). Each
 * contract calls one rule (./connections.ts, ./revocation.ts); the OpenAPI
 * document is generated from CONSOLE_API (./openapi.ts).
 */
import { Router } from 'express';
import type { Contract } from '../http/contract.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { approveApprovalRequest, declineApprovalRequest, listApprovalRequests } from './console/approval-request-api.js';
import { getAgentPolicy, putAgentPolicy, setAgentPolicyPage } from './console/agent-policy.js';
import { consoleContext, type ConsoleContext, type ConsoleRouteDeps } from './console/context.js';
import {
  disconnectAppOperation,
  disconnectIntegrationOperation,
  disconnectUpstreamOperation,
  disconnectWorkspaceOperation,
  getGrant,
  listGrants,
  revokeGrantOperation,
} from './console/grant-api.js';
import {
  addApprovedPage,
  disconnectAppPage,
  disconnectIntegrationPage,
  disconnectMyNotion,
  disconnectWorkspacePage,
  removeApprovedPage,
  revokeForPerson,
  revokeMine,
  setPolicyPage,
  setRolePage,
} from './console/page-actions.js';
import { approveRequestPage, declineRequestPage } from './console/approval-requests.js';
import { disconnectPageGrant } from '../page-index/page-connections.js';
import { connectionsPage, myConnectionsPage, usersWithAccessPage } from './console/pages.js';
import {
  addApproved,
  getApprovedApps,
  getMembers,
  getPolicy,
  listConnections,
  listUsersWithAccess,
  removeApproved,
  setPolicy,
  setRole,
} from './console/workspace-api.js';

export type { ConsoleRouteDeps } from './console/context.js';

export const CONSOLE_API: ReadonlyArray<Contract<'owner', ConsoleContext>> = [
  listGrants,
  getGrant,
  revokeGrantOperation,
  listConnections,
  disconnectIntegrationOperation,
  listUsersWithAccess,
  disconnectAppOperation,
  getPolicy,
  setPolicy,
  getApprovedApps,
  addApproved,
  removeApproved,
  listApprovalRequests,
  approveApprovalRequest,
  declineApprovalRequest,
  getMembers,
  setRole,
  disconnectWorkspaceOperation,
  disconnectUpstreamOperation,
  getAgentPolicy,
  putAgentPolicy,
];

/** Any signed-in person's own connections. */
export const CONSOLE_SESSION_PAGES: ReadonlyArray<Contract<'session-page', ConsoleContext>> = [
  myConnectionsPage,
  revokeMine,
  disconnectMyNotion,
  disconnectPageGrant,
];

/** Workspace owners' pages: the rules refuse anyone else (403 to members, 404 to others). */
export const CONSOLE_OWNER_PAGES: ReadonlyArray<Contract<'owner', ConsoleContext>> = [
  connectionsPage,
  usersWithAccessPage,
  revokeForPerson,
  disconnectAppPage,
  disconnectIntegrationPage,
  disconnectWorkspacePage,
  setPolicyPage,
  addApprovedPage,
  removeApprovedPage,
  setRolePage,
  approveRequestPage,
  declineRequestPage,
  setAgentPolicyPage,
];

/** `guards`: the application's one set of zone guards (src/app.ts). */
export function consoleRoutes(deps: ConsoleRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const context = consoleContext(deps);
  mountZone(router, 'owner', CONSOLE_API, context, guards);
  mountZone(router, 'session-page', CONSOLE_SESSION_PAGES, context, guards);
  mountZone(router, 'owner', CONSOLE_OWNER_PAGES, context, guards);
  return router;
}
