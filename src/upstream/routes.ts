/**
 * "Your workspaces": connect a Notion account per workspace, see the page
 * index state, refresh it, disconnect it ("Disconnect": POST
 * /workspaces/:id/disconnect, answered by src/admin/console-routes.ts, since
 * it revokes grants). Page contracts in the session-page zone, each calling
 * one rule (./connect.ts); and the home page, public, which sends a
 * signed-in person to "Your workspaces".
 *
 *   GET  /                                  home (public)
 *   GET  /workspaces                        "Your workspaces"
 *   POST /workspaces/connect                "Connect a workspace": 303 to Notion
 *   POST /workspaces/:workspaceId/reconnect 303 to Notion, back to a same-origin return_to
 *   GET  /connect/notion/callback           Notion's answer: the credential kept, 303 on
 *   POST /workspaces/internal-token         an internal integration token pasted in
 *   POST /workspaces/:workspaceId/refresh   "Refresh pages"
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { randomString } from '../crypto/tokens.js';
import { contractsFor, type Contract } from '../http/contract.js';
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import type { UpstreamConnection, UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import type { Clock } from '../clock.js';
import { safeReturnTo } from '../identity/routes.js';
import { checkConnectState, completeOAuthConnect, connectInternalToken, ConnectRefused, type ConnectDeps } from './connect.js';
import { authorizeUrl } from './notion.js';

export interface WorkspaceRoutesDeps extends ConnectDeps {
  publicUrl: string;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  clock: Clock;
}

/** Where the callback leads after connecting: "Your workspaces", or a same-origin page that started it (the consent screen). */
type ConnectState = NonNullable<import('express-session').SessionData['connectState']> & { returnTo?: string };

const NOTICES: Record<string, string> = {
  connected: 'Workspace connected. Its pages are being indexed.',
  refreshing: 'Refreshing pages in the background.',
  disconnected: 'Notion account disconnected: its credential is destroyed and the connections you made through it are revoked.',
};

export function indexStateText(connection: UpstreamConnection | null): string {
  if (!connection) return 'Not connected';
  if (connection.status === 'broken') return 'Connection broken: reconnect it';
  if (connection.status === 'disconnected') return 'Disconnected';
  switch (connection.indexState) {
    case 'pending':
      return 'Waiting to index pages';
    case 'running':
      return `Indexing pages… ${connection.indexCount} so far`;
    case 'ready':
      return `${connection.indexCount} pages indexed`;
    case 'failed':
      return connection.indexError ?? 'Indexing failed';
  }
}

const callbackUrl = (deps: WorkspaceRoutesDeps) => `${deps.publicUrl}/connect/notion/callback`;

async function renderWorkspaces(deps: WorkspaceRoutesDeps, req: Request, res: Response, error: string | null, status = 200) {
  const person = req.user!;
  const mine = await deps.workspaces.listForPerson(person.id);
  const connections = await deps.connections.listForPerson(person.id);
  const rows = mine.map((w) => {
    const connection = connections.find((c) => c.workspaceId === w.id) ?? null;
    return {
      id: w.id,
      name: w.name,
      role: w.role === 'owner' ? 'Owner' : 'Member',
      connected: connection?.status === 'active',
      kind: connection?.kind ?? null,
      indexState: connection?.indexState ?? 'none',
      indexText: indexStateText(connection),
      // Answered by the console router (src/admin/console-routes.ts), which holds the revocation deps.
      disconnectAction: connection?.status === 'active' ? `/workspaces/${encodeURIComponent(w.id)}/disconnect` : null,
    };
  });
  const notice = typeof req.query.notice === 'string' ? (NOTICES[req.query.notice] ?? null) : null;
  const busy = rows.some((r) => r.indexState === 'pending' || r.indexState === 'running');
  const mcpUrl = `${deps.publicUrl}/mcp`;
  const mcpConfig = JSON.stringify({ mcpServers: { notion: { url: mcpUrl } } });
  renderPage(
    res,
    'workspaces',
    { title: 'Your workspaces', workspaces: rows, error, notice, autoRefresh: busy, mcpUrl, mcpConfig },
    status,
  );
}

/** Keeps the state Notion must send back, then sends the browser to Notion's authorisation page. */
async function startConnect(
  deps: WorkspaceRoutesDeps,
  req: Request,
  res: Response,
  reconnectWorkspaceId: string | null,
  returnTo?: string,
) {
  const state = randomString();
  const connectState: ConnectState = {
    value: state,
    reconnectWorkspaceId,
    createdAt: deps.clock.now().getTime(),
    ...(returnTo ? { returnTo } : {}),
  };
  req.session.connectState = connectState;
  // Saved before the redirect: Notion's answer may arrive before a lazy save would finish.
  await new Promise<void>((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve())));
  res.redirect(303, authorizeUrl(deps.upstream, callbackUrl(deps), state));
}

const { page } = contractsFor<WorkspaceRoutesDeps>();
const workspaceParams = z.object({ workspaceId: z.string() });
/** A form field the rule reads as it comes (safeReturnTo, connectInternalToken): never refused for its shape here. */
const formWith = (field: string) => z.looseObject({ [field]: z.unknown().optional() });
const viaNotion = { none: 'a redirect to Notion' } as const;
const connected = ['upstream_connection.created', 'upstream_connection.replaced'] as const;

