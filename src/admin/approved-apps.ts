/**
 * The approved list ("Only from approved list") and members' roles of a
 * workspace, as plain rules: each change audited, the last owner kept.
 */
import type { PartnerApp } from '../store/partner-apps.js';
import { isUuid } from '../store/people.js';
import type { Workspace, WorkspaceRole } from '../store/workspaces.js';
import { appFacts, ConsoleError, listWorkspaceConnections, type AppFacts, type ConsoleDeps } from './connections.js';
import type { Actor } from './revocation.js';

export interface ApprovedEntry {
  app: AppFacts;
  addedAt: Date;
  installers: Array<{ grantId: string; personId: string; email: string; name: string }>;
}

export async function approvedList(deps: ConsoleDeps, workspaceId: string): Promise<ApprovedEntry[]> {
  const grants = await deps.grants.listActiveForWorkspace(workspaceId);
  const out: ApprovedEntry[] = [];
  for (const entry of await deps.grants.listApproved(workspaceId)) {
    const app = await deps.partnerApps.findById(entry.appId);
    if (!app) continue;
    out.push({
      app: appFacts(app),
      addedAt: entry.addedAt,
      installers: grants
        .filter((g) => g.appId === app.id)
        .map((g) => ({ grantId: g.id, personId: g.personId, email: g.personEmail, name: g.personName })),
    });
  }
  return out.sort((a, b) => a.app.name.localeCompare(b.app.name));
}

/** "+ Add approved connection" offers only partner apps already installed (an active grant) in this workspace and not yet approved. */
export async function approvableApps(deps: ConsoleDeps, workspaceId: string): Promise<AppFacts[]> {
  const approved = new Set((await deps.grants.listApproved(workspaceId)).map((a) => a.appId));
  return (await listWorkspaceConnections(deps, workspaceId))
    .filter((c) => !approved.has(c.app.id) && c.app.integrationKind === 'public')
    .map((c) => c.app);
}

export async function findAppByClientIdOrId(
  deps: Pick<ConsoleDeps, 'partnerApps'>,
  ref: { clientId?: string; appId?: string },
): Promise<PartnerApp | null> {
  if (ref.appId) return deps.partnerApps.findById(ref.appId);
  if (ref.clientId) return deps.partnerApps.findByClientId(ref.clientId);
  return null;
}

export async function addApprovedApp(
  deps: ConsoleDeps,
  workspace: Workspace,
  app: PartnerApp | null,
  actor: Actor,
): Promise<{ added: boolean }> {
  if (!app) throw new ConsoleError('not_found', 'No such partner app.');
  const offered = await approvableApps(deps, workspace.id);
  const already = await deps.grants.isApproved(workspace.id, app.id);
  if (already) return { added: false };
  if (!offered.some((a) => a.id === app.id)) {
    throw new ConsoleError(
      'invalid',
      `${app.name} is not installed in ${workspace.name}: only connections already installed in this workspace can be approved. Install it first.`,
    );
  }
  const added = await deps.grants.approve(workspace.id, app.id, actor.id, deps.clock.now());
  if (added) {
    await deps.audit.record(
      {
        action: 'approved_app.added',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'partner_app', id: app.id },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: { appName: app.name },
      },
      deps.clock.now(),
    );
  }
  return { added };
}

/** "Remove from approved list": stops new installs by members; existing grants stay unless disconnected. */
export async function removeApprovedApp(
  deps: ConsoleDeps,
  workspace: Workspace,
  app: PartnerApp | null,
  actor: Actor,
): Promise<{ removed: boolean }> {
  if (!app) throw new ConsoleError('not_found', 'No such partner app.');
  const removed = await deps.grants.unapprove(workspace.id, app.id);
  if (removed) {
    await deps.audit.record(
      {
        action: 'approved_app.removed',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'partner_app', id: app.id },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: { appName: app.name },
      },
      deps.clock.now(),
    );
  }
  return { removed };
}

// ---------------------------------------------------------------------------
// Roles

export interface MemberView {
  personId: string;
  email: string;
  name: string;
  role: WorkspaceRole;
}

export async function listMembers(deps: ConsoleDeps, workspaceId: string): Promise<MemberView[]> {
  const out: MemberView[] = [];
  for (const m of await deps.workspaces.listMembers(workspaceId)) {
    if (m.status !== 'active') continue;
    const person = await deps.people.findById(m.personId);
    if (person) out.push({ personId: person.id, email: person.email, name: person.name, role: m.role });
  }
  return out.sort((a, b) => (a.role === b.role ? a.email.localeCompare(b.email) : a.role === 'owner' ? -1 : 1));
}

/** Owners make members owners and take that back; the last owner cannot step down (nor be demoted). */
export async function setMemberRole(
  deps: ConsoleDeps,
  workspace: Workspace,
  personId: string,
  role: WorkspaceRole,
  actor: Actor,
): Promise<{ changed: boolean }> {
  if (!isUuid(personId)) throw new ConsoleError('not_found', `No such member of ${workspace.name}.`);
  const outcome = await deps.workspaces.setRole(workspace.id, personId, role);
  if (outcome === 'not_member') throw new ConsoleError('not_found', `No such member of ${workspace.name}.`);
  if (outcome === 'last_owner')
    throw new ConsoleError('conflict', `${workspace.name} needs at least one owner: make someone else an owner first.`);
  if (outcome === 'changed') {
    await deps.audit.record(
      {
        action: 'workspace_member.role_changed',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'person', id: personId },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: { role },
      },
      deps.clock.now(),
    );
  }
  return { changed: outcome === 'changed' };
}

export async function findMemberByEmail(deps: ConsoleDeps, workspaceId: string, email: string): Promise<string> {
  for (const person of await deps.people.findByEmail(email.toLowerCase())) {
    const membership = await deps.workspaces.membership(workspaceId, person.id);
    if (membership?.status === 'active') return person.id;
  }
  throw new ConsoleError('not_found', 'No member with this email in this workspace.');
}
