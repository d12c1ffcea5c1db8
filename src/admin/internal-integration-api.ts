/**
 * Internal integrations in the admin API, as declared contracts in the owner
 * zone (../http/contract.ts): a session (with CSRF) or a Bearer admin token,
 * the rules (./internal-integrations.ts) deciding which workspaces are the
 * caller's: a member of the workspace is refused (403), anyone else is told
 * nothing exists (404). The wire shapes are ./internal-integration-wire.ts's;
 * the OpenAPI document is generated from INTERNAL_INTEGRATION_API
 * (./openapi.ts), and the command line's `integrations` commands call these
 * operations (src/cli/operations.ts). The pages are in
 * ./internal-integration-routes.ts.
 */
import { z } from 'zod';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { forbidden } from '../http/errors.js';
import type { Stores } from '../store/stores.js';
import { callerOf } from './internal-integration-callers.js';
import {
  connectPage,
  convertToPublic,
  createInternalIntegration,
  disconnectPage,
  integrationToWire,
  ownedIntegration,
  ownedWorkspaces,
  readInternalToken,
  type InternalIntegrationDeps,
} from './internal-integrations.js';
import {
  conversionWireSchema,
  convertBodySchema,
  integrationWireSchema,
  newIntegrationBodySchema,
  pageConnectionBodySchema,
} from './internal-integration-wire.js';

/** What the area's handlers (API and pages) are given: the rules' deps, and the stores the pages read. */
export interface InternalIntegrationContext {
  rules: InternalIntegrationDeps;
  stores: Pick<Stores, 'internalIntegrations' | 'workspaces' | 'connections' | 'pageIndex' | 'grants' | 'consoleLists'>;
}

const { api } = contractsFor<InternalIntegrationContext>();
const V1 = '/api/admin/v1';
const caller = ({ req, res }: HandlerContext) => callerOf(res.locals.principal!, req);

// The rules check ids' lengths themselves (an over-long one names nothing: 404), as before these were contracts.
const integrationParams = z.object({ integration_id: z.string() });
const pageParams = z.object({ workspace_id: z.string(), page_id: z.string() });
const notFound = { 404: 'No such integration, page or workspace for this caller' };
const bad = { 400: 'Bad input; nothing stored' };

export const listInternalIntegrations = api(
  {
    zone: 'owner',
    name: 'listInternalIntegrations',
    method: 'get',
    path: `${V1}/integrations`,
    summary: 'Internal integrations of the workspaces the caller owns',
    answer: z.object({ object: z.literal('list'), integrations: z.array(integrationWireSchema) }),
    audit: { none: 'a read' },
  },
  async (_input, { res }, deps) => {
    const owned = await ownedWorkspaces(deps.rules, res.locals.principal!.person);
    if (owned.length === 0) throw forbidden('Only workspace owners have internal integrations.');
    const list = await deps.stores.internalIntegrations.listForWorkspaces(owned.map((w) => w.id));
    return { object: 'list' as const, integrations: list.map(integrationToWire) };
  },
);

export const createInternalIntegrationOperation = api(
  {
    zone: 'owner',
    name: 'createInternalIntegration',
    method: 'post',
    path: `${V1}/integrations`,
    summary: 'New integration (owners of the workspace); the token is read with /integrations/{integration_id}/token',
    body: newIntegrationBodySchema,
    bodyRequired: true,
    answer: integrationWireSchema,
    successStatus: 201,
    components: { body: 'NewInternalIntegration', answer: 'InternalIntegration' },
    audit: 'internal_integration.created',
    refusals: { ...bad, ...notFound },
  },
  async ({ body }, ctx, deps) => {
    const app = await createInternalIntegration(deps.rules, caller(ctx), {
      name: body.name,
      workspaceId: body.workspace_id,
      capabilities: body.capabilities,
      logoUrl: body.logo_url ?? null,
    });
    return integrationToWire({ ...app, pageCount: 0 });
  },
);

export const getInternalIntegration = api(
  {
    zone: 'owner',
    name: 'getInternalIntegration',
    method: 'get',
    path: `${V1}/integrations/:integration_id`,
    summary: 'One internal integration and its connected pages',
    params: integrationParams,
    answer: integrationWireSchema.extend({
      connected_pages: z.array(
        z.object({ page_id: z.string(), title: z.string().nullable(), connected_by: z.string(), connected_at: z.string() }),
      ),
    }),
    audit: { none: 'a read' },
    refusals: notFound,
  },
  async ({ params }, { res }, deps) => {
    const { app } = await ownedIntegration(deps.rules, res.locals.principal!.person, params.integration_id);
    const pages = await deps.stores.internalIntegrations.listPages(app.id);
    return {
      ...integrationToWire({ ...app, pageCount: pages.length }),
      connected_pages: pages.map((p) => ({
        page_id: p.pageId,
        title: p.title,
        connected_by: p.connectedBy,
        connected_at: p.connectedAt.toISOString(),
      })),
    };
  },
);

