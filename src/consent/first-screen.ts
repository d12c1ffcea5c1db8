/**
 * The consent screen's first page and its buttons, as page contracts in the
 * session-page zone (a signed-in person; CSRF checked before every zone):
 *
 *   GET  /consent/:transactionId[?workspace=]     who asks, for what; the "Workspace" select
 *   POST /consent/:transactionId/cancel           303 to the partner with error=access_denied
 *   POST /consent/:transactionId/switch-account   sign out, keep the request, sign in again
 *   POST /consent/:transactionId/allow            re-authorisation from the first screen, keeping the grant's pages
 */
import type { Request } from 'express';
import { closeTransaction, redirectBack, saveTransaction } from '../oauth/transaction.js';
import {
  allowForm,
  cancelForm,
  finishAllow,
  firstScreen,
  FORM_NOT_UNDERSTOOD,
  lenient,
  openOrGone,
  openTransaction,
  page,
  showRefusal,
  transactionParams,
} from './consent-context.js';
import { z } from 'zod';

export const consentScreen = page(
  {
    zone: 'session-page',
    name: 'consentPage',
    method: 'get',
    path: '/consent/:transactionId',
    summary: 'The consent screen: the partner, the capabilities it asks for, the "Workspace" select',
    params: transactionParams,
    query: z.object({ workspace: lenient(100) }),
    answer: 'html',
    audit: { none: 'a page' },
  },
  async ({ query }, { req, res }, deps) => {
    const transaction = openOrGone(deps, req, res);
    if (!transaction) return;
    await firstScreen(deps, req, res, transaction, { asked: query.workspace });
  },
);

export const cancelConsent = page(
  {
    zone: 'session-page',
    name: 'cancelConsent',
    method: 'post',
    path: '/consent/:transactionId/cancel',
    summary: '"Cancel": the partner hears access_denied',
    params: transactionParams,
    body: cancelForm,
    invalidBody: FORM_NOT_UNDERSTOOD,
    answer: 'redirect',
    audit: 'grant.denied',
  },
  async (_input, { req, res }, deps) => {
    const transaction = openOrGone(deps, req, res);
    if (!transaction) return;
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
      deps.clock.now(),
    );
    // RFC 6749 §4.1.2.1 and RFC 9207; RFC 9700 §4.12: 303 after a form post.
    res.redirect(303, redirectBack(transaction, deps.publicUrl, { error: 'access_denied' }));
  },
);

const logOutKeepingSession = (req: Request) =>
  new Promise<void>((resolve, reject) => req.logout({ keepSessionInfo: true }, (err) => (err ? reject(err) : resolve())));

/**
 * "Use another account": signs out but keeps this browser's open requests
 * (passport's keepSessionInfo), so the person who signs in next decides;
 * the workspace and ticks chosen by the one before are forgotten.
 */
export const switchAccount = page(
  {
    zone: 'session-page',
    name: 'switchConsentAccount',
    method: 'post',
    path: '/consent/:transactionId/switch-account',
    summary: '"Use another account": sign out, keep the request for the next sign-in',
    params: transactionParams,
    body: cancelForm,
    invalidBody: FORM_NOT_UNDERSTOOD,
    answer: 'redirect',
    audit: { none: 'signs out and keeps the request for the next sign-in' },
  },
  async (_input, { req, res }, deps) => {
    const transaction = openOrGone(deps, req, res);
    if (!transaction) return;
    saveTransaction(req, { ...transaction, status: 'pending', picks: { workspaceId: null, pageIds: [] } });
    await logOutKeepingSession(req);
    const back = `/consent/${encodeURIComponent(transaction.id)}`;
    res.redirect(303, `/auth/sign-in?prompt=login&return_to=${encodeURIComponent(back)}`);
  },
);

export const allowFromFirstScreen = page(
  {
    zone: 'session-page',
    name: 'allowConsent',
    method: 'post',
    path: '/consent/:transactionId/allow',
    summary: '"Allow access" from the first screen: a re-authorisation keeping the grant\'s pages',
    params: transactionParams,
    body: allowForm,
    invalidBody: FORM_NOT_UNDERSTOOD,
    answer: 'redirect',
    audit: ['grant.created', 'grant.changed', 'code.issued', 'consent.refused'],
  },
  async ({ body }, { req, res }, deps) => {
    const capabilities = body.capabilities ?? null;
    try {
      openTransaction(deps, req, res);
      await finishAllow(deps, req, res, { workspaceId: body.workspace, pages: { kind: 'keep_existing' }, capabilities });
    } catch (err) {
      await showRefusal(deps, req, res, err, { workspaceId: body.workspace, capabilities });
    }
  },
);
