/**
 * The consent screen. HTTP only: parse, validate, call
 * one rule, map the result. Server-rendered, every form works without
 * JavaScript and carries the session's CSRF token (checked globally).
 *
 *   GET  /consent/:transactionId[?workspace=]         who asks, for what; the "Workspace" select
 *   POST /consent/:transactionId/cancel               303 to the partner with error=access_denied
 *   POST /consent/:transactionId/allow                re-authorisation from the first screen, keeping the grant's pages
 *   GET  /consent/:transactionId/pages?workspace=[&q=][&parent=][&offset=]   the page picker
 *   POST /consent/:transactionId/pages                action=allow, or search / next / previous / open:<id> / top
 *                                                     (remember the ticks, 303 back to the picker)
 *   POST /consent/:transactionId/switch-account       sign out, keep the request, sign in again
 *
 * A refusal is answered with its status and the screen the person was on
 * (./screens.ts): the picker for the pages (none, too many, outside the
 * index, capabilities), the first screen for the workspace (membership,
 * policy, connection); only a request that is gone gets a page of its own.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { requireSignIn } from '../http/auth-guards.js';
import { HttpError } from '../http/errors.js';
import { closeTransaction, findTransaction, redirectBack, saveTransaction, type AuthorizationTransaction } from '../oauth/transaction.js';
import {
  allowAccess,
  checkConnectPolicy,
  ConsentRefused,
  MAX_PICKED_PAGES,
  requireActiveMember,
  requireApp,
  requireOpenTransaction,
  type AllowInput,
  type ConsentDeps,
} from './decide.js';
import { mergePicks, PAGE_SIZE } from './picker.js';
import { pickerRoutes } from './picker-routes.js';
import { errorOf, renderFirstScreen, renderPicker, renderRequestGone, type PickerArgs, type ScreenError } from './screens.js';

export interface ConsentRoutesDeps extends ConsentDeps {
  /** The issuer sent back as `iss` (RFC 9207). */
  publicUrl: string;
}

const PAGE_ID = /^[A-Za-z0-9-]{1,64}$/;
const idList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));
// At most as many ticks as a grant may hold (no screen shows more checkboxes); more picked across screens is refused on the picker.
const pageIdList = idList.refine(
  (v) => v === undefined || (v.length <= MAX_PICKED_PAGES && v.every((id) => PAGE_ID.test(id))),
  'bad page id',
);
const workspaceField = z.string().min(1).max(100);
const csrfField = z.string();

const picksForm = z
  .object({
    _csrf: csrfField,
    workspace: workspaceField,
    // One field listing every page shown, comma-separated: a field per page would pass the body parser's parameter limit.
    shown: z
      .string()
      .max(64 * 1024)
      .optional(),
    pages: pageIdList,
    capabilities: idList,
    q: z.string().max(200).optional(),
    parent: z.string().max(64).optional(),
    offset: z
      .string()
      .regex(/^\d{1,6}$/)
      .optional(),
    action: z.union([z.enum(['allow', 'search', 'next', 'previous', 'top']), z.string().regex(/^open:[A-Za-z0-9-]{1,64}$/)]),
  })
  .strict();

const allowForm = z.object({ _csrf: csrfField, workspace: workspaceField, capabilities: idList }).strict();
const cancelForm = z.object({ _csrf: csrfField }).strict();

function parseForm<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success)
    throw new HttpError(400, 'invalid_request', 'The form could not be understood. Go back, reload and try again.', parsed.error.message);
  return parsed.data;
}

function queryString(value: unknown, max = 200): string {
  return typeof value === 'string' && value.length <= max ? value : '';
}

/**
 * Chrome applies form-action to the redirect that follows a form post, so
 * the consent forms must be allowed to lead to the partner's redirect URI:
 * its origin, on these responses only. `res.locals.formActionOrigins` is what
 * the app's helmet set-up reads; helmet writes the header when its middleware
 * runs, before any route knows the partner, so the header already written is
 * amended here too (once: an origin already listed is not added again).
 */
