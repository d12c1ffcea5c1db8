/**
 * Rules of the sandbox's own authorisation page (Notion's consent screen and
 * page picker, imitated). The transaction is explicit state:
 *
 *   pending ──sign in──▶ signed_in ──Allow access──▶ code_issued
 *      │                    │
 *      └──────Cancel────────┴──────────────────────▶ denied
 *   (any state older than 30 minutes is expired and forgotten)
 *
 * RFC 6749 §4.1.2.1: while client_id or redirect_uri is unverified, errors are
 * shown on the page, never redirected; after that they go back to the client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { liveChildren, pageTitle, plainText } from './content.js';
import { issueCode, opaqueToken } from './grants.js';
import { newId, normalizeId } from './ids.js';
import { topLevelIds } from './reach.js';
import { hashSecret } from './seed.js';
import type { AuthorizeTransactionRecord, PersonRecord, SandboxState, WorkspaceRecord } from './state.js';

export const TRANSACTION_LIFETIME_MS = 30 * 60 * 1000;

export type StartOutcome =
  | { kind: 'transaction'; transaction: AuthorizeTransactionRecord }
  | { kind: 'error_page'; message: string }
  | { kind: 'redirect'; url: string };

/** Appends parameters to a redirect URI, keeping its own query (RFC 6749 §3.1.2). */
export function redirectWith(uri: string, params: Record<string, string>): string {
  const url = new URL(uri);
  for (const [name, value] of Object.entries(params)) url.searchParams.append(name, value);
  return url.toString();
}

export function startTransaction(state: SandboxState, query: Record<string, unknown>, now: Date): StartOutcome {
  const single = (name: string): string | undefined | null => {
    const value = query[name];
    if (value === undefined) return undefined;
    return typeof value === 'string' ? value : null; // null: repeated or malformed
  };
  const clientId = single('client_id');
  if (!clientId) return { kind: 'error_page', message: 'The request is missing a valid client_id.' };
  const client = state.oauthClients[clientId];
  if (!client) return { kind: 'error_page', message: 'This integration is unknown to sandbox Notion.' };
  const redirectParam = single('redirect_uri');
  if (redirectParam === null) return { kind: 'error_page', message: 'redirect_uri must appear at most once.' };
  let redirectUri: string;
  if (redirectParam !== undefined) {
    if (!client.redirectUris.includes(redirectParam))
      return { kind: 'error_page', message: 'redirect_uri is not registered for this integration.' };
    redirectUri = redirectParam;
  } else if (client.redirectUris.length === 1) {
    redirectUri = client.redirectUris[0];
  } else {
    return { kind: 'error_page', message: 'redirect_uri is required: this integration registers several.' };
  }
  const stateParam = single('state');
  const back = (error: string, description: string): StartOutcome => ({
    kind: 'redirect',
    url: redirectWith(redirectUri, {
      error,
      error_description: description,
      ...(typeof stateParam === 'string' ? { state: stateParam } : {}),
    }),
  });
  if (stateParam === null) return back('invalid_request', 'state must appear at most once.');
  const responseType = single('response_type');
  if (responseType === undefined || responseType === null) return back('invalid_request', 'response_type is required.');
  if (responseType !== 'code') return back('unsupported_response_type', 'Only response_type=code is supported.');
  const owner = single('owner');
  if (owner !== undefined && owner !== 'user') return back('invalid_request', 'owner must be "user".');
  const transaction: AuthorizeTransactionRecord = {
    id: newId(),
    status: 'pending',
    clientId,
    redirectUri,
    redirectUriSent: redirectParam !== undefined,
    state: stateParam ?? null,
    formToken: opaqueToken('nform'),
    createdAt: now.toISOString(),
  };
  state.transactions[transaction.id] = transaction;
  return { kind: 'transaction', transaction };
}

export function findTransaction(state: SandboxState, rawId: string, now: Date): AuthorizeTransactionRecord | null {
  pruneExpired(state, now);
  const id = normalizeId(rawId);
  return id === null ? null : (state.transactions[id] ?? null);
}

function pruneExpired(state: SandboxState, now: Date): void {
  for (const [id, transaction] of Object.entries(state.transactions))
    if (Date.parse(transaction.createdAt) + TRANSACTION_LIFETIME_MS <= now.getTime()) delete state.transactions[id];
  for (const [hash, code] of Object.entries(state.codes)) if (Date.parse(code.expiresAt) <= now.getTime()) delete state.codes[hash];
}

