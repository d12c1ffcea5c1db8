/**
 * Internal integrations: owners only, as in Notion. Plain functions over the
 * stores, called by the pages, the admin JSON API and, through it, the
 * command line.
 *
 * Invariants:
 * - only an active owner of the integration's workspace creates, reads,
 *   connects, disconnects or converts; a member of that workspace is refused
 *   (forbidden), anyone else is told nothing exists (not_found);
 * - the workspace is fixed at creation (to change it, make a new one);
 * - the token (`gh_int_…`) is stored encrypted with AAD `partner_app:<id>`
 *   (retrievable) and as `hashToken(token)` (lookup); every retrieval is an
 *   audit event `internal_integration.token_read`;
 * - a page is connected from the page's side, only from the connecting
 *   owner's own page index, and is reached through that owner's upstream
 *   connection (a person shares only what their own connection reaches);
 *   all pages of one integration go through one owner's connection (the
 *   token resolves to one upstream connection, as a grant does): a second
 *   owner is refused until the first owner's pages are disconnected;
 * - converting to public keeps name, logo, capabilities and pages: each
 *   owner's connected pages become that owner's grant with exactly those
 *   pages; the internal token stops working (public integrations are reached
 *   through OAuth only); the client secret is shown once.
 */
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import { generateToken, hashToken, randomString } from '../crypto/tokens.js';
import type { Capability } from '../oauth/capabilities.js';
import type { AuditEvent, AuditStore } from '../store/audit.js';
import type { ConvertedGrant, InternalIntegration, InternalIntegrationStore } from '../store/internal-integrations.js';
import type { PageIndexStore } from '../store/page-index.js';
import type { Person } from '../store/people.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import { LogoError, type LogoFetcher } from './logo.js';
import { checkCapabilities, checkRedirectUri, NAME_MAX, REDIRECT_URIS_MAX, type Actor } from './partner-apps.js';
import { AdminError } from '../http/refusal.js';

export type InternalIntegrationErrorCode =
  | 'not_found'
  | 'forbidden'
  | 'invalid_name'
  | 'invalid_capabilities'
  | 'invalid_logo'
  | 'invalid_redirect_uri'
  | 'invalid_workspace'
  | 'no_upstream_connection'
  | 'page_not_in_index'
  | 'connected_through_another_owner';

function statusOf(code: InternalIntegrationErrorCode): number {
  if (code === 'not_found') return 404;
  if (code === 'forbidden') return 403;
  return code === 'connected_through_another_owner' || code === 'no_upstream_connection' ? 409 : 400;
}

export class InternalIntegrationError extends AdminError<InternalIntegrationErrorCode> {
  constructor(code: InternalIntegrationErrorCode, message: string) {
    super(code, message, statusOf(code));
    this.name = 'InternalIntegrationError';
  }
}

export interface InternalIntegrationDeps {
  internalIntegrations: InternalIntegrationStore;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  pageIndex: PageIndexStore;
  audit: AuditStore;
  keyring: Keyring;
  clock: Clock;
  fetchLogo: LogoFetcher;
}

