/**
 * A workspace's pages and one page's "Connections", as page contracts of the
 * session-page zone (mounted with the internal integrations' pages by
 * src/admin/internal-integration-routes.ts):
 *
 *   GET  /workspaces/:workspace_id/pages                 the person's own page index (search)
 *   GET  /workspaces/:workspace_id/pages/:page_id        a page's connections: "Add connections", "Disconnect"
 *   POST /workspaces/:workspace_id/pages/:page_id/connections                           add one
 *   POST /workspaces/:workspace_id/pages/:page_id/connections/:integration_id/disconnect remove one (after its confirm step)
 *
 * Owners and members open a workspace's pages and a page's connections, each
 * from their own page index; only owners connect or disconnect internal
 * integrations (members see them read-only, and their posts are refused as
 * the rules refuse them). The partner grants reaching the page (owners:
 * everyone's; members: their own), and their "Disconnect", are
 * ./page-connections.ts's.
 */
import { z } from 'zod';
import { isConfirmed } from '../http/confirmation.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { HttpError, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { titleOf } from '../consent/picker.js';
import { confirmPageDisconnect } from '../admin/console/confirmations.js';
import { pagePartnerGrants } from './page-connections.js';
import { capabilityText } from '../admin/console/pages.js';
import type { InternalIntegrationContext } from '../admin/internal-integration-api.js';
import { pageCaller } from '../admin/internal-integration-callers.js';
import {
  connectPage,
  disconnectPage,
  InternalIntegrationError,
  pageDisconnectTarget,
  requireOwner,
} from '../admin/internal-integrations.js';
import { addConnectionFormSchema } from '../admin/internal-integration-wire.js';

const { page } = contractsFor<InternalIntegrationContext>();
type Deps = InternalIntegrationContext;

const PAGE_LIST_LIMIT = 500;

// Read as leniently as before these were contracts: the rules check ids' lengths (an over-long id names
// nothing: 404), a search is cut to 100 characters, a stray query value is ignored.
const pageParams = z.object({ workspace_id: z.string(), page_id: z.string() });
const searchQuery = z.object({ q: z.preprocess((v) => (typeof v === 'string' ? v.slice(0, 100) : ''), z.string()) });
const noticeQuery = z.object({ notice: z.preprocess((v) => (typeof v === 'string' ? v : undefined), z.string().optional()) });
/** The page's "Disconnect": a button, its CSRF token (checked before) and the confirm step's field. */
const buttonForm = z.object({ _csrf: z.string().optional(), confirm: z.unknown().optional() });

/**
 * Whose page index a workspace's pages come from: the viewer's own Notion
 * connection (a person sees only pages their own connection reaches). An
 * owner manages internal integrations there and sees everyone's partner
 * grants; a member sees their own grants and, read-only, the internal
 * integrations; anyone else is told there is no such workspace.
 */
async function viewerConnection(deps: Deps, { req }: HandlerContext, workspaceId: string) {
  const owner = await requireOwner(deps.rules, req.user!, workspaceId).then(
    () => true,
    (err: unknown) => {
      if (err instanceof InternalIntegrationError && err.code === 'forbidden') return false;
      throw err;
    },
  );
  const workspace = (await deps.stores.workspaces.findById(workspaceId))!;
  const connection = await deps.stores.connections.findForPersonAndWorkspace(req.user!.id, workspaceId);
  if (!connection || connection.status !== 'active')
    throw new HttpError(409, 'conflict', 'Connect your Notion account to this workspace first: its pages come from your own connection.');
  return { workspace, connection, owner };
}

/** The owner's own page index for a workspace: where internal integrations are connected to pages. */
async function ownerConnection(deps: Deps, { req }: HandlerContext, workspaceId: string) {
  const owner = await requireOwner(deps.rules, req.user!, workspaceId);
  const workspace = (await deps.stores.workspaces.findById(workspaceId))!;
  const connection = await deps.stores.connections.findForPersonAndWorkspace(owner.id, workspaceId);
  if (!connection || connection.status !== 'active')
    throw new HttpError(409, 'conflict', 'Connect your Notion account to this workspace first: its pages come from your own connection.');
  return { workspace, connection };
}

const pagePath = (workspaceId: string, pageId: string) =>
  `/workspaces/${encodeURIComponent(workspaceId)}/pages/${encodeURIComponent(pageId)}`;

export const workspacePagesPage = page(
  {
    zone: 'session-page',
    name: 'workspacePagesPage',
    method: 'get',
    path: '/workspaces/:workspace_id/pages',
    summary: "Pages of a workspace in the person's own page index (owners and members), with a search; each page opens its connections",
    params: z.object({ workspace_id: z.string() }),
    query: searchQuery,
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ params, query }, ctx, deps) => {
    const { workspace, connection } = await viewerConnection(deps, ctx, params.workspace_id);
    const { q } = query;
    const pages = q
      ? await deps.stores.pageIndex.search(connection.id, q, PAGE_LIST_LIMIT)
      : await deps.stores.pageIndex.listAll(connection.id, PAGE_LIST_LIMIT);
    renderPage(ctx.res, 'integrations-pages', {
      title: `Pages of ${workspace.name}`,
      workspace: { id: workspace.id, name: workspace.name },
      q,
      pages: pages.map((p) => ({ id: p.pageId, title: titleOf(p), type: p.objectType })),
    });
  },
);

