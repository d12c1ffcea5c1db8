/**
 * The console's admin API for grants and disconnection (zone owner: a
 * signed-in person or an admin token; the rules decide which workspaces are
 * the caller's, and another workspace's data answers 404).
 */
import { z } from 'zod';
import type { GrantSummary } from '../../store/grants.js';
import { notFound } from '../../http/errors.js';
import { ConsoleError, manageableWorkspaces, requireInternalIntegrationOf, requireOwnerOf, requireVisibleGrant } from '../connections.js';
import {
  disconnectInternalIntegration,
  disconnectUpstreamConnection,
  disconnectWorkspace,
  revokeGrant,
  revokeGrantsOfApp,
} from '../revocation.js';
import { api, apiActor, apiCaller, id, ids } from './context.js';
import {
  bareGrantWireSchema,
  grantListWireSchema,
  grantToWire,
  grantWireSchema,
  integrationDisconnectionWireSchema,
  revocationToWire,
  revocationWireSchema,
  revokeBodySchema,
  upstreamDisconnectionWireSchema,
  workspaceDisconnectionWireSchema,
} from './wire.js';

const V1 = '/api/admin/v1';
const revokeBody = { body: revokeBodySchema, bodyOptional: true, components: { body: 'RevokeRequest', answer: 'Revocation' } } as const;
const hidden = "Unknown, or not visible to the caller (another workspace's data never leaks)";

export const listGrants = api(
  {
    zone: 'owner',
    name: 'listGrants',
    method: 'get',
    path: `${V1}/grants`,
    summary:
      "Active grants: of one workspace (owners, organisation admins); without `workspace`, every grant the caller may see (own grants and owned workspaces'; all for organisation admins)",
    query: z.object({ workspace: id.optional(), person: id.optional(), app: id.optional() }).strict(),
    answer: grantListWireSchema,
    audit: { none: 'a read' },
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ query }, { res }, { rules, stores }) {
    const caller = apiCaller(res);
    let grants: GrantSummary[];
    if (query.workspace) {
      await requireOwnerOf(rules, caller, query.workspace);
      grants = await stores.grants.listActiveForWorkspace(query.workspace);
    } else if (caller.isOrganisationAdmin) {
      grants = await stores.grants.listActive();
    } else {
      // A person: their own grants, and every grant of the workspaces they own.
      const owned = await manageableWorkspaces(rules, caller);
      const lists = await Promise.all([
        stores.grants.listActiveForPerson(caller.person!.id),
        ...owned.map((w) => stores.grants.listActiveForWorkspace(w.id)),
      ]);
      grants = [...new Map(lists.flat().map((g) => [g.id, g])).values()];
    }
    if (query.person) grants = grants.filter((g) => g.personId === query.person);
    if (query.app) grants = grants.filter((g) => g.appId === query.app);
    return { object: 'list' as const, grants: grants.map((g) => grantToWire(g)) };
  },
);

export const getGrant = api(
  {
    zone: 'owner',
    name: 'getGrant',
    method: 'get',
    path: `${V1}/grants/:grant_id`,
    summary: 'One grant (its person, owners of its workspace, organisation admins)',
    params: ids('grant_id'),
    answer: z.union([grantWireSchema, bareGrantWireSchema]),
    components: { answer: 'Grant' },
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async function ({ params }, { res }, { rules, stores }) {
    const visible = await requireVisibleGrant(rules, apiCaller(res), params.grant_id);
    const grant = (await stores.grants.findById(visible.grantId))!;
    const summary = (await stores.grants.listActiveForWorkspace(grant.workspaceId)).find((g) => g.id === grant.id);
    if (summary) return grantToWire(summary);
    return {
      object: 'grant' as const,
      id: grant.id,
      workspace: { id: grant.workspaceId },
      app: { id: grant.appId },
      person: { id: grant.personId },
      capabilities: grant.capabilities,
      page_ids: grant.pageIds,
      status: grant.status,
      created_at: grant.createdAt.toISOString(),
    };
  },
);

export const revokeGrantOperation = api(
  {
    zone: 'owner',
    name: 'revokeGrant',
    method: 'post',
    path: `${V1}/grants/:grant_id/revoke`,
    summary:
      'Revoke a grant: its codes, access and refresh tokens are refused from the next request on, on every instance; audited as grant.revoked (idempotent)',
    ...revokeBody,
    params: ids('grant_id'),
    answer: revocationWireSchema,
    audit: 'grant.revoked',
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ params, body }, { req, res }, { rules, revocation }) {
    const visible = await requireVisibleGrant(rules, apiCaller(res), params.grant_id);
    const why = body.reason ?? (visible.own ? 'revoked by the person who granted it' : 'revoked by a workspace owner');
    return revocationToWire([await revokeGrant(revocation, visible.grantId, apiActor(req, res), why)]);
  },
);

