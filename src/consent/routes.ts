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
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { requireSignIn } from '../http/auth-guards.js';
import { HttpError } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { CAPABILITY_LABELS } from '../oauth/capabilities.js';
import { closeTransaction, findTransaction, redirectBack, saveTransaction, type AuthorizationTransaction } from '../oauth/transaction.js';
import type { PartnerApp } from '../store/partner-apps.js';
import {
  activeGrantFor,
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
import { buildPicker, mergePicks, PAGE_SIZE } from './picker.js';
import { pickerRoutes } from './picker-routes.js';
import { approvalOffer, approvalRequestRoutes, type ApprovalRequestDeps } from './approval-request-routes.js';

export interface ConsentRoutesDeps extends ConsentDeps, ApprovalRequestDeps {
  /** The issuer sent back as `iss` (RFC 9207). */
  publicUrl: string;
}

const PAGE_ID = /^[A-Za-z0-9-]{1,64}$/;
const idList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? undefined : Array.isArray(v) ? v : [v]));
const pageIdList = idList.refine((v) => v === undefined || (v.length <= 200 && v.every((id) => PAGE_ID.test(id))), 'bad page id');
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

/** A partner's website is shown as a link only when it is an http(s) URL (never `javascript:`). */
function websiteOf(app: PartnerApp): { href: string; text: string } | null {
  if (!app.website) return null;
  try {
    const url = new URL(app.website);
    return url.protocol === 'https:' || url.protocol === 'http:' ? { href: url.href, text: url.host } : null;
  } catch {
    return null;
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * An agent registered itself: its name is its own claim (said so on the
 * screen), and one whose redirects all lead to loopback runs on the
 * person's own machine, or on whatever took that port (MCP authorization:
 * show the redirect host, warn for loopback-only redirects).
 */
function agentModel(app: PartnerApp) {
  if (app.clientKind !== 'agent') return null;
  return { loopbackOnly: app.redirectUris.every((uri) => LOOPBACK_HOSTS.has(new URL(uri).hostname)) };
}

function appModel(app: PartnerApp) {
  return {
    name: app.name,
    logoUrl: app.hasLogo ? `/apps/${encodeURIComponent(app.id)}/logo` : null,
    website: websiteOf(app),
    agent: agentModel(app),
  };
}

function capabilityModel(transaction: AuthorizationTransaction) {
  return transaction.capabilities.map((name) => ({ name, label: CAPABILITY_LABELS[name] }));
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
  router.use(approvalRequestRoutes(deps));

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

  router.get('/consent/:transactionId', requireSignIn, async (req, res) => {
    let transaction = openTransaction(req, res);
    const app = await requireApp(deps, transaction);
    const person = req.user!;
    const workspaces = await deps.workspaces.listForPerson(person.id);
    const asked = queryString(req.query.workspace, 100);
    const chosen =
      workspaces.find((w) => w.id === asked) ?? workspaces.find((w) => w.id === transaction.picks.workspaceId) ?? workspaces[0] ?? null;

    let screen:
      | { state: 'none' }
      | { state: 'refused'; reason: string; approval: Awaited<ReturnType<typeof approvalOffer>> }
      | { state: 'needs_connection' }
      | { state: 'ready'; reauthPages: number | null } = { state: 'none' };
    if (chosen) {
      transaction = rememberWorkspace(req, transaction, chosen.id);
      const policy = await checkConnectPolicy(deps, {
        workspaceId: chosen.id,
        personId: person.id,
        app,
        redirectUri: transaction.redirectUri,
      });
      const connection = await deps.connections.findForPersonAndWorkspace(person.id, chosen.id);
      const offer = { transactionId: transaction.id, workspaceId: chosen.id, personId: person.id, app };
      if (!policy.allowed) screen = { state: 'refused', reason: policy.reason, approval: await approvalOffer(deps, offer) };
      else if (!connection || connection.status !== 'active') screen = { state: 'needs_connection' };
      else {
        const grant = await activeGrantFor(deps, person.id, app.id, chosen.id);
        screen = { state: 'ready', reauthPages: grant ? grant.pageIds.length : null };
      }
    }
    renderPage(res, 'consent', {
      title: `${app.name} wants to access your workspace`,
      transactionId: transaction.id,
      app: appModel(app),
      returnsTo: new URL(transaction.redirectUri).host,
      capabilities: capabilityModel(transaction),
      workspaces: workspaces.map((w) => ({ id: w.id, name: w.name, selected: w.id === chosen?.id })),
      chosen: chosen ? { id: chosen.id, name: chosen.name } : null,
      screen,
      returnTo: chosen ? `/consent/${encodeURIComponent(transaction.id)}?workspace=${encodeURIComponent(chosen.id)}` : null,
    });
  });

  router.post('/consent/:transactionId/cancel', requireSignIn, async (req, res) => {
    parseForm(cancelForm, req.body);
    const transaction = openTransaction(req, res);
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
    openTransaction(req, res);
    await finishAllow(req, res, {
      workspaceId: form.workspace,
      pages: { kind: 'keep_existing' },
      capabilities: form.capabilities ?? null,
    });
  });

  router.get('/consent/:transactionId/pages', requireSignIn, async (req, res) => {
    let transaction = openTransaction(req, res);
    const app = await requireApp(deps, transaction);
    const person = req.user!;
    const workspaceId = queryString(req.query.workspace, 100);
    const backToFirstScreen = `/consent/${encodeURIComponent(transaction.id)}${workspaceId ? `?workspace=${encodeURIComponent(workspaceId)}` : ''}`;
    if (!workspaceId) return res.redirect(303, backToFirstScreen);
    await requireActiveMember(deps, person.id, workspaceId);
    const workspace = (await deps.workspaces.findById(workspaceId))!;
    transaction = rememberWorkspace(req, transaction, workspaceId);
    // The first screen explains a refusal by policy and offers "Connect your Notion account".
    const policy = await checkConnectPolicy(deps, { workspaceId, personId: person.id, app, redirectUri: transaction.redirectUri });
    const connection = await deps.connections.findForPersonAndWorkspace(person.id, workspaceId);
    if (!policy.allowed || !connection || connection.status !== 'active') return res.redirect(303, backToFirstScreen);

    const parent = queryString(req.query.parent, 64);
    const offset = Number(queryString(req.query.offset, 6)) || 0;
    const picker = await buildPicker(
      deps.pageIndex,
      connection.id,
      { query: queryString(req.query.q), parentId: PAGE_ID.test(parent) ? parent : null, offset },
      new Set(transaction.picks.pageIds),
    );
    const indexing = connection.indexState === 'pending' || connection.indexState === 'running';
    renderPage(res, 'consent-pages', {
      title: `Select pages in ${workspace.name}`,
      transactionId: transaction.id,
      app: appModel(app),
      workspace: { id: workspace.id, name: workspace.name },
      capabilities: capabilityModel(transaction),
      picker,
      pickedCount: transaction.picks.pageIds.length,
      indexing: indexing ? { count: picker.total } : null,
      // Refresh only while nothing is listed yet: a refresh would lose ticks not yet posted.
      autoRefresh: indexing && picker.total === 0,
      backHref: backToFirstScreen,
    });
  });

  router.post('/consent/:transactionId/pages', requireSignIn, async (req, res) => {
    const form = parseForm(picksForm, req.body);
    const transaction = openTransaction(req, res);
    const shown = (form.shown ?? '').split(',').filter((id) => PAGE_ID.test(id));
    const earlier = transaction.picks.workspaceId === form.workspace ? transaction.picks.pageIds : [];
    const picked = mergePicks(earlier, shown, form.pages ?? []);

    if (form.action === 'allow') {
      await finishAllow(req, res, {
        workspaceId: form.workspace,
        pages: { kind: 'picked', pageIds: picked },
        capabilities: form.capabilities ?? null,
      });
      return;
    }
    await requireActiveMember(deps, req.user!.id, form.workspace);
    if (picked.length > MAX_PICKED_PAGES)
      throw new ConsentRefused('too_many_pages', `Pick at most ${MAX_PICKED_PAGES} pages. Ticking a page shares every page inside it.`);
    saveTransaction(req, { ...transaction, status: 'signed_in', picks: { workspaceId: form.workspace, pageIds: picked } });

    const next = new URLSearchParams({ workspace: form.workspace });
    const offset = Number(form.offset ?? '0');
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
