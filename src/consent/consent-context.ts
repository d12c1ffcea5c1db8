/**
 * What the consent screen's contracts share (./first-screen.ts,
 * ./picker-routes.ts): their deps, the form schemas, and the steps every
 * handler takes: find this session's open transaction (a request that is gone
 * gets its own page), remember the chosen workspace, and show a refusal on
 * the screen the person was on (./screens.ts).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { contractsFor } from '../http/contract.js';
import { findTransaction, redirectBack, saveTransaction, closeTransaction, type AuthorizationTransaction } from '../oauth/transaction.js';
import { allowAccess, ConsentRefused, MAX_PICKED_PAGES, requireApp, requireOpenTransaction, type AllowInput } from './decide.js';
import type { ApprovalRequestDeps } from './approval-request-routes.js';
import { errorOf, renderFirstScreen, renderPicker, renderRequestGone, type PickerArgs, type ScreenError } from './screens.js';

export interface ConsentRoutesDeps extends ApprovalRequestDeps {
  /** The issuer sent back as `iss` (RFC 9207). */
  publicUrl: string;
}

export const { page } = contractsFor<ConsentRoutesDeps>();

export const PAGE_ID = /^[A-Za-z0-9-]{1,64}$/;

/** The transaction id as the path carries it: any string names a transaction or none (a request that is gone, 400). */
export const transactionParams = z.object({ transactionId: z.string() });

/** A query value the screens read leniently: anything but a string within `max` characters is read as empty. */
export const lenient = (max = 200) => z.preprocess((v) => (typeof v === 'string' && v.length <= max ? v : ''), z.string());

/** Forms the person did not write by hand: one sentence for any that fails its schema. */
export const FORM_NOT_UNDERSTOOD = 'The form could not be understood. Go back, reload and try again.';

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

export const picksForm = z
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

export const allowForm = z.object({ _csrf: csrfField, workspace: workspaceField, capabilities: idList }).strict();
export const cancelForm = z.object({ _csrf: csrfField }).strict();

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

/** The transaction of this session, or a ConsentRefused (400). Its partner's origin may receive this page's forms (CSP form-action). */
export function openTransaction(deps: ConsentRoutesDeps, req: Request, res: Response): AuthorizationTransaction {
  const transaction = requireOpenTransaction(findTransaction(req, String(req.params.transactionId), deps.clock.now()));
  allowFormActionTo(res, new URL(transaction.redirectUri).origin);
  return transaction;
}

/** The open transaction, or null once the page for a request that is gone has been sent. */
export function openOrGone(deps: ConsentRoutesDeps, req: Request, res: Response): AuthorizationTransaction | null {
  try {
    return openTransaction(deps, req, res);
  } catch (err) {
    if (err instanceof ConsentRefused) {
      renderRequestGone(res, err);
      return null;
    }
    throw err;
  }
}

export function rememberWorkspace(req: Request, transaction: AuthorizationTransaction, workspaceId: string): AuthorizationTransaction {
  if (transaction.picks.workspaceId === workspaceId && transaction.status !== 'pending') return transaction;
  const picks = transaction.picks.workspaceId === workspaceId ? transaction.picks : { workspaceId, pageIds: [] };
  const updated: AuthorizationTransaction = { ...transaction, status: 'signed_in', picks };
  saveTransaction(req, updated);
  return updated;
}

export async function firstScreen(
  deps: ConsentRoutesDeps,
  req: Request,
  res: Response,
  transaction: AuthorizationTransaction,
  args: { asked: string; error?: ScreenError; status?: number; capabilities?: readonly string[] | null },
): Promise<void> {
  const app = await requireApp(deps, transaction);
  await renderFirstScreen(deps, req, res, transaction, app, args, (workspaceId) => rememberWorkspace(req, transaction, workspaceId));
}

/**
 * Shows a refusal where the person was: a request that is gone on its own
 * page; the workspace's refusals on the first screen; the pages' on the
 * picker, with the ticks as posted. Anything else goes to the error page.
 */
export async function showRefusal(
  deps: ConsentRoutesDeps,
  req: Request,
  res: Response,
  err: unknown,
  where: { workspaceId: string; capabilities: string[] | null; picker?: Omit<PickerArgs, 'workspaceId' | 'error' | 'status'> },
): Promise<void> {
  if (!(err instanceof ConsentRefused)) throw err;
  if (err.kind === 'transaction_unknown' || err.kind === 'transaction_expired') return renderRequestGone(res, err);
  const transaction = openTransaction(deps, req, res);
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
  await firstScreen(deps, req, res, transaction, {
    asked: err.kind === 'not_member' ? '' : where.workspaceId,
    error: errorOf(err),
    status: err.status,
    capabilities: where.capabilities,
  });
}

/** "Allow access": the rule decides (./decide.ts), then the transaction is closed and the partner gets its code (303). */
export async function finishAllow(
  deps: ConsentRoutesDeps,
  req: Request,
  res: Response,
  input: Omit<AllowInput, 'lookup' | 'person' | 'address'>,
): Promise<void> {
  const person = req.user!;
  const { transaction, code } = await allowAccess(deps, {
    ...input,
    lookup: findTransaction(req, String(req.params.transactionId), deps.clock.now()),
    person: { id: person.id, label: person.email },
    address: req.ip ?? null,
  });
  closeTransaction(req, transaction, 'code_issued');
  res.redirect(303, redirectBack(transaction, deps.publicUrl, { code }));
}
