/**
 * GET /v1/oauth/authorize and the pages behind it: sign in to sandbox Notion,
 * choose a workspace, tick pages, Allow access or Cancel. Server-rendered,
 * usable without JavaScript, no inline script or style (strict CSP).
 */
import { Router } from 'express';
import type { Request, Response } from 'express';
import { renderPage } from '../../http/views.js';
import {
  approveTransaction,
  checkFormToken,
  denyTransaction,
  findTransaction,
  isOpen,
  markSignedIn,
  pickerTree,
  sessionPerson,
  signIn,
  startTransaction,
  workspacesOf,
} from './authorize-flow.js';
import type { PickerNode } from './authorize-flow.js';
import type { AuthorizeTransactionRecord, PersonRecord, StateStore } from './state.js';
import { CAPABILITY_LABELS } from '../../oauth/capabilities.js';

export interface AuthorizeDeps {
  store: StateStore;
  publicUrl: string;
  clock: () => Date;
}

export const SESSION_COOKIE = 'sandbox_notion_session';
// The capability words are Notion's, the same ones Gatehouse's consent screen shows.

function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.get('Cookie') ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The view model of a picker node, flattened with nesting depth (templates stay simple). */
interface PickerRow {
  id: string;
  title: string;
  depth: number;
  opens: boolean;
  closes: number;
}

function flattenTree(nodes: PickerNode[], depth = 0): PickerRow[] {
  const rows: PickerRow[] = [];
  for (const node of nodes) {
    rows.push({ id: node.id, title: node.title, depth, opens: node.children.length > 0, closes: 0 });
    if (node.children.length > 0) {
      rows.push(...flattenTree(node.children, depth + 1));
      rows[rows.length - 1].closes += 1;
    }
  }
  return rows;
}

export function authorizeRouter(deps: AuthorizeDeps): Router {
  const router = Router();
  const { state } = deps.store;
  const secureCookie = deps.publicUrl.startsWith('https:');

  // The sandbox is its own site: never show Gatehouse's signed-in chrome on its pages.
  const render = (res: Response, template: string, model: Record<string, unknown> & { title: string }, status = 200) => {
    res.locals.pageChrome = undefined;
    res.setHeader('Cache-Control', 'no-store');
    renderPage(res, template, { ...model, person: null, sandbox: true }, status);
  };
  const errorPage = (res: Response, message: string, status = 400) =>
    render(res, 'sandbox/notion-error', { title: 'Sandbox Notion', message }, status);

  const chrome = (transaction: AuthorizeTransactionRecord, base: string) => {
    const client = state.oauthClients[transaction.clientId];
    return {
      clientName: client?.name ?? 'An integration',
      capabilities: (client?.capabilities ?? []).map((c) => CAPABILITY_LABELS[c]),
      formToken: transaction.formToken,
      selfUrl: `${base}/${transaction.id}`,
      signInUrl: `${base}/${transaction.id}/sign-in`,
      decisionUrl: `${base}/${transaction.id}/decision`,
    };
  };

  const openTransaction = (req: Request, res: Response): AuthorizeTransactionRecord | null => {
    const transaction = findTransaction(state, String(req.params.transaction), deps.clock());
    if (!transaction) {
      errorPage(res, 'This authorisation request has expired or is unknown. Start again from the integration.');
      return null;
    }
    if (!isOpen(transaction)) {
      errorPage(res, 'This authorisation request is already finished. Start again from the integration.');
      return null;
    }
    return transaction;
  };

  router.get('/', (req, res) => {
    const outcome = startTransaction(state, req.query as Record<string, unknown>, deps.clock());
    deps.store.changed();
    if (outcome.kind === 'error_page') return errorPage(res, outcome.message);
    if (outcome.kind === 'redirect') return res.redirect(303, outcome.url);
    res.redirect(303, `${req.baseUrl}/${outcome.transaction.id}`);
  });

  router.get('/:transaction', (req, res) => {
    const transaction = openTransaction(req, res);
    if (!transaction) return;
    const person = sessionPerson(state, readCookie(req, SESSION_COOKIE));
    const model = chrome(transaction, req.baseUrl);
    if (!person) return render(res, 'sandbox/notion-sign-in', { title: 'Sign in to sandbox Notion', ...model, email: '', error: null });
    markSignedIn(transaction);
    deps.store.changed();
    showChoice(res, person, model, single(req.query.workspace));
  });

  function showChoice(
    res: Response,
    person: PersonRecord,
    model: ReturnType<typeof chrome>,
    workspaceId: string | undefined,
    error: string | null = null,
    status = 200,
  ): void {
    const workspaces = workspacesOf(state, person.id);
    const chosen = workspaces.find((w) => w.id === workspaceId);
    const who = { personName: person.name, personEmail: person.email };
    if (!chosen) {
      return render(
        res,
        'sandbox/notion-workspace',
        {
          title: 'Choose a workspace',
          ...model,
          ...who,
          workspaces: workspaces.map((w) => ({ id: w.id, name: w.name })),
          error: workspaceId === undefined ? error : 'Choose one of your workspaces.',
        },
        workspaceId === undefined ? status : 400,
      );
    }
    render(
      res,
      'sandbox/notion-pages',
      {
        title: `Select pages in ${chosen.name}`,
        ...model,
        ...who,
        workspaceId: chosen.id,
        workspaceName: chosen.name,
        rows: flattenTree(pickerTree(state, chosen.id)),
        error,
      },
      status,
    );
  }

  router.post('/:transaction/sign-in', (req, res) => {
    const transaction = openTransaction(req, res);
    if (!transaction) return;
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!checkFormToken(transaction, form._token)) return errorPage(res, 'The form has expired. Start again from the integration.', 403);
    const result = signIn(state, form.email, form.password, deps.clock());
    if (!result) {
      return render(
        res,
        'sandbox/notion-sign-in',
        {
          title: 'Sign in to sandbox Notion',
          ...chrome(transaction, req.baseUrl),
          email: single(form.email) ?? '',
          error: 'Wrong email or password.',
        },
        401,
      );
    }
    markSignedIn(transaction);
    deps.store.changed();
    res.cookie(SESSION_COOKIE, result.sessionToken, { httpOnly: true, sameSite: 'lax', secure: secureCookie, path: req.baseUrl || '/' });
    res.redirect(303, `${req.baseUrl}/${transaction.id}`);
  });

  router.post('/:transaction/decision', (req, res) => {
    const transaction = openTransaction(req, res);
    if (!transaction) return;
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!checkFormToken(transaction, form._token)) return errorPage(res, 'The form has expired. Start again from the integration.', 403);
    if (form.decision === 'cancel') {
      const url = denyTransaction(transaction);
      deps.store.changed();
      return res.redirect(303, url);
    }
    const person = sessionPerson(state, readCookie(req, SESSION_COOKIE));
    if (!person) return res.redirect(303, `${req.baseUrl}/${transaction.id}`);
    const workspaceId = single(form.workspace) ?? '';
    const pages = Array.isArray(form.pages)
      ? form.pages.filter((p): p is string => typeof p === 'string')
      : typeof form.pages === 'string'
        ? [form.pages]
        : [];
    const outcome = approveTransaction(state, transaction, person, workspaceId, pages, deps.clock());
    deps.store.changed();
    if (outcome.kind === 'invalid') return showChoice(res, person, chrome(transaction, req.baseUrl), workspaceId, outcome.message, 400);
    res.redirect(303, outcome.url);
  });

  return router;
}
