/**
 * Internal integrations over HTTP (rules in ./internal-integrations.ts):
 *
 *   GET  /integrations                                   owners: list and "New integration"
 *   POST /integrations                                   create → 303 to its page
 *   GET  /integrations/:appId                            one integration, its pages
 *   POST /integrations/:appId/token                      "Copy internal integration token" (audited)
 *   POST /integrations/:appId/convert                    "Convert to public" (secret shown once)
 *   GET  /workspaces/:workspaceId/pages                  the owner's page index (search)
 *   GET  /workspaces/:workspaceId/pages/:pageId          a page's connections: "Add connections", "Disconnect"
 *   POST /workspaces/:workspaceId/pages/:pageId/connections                   add one
 *   POST /workspaces/:workspaceId/pages/:pageId/connections/:appId/disconnect remove one (after its confirm step)
 *
 *   GET    /api/admin/v1/integrations
 *   POST   /api/admin/v1/integrations                    → 201
 *   GET    /api/admin/v1/integrations/:appId
 *   POST   /api/admin/v1/integrations/:appId/token       → { token } (audited)
 *   POST   /api/admin/v1/integrations/:appId/convert     → client id, secret once, grants
 *   POST   /api/admin/v1/workspaces/:workspaceId/pages/:pageId/connections          { integration_id }
 *   DELETE /api/admin/v1/workspaces/:workspaceId/pages/:pageId/connections/:appId
 *
 * Refusals: 401 without a session or admin token; 403 for a member of the
 * workspace (or a caller who owns no workspace, on lists); 404 for anyone
 * else, so that outsiders learn nothing about other workspaces.
 */
import type { ZoneGuards } from '../http/zones.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { requireSignIn } from '../http/auth-guards.js';
import { badRequest, forbidden, HttpError, notFound } from '../http/errors.js';
import { isConfirmed } from '../http/confirmation.js';
import { confirmPageDisconnect } from './console/confirmations.js';
import { capabilityText } from './console/pages.js';
import { renderPage } from '../http/views.js';
import { CAPABILITY_LABELS, CONTENT_CAPABILITIES, USER_INFO_LEVELS } from '../oauth/capabilities.js';
import type { Stores } from '../store/stores.js';
import { titleOf } from '../consent/picker.js';
import {
  connectPage,
  convertToPublic,
  createInternalIntegration,
  disconnectPage,
  pageDisconnectTarget,
  integrationToWire,
  InternalIntegrationError,
  ownedIntegration,
  ownedWorkspaces,
  readInternalToken,
  requireOwner,
  type InternalIntegrationDeps,
} from './internal-integrations.js';
import { createLogoFetcher, type LogoFetcher } from './logo.js';
import { describeZodError } from '../http/validation.js';

export interface InternalIntegrationRouteDeps {
  stores: Pick<
    Stores,
    'internalIntegrations' | 'workspaces' | 'connections' | 'pageIndex' | 'audit' | 'adminTokens' | 'people' | 'grants' | 'consoleLists'
  >;
  config: Pick<Config, 'adminEmails' | 'publicUrl'>;
  keyring: Keyring;
  clock: Clock;
  fetchLogo?: LogoFetcher;
}

const publicDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../public');

// The wire schemas live beside (also the OpenAPI document's), re-exported for this module's importers.
export * from './internal-integration-wire.js';
import {
  addConnectionFormSchema,
  convertBodySchema,
  convertFormSchema,
  newIntegrationBodySchema,
  newIntegrationFormSchema,
  pageConnectionBodySchema,
  type FormValues,
} from './internal-integration-wire.js';
import { callerOf, pageCaller } from './internal-integration-callers.js';
import { pagePartnerGrants } from './console/page-connections.js';

const emptyBody = z.union([z.undefined(), z.object({}).strict()]);

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

const PAGE_LIST_LIMIT = 500;

