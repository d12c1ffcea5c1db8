/**
 * The page picker, as page contracts in the session-page zone:
 *
 *   GET  /consent/:transactionId/pages?workspace=[&q=][&parent=][&offset=]   the picker
 *   POST /consent/:transactionId/pages          action=allow, or search / next / previous / open:<id> / top
 *                                               (remember the ticks, 303 back to the picker)
 *   GET  /consent/:transactionId/pages/children?workspace=&parent=   a folded group's children
 *
 * The children are an HTML fragment that public/picker.js puts in place when
 * a group is opened in a large workspace; without JavaScript the group's own
 * "Show pages inside" button reloads the picker with that page opened. The
 * fragment has the picker's checks (this session's open transaction, a
 * member with an active connection; that person's own index only) and
 * writes nothing, so it needs no CSRF token.
 */
import { z } from 'zod';
import { HttpError } from '../http/errors.js';
import { eta } from '../http/views.js';
import { findTransaction, saveTransaction, type AuthorizationTransaction } from '../oauth/transaction.js';
import { checkConnectPolicy, ConsentRefused, MAX_PICKED_PAGES, requireActiveMember, requireApp, requireOpenTransaction } from './decide.js';
import {
  finishAllow,
  FORM_NOT_UNDERSTOOD,
  lenient,
  openOrGone,
  page,
  PAGE_ID,
  picksForm,
  rememberWorkspace,
  showRefusal,
  transactionParams,
} from './consent-context.js';
import { buildChildren, mergePicks, PAGE_SIZE } from './picker.js';
import { renderPicker } from './screens.js';

export const pickerPage = page(
  {
    zone: 'session-page',
    name: 'consentPickerPage',
    method: 'get',
    path: '/consent/:transactionId/pages',
    summary: '"Select pages": the page picker of the chosen workspace',
    params: transactionParams,
    query: z.object({ workspace: lenient(100), q: lenient(), parent: lenient(64), offset: lenient(6) }),
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ query }, { req, res }, deps) => {
    let transaction: AuthorizationTransaction | null = openOrGone(deps, req, res);
    if (!transaction) return;
    const app = await requireApp(deps, transaction);
    const person = req.user!;
    const workspaceId = query.workspace;
    const backToFirstScreen = `/consent/${encodeURIComponent(transaction.id)}${workspaceId ? `?workspace=${encodeURIComponent(workspaceId)}` : ''}`;
    if (!workspaceId) return res.redirect(303, backToFirstScreen);
    try {
      await requireActiveMember(deps, person.id, workspaceId);
    } catch (err) {
      return showRefusal(deps, req, res, err, { workspaceId, capabilities: null });
    }
    transaction = rememberWorkspace(req, transaction, workspaceId);
    // The first screen explains a refusal by policy and offers "Connect your Notion account".
    const policy = await checkConnectPolicy(deps, { workspaceId, personId: person.id, app, redirectUri: transaction.redirectUri });
    const connection = await deps.connections.findForPersonAndWorkspace(person.id, workspaceId);
    if (!policy.allowed || !connection || connection.status !== 'active') return res.redirect(303, backToFirstScreen);
    await renderPicker(deps, res, transaction, app, connection, {
      workspaceId,
      query: query.q,
      parentId: PAGE_ID.test(query.parent) ? query.parent : null,
      offset: Number(query.offset) || 0,
    });
  },
);

export const postPicks = page(
  {
    zone: 'session-page',
    name: 'postConsentPicks',
    method: 'post',
    path: '/consent/:transactionId/pages',
    summary: 'The picker\'s form: "Allow access", or remember the ticks and search, page or open a group',
    params: transactionParams,
    body: picksForm,
    invalidBody: FORM_NOT_UNDERSTOOD,
    answer: 'redirect',
    audit: ['grant.created', 'grant.changed', 'code.issued', 'consent.refused'],
  },
  async ({ body: form }, { req, res }, deps) => {
    const capabilities = form.capabilities ?? null;
    const transaction = openOrGone(deps, req, res);
    if (!transaction) return;
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
        await finishAllow(deps, req, res, { workspaceId: form.workspace, pages: { kind: 'picked', pageIds: picked }, capabilities });
      } catch (err) {
        // Ticks within the limit are kept for the next try; more than a grant holds are shown, not saved.
        if (picked.length <= MAX_PICKED_PAGES && err instanceof ConsentRefused && err.kind !== 'not_member')
          saveTransaction(req, { ...transaction, status: 'signed_in', picks: { workspaceId: form.workspace, pageIds: picked } });
        await showRefusal(deps, req, res, err, { workspaceId: form.workspace, capabilities, picker: screen });
      }
      return;
    }
    try {
      await requireActiveMember(deps, req.user!.id, form.workspace);
      if (picked.length > MAX_PICKED_PAGES)
        throw new ConsentRefused('too_many_pages', `Pick at most ${MAX_PICKED_PAGES} pages. Ticking a page shares every page inside it.`);
    } catch (err) {
      await showRefusal(deps, req, res, err, { workspaceId: form.workspace, capabilities, picker: screen });
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
  },
);

/** Both parameters are ids; the first one missing or malformed is named (400). */
const childrenQuery = z.looseObject({}).transform((raw, ctx) => {
  const read = (name: 'workspace' | 'parent', max: number) => {
    const value = raw[name];
    if (typeof value === 'string' && value.length > 0 && value.length <= max && PAGE_ID.test(value)) return value;
    ctx.addIssue({ code: 'custom', message: `The "${name}" parameter is missing or malformed` });
    return null;
  };
  const workspace = read('workspace', 100);
  const parent = workspace === null ? null : read('parent', 64);
  return workspace === null || parent === null ? z.NEVER : { workspace, parent };
});

export const pickerChildren = page(
  {
    zone: 'session-page',
    name: 'consentPickerChildren',
    method: 'get',
    path: '/consent/:transactionId/pages/children',
    summary: "A folded group's children, as the fragment the picker puts in place",
    params: transactionParams,
    query: childrenQuery,
    answer: 'html',
    audit: { none: 'a read' },
    refusals: {
      400: 'A parameter missing or malformed, or a request that is gone',
      404: 'A page not among yours',
      409: 'No connection yet',
    },
  },
  async ({ params, query }, { req, res }, deps) => {
    const person = req.user!;
    try {
      const transaction = requireOpenTransaction(findTransaction(req, params.transactionId, deps.clock.now()));
      await requireActiveMember(deps, person.id, query.workspace);
      const connection = await deps.connections.findForPersonAndWorkspace(person.id, query.workspace);
      if (!connection || connection.status !== 'active')
        throw new HttpError(409, 'conflict', 'Connect your Notion account for this workspace first.');
      const picked = new Set(transaction.picks.workspaceId === query.workspace ? transaction.picks.pageIds : []);
      const children = await buildChildren(deps.pageIndex, connection.id, query.parent, picked);
      if (!children) throw new HttpError(404, 'not_found', 'That page is not among your pages.');
      const childrenHref = `/consent/${encodeURIComponent(transaction.id)}/pages/children?workspace=${encodeURIComponent(query.workspace)}`;
      res.type('html').send(eta.render('consent-picker-children', { ...children, childrenHref }));
    } catch (err) {
      if (err instanceof ConsentRefused) throw new HttpError(err.status, err.status === 403 ? 'forbidden' : 'invalid_request', err.message);
      throw err;
    }
  },
);