export const readInternalIntegrationToken = api(
  {
    zone: 'owner',
    name: 'readInternalIntegrationToken',
    method: 'post',
    path: `${V1}/integrations/:integration_id/token`,
    summary: 'Copy internal integration token (owners); every retrieval is an audit event',
    params: integrationParams,
    body: z.object({}).strict(),
    invalidBody: 'This request takes no body fields.',
    answer: z.object({ id: z.string(), token: z.string() }),
    audit: 'internal_integration.token_read',
    refusals: { 400: 'A body with fields', ...notFound },
  },
  async ({ params }, ctx, deps) => {
    const { app, token } = await readInternalToken(deps.rules, caller(ctx), params.integration_id);
    return { id: app.id, token };
  },
);

export const convertInternalIntegration = api(
  {
    zone: 'owner',
    name: 'convertInternalIntegration',
    method: 'post',
    path: `${V1}/integrations/:integration_id/convert`,
    summary:
      "Convert to public: a client id, a secret (this answer only), redirect URIs; connected pages become the connecting owner's grant",
    params: integrationParams,
    body: convertBodySchema,
    bodyRequired: true,
    answer: conversionWireSchema,
    components: { body: 'ConvertToPublic', answer: 'Conversion' },
    audit: ['internal_integration.converted', 'grant.created'],
    refusals: { ...bad, ...notFound },
  },
  async ({ params, body }, ctx, deps) => {
    const done = await convertToPublic(deps.rules, caller(ctx), params.integration_id, body.redirect_uris);
    return {
      id: done.app.id,
      integration_kind: 'public' as const,
      client_id: done.clientId,
      client_secret: done.clientSecret,
      redirect_uris: done.redirectUris,
      grants: done.grants.map((g) => ({
        id: g.id,
        person_id: g.personId,
        upstream_connection_id: g.upstreamConnectionId,
        page_ids: g.pageIds,
      })),
    };
  },
);

export const connectInternalIntegrationToPage = api(
  {
    zone: 'owner',
    name: 'connectInternalIntegrationToPage',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/pages/:page_id/connections`,
    summary:
      "Add connections: connect an internal integration to a page of the caller's own page index (201; 200 when it was connected already)",
    params: pageParams,
    body: pageConnectionBodySchema,
    bodyRequired: true,
    answer: z.object({ integration_id: z.string(), page_id: z.string(), added: z.boolean() }),
    successStatus: 201,
    components: { body: 'PageConnection' },
    audit: 'internal_integration.page_connected',
    refusals: {
      ...bad,
      ...notFound,
      409: 'No upstream connection, or the integration reaches its pages through another owner',
    },
  },
  async ({ params, body }, ctx, deps) => {
    const { app, added } = await connectPage(deps.rules, caller(ctx), {
      workspaceId: params.workspace_id,
      pageId: params.page_id,
      appId: body.integration_id,
    });
    if (!added) ctx.res.status(200);
    return { integration_id: app.id, page_id: params.page_id, added };
  },
);

export const disconnectInternalIntegrationFromPage = api(
  {
    zone: 'owner',
    name: 'disconnectInternalIntegrationFromPage',
    method: 'delete',
    path: `${V1}/workspaces/:workspace_id/pages/:page_id/connections/:integration_id`,
    summary: 'Disconnect an internal integration from a page (idempotent)',
    params: pageParams.extend({ integration_id: z.string() }),
    answer: z.object({ integration_id: z.string(), page_id: z.string(), removed: z.boolean() }),
    audit: 'internal_integration.page_disconnected',
    refusals: notFound,
  },
  async ({ params }, ctx, deps) => {
    const { app, removed } = await disconnectPage(deps.rules, caller(ctx), {
      workspaceId: params.workspace_id,
      pageId: params.page_id,
      appId: params.integration_id,
    });
    return { integration_id: app.id, page_id: params.page_id, removed };
  },
);

export const INTERNAL_INTEGRATION_API: ReadonlyArray<Contract<'owner', InternalIntegrationContext>> = [
  listInternalIntegrations,
  createInternalIntegrationOperation,
  getInternalIntegration,
  readInternalIntegrationToken,
  convertInternalIntegration,
  connectInternalIntegrationToPage,
  disconnectInternalIntegrationFromPage,
];