export const disconnectIntegrationOperation = api(
  {
    zone: 'owner',
    name: 'disconnectInternalIntegration',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/integrations/:integration_id/disconnect`,
    summary:
      '"Disconnect" an internal integration from every page of the workspace; it stays, with its token, to be connected again (owners)',
    ...revokeBody,
    components: { body: 'RevokeRequest' },
    params: ids('workspace_id', 'integration_id'),
    answer: integrationDisconnectionWireSchema,
    audit: 'internal_integration.disconnected',
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ params, body }, { req, res }, { rules, stores, clock }) {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const app = await requireInternalIntegrationOf(rules, workspace, params.integration_id);
    const result = await disconnectInternalIntegration(
      { internalIntegrations: stores.internalIntegrations, audit: stores.audit, clock },
      app,
      apiActor(req, res),
      body.reason ?? 'disconnected from the workspace by an owner',
    );
    return { object: 'internal_integration_disconnection' as const, integration_id: app.id, pages_disconnected: result.pagesDisconnected };
  },
);

export const disconnectAppOperation = api(
  {
    zone: 'owner',
    name: 'disconnectApp',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/connections/:app_id/disconnect`,
    summary: '"Disconnect" / "Disconnect all users": revoke every grant of the app in the workspace (owners)',
    ...revokeBody,
    params: ids('workspace_id', 'app_id'),
    answer: revocationWireSchema,
    audit: 'grant.revoked',
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ params, body }, { req, res }, { rules, stores, revocation }) {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const app = await stores.partnerApps.findById(params.app_id);
    if (!app) throw notFound('No such partner app.');
    const why = body.reason ?? 'disconnected from the workspace by an owner';
    return revocationToWire(await revokeGrantsOfApp(revocation, workspace.id, app.id, apiActor(req, res), why));
  },
);

export const disconnectWorkspaceOperation = api(
  {
    zone: 'owner',
    name: 'disconnectWorkspace',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/disconnect`,
    summary:
      'Disconnect the whole workspace from Gatehouse: every upstream credential revoked at Notion and destroyed, every grant revoked (owners)',
    ...revokeBody,
    components: { body: 'RevokeRequest' },
    params: ids('workspace_id'),
    answer: workspaceDisconnectionWireSchema,
    audit: ['upstream_connection.disconnected', 'grant.revoked', 'internal_integration.disconnected'],
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ params, body }, { req, res }, { rules, revocation }) {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const why = body.reason ?? 'workspace disconnected from Gatehouse';
    const result = await disconnectWorkspace(revocation, workspace.id, apiActor(req, res), why);
    return {
      ...revocationToWire(result.grants),
      upstream_connections_disconnected: result.connections,
      internal_integrations_disconnected: result.internalIntegrations,
    };
  },
);

export const disconnectUpstreamOperation = api(
  {
    zone: 'owner',
    name: 'disconnectUpstreamConnection',
    method: 'post',
    path: `${V1}/upstream-connections/:connection_id/disconnect`,
    summary:
      "Disconnect one person's Notion credential: revoked at Notion (OAuth), ciphertext destroyed, grants made through it revoked (its person, owners)",
    ...revokeBody,
    components: { body: 'RevokeRequest' },
    params: ids('connection_id'),
    answer: upstreamDisconnectionWireSchema,
    audit: ['upstream_connection.disconnected', 'grant.revoked'],
    refusals: { 400: 'Bad input; nothing changed', 404: hidden },
  },
  async function ({ params, body }, { req, res }, { rules, stores, revocation }) {
    const caller = apiCaller(res);
    const connection = await stores.connections.findById(params.connection_id);
    if (!connection) throw notFound('No such upstream connection.');
    // Its person, an owner of its workspace, or an organisation admin; anyone else learns nothing.
    if (!(caller.person && caller.person.id === connection.personId)) {
      await requireOwnerOf(rules, caller, connection.workspaceId).catch((err: unknown) => {
        throw err instanceof ConsoleError && err.code === 'forbidden' ? new ConsoleError('not_found', 'No such upstream connection.') : err;
      });
    }
    const why = body.reason ?? 'Notion account disconnected';
    const result = await disconnectUpstreamConnection(revocation, connection.id, apiActor(req, res), why);
    return {
      ...revocationToWire(result.grants),
      upstream_connection_id: connection.id,
      disconnected: result.disconnected,
      revoked_at_notion: result.revokedAtNotion,
    };
  },
);
