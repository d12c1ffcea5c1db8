/**
 * "My connections" (everyone) and "Connections" (owners): the grants partners
 * hold. Revocation and the rest of the console arrive with the admin issue;
 * these pages already list what exists so nothing is hidden.
 */
import { Router } from 'express';
import { requireSignIn } from '../http/auth-guards.js';
import { forbidden } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import type { GrantStore } from '../store/grants.js';
import type { WorkspaceStore } from '../store/workspaces.js';

export function connectionPages(deps: { grants: GrantStore; workspaces: WorkspaceStore }): Router {
  const router = Router();
  const view = (g: Awaited<ReturnType<GrantStore['listActiveForPerson']>>[number]) => ({
    app: g.appName, workspace: g.workspaceName, person: g.personEmail, capabilities: g.capabilities.join(', '),
    pages: g.pageCount, added: g.createdAt.toISOString().slice(0, 10),
  });

  router.get('/connections/mine', requireSignIn, async (req, res) => {
    const grants = await deps.grants.listActiveForPerson(req.user!.id);
    renderPage(res, 'connections', { title: 'My connections', heading: 'My connections', grants: grants.map(view), workspaces: [] });
  });

  router.get('/connections', requireSignIn, async (req, res) => {
    const owned = (await deps.workspaces.listForPerson(req.user!.id)).filter((w) => w.role === 'owner');
    if (owned.length === 0) throw forbidden('Only workspace owners see every connection of a workspace.');
    const grants = (await Promise.all(owned.map((w) => deps.grants.listActiveForWorkspace(w.id)))).flat();
    renderPage(res, 'connections', { title: 'Connections', heading: 'Connections', grants: grants.map(view), workspaces: owned.map((w) => w.name) });
  });
  return router;
}