export function internalIntegrationRoutes(deps: InternalIntegrationRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const { stores } = deps;
  const rules: InternalIntegrationDeps = {
    internalIntegrations: stores.internalIntegrations,
    workspaces: stores.workspaces,
    connections: stores.connections,
    pageIndex: stores.pageIndex,
    audit: stores.audit,
    keyring: deps.keyring,
    clock: deps.clock,
    fetchLogo: deps.fetchLogo ?? createLogoFetcher({ publicUrl: deps.config.publicUrl, publicDir }),
  };
  const authenticate = guards.principal;

  // ---- JSON API ----------------------------------------------------------
  router.use('/api/admin/v1/integrations', authenticate);
  router.use('/api/admin/v1/workspaces/:workspaceId/pages', authenticate);

  router.get('/api/admin/v1/integrations', async (_req, res) => {
    const owned = await ownedWorkspaces(rules, res.locals.principal!.person);
    if (owned.length === 0) throw forbidden('Only workspace owners have internal integrations.');
    const list = await stores.internalIntegrations.listForWorkspaces(owned.map((w) => w.id));
    res.json({ object: 'list', integrations: list.map(integrationToWire) });
  });

  router.post('/api/admin/v1/integrations', async (req, res) => {
    const parsed = newIntegrationBodySchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const app = await createInternalIntegration(rules, callerOf(res.locals.principal!, req), {
      name: parsed.data.name,
      workspaceId: parsed.data.workspace_id,
      capabilities: parsed.data.capabilities,
      logoUrl: parsed.data.logo_url ?? null,
    });
    res.status(201).json(integrationToWire({ ...app, pageCount: 0 }));
  });

  router.get('/api/admin/v1/integrations/:appId', async (req, res) => {
    const { app } = await ownedIntegration(rules, res.locals.principal!.person, String(req.params.appId));
    const pages = await stores.internalIntegrations.listPages(app.id);
    res.json({
      ...integrationToWire({ ...app, pageCount: pages.length }),
      connected_pages: pages.map((p) => ({
        page_id: p.pageId,
        title: p.title,
        connected_by: p.connectedBy,
        connected_at: p.connectedAt.toISOString(),
      })),
    });
  });

  router.post('/api/admin/v1/integrations/:appId/token', async (req, res) => {
    if (!emptyBody.safeParse(req.body).success) throw badRequest('This request takes no body fields.');
    const { app, token } = await readInternalToken(rules, callerOf(res.locals.principal!, req), String(req.params.appId));
    res.json({ id: app.id, token });
  });

  router.post('/api/admin/v1/integrations/:appId/convert', async (req, res) => {
    const parsed = convertBodySchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const done = await convertToPublic(rules, callerOf(res.locals.principal!, req), String(req.params.appId), parsed.data.redirect_uris);
    res.json({
      id: done.app.id,
      integration_kind: 'public',
      client_id: done.clientId,
      client_secret: done.clientSecret,
      redirect_uris: done.redirectUris,
      grants: done.grants.map((g) => ({
        id: g.id,
        person_id: g.personId,
        upstream_connection_id: g.upstreamConnectionId,
        page_ids: g.pageIds,
      })),
    });
  });

  router.post('/api/admin/v1/workspaces/:workspaceId/pages/:pageId/connections', async (req, res) => {
    const parsed = pageConnectionBodySchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const { app, added } = await connectPage(rules, callerOf(res.locals.principal!, req), {
      workspaceId: String(req.params.workspaceId),
      pageId: String(req.params.pageId),
      appId: parsed.data.integration_id,
    });
    res.status(added ? 201 : 200).json({ integration_id: app.id, page_id: String(req.params.pageId), added });
  });

  router.delete('/api/admin/v1/workspaces/:workspaceId/pages/:pageId/connections/:appId', async (req, res) => {
    const { app, removed } = await disconnectPage(rules, callerOf(res.locals.principal!, req), {
      workspaceId: String(req.params.workspaceId),
      pageId: String(req.params.pageId),
      appId: String(req.params.appId),
    });
    res.json({ integration_id: app.id, page_id: String(req.params.pageId), removed });
  });

  // ---- Pages -------------------------------------------------------------
  const renderList = async (req: Request, res: Response, extra: { error?: string; form?: FormValues } = {}, status = 200) => {
    const owned = await ownedWorkspaces(rules, req.user!);
    if (owned.length === 0) throw forbidden('Only workspace owners create internal integrations.');
    const list = await stores.internalIntegrations.listForWorkspaces(owned.map((w) => w.id));
    const names = new Map(owned.map((w) => [w.id, w.name]));
    const form = extra.form ?? { name: '', workspaceId: owned[0]!.id, capabilities: ['read_content', 'no_user_info'], logoUrl: '' };
    renderPage(
      res,
      'integrations',
      {
        title: 'Internal integrations',
        integrations: list.map((a) => ({
          id: a.id,
          name: a.name,
          workspace: names.get(a.workspaceId) ?? a.workspaceId,
          capabilities: capabilityText(a.capabilities),
          pages: a.pageCount,
          logoUrl: a.hasLogo ? `/apps/${a.id}/logo` : null,
        })),
        workspaces: owned.map((w) => ({ id: w.id, name: w.name, selected: w.id === form.workspaceId })),
        contentCapabilities: CONTENT_CAPABILITIES.map((c) => ({
          value: c,
          label: CAPABILITY_LABELS[c],
          checked: form.capabilities.includes(c),
        })),
        userInfoLevels: USER_INFO_LEVELS.map((c) => ({ value: c, label: CAPABILITY_LABELS[c], checked: form.capabilities.includes(c) })),
        form,
        error: extra.error ?? null,
      },
      status,
    );
  };

  router.get('/integrations', requireSignIn, async (req, res) => renderList(req, res));

  router.post('/integrations', requireSignIn, async (req, res) => {
    const parsed = newIntegrationFormSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const form: FormValues = {
      name: parsed.data.name,
      workspaceId: parsed.data.workspace,
      capabilities: listOf(parsed.data.capabilities),
      logoUrl: parsed.data.logo_url,
    };
    try {
      const app = await createInternalIntegration(rules, pageCaller(req), {
        name: form.name,
        workspaceId: form.workspaceId,
        capabilities: form.capabilities,
        logoUrl: form.logoUrl || null,
      });
      res.redirect(303, `/integrations/${app.id}?notice=created`);
    } catch (err) {
      if (err instanceof InternalIntegrationError && err.code !== 'not_found' && err.code !== 'forbidden') {
        await renderList(req, res, { error: err.message, form }, 400);
        return;
      }
      throw err;
    }
  });

  const renderDetail = async (req: Request, res: Response, appId: string, extra: { token?: string; error?: string } = {}, status = 200) => {
    const { app } = await ownedIntegration(rules, req.user!, appId);
    const workspace = await stores.workspaces.findById(app.workspaceId);
    const pages = await stores.internalIntegrations.listPages(app.id);
    renderPage(
      res,
      'integrations-detail',
      {
        title: app.name,
        app: {
          id: app.id,
          name: app.name,
          workspace: workspace?.name ?? app.workspaceId,
          workspaceId: app.workspaceId,
          capabilities: capabilityText(app.capabilities),
          logoUrl: app.hasLogo ? `/apps/${app.id}/logo` : null,
        },
        pages: pages.map((p) => ({
          id: p.pageId,
          title: p.title ?? p.pageId,
          by: p.connectedByEmail,
          at: p.connectedAt.toISOString().slice(0, 10),
        })),
        token: extra.token ?? null,
        notice: req.query.notice === 'created' ? 'Integration created. Connect it to pages from each page: "Add connections".' : null,
        error: extra.error ?? null,
      },
      status,
    );
  };

  router.get('/integrations/:appId', requireSignIn, async (req, res) => renderDetail(req, res, String(req.params.appId)));

  router.post('/integrations/:appId/token', requireSignIn, async (req, res) => {
    const { token } = await readInternalToken(rules, pageCaller(req), String(req.params.appId));
    await renderDetail(req, res, String(req.params.appId), { token });
  });

  router.post('/integrations/:appId/convert', requireSignIn, async (req, res) => {
    const parsed = convertFormSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const uris = parsed.data.redirect_uris
      .split(/\r?\n/)
      .map((u) => u.trim())
      .filter(Boolean);
    try {
      const done = await convertToPublic(rules, pageCaller(req), String(req.params.appId), uris);
      renderPage(res, 'integrations-converted', {
        title: `${done.app.name} is now public`,
        app: { name: done.app.name },
        clientId: done.clientId,
        clientSecret: done.clientSecret,
        redirectUris: done.redirectUris,
        grants: done.grants.map((g) => ({ pages: g.pageIds.length })),
      });
    } catch (err) {
      if (err instanceof InternalIntegrationError && err.code === 'invalid_redirect_uri') {
        await renderDetail(req, res, String(req.params.appId), { error: err.message }, 400);
        return;
      }
      throw err;
    }
  });

  /** The owner's own page index for a workspace: where pages' connections are managed. */
  const ownerConnection = async (req: Request, workspaceId: string) => {
    const owner = await requireOwner(rules, req.user!, workspaceId);
    const workspace = (await stores.workspaces.findById(workspaceId))!;
    const connection = await stores.connections.findForPersonAndWorkspace(owner.id, workspaceId);
    if (!connection || connection.status !== 'active')
      throw new HttpError(409, 'conflict', 'Connect your Notion account to this workspace first: its pages come from your own connection.');
    return { workspace, connection };
  };

  router.get('/workspaces/:workspaceId/pages', requireSignIn, async (req, res) => {
    const { workspace, connection } = await ownerConnection(req, String(req.params.workspaceId));
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 100) : '';
    const pages = q
      ? await stores.pageIndex.search(connection.id, q, PAGE_LIST_LIMIT)
      : await stores.pageIndex.listAll(connection.id, PAGE_LIST_LIMIT);
    renderPage(res, 'integrations-pages', {
      title: `Pages of ${workspace.name}`,
      workspace: { id: workspace.id, name: workspace.name },
      q,
      pages: pages.map((p) => ({ id: p.pageId, title: titleOf(p), type: p.objectType })),
    });
  });

  const renderPageConnections = async (req: Request, res: Response, notice: string | null = null) => {
    const workspaceId = String(req.params.workspaceId);
    const pageId = String(req.params.pageId);
    const { workspace, connection } = await ownerConnection(req, workspaceId);
    const page = pageId.length <= 100 ? await stores.pageIndex.get(connection.id, pageId) : null;
    if (!page) throw notFound('This page is not among the pages your Notion connection reaches.');
    const connected = await stores.internalIntegrations.listForPage(workspaceId, pageId);
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 100) : '';
    const connectedIds = new Set(connected.map((c) => c.id));
    const candidates = (await stores.internalIntegrations.listForWorkspaces([workspaceId])).filter(
      (a) => !connectedIds.has(a.id) && (q === '' || a.name.toLowerCase().includes(q.toLowerCase())),
    );
    renderPage(res, 'integrations-page', {
      title: `Connections of ${titleOf(page)}`,
      workspace: { id: workspace.id, name: workspace.name },
      page: { id: page.pageId, title: titleOf(page) },
      q,
      notice,
      connected: connected.map((a) => ({ id: a.id, name: a.name, capabilities: capabilityText(a.capabilities) })),
      candidates: candidates.map((a) => ({ id: a.id, name: a.name })),
      partners: await pagePartnerGrants(stores, req, { workspaceId, pageId, connectionId: connection.id }),
    });
  };

  router.get('/workspaces/:workspaceId/pages/:pageId', requireSignIn, async (req, res) =>
    renderPageConnections(
      req,
      res,
      req.query.notice === 'added' ? 'Connection added.' : req.query.notice === 'removed' ? 'Connection removed.' : null,
    ),
  );

  router.post('/workspaces/:workspaceId/pages/:pageId/connections', requireSignIn, async (req, res) => {
    const parsed = addConnectionFormSchema.safeParse(req.body);
    if (!parsed.success) throw badRequest(describeZodError(parsed.error, req.body));
    const workspaceId = String(req.params.workspaceId);
    const pageId = String(req.params.pageId);
    await connectPage(rules, pageCaller(req), { workspaceId, pageId, appId: parsed.data.integration });
    res.redirect(303, `/workspaces/${encodeURIComponent(workspaceId)}/pages/${encodeURIComponent(pageId)}?notice=added`);
  });

  router.post('/workspaces/:workspaceId/pages/:pageId/connections/:appId/disconnect', requireSignIn, async (req, res) => {
    const workspaceId = String(req.params.workspaceId);
    const pageId = String(req.params.pageId);
    const here = `/workspaces/${encodeURIComponent(workspaceId)}/pages/${encodeURIComponent(pageId)}`;
    const args = { workspaceId, pageId, appId: String(req.params.appId) };
    if (!isConfirmed(req.body)) {
      const app = await pageDisconnectTarget(rules, pageCaller(req), args);
      const page =
        pageId.length <= 100 ? await stores.pageIndex.get((await ownerConnection(req, workspaceId)).connection.id, pageId) : null;
      return confirmPageDisconnect(res, { app, title: page ? titleOf(page) : 'this page', here });
    }
    await disconnectPage(rules, pageCaller(req), args);
    res.redirect(303, `${here}?notice=removed`);
  });

  return router;
}