const noticeText = (notice: string | undefined) =>
  notice === 'added' ? 'Connection added.' : notice === 'removed' ? 'Connection removed.' : null;

export const pageConnectionsPage = page(
  {
    zone: 'session-page',
    name: 'pageConnectionsPage',
    method: 'get',
    path: '/workspaces/:workspace_id/pages/:page_id',
    summary:
      'A page\'s "Connections": its internal integrations ("Add connections", "Disconnect": owners; read-only for members) and the partner grants reaching it (members: their own)',
    params: pageParams,
    query: searchQuery.extend(noticeQuery.shape),
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ params, query }, ctx, deps) => {
    const { workspace_id: workspaceId, page_id: pageId } = params;
    const { workspace, connection, owner } = await viewerConnection(deps, ctx, workspaceId);
    const found = pageId.length <= 100 ? await deps.stores.pageIndex.get(connection.id, pageId) : null;
    if (!found) throw notFound('This page is not among the pages your Notion connection reaches.');
    const connected = await deps.stores.internalIntegrations.listForPage(workspaceId, pageId);
    const { q } = query;
    const connectedIds = new Set(connected.map((c) => c.id));
    // Only owners add internal integrations (./internal-integrations.ts): a member is offered none.
    const candidates = owner
      ? (await deps.stores.internalIntegrations.listForWorkspaces([workspaceId])).filter(
          (a) => !connectedIds.has(a.id) && (q === '' || a.name.toLowerCase().includes(q.toLowerCase())),
        )
      : [];
    const onlyPersonId = owner ? undefined : ctx.req.user!.id;
    renderPage(ctx.res, 'integrations-page', {
      title: `Connections of ${titleOf(found)}`,
      workspace: { id: workspace.id, name: workspace.name },
      page: { id: found.pageId, title: titleOf(found) },
      q,
      canManage: owner,
      notice: noticeText(query.notice),
      connected: connected.map((a) => ({ id: a.id, name: a.name, capabilities: capabilityText(a.capabilities) })),
      candidates: candidates.map((a) => ({ id: a.id, name: a.name })),
      partners: await pagePartnerGrants(deps.stores, ctx.req, { workspaceId, pageId, connectionId: connection.id, onlyPersonId }),
    });
  },
);

export const connectPagePage = page(
  {
    zone: 'session-page',
    name: 'connectInternalIntegrationToPagePage',
    method: 'post',
    path: '/workspaces/:workspace_id/pages/:page_id/connections',
    summary: '"Add connections": connect an internal integration to this page (owners), 303 back to the page',
    params: pageParams,
    body: addConnectionFormSchema,
    bodyRequired: true,
    answer: 'redirect',
    audit: 'internal_integration.page_connected',
  },
  async ({ params, body }, { req, res }, deps) => {
    const { workspace_id: workspaceId, page_id: pageId } = params;
    await connectPage(deps.rules, pageCaller(req), { workspaceId, pageId, appId: body.integration });
    res.redirect(303, `${pagePath(workspaceId, pageId)}?notice=added`);
  },
);

export const disconnectPagePage = page(
  {
    zone: 'session-page',
    name: 'disconnectInternalIntegrationFromPagePage',
    method: 'post',
    path: '/workspaces/:workspace_id/pages/:page_id/connections/:integration_id/disconnect',
    summary: '"Disconnect" an internal integration from this page (owners), after a confirmation',
    params: pageParams.extend({ integration_id: z.string() }),
    body: buttonForm,
    answer: 'html',
    audit: 'internal_integration.page_disconnected',
  },
  async ({ params, body }, ctx, deps) => {
    const { workspace_id: workspaceId, page_id: pageId } = params;
    const here = pagePath(workspaceId, pageId);
    const args = { workspaceId, pageId, appId: params.integration_id };
    if (!isConfirmed(body)) {
      const app = await pageDisconnectTarget(deps.rules, pageCaller(ctx.req), args);
      const found =
        pageId.length <= 100
          ? await deps.stores.pageIndex.get((await ownerConnection(deps, ctx, workspaceId)).connection.id, pageId)
          : null;
      return confirmPageDisconnect(ctx.res, { app, title: found ? titleOf(found) : 'this page', here });
    }
    await disconnectPage(deps.rules, pageCaller(ctx.req), args);
    ctx.res.redirect(303, `${here}?notice=removed`);
  },
);

export const PAGE_CONNECTION_PAGES: ReadonlyArray<Contract<'session-page', InternalIntegrationContext>> = [
  workspacePagesPage,
  pageConnectionsPage,
  connectPagePage,
  disconnectPagePage,
];
