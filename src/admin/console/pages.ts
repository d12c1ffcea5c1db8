/**
 * The console's pages: "My connections" (any signed-in person), and for
 * workspace owners "Connections" and "View users with access". Pages work
 * without JavaScript: every row action is a visible button in a form
 * carrying `_csrf` (./page-actions.ts), answered 303.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import { forbidden } from '../../http/errors.js';
import { renderPage } from '../../http/views.js';
import { CAPABILITY_LABELS, isCapability } from '../../oauth/capabilities.js';
import type { Workspace } from '../../store/workspaces.js';
import { webhookRecipientRows } from '../../webhooks/workspace-recipients.js';
import { budgetUsageRows } from '../budget-usage.js';
import {
  approvableApps,
  approvedList,
  listInternalConnections,
  listMembers,
  listWorkspaceConnections,
  manageableWorkspaces,
  usersWithAccess,
} from '../connections.js';
import { agentPolicySection } from './agent-policy.js';
import { askOwners, requireOwnerPage } from './owners-refusal.js';
import { ID, ids, optionalId, page, pageCaller, type ConsoleContext } from './context.js';

const dateText = (d: Date) => d.toISOString().slice(0, 10);
export const capabilityText = (caps: string[]) => caps.map((c) => (isCapability(c) ? CAPABILITY_LABELS[c] : c)).join(', ');
const safeLink = (url: string | null) => (url && /^https?:\/\//i.test(url) ? url : null);
const contactLink = (contact: string | null) =>
  contact === null ? null : /^https?:\/\//i.test(contact) ? contact : /^[^\s@<>]+@[^\s@<>]+$/.test(contact) ? `mailto:${contact}` : null;

// Notices and errors after a 303, by key: the URL never carries free text.
const NOTICES: Record<string, string> = {
  revoked: "Access revoked. The partner's tokens stopped working at once.",
  disconnected: 'Connection disconnected for every user in this workspace.',
  policy: 'Install policy saved.',
  approved: 'Added to the approved list.',
  unapproved: 'Removed from the approved list. Existing connections stay until disconnected.',
  role: 'Role changed.',
  integration_disconnected: 'Internal integration disconnected from every page of this workspace. Its token reaches nothing now.',
  workspace_disconnected:
    'Workspace disconnected from Gatehouse: every Notion connection to it was removed and every connection in it revoked.',
};
const ERRORS: Record<string, string> = {
  last_owner: 'A workspace needs at least one owner: make someone else an owner first.',
  not_installed: 'Only connections already installed in this workspace can be approved.',
};

function noticeOf(req: Request): string | null {
  const key = req.query.notice;
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? NOTICES[key]! : null;
}
function errorOf(req: Request): string | null {
  const key = req.query.error;
  return typeof key === 'string' && Object.hasOwn(ERRORS, key) ? ERRORS[key]! : null;
}

export const myConnectionsPage = page(
  {
    zone: 'session-page',
    name: 'myConnectionsPage',
    method: 'get',
    path: '/connections/mine',
    summary: '"My connections": the person\'s own grants',
    answer: 'html',
    audit: { none: 'a read' },
  },
  async (_input, { req, res }, { stores }) => {
    const grants = await stores.grants.listActiveForPerson(req.user!.id);
    const rows = [];
    for (const g of grants) {
      const titles = await stores.pageIndex.titles(g.upstreamConnectionId, g.pageIds);
      rows.push({
        id: g.id,
        app: g.appName,
        agent: (await stores.partnerApps.findById(g.appId))?.clientKind === 'agent',
        workspace: g.workspaceName,
        capabilities: capabilityText(g.capabilities),
        pages: g.pageIds.map((id) => titles.get(id) ?? 'Page no longer shared'),
        added: dateText(g.createdAt),
      });
    }
    renderPage(res, 'connections-mine', { title: 'My connections', grants: rows, notice: noticeOf(req) });
  },
);

export const connectionsPage = page(
  {
    zone: 'owner',
    name: 'connectionsPage',
    method: 'get',
    path: '/connections',
    summary: '"Connections" (owners): connections, policy, approved list, roles',
    query: z.looseObject({ workspace: z.preprocess((v) => (typeof v === 'string' ? v : undefined), z.string().optional()) }),
    answer: 'html',
    audit: { none: 'a read' },
  },
  async ({ query }, { req, res }, deps) => {
    const caller = pageCaller(req, deps);
    const workspaces = await manageableWorkspaces(deps.rules, caller);
    if (workspaces.length === 0) {
      const mine = await deps.stores.workspaces.listForPerson(req.user!.id);
      const owners = (await Promise.all(mine.map((w) => askOwners(deps, w)))).join('');
      throw forbidden(
        `Only workspace owners see every connection of a workspace. Your own connections are under "My connections".${owners}`,
      );
    }
    const wanted = query.workspace;
    // A workspace outside the list: 403 for its members, 404 for everyone else (requireOwnerOf decides).
    const current = wanted
      ? (workspaces.find((w) => w.id === wanted) ?? (await requireOwnerPage(deps, req, ID.test(wanted) ? wanted : '-')))
      : workspaces[0]!;
    await renderConsole(req, res, deps, current, workspaces);
  },
);

async function renderConsole(req: Request, res: Response, deps: ConsoleContext, workspace: Workspace, workspaces: Workspace[]) {
  const { rules, stores } = deps;
  const here = `/connections?workspace=${encodeURIComponent(workspace.id)}`;
  const ws = encodeURIComponent(workspace.id);
  const usersHref = (appId: string) => `/connections/${ws}/apps/${appId}`;
  const connections = await listWorkspaceConnections(rules, workspace.id);
  const internal = await listInternalConnections(rules, workspace.id);
  const approved = await approvedList(rules, workspace.id);
  const approvable = await approvableApps(rules, workspace.id);
  const members = await listMembers(rules, workspace.id);
  const owners = members.filter((m) => m.role === 'owner').length;
  const budget = await budgetUsageRows(
    deps,
    workspace.id,
    [...connections, ...internal].map((c) => c.app),
  );
  renderPage(res, 'connections', {
    budget,
    webhookRecipients: await webhookRecipientRows(
      stores.webhookSubscriptions,
      connections.map((c) => c.app),
    ),
    title: 'Connections',
    organisationName: deps.config.organisationName,
    notice: noticeOf(req),
    error: errorOf(req),
    here,
    workspaces: workspaces.map((w) => ({
      id: w.id,
      name: w.name,
      href: `/connections?workspace=${encodeURIComponent(w.id)}`,
      current: w.id === workspace.id,
    })),
    workspace: { id: workspace.id, name: workspace.name },
    connections: connections.map((c) => ({
      app: { ...c.app, website: safeLink(c.app.website), supportHref: contactLink(c.app.supportContact) },
      approved: c.approved,
      addedBy: c.grants.map((g) => ({ email: g.personEmail, name: g.personName, added: dateText(g.createdAt) })),
      usersHref: usersHref(c.app.id),
      disconnectAction: `/connections/${ws}/apps/${c.app.id}/disconnect`,
    })),
    internal: internal.map((c) => ({
      app: { ...c.app, website: safeLink(c.app.website), supportHref: contactLink(c.app.supportContact) },
      createdBy: c.createdBy?.email ?? 'a former owner',
      created: dateText(c.createdAt),
      pages: c.pageCount === 1 ? '1 page' : `${c.pageCount} pages`,
      connectedBy: c.connectedBy.join(', '),
      href: `/integrations/${c.app.id}`,
      disconnectAction: c.pageCount > 0 ? `/connections/${ws}/integrations/${c.app.id}/disconnect` : null,
    })),
    disconnectWorkspaceAction: `/connections/${ws}/disconnect`,
    // Nobody's Notion account reaches it any more ("Disconnect workspace from Gatehouse", or each person's own "Disconnect").
    disconnected: (await stores.connections.listForWorkspace(workspace.id)).every((c) => c.status === 'disconnected'),
    policy: {
      approvedOnly: workspace.installPolicy === 'approved_only',
      autoApprove: workspace.autoApproveOrganisation,
      action: `/connections/${ws}/policy`,
    },
    approved: approved.map((e) => ({
      app: e.app,
      usersHref: usersHref(e.app.id),
      installers: e.installers.map((i) => ({
        email: i.email,
        personId: i.personId,
        revokeAction: `/connections/${ws}/grants/${i.grantId}/revoke`,
      })),
      disconnectAction: `/connections/${ws}/apps/${e.app.id}/disconnect`,
      removeAction: `/connections/${ws}/approved/${e.app.id}/remove`,
    })),
    agentPolicy: await agentPolicySection(deps, workspace, req),
    approvable: approvable.map((a) => ({ id: a.id, name: a.name })),
    approveAction: `/connections/${ws}/approved`,
    members: members.map((m) => ({
      ...m,
      action: `/connections/${ws}/members/${m.personId}/role`,
      canPromote: m.role === 'member',
      canDemote: m.role === 'owner' && owners > 1,
    })),
  });
}

export const usersWithAccessPage = page(
  {
    zone: 'owner',
    name: 'usersWithAccessPage',
    method: 'get',
    path: '/connections/:workspace_id/apps/:app_id',
    summary: '"View users with access"',
    params: ids('workspace_id', 'app_id'),
    query: z.looseObject({ person: optionalId }),
    answer: 'html',
    audit: { none: 'a read' },
  },
  async ({ params, query }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const person = query.person;
    const { app, users, installers } = await usersWithAccess(deps.rules, workspace.id, params.app_id, person);
    const ws = encodeURIComponent(workspace.id);
    const here = `/connections/${ws}/apps/${app.id}${person ? `?person=${person}` : ''}`;
    const approved = await deps.stores.grants.isApproved(workspace.id, app.id);
    renderPage(res, 'connections-users', {
      title: `Users with access to ${app.name}`,
      notice: noticeOf(req),
      here,
      back: `/connections?workspace=${ws}`,
      workspace: { id: workspace.id, name: workspace.name },
      app: { ...app, website: safeLink(app.website), supportHref: contactLink(app.supportContact) },
      approved,
      filter: {
        action: `/connections/${ws}/apps/${app.id}`,
        people: [...new Map(installers.map((i) => [i.id, i])).values()].map((i) => ({ ...i, selected: i.id === person })),
      },
      users: users.map((u) => ({
        email: u.person.email,
        name: u.person.name,
        pages: u.pages.map((p) => p.title),
        capabilities: capabilityText(u.capabilities),
        added: dateText(u.addedAt),
        revokeAction: `/connections/${ws}/grants/${u.grantId}/revoke`,
      })),
      disconnectAction: `/connections/${ws}/apps/${app.id}/disconnect`,
      removeAction: `/connections/${ws}/approved/${app.id}/remove`,
    });
  },
);