export function isOpen(transaction: AuthorizeTransactionRecord): boolean {
  return transaction.status === 'pending' || transaction.status === 'signed_in';
}

export function checkFormToken(transaction: AuthorizeTransactionRecord, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(transaction.formToken));
}

/** Checks the demo password; on success a new session token for the cookie (its hash is kept). */
export function signIn(
  state: SandboxState,
  email: unknown,
  password: unknown,
  now: Date,
): { person: PersonRecord; sessionToken: string } | null {
  if (typeof email !== 'string' || typeof password !== 'string') return null;
  const person = state.persons.find((p) => p.email.toLowerCase() === email.trim().toLowerCase());
  if (!person || person.passwordHash !== hashSecret(password)) return null;
  const sessionToken = opaqueToken('nsid');
  state.sessions[hashSecret(sessionToken)] = { personId: person.id, createdAt: now.toISOString() };
  return { person, sessionToken };
}

export function sessionPerson(state: SandboxState, sessionToken: string | undefined): PersonRecord | null {
  if (!sessionToken) return null;
  const session = state.sessions[hashSecret(sessionToken)];
  return session ? (state.persons.find((p) => p.id === session.personId) ?? null) : null;
}

export function markSignedIn(transaction: AuthorizeTransactionRecord): void {
  if (transaction.status === 'pending') transaction.status = 'signed_in';
}

export function workspacesOf(state: SandboxState, personId: string): WorkspaceRecord[] {
  return state.workspaces.filter((w) => w.memberIds.includes(personId));
}

export function denyTransaction(transaction: AuthorizeTransactionRecord): string {
  transaction.status = 'denied';
  // Notion's documented cancel redirect: error=access_denied&state=… (the state is echoed as RFC 6749 §4.1.2.1 requires).
  return redirectWith(transaction.redirectUri, { error: 'access_denied', state: transaction.state ?? '' });
}

export interface PickerNode {
  id: string;
  title: string;
  kind: 'page' | 'database';
  children: PickerNode[];
}

/** Pages and databases a person can pick: top-level ones with their sub-pages (database rows are not listed). */
export function pickerTree(state: SandboxState, workspaceId: string): PickerNode[] {
  const node = (id: string): PickerNode | null => {
    const page = state.pages[id];
    if (page) {
      const children = liveChildren(state, id)
        .map(node)
        .filter((n): n is PickerNode => n !== null);
      return { id, title: pageTitle(page) || 'Untitled', kind: 'page', children };
    }
    const database = state.databases[id];
    if (database && !database.inTrash) return { id, title: plainText(database.title) || 'Untitled', kind: 'database', children: [] };
    return null;
  };
  return topLevelIds(state, workspaceId)
    .map(node)
    .filter((n): n is PickerNode => n !== null);
}

export type ApproveOutcome = { kind: 'redirect'; url: string } | { kind: 'invalid'; message: string };

export function approveTransaction(
  state: SandboxState,
  transaction: AuthorizeTransactionRecord,
  person: PersonRecord,
  workspaceId: string,
  rawPageIds: string[],
  now: Date,
): ApproveOutcome {
  if (transaction.status !== 'signed_in') return { kind: 'invalid', message: 'Sign in before allowing access.' };
  const workspace = workspacesOf(state, person.id).find((w) => w.id === workspaceId);
  if (!workspace) return { kind: 'invalid', message: 'Choose one of your workspaces.' };
  const pickable = new Set<string>();
  const collect = (nodes: PickerNode[]) => nodes.forEach((n) => (pickable.add(n.id), collect(n.children)));
  collect(pickerTree(state, workspace.id));
  const pageIds = [...new Set(rawPageIds.map((raw) => normalizeId(raw)))];
  if (pageIds.some((id) => id === null || !pickable.has(id))) return { kind: 'invalid', message: 'Pick pages of the chosen workspace.' };
  const code = issueCode(state, {
    clientId: transaction.clientId,
    redirectUri: transaction.redirectUriSent ? transaction.redirectUri : null,
    personId: person.id,
    workspaceId: workspace.id,
    pageIds: pageIds as string[],
    now,
  });
  transaction.status = 'code_issued';
  return {
    kind: 'redirect',
    url: redirectWith(transaction.redirectUri, { code, ...(transaction.state !== null ? { state: transaction.state } : {}) }),
  };
}
