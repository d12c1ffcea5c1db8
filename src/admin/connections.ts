/**
 * The connections console's rules: who may see and
 * manage a workspace's connections, the connections grouped per partner app,
 * "View users with access", the install policy, the approved list and roles.
 * Plain functions over the stores; ./console-routes.ts maps them to pages and
 * the admin JSON API.
 *
 * Who is who:
 *   - a workspace owner manages their workspace;
 *   - an organisation admin (GATEHOUSE_ADMIN_EMAILS, or the bootstrap admin
 *     token of the command line) acts as an owner of every workspace;
 *   - a member sees only their own grants ("My connections");
 *   - anyone else learns nothing: a workspace they are not in is "not found",
 *     so its id, name and connections never leak.
 */
import type { Clock } from '../clock.js';
import type { AuditStore } from '../store/audit.js';
import type { GrantStore, GrantSummary } from '../store/grants.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { PageIndexStore } from '../store/page-index.js';
import type { PartnerApp, PartnerAppStore } from '../store/partner-apps.js';
import { isUuid, type PeopleStore, type Person } from '../store/people.js';
import type { Workspace, WorkspaceStore } from '../store/workspaces.js';
import type { Actor } from './revocation.js';
import { AdminError } from '../http/refusal.js';

export type ConsoleErrorCode = 'not_found' | 'forbidden' | 'invalid' | 'conflict';

const CONSOLE_STATUS: Record<ConsoleErrorCode, number> = { not_found: 404, forbidden: 403, invalid: 400, conflict: 409 };

export class ConsoleError extends AdminError<ConsoleErrorCode> {
  constructor(code: ConsoleErrorCode, message: string) {
    super(code, message, CONSOLE_STATUS[code]);
    this.name = 'ConsoleError';
  }
}

export interface ConsoleDeps {
  workspaces: WorkspaceStore;
  grants: GrantStore;
  partnerApps: PartnerAppStore;
  people: PeopleStore;
  pageIndex: PageIndexStore;
  audit: AuditStore;
  internalIntegrations: InternalIntegrationStore;
  clock: Clock;
}

/** The caller, as far as these rules care. */
export interface Caller {
  person: Person | null;
  isOrganisationAdmin: boolean;
}

const WORKSPACE_NOT_FOUND = 'No such workspace.';

/** A workspace the caller owns (or, as organisation admin, may manage); members get 403, everyone else 404. */
export async function requireOwnerOf(deps: Pick<ConsoleDeps, 'workspaces'>, caller: Caller, workspaceId: string): Promise<Workspace> {
  const workspace = await deps.workspaces.findById(workspaceId);
  if (!workspace) throw new ConsoleError('not_found', WORKSPACE_NOT_FOUND);
  if (caller.isOrganisationAdmin) return workspace;
  if (!caller.person) throw new ConsoleError('not_found', WORKSPACE_NOT_FOUND);
  const membership = await deps.workspaces.membership(workspaceId, caller.person.id);
  if (!membership || membership.status !== 'active') throw new ConsoleError('not_found', WORKSPACE_NOT_FOUND);
  if (membership.role !== 'owner') throw new ConsoleError('forbidden', `Only owners of ${workspace.name} can do that.`);
  return workspace;
}

/** Workspaces whose console the caller may open: those they own; every workspace for organisation admins. */
export async function manageableWorkspaces(deps: Pick<ConsoleDeps, 'workspaces'>, caller: Caller): Promise<Workspace[]> {
  if (caller.isOrganisationAdmin) return deps.workspaces.listAll();
  if (!caller.person) return [];
  return (await deps.workspaces.listForPerson(caller.person.id)).filter((w) => w.role === 'owner');
}

/** A grant the caller may see and revoke: their own, one in a workspace they own, or any for organisation admins. Otherwise 404. */
export async function requireVisibleGrant(
  deps: Pick<ConsoleDeps, 'workspaces' | 'grants'>,
  caller: Caller,
  grantId: string,
): Promise<{ grantId: string; workspaceId: string; own: boolean }> {
  const grant = await deps.grants.findById(grantId);
  if (!grant) throw new ConsoleError('not_found', 'No such grant.');
  const own = caller.person !== null && grant.personId === caller.person.id;
  if (own || caller.isOrganisationAdmin) return { grantId: grant.id, workspaceId: grant.workspaceId, own };
  if (caller.person) {
    const membership = await deps.workspaces.membership(grant.workspaceId, caller.person.id);
    if (membership?.status === 'active' && membership.role === 'owner') return { grantId: grant.id, workspaceId: grant.workspaceId, own };
  }
  throw new ConsoleError('not_found', 'No such grant.');
}

// ---------------------------------------------------------------------------
// Connections, grouped per partner app

export interface AppFacts {
  id: string;
  name: string;
  clientId: string | null;
  website: string | null;
  supportContact: string | null;
  logoUrl: string | null;
  integrationKind: 'public' | 'internal';
  builtByOrganisation: boolean;
  /** `agent`: an AI agent that registered itself; its name is its own claim. */
  clientKind: 'partner' | 'agent';
}

export function appFacts(app: PartnerApp): AppFacts {
  return {
    id: app.id,
    name: app.name,
    clientId: app.clientId,
    website: app.website,
    supportContact: app.supportContact,
    logoUrl: app.hasLogo ? `/apps/${app.id}/logo` : null,
    integrationKind: app.integrationKind,
    builtByOrganisation: app.builtByOrganisation,
    clientKind: app.clientKind,
  };
}

export interface WorkspaceConnection {
  app: AppFacts;
  approved: boolean;
  /** Oldest first: who added it, and when. */
  grants: GrantSummary[];
}

