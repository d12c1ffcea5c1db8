/**
 * The consent flow's screens as view models: the first screen (who asks,
 * for what, which workspace), the page picker, and the page for a request
 * that is gone. A refusal is shown on the screen the person was on, with
 * an error summary and every choice kept (workspace, ticks, capabilities),
 * and "Cancel" still there to send `access_denied` back to the partner;
 * only a request that is gone (expired, finished, never opened here) cannot
 * go back to the partner, and its page says so.
 */
import type { Request, Response } from 'express';
import { renderPage } from '../http/views.js';
import { CAPABILITY_LABELS, isCapability, isSubset, type Capability } from '../oauth/capabilities.js';
import type { AuthorizationTransaction } from '../oauth/transaction.js';
import type { PartnerApp } from '../store/partner-apps.js';
import { activeGrantFor, checkConnectPolicy, type ConsentDeps, type ConsentRefused } from './decide.js';
import { buildPicker } from './picker.js';

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

export function appModel(app: PartnerApp) {
  return {
    name: app.name,
    logoUrl: app.hasLogo ? `/apps/${encodeURIComponent(app.id)}/logo` : null,
    website: websiteOf(app),
    agent: agentModel(app),
  };
}

/**
 * The capabilities the screen shows and posts again: those the person's last
 * form posted when they are a subset of what was asked (kept after a
 * refusal), else what was asked.
 */
export function capabilityModel(transaction: AuthorizationTransaction, posted?: readonly string[] | null) {
  const kept =
    posted && posted.length > 0 && posted.every(isCapability) && isSubset(posted, transaction.capabilities)
      ? (posted as Capability[])
      : transaction.capabilities;
  return kept.map((name) => ({ name, label: CAPABILITY_LABELS[name] }));
}

/** The error summary at the top of a screen. */
export interface ScreenError {
  message: string;
  kind: string;
}

export const errorOf = (err: ConsentRefused): ScreenError => ({ message: err.message, kind: err.kind });

const firstScreenHref = (transaction: AuthorizationTransaction, workspaceId: string | null) =>
  `/consent/${encodeURIComponent(transaction.id)}${workspaceId ? `?workspace=${encodeURIComponent(workspaceId)}` : ''}`;

export async function renderFirstScreen(
  deps: ConsentDeps,
  req: Request,
  res: Response,
  transaction: AuthorizationTransaction,
  app: PartnerApp,
  args: { asked: string; error?: ScreenError; status?: number; capabilities?: readonly string[] | null },
  remember: (workspaceId: string) => AuthorizationTransaction,
): Promise<void> {
  const person = req.user!;
  const workspaces = await deps.workspaces.listForPerson(person.id);
  const chosen =
    workspaces.find((w) => w.id === args.asked) ?? workspaces.find((w) => w.id === transaction.picks.workspaceId) ?? workspaces[0] ?? null;

  let screen:
    | { state: 'none' }
    | { state: 'refused'; reason: string }
    | { state: 'needs_connection' }
    | { state: 'ready'; reauthPages: number | null } = { state: 'none' };
  if (chosen) {
    transaction = remember(chosen.id);
    const policy = await checkConnectPolicy(deps, {
      workspaceId: chosen.id,
      personId: person.id,
      app,
      redirectUri: transaction.redirectUri,
    });
    const connection = await deps.connections.findForPersonAndWorkspace(person.id, chosen.id);
    if (!policy.allowed) screen = { state: 'refused', reason: policy.reason };
    else if (!connection || connection.status !== 'active') screen = { state: 'needs_connection' };
    else {
      const grant = await activeGrantFor(deps, person.id, app.id, chosen.id);
      screen = { state: 'ready', reauthPages: grant ? grant.pageIds.length : null };
    }
  }
  // A policy refusal is already the screen's own message: the summary does not say it twice.
  const error = args.error && !(screen.state === 'refused' && args.error.message === screen.reason) ? args.error : null;
  renderPage(
    res,
    'consent',
    {
      title: `${app.name} wants to access your workspace`,
      transactionId: transaction.id,
      app: appModel(app),
      returnsTo: new URL(transaction.redirectUri).host,
      capabilities: capabilityModel(transaction, args.capabilities),
      signedInAs: { name: person.name, email: person.email },
      workspaces: workspaces.map((w) => ({ id: w.id, name: w.name, selected: w.id === chosen?.id })),
      chosen: chosen ? { id: chosen.id, name: chosen.name } : null,
      screen,
      error,
      returnTo: chosen ? firstScreenHref(transaction, chosen.id) : null,
    },
    args.status ?? 200,
  );
}

export interface PickerArgs {
  workspaceId: string;
  query: string;
  parentId: string | null;
  offset: number;
  /** The ticks to show when they differ from the transaction's (a refused post's, not saved). */
  picked?: readonly string[];
  capabilities?: readonly string[] | null;
  error?: ScreenError;
  status?: number;
}

/** The picker, for a workspace the caller has checked already (member, policy, active connection). */
export async function renderPicker(
  deps: ConsentDeps,
  res: Response,
  transaction: AuthorizationTransaction,
  app: PartnerApp,
  connection: { id: string; indexState: string },
  args: PickerArgs,
): Promise<void> {
  const workspace = (await deps.workspaces.findById(args.workspaceId))!;
  const picked = args.picked ?? (transaction.picks.workspaceId === args.workspaceId ? transaction.picks.pageIds : []);
  const picker = await buildPicker(
    deps.pageIndex,
    connection.id,
    { query: args.query, parentId: args.parentId, offset: args.offset },
    new Set(picked),
  );
  const indexing = connection.indexState === 'pending' || connection.indexState === 'running';
  renderPage(
    res,
    'consent-pages',
    {
      title: `Select pages in ${workspace.name}`,
      transactionId: transaction.id,
      app: appModel(app),
      workspace: { id: workspace.id, name: workspace.name },
      capabilities: capabilityModel(transaction, args.capabilities),
      picker,
      pickedCount: new Set(picked).size,
      indexing: indexing ? { count: picker.total } : null,
      // Refresh only while nothing is listed yet: a refresh would lose ticks not yet posted.
      autoRefresh: indexing && picker.total === 0 && !args.error,
      error: args.error ?? null,
      backHref: firstScreenHref(transaction, args.workspaceId),
    },
    args.status ?? 200,
  );
}

/** The request is gone (expired, finished, never opened in this browser): nothing can go back to the partner from here. */
export function renderRequestGone(res: Response, err: ConsentRefused): void {
  renderPage(
    res,
    'consent-gone',
    {
      title: err.kind === 'transaction_expired' ? 'This request expired' : 'This request is no longer open',
      message: err.message,
      kind: err.kind,
    },
    err.status,
  );
}