export function allowFormActionTo(res: Response, origin: string): void {
  res.locals.formActionOrigins = [origin];
  const header = res.getHeader('Content-Security-Policy');
  if (typeof header !== 'string') return;
  const directives = header
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean);
  const index = directives.findIndex((d) => d.split(/\s+/)[0] === 'form-action');
  if (index === -1) return;
  const sources = directives[index]!.split(/\s+/).slice(1);
  if (!sources.includes(origin)) directives[index] = ['form-action', ...sources, origin].join(' ');
  res.setHeader('Content-Security-Policy', directives.join(';'));
}

export function consentRoutes(deps: ConsentRoutesDeps): Router {
  const router = Router();
  const now = () => deps.clock.now();
  // The consent screen is never framed (CSP frame-ancestors 'none' comes from the app; this is for older browsers).
  router.use('/consent', (_req, res, next) => {
    res.setHeader('X-Frame-Options', 'DENY');
    next();
  });
  router.use(pickerRoutes(deps));

  /** The transaction of this session, or a 400 page. Its partner's origin may receive this page's forms (CSP form-action). */
  const openTransaction = (req: Request, res: Response): AuthorizationTransaction => {
    const transaction = requireOpenTransaction(findTransaction(req, String(req.params.transactionId), now()));
    allowFormActionTo(res, new URL(transaction.redirectUri).origin);
    return transaction;
  };

  const rememberWorkspace = (req: Request, transaction: AuthorizationTransaction, workspaceId: string) => {
    if (transaction.picks.workspaceId === workspaceId && transaction.status !== 'pending') return transaction;
    const picks = transaction.picks.workspaceId === workspaceId ? transaction.picks : { workspaceId, pageIds: [] };
    const updated: AuthorizationTransaction = { ...transaction, status: 'signed_in', picks };
    saveTransaction(req, updated);
    return updated;
  };

  const firstScreen = async (
    req: Request,
    res: Response,
    transaction: AuthorizationTransaction,
    args: { asked: string; error?: ScreenError; status?: number; capabilities?: readonly string[] | null },
  ) => {
    const app = await requireApp(deps, transaction);
    await renderFirstScreen(deps, req, res, transaction, app, args, (workspaceId) => rememberWorkspace(req, transaction, workspaceId));
  };

  /**
   * Shows a refusal where the person was: a request that is gone on its own
   * page; the workspace's refusals on the first screen; the pages' on the
   * picker, with the ticks as posted. Anything else goes to the error page.
   */
  const showRefusal = async (
    req: Request,
    res: Response,
    err: unknown,
    where: { workspaceId: string; capabilities: string[] | null; picker?: Omit<PickerArgs, 'workspaceId' | 'error' | 'status'> },
  ) => {
    if (!(err instanceof ConsentRefused)) throw err;
    if (err.kind === 'transaction_unknown' || err.kind === 'transaction_expired') return renderRequestGone(res, err);
    const transaction = openTransaction(req, res);
    const pagesRefusal = ['no_pages', 'too_many_pages', 'page_outside_index', 'capability_not_asked'].includes(err.kind);
    if (pagesRefusal && where.picker) {
      const app = await requireApp(deps, transaction);
      const connection = await deps.connections.findForPersonAndWorkspace(req.user!.id, where.workspaceId);
      if (connection && connection.status === 'active')
        return renderPicker(deps, res, transaction, app, connection, {
          ...where.picker,
          workspaceId: where.workspaceId,
          capabilities: where.capabilities,
          error: errorOf(err),
          status: err.status,
        });
    }
    // not_member, policy, agent_policy, no_connection, app_gone, or a picker that can no longer be shown.
    if (err.kind === 'app_gone') throw err;
    await firstScreen(req, res, transaction, {
      asked: err.kind === 'not_member' ? '' : where.workspaceId,
      error: errorOf(err),
      status: err.status,
      capabilities: where.capabilities,
    });
  };

  router.get('/consent/:transactionId', requireSignIn, async (req, res) => {
    let transaction: AuthorizationTransaction;
    try {
      transaction = openTransaction(req, res);
    } catch (err) {
      if (err instanceof ConsentRefused) return renderRequestGone(res, err);
      throw err;
    }
    await firstScreen(req, res, transaction, { asked: queryString(req.query.workspace, 100) });
  });

  router.post('/consent/:transactionId/cancel', requireSignIn, async (req, res) => {
    parseForm(cancelForm, req.body);
    let transaction: AuthorizationTransaction;
    try {
      transaction = openTransaction(req, res);
    } catch (err) {
      if (err instanceof ConsentRefused) return renderRequestGone(res, err);
      throw err;
    }
    closeTransaction(req, transaction, 'denied');
    const person = req.user!;
    await deps.audit.record(
      {
        action: 'grant.denied',
        actor: { type: 'person', id: person.id, label: person.email },
        target: { type: 'partner_app', id: transaction.appId },
        workspaceId: transaction.picks.workspaceId,
        address: req.ip ?? null,
        outcome: 'success',
      },
      now(),
    );
    // RFC 6749 §4.1.2.1 and RFC 9207; RFC 9700 §4.12: 303 after a form post.
    res.redirect(303, redirectBack(transaction, deps.publicUrl, { error: 'access_denied' }));
  });

  /**
   * "Use another account": signs out but keeps this browser's open requests
   * (passport's keepSessionInfo), so the person who signs in next decides;
   * the workspace and ticks chosen by the one before are forgotten.
   */
  router.post('/consent/:transactionId/switch-account', requireSignIn, async (req, res, next) => {
    parseForm(cancelForm, req.body);
    let transaction: AuthorizationTransaction;
    try {
      transaction = openTransaction(req, res);
    } catch (err) {
      if (err instanceof ConsentRefused) return renderRequestGone(res, err);
      throw err;
    }
    saveTransaction(req, { ...transaction, status: 'pending', picks: { workspaceId: null, pageIds: [] } });
    req.logout({ keepSessionInfo: true }, (err) => {
      if (err) return next(err);
      const back = `/consent/${encodeURIComponent(transaction.id)}`;
      res.redirect(303, `/auth/sign-in?prompt=login&return_to=${encodeURIComponent(back)}`);
    });
  });

  const finishAllow = async (req: Request, res: Response, input: Omit<AllowInput, 'lookup' | 'person' | 'address'>) => {
    const person = req.user!;
    const { transaction, code } = await allowAccess(deps, {
      ...input,
      lookup: findTransaction(req, String(req.params.transactionId), now()),
      person: { id: person.id, label: person.email },
      address: req.ip ?? null,
    });
    closeTransaction(req, transaction, 'code_issued');
    res.redirect(303, redirectBack(transaction, deps.publicUrl, { code }));
  };

  router.post('/consent/:transactionId/allow', requireSignIn, async (req, res) => {
    const form = parseForm(allowForm, req.body);
    const capabilities = form.capabilities ?? null;
    try {
      openTransaction(req, res);
      await finishAllow(req, res, { workspaceId: form.workspace, pages: { kind: 'keep_existing' }, capabilities });
    } catch (err) {
      await showRefusal(req, res, err, { workspaceId: form.workspace, capabilities });
    }
  });

  router.get('/consent/:transactionId/pages', requireSignIn, async (req, res) => {
    let transaction: AuthorizationTransaction;
    try {
      transaction = openTransaction(req, res);
    } catch (err) {
      if (err instanceof ConsentRefused) return renderRequestGone(res, err);
      throw err;
    }
    const app = await requireApp(deps, transaction);
    const person = req.user!;
    const workspaceId = queryString(req.query.workspace, 100);
    const backToFirstScreen = `/consent/${encodeURIComponent(transaction.id)}${workspaceId ? `?workspace=${encodeURIComponent(workspaceId)}` : ''}`;
    if (!workspaceId) return res.redirect(303, backToFirstScreen);
    try {
      await requireActiveMember(deps, person.id, workspaceId);
    } catch (err) {
      return showRefusal(req, res, err, { workspaceId, capabilities: null });
    }
    transaction = rememberWorkspace(req, transaction, workspaceId);
    // The first screen explains a refusal by policy and offers "Connect your Notion account".
    const policy = await checkConnectPolicy(deps, { workspaceId, personId: person.id, app, redirectUri: transaction.redirectUri });
    const connection = await deps.connections.findForPersonAndWorkspace(person.id, workspaceId);
    if (!policy.allowed || !connection || connection.status !== 'active') return res.redirect(303, backToFirstScreen);
    const parent = queryString(req.query.parent, 64);
    await renderPicker(deps, res, transaction, app, connection, {
      workspaceId,
      query: queryString(req.query.q),
      parentId: PAGE_ID.test(parent) ? parent : null,
      offset: Number(queryString(req.query.offset, 6)) || 0,
    });
  });

  router.post('/consent/:transactionId/pages', requireSignIn, async (req, res) => {
    const form = parseForm(picksForm, req.body);
    const capabilities = form.capabilities ?? null;
    let transaction: AuthorizationTransaction;
    try {
      transaction = openTransaction(req, res);
    } catch (err) {
      if (err instanceof ConsentRefused) return renderRequestGone(res, err);
      throw err;
    }
    const shown = (form.shown ?? '').split(',').filter((id) => PAGE_ID.test(id));
    const earlier = transaction.picks.workspaceId === form.workspace ? transaction.picks.pageIds : [];
    const picked = mergePicks(earlier, shown, form.pages ?? []);
    const offset = Number(form.offset ?? '0');
    // The screen the person was on, to show a refusal on with their ticks.
    const screen = {
      query: form.q ?? '',
      parentId: form.parent && PAGE_ID.test(form.parent) ? form.parent : null,
      offset,
      picked,
    };

    if (form.action === 'allow') {
      try {
        await finishAllow(req, res, { workspaceId: form.workspace, pages: { kind: 'picked', pageIds: picked }, capabilities });
      } catch (err) {
        // Ticks within the limit are kept for the next try; more than a grant holds are shown, not saved.
        if (picked.length <= MAX_PICKED_PAGES && err instanceof ConsentRefused && err.kind !== 'not_member')
          saveTransaction(req, { ...transaction, status: 'signed_in', picks: { workspaceId: form.workspace, pageIds: picked } });
        await showRefusal(req, res, err, { workspaceId: form.workspace, capabilities, picker: screen });
      }
      return;
    }
    try {
      await requireActiveMember(deps, req.user!.id, form.workspace);
      if (picked.length > MAX_PICKED_PAGES)
        throw new ConsentRefused('too_many_pages', `Pick at most ${MAX_PICKED_PAGES} pages. Ticking a page shares every page inside it.`);
    } catch (err) {
      await showRefusal(req, res, err, { workspaceId: form.workspace, capabilities, picker: screen });
      return;
    }
    saveTransaction(req, { ...transaction, status: 'signed_in', picks: { workspaceId: form.workspace, pageIds: picked } });

    const next = new URLSearchParams({ workspace: form.workspace });
    const keep = () => {
      if (form.q) next.set('q', form.q);
      if (form.parent) next.set('parent', form.parent);
    };
    if (form.action === 'search') {
      if (form.q) next.set('q', form.q);
    } else if (form.action === 'next') {
      keep();
      next.set('offset', String(offset + PAGE_SIZE));
    } else if (form.action === 'previous') {
      keep();
      if (offset > PAGE_SIZE) next.set('offset', String(offset - PAGE_SIZE));
    } else if (form.action.startsWith('open:')) {
      next.set('parent', form.action.slice('open:'.length));
    }
    res.redirect(303, `/consent/${encodeURIComponent(transaction.id)}/pages?${next}`);
  });

  return router;
}