/** Every active connection of the workspace, one entry per partner app (public and, when they exist, internal). */
export async function listWorkspaceConnections(deps: ConsoleDeps, workspaceId: string): Promise<WorkspaceConnection[]> {
  const grants = await deps.grants.listActiveForWorkspace(workspaceId);
  const approved = new Set((await deps.grants.listApproved(workspaceId)).map((a) => a.appId));
  const byApp = new Map<string, GrantSummary[]>();
  for (const g of grants) (byApp.get(g.appId) ?? byApp.set(g.appId, []).get(g.appId)!).push(g);
  const out: WorkspaceConnection[] = [];
  for (const [appId, list] of byApp) {
    const app = await deps.partnerApps.findById(appId);
    if (!app) continue;
    out.push({
      app: appFacts(app),
      approved: approved.has(appId),
      grants: [...list].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime()),
    });
  }
  return out.sort((a, b) => a.app.name.localeCompare(b.app.name));
}

export interface InternalConnection {
  app: AppFacts;
  createdAt: Date;
  /** The owner who created it (null when that person is gone). */
  createdBy: { id: string; email: string; name: string } | null;
  /** How many pages of the workspace it is connected to, and who connected them. */
  pageCount: number;
  connectedBy: string[];
}

/**
 * The workspace's internal integrations, for "Connections": they hold no
 * grants (their pages are connected from the page's side), so they are
 * listed from their own store, each with who created it, when, and who
 * connected how many pages.
 */
export async function listInternalConnections(deps: ConsoleDeps, workspaceId: string): Promise<InternalConnection[]> {
  const out: InternalConnection[] = [];
  for (const integration of await deps.internalIntegrations.listForWorkspaces([workspaceId])) {
    const app = await deps.partnerApps.findById(integration.id);
    if (!app) continue;
    const creator = integration.createdBy ? await deps.people.findById(integration.createdBy) : null;
    const pages = await deps.internalIntegrations.listPages(integration.id);
    out.push({
      app: appFacts(app),
      createdAt: integration.createdAt,
      createdBy: creator ? { id: creator.id, email: creator.email, name: creator.name } : null,
      pageCount: pages.length,
      connectedBy: [...new Set(pages.map((p) => p.connectedByEmail))].sort(),
    });
  }
  return out.sort((a, b) => a.app.name.localeCompare(b.app.name) || a.createdAt.getTime() - b.createdAt.getTime());
}

/** An internal integration of this workspace, or not found (an integration of another workspace is, from here, one that does not exist). */
export async function requireInternalIntegrationOf(deps: Pick<ConsoleDeps, 'internalIntegrations'>, workspace: Workspace, appId: string) {
  const app = isUuid(appId) ? await deps.internalIntegrations.findById(appId) : null;
  if (!app || app.workspaceId !== workspace.id)
    throw new ConsoleError('not_found', 'There is no such internal integration in this workspace.');
  return app;
}

export interface UserWithAccess {
  grantId: string;
  person: { id: string; email: string; name: string };
  pages: Array<{ id: string; title: string }>;
  capabilities: string[];
  addedAt: Date;
}

/**
 * "View users with access": who authorised the app, on which pages (titles
 * from that person's own page index: the pages are theirs), with which
 * capabilities. `personId` filters to one person.
 */
export async function usersWithAccess(
  deps: ConsoleDeps,
  workspaceId: string,
  appId: string,
  personId?: string,
): Promise<{ app: AppFacts; users: UserWithAccess[]; installers: Array<{ id: string; email: string }> }> {
  const app = await deps.partnerApps.findById(appId);
  const all = (await deps.grants.listActiveForWorkspace(workspaceId)).filter((g) => g.appId === appId);
  if (!app || (all.length === 0 && !(await deps.grants.isApproved(workspaceId, appId))))
    throw new ConsoleError('not_found', 'This connection is not in this workspace.');
  const chosen = personId ? all.filter((g) => g.personId === personId) : all;
  const users: UserWithAccess[] = [];
  for (const g of chosen.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())) {
    const titles = await deps.pageIndex.titles(g.upstreamConnectionId, g.pageIds);
    users.push({
      grantId: g.id,
      person: { id: g.personId, email: g.personEmail, name: g.personName },
      pages: g.pageIds.map((id) => ({ id, title: titles.get(id) ?? 'Page no longer shared' })),
      capabilities: g.capabilities,
      addedAt: g.createdAt,
    });
  }
  return { app: appFacts(app), users, installers: all.map((g) => ({ id: g.personId, email: g.personEmail })) };
}

// ---------------------------------------------------------------------------
// Install policy

export interface InstallPolicy {
  installPolicy: Workspace['installPolicy'];
  autoApproveOrganisation: boolean;
}

export async function setInstallPolicy(deps: ConsoleDeps, workspace: Workspace, policy: InstallPolicy, actor: Actor): Promise<Workspace> {
  const updated = await deps.workspaces.setPolicy(workspace.id, policy);
  if (!updated) throw new ConsoleError('not_found', WORKSPACE_NOT_FOUND);
  if (updated.installPolicy !== workspace.installPolicy || updated.autoApproveOrganisation !== workspace.autoApproveOrganisation) {
    await deps.audit.record(
      {
        action: 'workspace.policy_changed',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'workspace', id: workspace.id },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: {
          installPolicy: updated.installPolicy,
          autoApproveOrganisation: updated.autoApproveOrganisation,
          before: { installPolicy: workspace.installPolicy, autoApproveOrganisation: workspace.autoApproveOrganisation },
        },
      },
      deps.clock.now(),
    );
  }
  return updated;
}

// The approved list and members' roles live beside, re-exported for this module's importers.
export * from './approved-apps.js';