/** Who acts: a person (by session or by their own admin token) plus how, for the audit trail. */
export interface Caller {
  person: Person | null;
  actor: Actor;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function tokenAad(appId: string): string {
  return `partner_app:${appId}`;
}

function actorOf(actor: Actor): AuditEvent['actor'] {
  return { type: actor.type, id: actor.id ?? null, label: actor.label ?? null };
}

/** Owner of the workspace, or the refusal that reveals no more than the caller may know. */
export async function requireOwner(
  deps: Pick<InternalIntegrationDeps, 'workspaces'>,
  person: Person | null,
  workspaceId: string,
  what = 'workspace',
): Promise<Person> {
  const membership = person ? await deps.workspaces.membership(workspaceId, person.id) : null;
  if (!person || !membership || membership.status !== 'active')
    throw new InternalIntegrationError('not_found', `There is no such ${what}.`);
  if (membership.role !== 'owner')
    throw new InternalIntegrationError('forbidden', 'Only owners of the workspace manage its internal integrations.');
  return person;
}

/** The integration, if the caller owns its workspace. */
export async function ownedIntegration(
  deps: Pick<InternalIntegrationDeps, 'workspaces' | 'internalIntegrations'>,
  person: Person | null,
  appId: string,
): Promise<{ app: InternalIntegration; owner: Person }> {
  const app = appId.length <= 100 ? await deps.internalIntegrations.findById(appId) : null;
  if (!app) throw new InternalIntegrationError('not_found', 'There is no such internal integration.');
  const owner = await requireOwner(deps, person, app.workspaceId, 'internal integration');
  return { app, owner };
}

/** Workspaces the person owns (for lists and the "New integration" form). */
export async function ownedWorkspaces(deps: Pick<InternalIntegrationDeps, 'workspaces'>, person: Person | null) {
  if (!person) return [];
  return (await deps.workspaces.listForPerson(person.id)).filter((w) => w.role === 'owner');
}

export interface NewIntegrationInput {
  name: string;
  workspaceId: string;
  capabilities: string[];
  logoUrl: string | null;
}

export async function createInternalIntegration(
  deps: InternalIntegrationDeps,
  caller: Caller,
  input: NewIntegrationInput,
): Promise<InternalIntegration> {
  const name = input.name.trim();
  if (name.length < 1 || name.length > NAME_MAX || CONTROL.test(name))
    throw new InternalIntegrationError('invalid_name', `The name must be 1 to ${NAME_MAX} characters, without control characters.`);
  let capabilities: Capability[];
  try {
    capabilities = checkCapabilities(input.capabilities);
  } catch (err) {
    throw new InternalIntegrationError('invalid_capabilities', (err as Error).message);
  }
  if (input.workspaceId.length === 0 || input.workspaceId.length > 100)
    throw new InternalIntegrationError('invalid_workspace', 'Choose a workspace you own.');
  const owner = await requireOwner(deps, caller.person, input.workspaceId);
  const logoUrl = input.logoUrl?.trim() || null;
  let logo = null;
  if (logoUrl !== null) {
    try {
      logo = await deps.fetchLogo(logoUrl);
    } catch (err) {
      if (err instanceof LogoError) throw new InternalIntegrationError('invalid_logo', err.message);
      throw err;
    }
  }
  const token = generateToken('gh_int');
  const app = await deps.internalIntegrations.create(
    {
      name,
      workspaceId: input.workspaceId,
      capabilities,
      logo,
      createdBy: owner.id,
      tokenHash: hashToken(token),
      encrypt: (id) => deps.keyring.encrypt(token, tokenAad(id)),
    },
    deps.clock.now(),
  );
  await deps.audit.record(
    {
      action: 'internal_integration.created',
      actor: actorOf(caller.actor),
      target: { type: 'partner_app', id: app.id },
      workspaceId: app.workspaceId,
      address: caller.actor.address ?? null,
      outcome: 'success',
      detail: { appId: app.id, name: app.name, capabilities: app.capabilities, logo: logo !== null },
    },
    deps.clock.now(),
  );
  return app;
}

/** "Copy internal integration token": decrypts it for an owner; each retrieval is audited. */
export async function readInternalToken(
  deps: InternalIntegrationDeps,
  caller: Caller,
  appId: string,
): Promise<{ app: InternalIntegration; token: string }> {
  const { app } = await ownedIntegration(deps, caller.person, appId);
  const ciphertext = await deps.internalIntegrations.tokenCiphertext(app.id);
  if (!ciphertext) throw new InternalIntegrationError('not_found', 'There is no such internal integration.');
  const token = deps.keyring.decrypt(ciphertext, tokenAad(app.id));
  await deps.audit.record(
    {
      action: 'internal_integration.token_read',
      actor: actorOf(caller.actor),
      target: { type: 'partner_app', id: app.id },
      workspaceId: app.workspaceId,
      address: caller.actor.address ?? null,
      outcome: 'success',
      detail: { appId: app.id },
    },
    deps.clock.now(),
  );
  return { app, token };
}

/** "Add connections" on a page of the owner's own page index. */
export async function connectPage(
  deps: InternalIntegrationDeps,
  caller: Caller,
  args: { workspaceId: string; pageId: string; appId: string },
): Promise<{ app: InternalIntegration; added: boolean }> {
  const owner = await requireOwner(deps, caller.person, args.workspaceId);
  const app = args.appId.length <= 100 ? await deps.internalIntegrations.findById(args.appId) : null;
  // An integration of another workspace is, from this page, one that does not exist.
  if (!app || app.workspaceId !== args.workspaceId)
    throw new InternalIntegrationError('not_found', 'There is no such internal integration in this workspace.');
  const connection = await deps.connections.findForPersonAndWorkspace(owner.id, args.workspaceId);
  if (!connection || connection.status !== 'active')
    throw new InternalIntegrationError(
      'no_upstream_connection',
      'Connect your Notion account to this workspace first: pages are connected through it.',
    );
  if (args.pageId.length > 100 || !(await deps.pageIndex.get(connection.id, args.pageId))) {
    throw new InternalIntegrationError('page_not_in_index', 'This page is not among the pages your Notion connection reaches.');
  }
  const elsewhere = (await deps.internalIntegrations.listPages(app.id)).find((p) => p.connectionId !== connection.id);
  if (elsewhere) {
    throw new InternalIntegrationError(
      'connected_through_another_owner',
      `"${app.name}" reaches its pages through ${elsewhere.connectedByEmail}'s Notion connection: ask them to add this page, or disconnect their pages first.`,
    );
  }
  const added = await deps.internalIntegrations.connectPage(
    { appId: app.id, pageId: args.pageId, connectionId: connection.id, connectedBy: owner.id },
    deps.clock.now(),
  );
  if (added) {
    await deps.audit.record(
      {
        action: 'internal_integration.page_connected',
        actor: actorOf(caller.actor),
        target: { type: 'partner_app', id: app.id },
        workspaceId: app.workspaceId,
        address: caller.actor.address ?? null,
        outcome: 'success',
        detail: { appId: app.id, pageId: args.pageId, connectionId: connection.id },
      },
      deps.clock.now(),
    );
  }
  return { app, added };
}

/** "Disconnect" on the page: any owner of the workspace may take a connection off a page. Idempotent. */
/** Who may take an internal integration off a page, and which one: the checks of `disconnectPage`, for its confirm step too. */
export async function pageDisconnectTarget(
  deps: InternalIntegrationDeps,
  caller: Caller,
  args: { workspaceId: string; appId: string },
): Promise<InternalIntegration> {
  await requireOwner(deps, caller.person, args.workspaceId);
  const app = args.appId.length <= 100 ? await deps.internalIntegrations.findById(args.appId) : null;
  if (!app || app.workspaceId !== args.workspaceId)
    throw new InternalIntegrationError('not_found', 'There is no such internal integration in this workspace.');
  return app;
}

export async function disconnectPage(
  deps: InternalIntegrationDeps,
  caller: Caller,
  args: { workspaceId: string; pageId: string; appId: string },
): Promise<{ app: InternalIntegration; removed: boolean }> {
  const app = await pageDisconnectTarget(deps, caller, args);
  const removed = await deps.internalIntegrations.disconnectPage(app.id, args.pageId);
  if (removed) {
    await deps.audit.record(
      {
        action: 'internal_integration.page_disconnected',
        actor: actorOf(caller.actor),
        target: { type: 'partner_app', id: app.id },
        workspaceId: app.workspaceId,
        address: caller.actor.address ?? null,
        outcome: 'success',
        detail: { appId: app.id, pageId: args.pageId },
      },
      deps.clock.now(),
    );
  }
  return { app, removed };
}

export interface Conversion {
  app: InternalIntegration;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  grants: ConvertedGrant[];
}

/** Convert to public: a client id, a secret (this answer only) and redirect URIs; pages become grants. */
export async function convertToPublic(
  deps: InternalIntegrationDeps,
  caller: Caller,
  appId: string,
  redirectUris: string[],
): Promise<Conversion> {
  const { app } = await ownedIntegration(deps, caller.person, appId);
  if (redirectUris.length < 1 || redirectUris.length > REDIRECT_URIS_MAX)
    throw new InternalIntegrationError('invalid_redirect_uri', `Give 1 to ${REDIRECT_URIS_MAX} redirect URIs.`);
  let checked: string[];
  try {
    checked = redirectUris.map(checkRedirectUri);
  } catch (err) {
    throw new InternalIntegrationError('invalid_redirect_uri', (err as Error).message);
  }
  if (new Set(checked).size !== checked.length)
    throw new InternalIntegrationError('invalid_redirect_uri', 'A redirect URI is listed twice.');
  const clientId = randomString(18);
  const clientSecret = generateToken('gh_cs');
  const grants = await deps.internalIntegrations.convertToPublic(
    { appId: app.id, clientId, clientSecretHash: hashToken(clientSecret), redirectUris: checked },
    deps.clock.now(),
  );
  if (grants === null) throw new InternalIntegrationError('not_found', 'There is no such internal integration.');
  const now = deps.clock.now();
  await deps.audit.record(
    {
      action: 'internal_integration.converted',
      actor: actorOf(caller.actor),
      target: { type: 'partner_app', id: app.id },
      workspaceId: app.workspaceId,
      address: caller.actor.address ?? null,
      outcome: 'success',
      detail: { appId: app.id, clientId, redirectUris: checked, grants: grants.map((g) => g.id) },
    },
    now,
  );
  for (const grant of grants) {
    await deps.audit.record(
      {
        action: 'grant.created',
        actor: actorOf(caller.actor),
        target: { type: 'grant', id: grant.id },
        workspaceId: app.workspaceId,
        address: caller.actor.address ?? null,
        outcome: 'success',
        detail: { appId: app.id, capabilities: app.capabilities, pages: grant.pageIds.length, from: 'internal_integration' },
      },
      now,
    );
  }
  return { app, clientId, clientSecret, redirectUris: checked, grants };
}

// ---------------------------------------------------------------------------
// Wire

export function integrationToWire(app: InternalIntegration & { pageCount?: number }) {
  return {
    id: app.id,
    name: app.name,
    workspace_id: app.workspaceId,
    capabilities: app.capabilities,
    integration_kind: 'internal' as const,
    logo_url: app.hasLogo ? `/apps/${app.id}/logo` : null,
    created_at: app.createdAt.toISOString(),
    ...(app.pageCount !== undefined ? { pages: app.pageCount } : {}),
  };
}
