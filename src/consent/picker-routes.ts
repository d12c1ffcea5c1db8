/**
 * The picker's one extra endpoint: the children of a folded group, as an
 * HTML fragment that public/picker.js puts in place when the group is
 * opened in a large workspace. Without JavaScript the group's own "Show
 * pages inside" button reloads the consent page with that page opened.
 *
 *   GET /consent/:transactionId/pages/children?workspace=&parent=
 *
 * The same checks as the picker page: this session's open transaction, a
 * member with an active connection; the pages come from that person's own
 * index only. Reads only: nothing is written, so no CSRF token is needed.
 */
import { Router, type Request, type Response } from 'express';
import { requireSignIn } from '../http/auth-guards.js';
import { HttpError } from '../http/errors.js';
import { eta } from '../http/views.js';
import { findTransaction } from '../oauth/transaction.js';
import { ConsentRefused, requireActiveMember, requireOpenTransaction, type ConsentDeps } from './decide.js';
import { buildChildren } from './picker.js';

const ID = /^[A-Za-z0-9-]{1,64}$/;

function param(req: Request, name: string, max: number): string {
  const value = req.query[name];
  if (typeof value !== 'string' || value.length === 0 || value.length > max || !ID.test(value))
    throw new HttpError(400, 'invalid_request', `The "${name}" parameter is missing or malformed.`);
  return value;
}

export function pickerRoutes(deps: Pick<ConsentDeps, 'workspaces' | 'connections' | 'pageIndex' | 'clock'>): Router {
  const router = Router();
  router.get('/consent/:transactionId/pages/children', requireSignIn, async (req: Request, res: Response) => {
    const workspaceId = param(req, 'workspace', 100);
    const parentId = param(req, 'parent', 64);
    const person = req.user!;
    try {
      const transaction = requireOpenTransaction(findTransaction(req, String(req.params.transactionId), deps.clock.now()));
      await requireActiveMember(deps, person.id, workspaceId);
      const connection = await deps.connections.findForPersonAndWorkspace(person.id, workspaceId);
      if (!connection || connection.status !== 'active')
        throw new HttpError(409, 'conflict', 'Connect your Notion account for this workspace first.');
      const picked = new Set(transaction.picks.workspaceId === workspaceId ? transaction.picks.pageIds : []);
      const children = await buildChildren(deps.pageIndex, connection.id, parentId, picked);
      if (!children) throw new HttpError(404, 'not_found', 'That page is not among your pages.');
      const childrenHref = `/consent/${encodeURIComponent(transaction.id)}/pages/children?workspace=${encodeURIComponent(workspaceId)}`;
      res.type('html').send(eta.render('consent-picker-children', { ...children, childrenHref }));
    } catch (err) {
      if (err instanceof ConsentRefused) throw new HttpError(err.status, err.status === 403 ? 'forbidden' : 'invalid_request', err.message);
      throw err;
    }
  });
  return router;
}
