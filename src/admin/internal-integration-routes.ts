/**
 * Internal integrations over HTTP (rules in ./internal-integrations.ts):
 *
 *   GET  /integrations                                   owners: list and "New integration"
 *   POST /integrations                                   create → 303 to its page
 *   GET  /integrations/:integration_id                   one integration, its pages
 *   POST /integrations/:integration_id/token             "Copy internal integration token" (audited)
 *   POST /integrations/:integration_id/convert           "Convert to public" (secret shown once)
 *
 * The JSON API (/api/admin/v1/integrations…, …/pages/:page_id/connections…)
 * is declared in ./internal-integration-api.ts, in the owner zone; the pages
 * and their forms are page contracts of the session-page zone
 * (INTERNAL_INTEGRATION_PAGES, with a workspace's pages and a page's
 * connections from src/page-index/page-connection-routes.ts), for a signed-in person, the
 * rules deciding.
 *
 * Refusals: 401 without a session or admin token (pages: to sign-in); 403
 * for a member of the workspace (or a caller who owns no workspace, on
 * lists); 404 for anyone else, so that outsiders learn nothing about other
 * workspaces.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { contractsFor, type Contract, type HandlerContext } from '../http/contract.js';
import { forbidden } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import { CAPABILITY_LABELS, CONTENT_CAPABILITIES, USER_INFO_LEVELS } from '../oauth/capabilities.js';
import type { Stores } from '../store/stores.js';
import { capabilityText } from './console/pages.js';
import { INTERNAL_INTEGRATION_API, type InternalIntegrationContext } from './internal-integration-api.js';
import { pageCaller } from './internal-integration-callers.js';
import {
  convertToPublic,
  createInternalIntegration,
  InternalIntegrationError,
  ownedIntegration,
  ownedWorkspaces,
  readInternalToken,
} from './internal-integrations.js';
import { createLogoFetcher, type LogoFetcher } from './logo.js';
import { convertFormSchema, newIntegrationFormSchema, type FormValues } from './internal-integration-wire.js';
import { PAGE_CONNECTION_PAGES } from '../page-index/page-connection-routes.js';

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

const { page } = contractsFor<InternalIntegrationContext>();
type Deps = InternalIntegrationContext;

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

// Read as leniently as before these were contracts: the rules check ids' lengths (an over-long id names
// nothing: 404); a stray query value is ignored; the token button's form is its CSRF token (checked before).
const integrationParams = z.object({ integration_id: z.string() });
const noticeQuery = z.object({ notice: z.preprocess((v) => (typeof v === 'string' ? v : undefined), z.string().optional()) });
const buttonForm = z.object({ _csrf: z.string().optional() });

// ---- "Internal integrations" and one integration ---------------------------

async function renderList(deps: Deps, { req, res }: HandlerContext, extra: { error?: string; form?: FormValues } = {}, status = 200) {
  const owned = await ownedWorkspaces(deps.rules, req.user!);
  if (owned.length === 0) throw forbidden('Only workspace owners create internal integrations.');
  const list = await deps.stores.internalIntegrations.listForWorkspaces(owned.map((w) => w.id));
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
}

async function renderDetail(
  deps: Deps,
  { req, res }: HandlerContext,
  appId: string,
  extra: { token?: string; error?: string; notice?: string } = {},
  status = 200,
) {
  const { app } = await ownedIntegration(deps.rules, req.user!, appId);
  const workspace = await deps.stores.workspaces.findById(app.workspaceId);
  const pages = await deps.stores.internalIntegrations.listPages(app.id);
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
      notice: extra.notice === 'created' ? 'Integration created. Connect it to pages from each page: "Add connections".' : null,
      error: extra.error ?? null,
    },
    status,
  );
}

export const internalIntegrationsPage = page(
  {
    zone: 'session-page',
    name: 'internalIntegrationsPage',
    method: 'get',
    path: '/integrations',
    summary: 'Internal integrations of the workspaces the person owns, and the "New integration" form',
    answer: 'html',
    audit: { none: 'a page' },
  },
  async (_input, ctx, deps) => renderList(deps, ctx),
);

export const createInternalIntegrationPage = page(
  {
    zone: 'session-page',
    name: 'createInternalIntegrationPage',
    method: 'post',
    path: '/integrations',
    summary: '"New integration": 303 to its page, or the form again with the reason (400)',
    body: newIntegrationFormSchema,
    bodyRequired: true,
    answer: 'redirect',
    audit: 'internal_integration.created',
  },
  async ({ body }, ctx, deps) => {
    const form: FormValues = {
      name: body.name,
      workspaceId: body.workspace,
      capabilities: listOf(body.capabilities),
      logoUrl: body.logo_url,
    };
    try {
      const app = await createInternalIntegration(deps.rules, pageCaller(ctx.req), {
        name: form.name,
        workspaceId: form.workspaceId,
        capabilities: form.capabilities,
        logoUrl: form.logoUrl || null,
      });
      ctx.res.redirect(303, `/integrations/${app.id}?notice=created`);
    } catch (err) {
      if (err instanceof InternalIntegrationError && err.code !== 'not_found' && err.code !== 'forbidden') {
        await renderList(deps, ctx, { error: err.message, form }, 400);
        return;
      }
      throw err;
    }
  },
);

export const internalIntegrationPage = page(
  {
    zone: 'session-page',
    name: 'internalIntegrationPage',
    method: 'get',
    path: '/integrations/:integration_id',
    summary: 'One internal integration: its pages, "Copy internal integration token", "Convert to public"',
    params: integrationParams,
    query: noticeQuery,
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ params, query }, ctx, deps) => renderDetail(deps, ctx, params.integration_id, { notice: query.notice }),
);

export const copyInternalTokenPage = page(
  {
    zone: 'session-page',
    name: 'copyInternalIntegrationTokenPage',
    method: 'post',
    path: '/integrations/:integration_id/token',
    summary: '"Copy internal integration token": the integration\'s page with the token shown; each retrieval is audited',
    params: integrationParams,
    body: buttonForm,
    answer: 'html',
    audit: 'internal_integration.token_read',
  },
  async ({ params }, ctx, deps) => {
    const { token } = await readInternalToken(deps.rules, pageCaller(ctx.req), params.integration_id);
    await renderDetail(deps, ctx, params.integration_id, { token });
  },
);

export const convertInternalIntegrationPage = page(
  {
    zone: 'session-page',
    name: 'convertInternalIntegrationPage',
    method: 'post',
    path: '/integrations/:integration_id/convert',
    summary: '"Convert to public": the client id and the secret shown once, or the integration\'s page with the reason (400)',
    params: integrationParams,
    body: convertFormSchema,
    bodyRequired: true,
    answer: 'html',
    audit: ['internal_integration.converted', 'grant.created'],
  },
  async ({ params, body }, ctx, deps) => {
    const uris = body.redirect_uris
      .split(/\r?\n/)
      .map((u) => u.trim())
      .filter(Boolean);
    try {
      const done = await convertToPublic(deps.rules, pageCaller(ctx.req), params.integration_id, uris);
      renderPage(ctx.res, 'integrations-converted', {
        title: `${done.app.name} is now public`,
        app: { name: done.app.name },
        clientId: done.clientId,
        clientSecret: done.clientSecret,
        redirectUris: done.redirectUris,
        grants: done.grants.map((g) => ({ pages: g.pageIds.length })),
      });
    } catch (err) {
      if (err instanceof InternalIntegrationError && err.code === 'invalid_redirect_uri') {
        await renderDetail(deps, ctx, params.integration_id, { error: err.message }, 400);
        return;
      }
      throw err;
    }
  },
);

export const INTERNAL_INTEGRATION_PAGES: ReadonlyArray<Contract<'session-page', InternalIntegrationContext>> = [
  internalIntegrationsPage,
  createInternalIntegrationPage,
  internalIntegrationPage,
  copyInternalTokenPage,
  convertInternalIntegrationPage,
  ...PAGE_CONNECTION_PAGES,
];

export function internalIntegrationRoutes(deps: InternalIntegrationRouteDeps, guards: ZoneGuards): Router {
  const router = Router();
  const { stores } = deps;
  const context: InternalIntegrationContext = {
    rules: {
      internalIntegrations: stores.internalIntegrations,
      workspaces: stores.workspaces,
      connections: stores.connections,
      pageIndex: stores.pageIndex,
      audit: stores.audit,
      keyring: deps.keyring,
      clock: deps.clock,
      fetchLogo: deps.fetchLogo ?? createLogoFetcher({ publicUrl: deps.config.publicUrl, publicDir }),
    },
    stores,
  };

  // ---- JSON API (./internal-integration-api.ts) ------------------------------
  mountZone(router, 'owner', INTERNAL_INTEGRATION_API, context, guards);
  // Any other path under them: a stranger 401 before a 404, as on the declared ones.
  router.use('/api/admin/v1/integrations', guards.api.owner);
  router.use('/api/admin/v1/workspaces/:workspace_id/pages', guards.api.owner);

  // ---- The pages -------------------------------------------------------------
  mountZone(router, 'session-page', INTERNAL_INTEGRATION_PAGES, context, guards);

  return router;
}
