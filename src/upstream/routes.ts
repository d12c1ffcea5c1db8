/**
 * "Your workspaces": connect a Notion account per workspace, see the page
 * index state, refresh it, disconnect it ("Disconnect": POST
 * /workspaces/:id/disconnect, answered by src/admin/console-routes.ts, since
 * it revokes grants). Routes parse and call one rule each.
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { randomString } from '../crypto/tokens.js';
import { requireSignIn } from '../http/auth-guards.js';
import { notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
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

export function workspaceRoutes(deps: WorkspaceRoutesDeps): Router {
  const router = Router();
  const callbackUrl = `${deps.publicUrl}/connect/notion/callback`;

  const renderWorkspaces = async (req: Request, res: Response, error: string | null, status = 200) => {
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
  };

  router.get('/', (req, res) => {
    if (req.user) return res.redirect(303, '/workspaces');
    renderPage(res, 'home', { title: 'Welcome' });
  });

  router.get('/workspaces', requireSignIn, async (req, res) => renderWorkspaces(req, res, null));

  const startConnect = (req: Request, res: Response, next: NextFunction, reconnectWorkspaceId: string | null, returnTo?: string) => {
    const state = randomString();
    const connectState: ConnectState = {
      value: state,
      reconnectWorkspaceId,
      createdAt: deps.clock.now().getTime(),
      ...(returnTo ? { returnTo } : {}),
    };
    req.session.connectState = connectState;
    // Saved before the redirect: Notion's answer may arrive before a lazy save would finish.
    req.session.save((err) => {
      if (err) return next(err);
      res.redirect(303, authorizeUrl(deps.upstream, callbackUrl, state));
    });
  };

  router.post('/workspaces/connect', requireSignIn, (req, res, next) => startConnect(req, res, next, null));

  router.post('/workspaces/:workspaceId/reconnect', requireSignIn, async (req, res, next) => {
    const membership = await deps.workspaces.membership(String(req.params.workspaceId), req.user!.id);
    if (!membership || membership.status !== 'active') throw notFound('No such workspace.');
    const returnTo = req.body?.return_to === undefined ? undefined : safeReturnTo(req.body.return_to);
    startConnect(req, res, next, String(req.params.workspaceId), returnTo);
  });

  router.get('/connect/notion/callback', requireSignIn, async (req, res) => {
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
        redirectUri: callbackUrl,
        reconnectWorkspaceId: expected!.reconnectWorkspaceId,
        address: req.ip ?? null,
      });
      res.redirect(303, expected!.returnTo ?? '/workspaces?notice=connected');
    } catch (err) {
      if (err instanceof ConnectRefused) return renderWorkspaces(req, res, err.message, err.status);
      throw err;
    }
  });

  router.post('/workspaces/internal-token', requireSignIn, async (req, res) => {
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    try {
      await connectInternalToken(deps, { person: req.user!, token, address: req.ip ?? null });
      res.redirect(303, '/workspaces?notice=connected');
    } catch (err) {
      if (err instanceof ConnectRefused) return renderWorkspaces(req, res, err.message, err.status);
      throw err;
    }
  });

  router.post('/workspaces/:workspaceId/refresh', requireSignIn, async (req, res) => {
    const connection = await deps.connections.findForPersonAndWorkspace(req.user!.id, String(req.params.workspaceId));
    if (!connection || connection.status !== 'active') throw notFound('You have no working connection to that workspace.');
    deps.requestIndex(connection.id);
    res.redirect(303, '/workspaces?notice=refreshing');
  });

  return router;
}