export const homePage = page(
  { zone: 'public', name: 'homePage', method: 'get', path: '/', summary: 'Home', answer: 'html', audit: { none: 'a page' } },
  async (_input, { req, res }) => {
    if (req.user) return res.redirect(303, '/workspaces');
    renderPage(res, 'home', { title: 'Welcome' });
  },
);

export const WORKSPACE_PAGES: ReadonlyArray<Contract<'session-page', WorkspaceRoutesDeps>> = [
  page(
    {
      zone: 'session-page',
      name: 'workspacesPage',
      method: 'get',
      path: '/workspaces',
      summary: '"Your workspaces"',
      answer: 'html',
      audit: { none: 'a page' },
    },
    async (_input, { req, res }, deps) => renderWorkspaces(deps, req, res, null),
  ),
  page(
    {
      zone: 'session-page',
      name: 'connectWorkspace',
      method: 'post',
      path: '/workspaces/connect',
      summary: '"Connect a workspace": on to Notion\'s authorisation page',
      answer: 'redirect',
      audit: viaNotion,
    },
    async (_input, { req, res }, deps) => startConnect(deps, req, res, null),
  ),
  page(
    {
      zone: 'session-page',
      name: 'reconnectWorkspace',
      method: 'post',
      path: '/workspaces/:workspaceId/reconnect',
      summary: 'Reconnect a broken Notion connection, then back to a same-origin page',
      params: workspaceParams,
      body: formWith('return_to'),
      answer: 'redirect',
      audit: viaNotion,
    },
    async ({ params, body }, { req, res }, deps) => {
      const membership = await deps.workspaces.membership(params.workspaceId, req.user!.id);
      if (!membership || membership.status !== 'active') throw notFound('No such workspace.');
      const returnTo = body.return_to === undefined ? undefined : safeReturnTo(body.return_to);
      await startConnect(deps, req, res, params.workspaceId, returnTo);
    },
  ),
  page(
    {
      zone: 'session-page',
      name: 'notionConnectCallback',
      method: 'get',
      path: '/connect/notion/callback',
      summary: "Notion's answer to a connect: the state checked once, the code exchanged",
      answer: 'redirect',
      audit: [...connected],
    },
    async (_input, { req, res }, deps) => {
      const expected = req.session.connectState as ConnectState | undefined;
      delete req.session.connectState; // single use, whatever happens next
      try {
        checkConnectState(expected, req.query.state, deps.clock.now());
        if (req.query.error !== undefined) {
          throw new ConnectRefused(
            req.query.error === 'access_denied'
              ? "You cancelled on Notion's page; nothing was connected."
              : 'Notion did not complete the connection.',
          );
        }
        if (typeof req.query.code !== 'string' || req.query.code.length === 0 || req.query.code.length > 512)
          throw new ConnectRefused('Notion sent no code back.');
        await completeOAuthConnect(deps, {
          person: req.user!,
          code: req.query.code,
          redirectUri: callbackUrl(deps),
          reconnectWorkspaceId: expected!.reconnectWorkspaceId,
          address: req.ip ?? null,
        });
        res.redirect(303, expected!.returnTo ?? '/workspaces?notice=connected');
      } catch (err) {
        if (err instanceof ConnectRefused) return renderWorkspaces(deps, req, res, err.message, err.status);
        throw err;
      }
    },
  ),
  page(
    {
      zone: 'session-page',
      name: 'connectInternalToken',
      method: 'post',
      path: '/workspaces/internal-token',
      summary: 'An internal integration token pasted in: checked with Notion, kept encrypted',
      body: formWith('token'),
      answer: 'redirect',
      audit: [...connected],
    },
    async ({ body }, { req, res }, deps) => {
      const token = typeof body.token === 'string' ? body.token : '';
      try {
        await connectInternalToken(deps, { person: req.user!, token, address: req.ip ?? null });
        res.redirect(303, '/workspaces?notice=connected');
      } catch (err) {
        if (err instanceof ConnectRefused) return renderWorkspaces(deps, req, res, err.message, err.status);
        throw err;
      }
    },
  ),
  page(
    {
      zone: 'session-page',
      name: 'refreshWorkspacePages',
      method: 'post',
      path: '/workspaces/:workspaceId/refresh',
      summary: '"Refresh pages": a resync of the page index, in the background',
      params: workspaceParams,
      answer: 'redirect',
      audit: { none: 'asks for a page index resync' },
    },
    async ({ params }, { req, res }, deps) => {
      const connection = await deps.connections.findForPersonAndWorkspace(req.user!.id, params.workspaceId);
      if (!connection || connection.status !== 'active') throw notFound('You have no working connection to that workspace.');
      deps.requestIndex(connection.id);
      res.redirect(303, '/workspaces?notice=refreshing');
    },
  ),
];

export const HOME_PAGES: ReadonlyArray<Contract<'public', WorkspaceRoutesDeps>> = [homePage];

/** `guards`: the application's one set of zone guards (src/app.ts). */
export function workspaceRoutes(deps: WorkspaceRoutesDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'public', HOME_PAGES, deps, guards);
  mountZone(router, 'session-page', WORKSPACE_PAGES, deps, guards);
  return router;
}
