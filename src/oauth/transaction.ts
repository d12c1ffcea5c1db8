/**
 * The authorisation transaction: explicit state kept in the person's session
 * (so it is bound to that browser), expiring after 10 minutes.
 *
 *   pending ──sign-in──▶ signed_in ──Allow access──▶ consented ──▶ code_issued
 *      │                    │
 *      └──────expired◀──────┴──Cancel──▶ denied
 *
 * A transaction is created by GET /v1/oauth/authorize after the client and
 * redirect URI were checked; every later step re-reads it and refuses it when
 * it is not in the state the step expects.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import type { Capability } from './capabilities.js';

export type TransactionStatus = 'pending' | 'signed_in' | 'consented' | 'code_issued' | 'denied';

export interface AuthorizationTransaction {
  id: string;
  status: TransactionStatus;
  appId: string;
  clientId: string;
  redirectUri: string;
  /** Whether the partner sent redirect_uri (Notion: the token request must then repeat it). */
  redirectUriExplicit: boolean;
  state: string | null;
  codeChallenge: string | null;
  capabilities: Capability[];
  /** RFC 8707 audience the tokens will be bound to; null/absent = the Notion API proxy. */
  resource?: string | null;
  createdAt: number;
  /** The person's choices so far (workspace, ticked pages), kept across the picker's pages. */
  picks: { workspaceId: string | null; pageIds: string[] };
}

declare module 'express-session' {
  interface SessionData {
    authorizations?: Record<string, AuthorizationTransaction>;
  }
}

export const TRANSACTION_LIFETIME_MS = 10 * 60_000;
const MAX_OPEN_TRANSACTIONS = 10;

export function openTransaction(
  req: Request,
  fields: Omit<AuthorizationTransaction, 'id' | 'status' | 'createdAt' | 'picks'>,
  now: Date,
): AuthorizationTransaction {
  const all = req.session.authorizations ?? {};
  // Bounded: a page that opens many authorisations cannot grow the session without limit.
  const open = Object.values(all).sort((a, b) => a.createdAt - b.createdAt);
  while (open.length >= MAX_OPEN_TRANSACTIONS) delete all[open.shift()!.id];
  const transaction: AuthorizationTransaction = {
    ...fields,
    id: randomUUID(),
    status: 'pending',
    createdAt: now.getTime(),
    picks: { workspaceId: null, pageIds: [] },
  };
  all[transaction.id] = transaction;
  req.session.authorizations = all;
  return transaction;
}

export type TransactionLookup =
  { ok: true; transaction: AuthorizationTransaction } | { ok: false; reason: 'unknown' | 'expired' | 'finished' };

/** The transaction of this session, still open. Another person's or browser's id is simply unknown here. */
export function findTransaction(req: Request, id: string, now: Date): TransactionLookup {
  const transaction = req.session.authorizations?.[id];
  if (!transaction) return { ok: false, reason: 'unknown' };
  if (now.getTime() - transaction.createdAt > TRANSACTION_LIFETIME_MS) {
    delete req.session.authorizations![id];
    return { ok: false, reason: 'expired' };
  }
  if (transaction.status === 'code_issued' || transaction.status === 'denied' || transaction.status === 'consented')
    return { ok: false, reason: 'finished' };
  return { ok: true, transaction };
}

export function saveTransaction(req: Request, transaction: AuthorizationTransaction): void {
  req.session.authorizations = { ...(req.session.authorizations ?? {}), [transaction.id]: transaction };
}

export function closeTransaction(req: Request, transaction: AuthorizationTransaction, status: 'code_issued' | 'denied'): void {
  // Finished transactions are dropped: a replayed POST finds nothing.
  const all = { ...(req.session.authorizations ?? {}) };
  delete all[transaction.id];
  req.session.authorizations = all;
  transaction.status = status;
}

/** RFC 6749 §4.1.2 and RFC 9207: the answer goes back with state and iss. */
export function redirectBack(
  transaction: Pick<AuthorizationTransaction, 'redirectUri' | 'state'>,
  issuer: string,
  params: Record<string, string>,
): string {
  const url = new URL(transaction.redirectUri);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  if (transaction.state !== null) url.searchParams.set('state', transaction.state);
  url.searchParams.set('iss', issuer);
  return url.toString();
}
