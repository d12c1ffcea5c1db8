/**
 * The console's form posts: each one button of a page (./pages.ts), checked
 * by CSRF before it gets here, answered 303 back to a console page with a
 * notice or an error by key.
 */
import { z } from 'zod';
import { notFound } from '../../http/errors.js';
import {
  addApprovedApp,
  ConsoleError,
  findAppByClientIdOrId,
  manageableWorkspaces,
  removeApprovedApp,
  requireInternalIntegrationOf,
  setInstallPolicy,
  setMemberRole,
} from '../connections.js';
import {
  disconnectInternalIntegration,
  disconnectUpstreamConnection,
  disconnectWorkspace,
  revokeGrant,
  revokeGrantsOfApp,
} from '../revocation.js';
import {
  appDisconnectConsequences,
  confirmField,
  demoteConsequences,
  grantRevokeConsequences,
  integrationDisconnectConsequences,
  notionDisconnectConsequences,
  renderConfirmation,
  unapproveConsequences,
  workspaceDisconnectConsequences,
} from './confirmations.js';
import { requireOwnerPage } from './owners-refusal.js';
import { ID, ids, page, pageActor, pageCaller } from './context.js';

/** Where a form goes back to: a console path of this site only. */
const RETURN_TO = /^\/connections(?:\/[A-Za-z0-9_-]+)*(?:\?[A-Za-z0-9_=&%.-]*)?$/;
function backTo(fallback: string, returnTo: unknown, key: string, kind: 'notice' | 'error' = 'notice'): string {
  const base = typeof returnTo === 'string' && RETURN_TO.test(returnTo) ? returnTo : fallback;
  const url = new URL(base, 'http://x');
  url.searchParams.delete('notice');
  url.searchParams.delete('error');
  url.searchParams.set(kind, key);
  return `${url.pathname}${url.search}`;
}
const consoleOf = (workspaceId: string) => `/connections?workspace=${encodeURIComponent(workspaceId)}`;

// `confirm`: the confirm page's second press (./confirmations.ts); the first press changes nothing.
const csrfOnly = z.object({ _csrf: z.string(), return_to: z.string().max(500).optional(), confirm: confirmField }).strict();
/** "Disconnect" and "Disconnect all users" post the same action; `all_users` says which button it was, for the confirm step. */
const disconnectAppForm = csrfOnly.extend({ all_users: z.literal('1').optional() }).strict();
const policyForm = z
  .object({
    _csrf: z.string(),
    install_policy: z.enum(['no_restrictions', 'approved_only']),
    auto_approve_organisation: z.literal('on').optional(),
  })
  .strict();
const approveForm = z.object({ _csrf: z.string(), app_id: z.string().regex(ID) }).strict();
const roleForm = z.object({ _csrf: z.string(), role: z.enum(['owner', 'member']), confirm: confirmField }).strict();
/** A return_to worth offering as "Cancel": a console path, else the fallback. */
const cancelTo = (fallback: string, returnTo: unknown) => (typeof returnTo === 'string' && RETURN_TO.test(returnTo) ? returnTo : fallback);

export const revokeMine = page(
  {
    zone: 'session-page',
    name: 'revokeMyGrant',
    method: 'post',
    path: '/connections/mine/:grant_id/revoke',
    summary: '"Disconnect" one of the person\'s own connections',
    params: ids('grant_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: 'grant.revoked',
  },
  async ({ params, body }, { req, res }, { stores, revocation }) => {
    const grant = await stores.grants.findById(params.grant_id);
    // Only one's own grants here (owners revoke others' on "Connections"): anything else is not found.
    if (!grant || grant.personId !== req.user!.id) throw notFound('No such connection.');
    // Revoked meanwhile (no active summary): nothing left to confirm, the revocation below is idempotent.
    const summary = body.confirm ? undefined : (await stores.grants.listActiveForPerson(req.user!.id)).find((g) => g.id === grant.id);
    if (summary) {
      return renderConfirmation(res, {
        heading: `Disconnect ${summary.appName} from ${summary.workspaceName}?`,
        consequences: grantRevokeConsequences(summary, true),
        action: `/connections/mine/${grant.id}/revoke`,
        button: { text: 'Disconnect', label: `Disconnect ${summary.appName} from ${summary.workspaceName}` },
        cancelHref: '/connections/mine',
      });
    }
    await revokeGrant(revocation, grant.id, pageActor(req), 'revoked by the person who granted it');
    res.redirect(303, '/connections/mine?notice=revoked');
  },
);

export const disconnectMyNotion = page(
  {
    zone: 'session-page',
    name: 'disconnectMyNotionConnection',
    method: 'post',
    path: '/workspaces/:workspace_id/disconnect',
    // Here, beside the API's upstream disconnect, because this area holds the revocation deps.
    summary: '"Disconnect" on "Your workspaces": the person\'s own Notion connection',
    params: ids('workspace_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: ['upstream_connection.disconnected', 'grant.revoked'],
  },
  async ({ params, body }, { req, res }, { stores, revocation }) => {
    // The person's own Notion connection only: anyone else's is, from here, one that does not exist.
    const connection = await stores.connections.findForPersonAndWorkspace(req.user!.id, params.workspace_id);
    if (!connection) throw notFound('You have no Notion connection to that workspace.');
    if (!body.confirm && connection.status !== 'disconnected') {
      const workspace = await stores.workspaces.findById(params.workspace_id);
      const name = workspace?.name ?? 'this workspace';
      const grants = (await stores.grants.listActiveForPerson(req.user!.id)).filter((g) => g.upstreamConnectionId === connection.id);
      return renderConfirmation(res, {
        heading: `Disconnect your Notion account from ${name}?`,
        consequences: notionDisconnectConsequences(name, grants),
        action: `/workspaces/${encodeURIComponent(params.workspace_id)}/disconnect`,
        button: { text: 'Disconnect', label: `Disconnect ${name}` },
        cancelHref: '/workspaces',
      });
    }
    await disconnectUpstreamConnection(revocation, connection.id, pageActor(req), 'Notion account disconnected by its person');
    res.redirect(303, '/workspaces?notice=disconnected');
  },
);

export const revokeForPerson = page(
  {
    zone: 'owner',
    name: 'revokeGrantPage',
    method: 'post',
    path: '/connections/:workspace_id/grants/:grant_id/revoke',
    summary: '"Revoke access" for one person',
    params: ids('workspace_id', 'grant_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: 'grant.revoked',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const grant = await deps.stores.grants.findById(params.grant_id);
    if (!grant || grant.workspaceId !== workspace.id) throw notFound('No such connection in this workspace.');
    const summary = body.confirm
      ? undefined
      : (await deps.stores.grants.listActiveForWorkspace(workspace.id)).find((g) => g.id === grant.id);
    if (summary) {
      return renderConfirmation(res, {
        heading: `Revoke ${summary.personEmail}'s access to ${summary.appName}?`,
        consequences: grantRevokeConsequences(summary, grant.personId === req.user!.id),
        action: `/connections/${encodeURIComponent(workspace.id)}/grants/${grant.id}/revoke`,
        fields: { return_to: body.return_to },
        button: { text: 'Revoke access', label: `Revoke access for ${summary.personEmail} to ${summary.appName}` },
        cancelHref: cancelTo(consoleOf(workspace.id), body.return_to),
      });
    }
    const why = grant.personId === req.user!.id ? 'revoked by the person who granted it' : 'revoked by a workspace owner';
    await revokeGrant(deps.revocation, grant.id, pageActor(req), why);
    res.redirect(303, backTo(consoleOf(workspace.id), body.return_to, 'revoked'));
  },
);

export const disconnectAppPage = page(
  {
    zone: 'owner',
    name: 'disconnectAppPage',
    method: 'post',
    path: '/connections/:workspace_id/apps/:app_id/disconnect',
    summary: '"Disconnect" / "Disconnect all users"',
    params: ids('workspace_id', 'app_id'),
    body: disconnectAppForm,
    answer: 'redirect',
    audit: 'grant.revoked',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const app = await deps.stores.partnerApps.findById(params.app_id);
    if (!app) throw notFound('No such partner app.');
    if (!body.confirm) {
      const all = body.all_users === '1';
      return renderConfirmation(res, {
        heading: `Disconnect ${app.name} from ${workspace.name}?`,
        consequences: await appDisconnectConsequences(deps, workspace, app),
        action: `/connections/${encodeURIComponent(workspace.id)}/apps/${app.id}/disconnect`,
        fields: { return_to: body.return_to, all_users: body.all_users },
        button: all
          ? { text: 'Disconnect all users', label: `Disconnect all users of ${app.name}` }
          : { text: 'Disconnect', label: `Disconnect ${app.name}` },
        cancelHref: cancelTo(consoleOf(workspace.id), body.return_to),
      });
    }
    await revokeGrantsOfApp(deps.revocation, workspace.id, app.id, pageActor(req), 'disconnected from the workspace by an owner');
    const fallback = consoleOf(workspace.id);
    // The users page of an app with nobody left (and not approved) no longer exists: go back to the console.
    const returnTo =
      body.return_to && body.return_to.includes('/apps/') && !(await deps.stores.grants.isApproved(workspace.id, app.id))
        ? fallback
        : body.return_to;
    res.redirect(303, backTo(fallback, returnTo, 'disconnected'));
  },
);

export const disconnectIntegrationPage = page(
  {
    zone: 'owner',
    name: 'disconnectInternalIntegrationPage',
    method: 'post',
    path: '/connections/:workspace_id/integrations/:app_id/disconnect',
    summary: '"Disconnect" an internal integration from every page',
    params: ids('workspace_id', 'app_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: 'internal_integration.disconnected',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const app = await requireInternalIntegrationOf(deps.rules, workspace, params.app_id);
    const pages = (await deps.stores.internalIntegrations.listPages(app.id)).length;
    if (!body.confirm && pages > 0) {
      return renderConfirmation(res, {
        heading: `Disconnect ${app.name} from every page of ${workspace.name}?`,
        consequences: integrationDisconnectConsequences(app.name, workspace, pages),
        action: `/connections/${encodeURIComponent(workspace.id)}/integrations/${app.id}/disconnect`,
        fields: { return_to: body.return_to },
        button: { text: 'Disconnect', label: `Disconnect ${app.name}` },
        cancelHref: cancelTo(consoleOf(workspace.id), body.return_to),
      });
    }
    await disconnectInternalIntegration(
      { internalIntegrations: deps.stores.internalIntegrations, audit: deps.stores.audit, clock: deps.clock },
      app,
      pageActor(req),
      'disconnected from the workspace by an owner',
    );
    res.redirect(303, backTo(consoleOf(workspace.id), body.return_to, 'integration_disconnected'));
  },
);

export const disconnectWorkspacePage = page(
  {
    zone: 'owner',
    name: 'disconnectWorkspacePage',
    method: 'post',
    path: '/connections/:workspace_id/disconnect',
    summary: '"Disconnect workspace from Gatehouse"',
    params: ids('workspace_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: ['upstream_connection.disconnected', 'grant.revoked', 'internal_integration.disconnected'],
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    if (!body.confirm) {
      return renderConfirmation(res, {
        heading: `Disconnect ${workspace.name} from Gatehouse?`,
        consequences: await workspaceDisconnectConsequences(deps, workspace),
        action: `/connections/${encodeURIComponent(workspace.id)}/disconnect`,
        button: { text: 'Disconnect workspace from Gatehouse', label: `Disconnect workspace from Gatehouse: ${workspace.name}` },
        cancelHref: consoleOf(workspace.id),
      });
    }
    await disconnectWorkspace(deps.revocation, workspace.id, pageActor(req), 'workspace disconnected from Gatehouse');
    res.redirect(303, backTo(consoleOf(workspace.id), undefined, 'workspace_disconnected'));
  },
);

export const setPolicyPage = page(
  {
    zone: 'owner',
    name: 'setInstallPolicyPage',
    method: 'post',
    path: '/connections/:workspace_id/policy',
    summary: '"Restrict members from installing connections"',
    params: ids('workspace_id'),
    body: policyForm,
    answer: 'redirect',
    audit: 'workspace.policy_changed',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const policy = { installPolicy: body.install_policy, autoApproveOrganisation: body.auto_approve_organisation === 'on' };
    await setInstallPolicy(deps.rules, workspace, policy, pageActor(req));
    res.redirect(303, backTo(consoleOf(workspace.id), undefined, 'policy'));
  },
);

export const addApprovedPage = page(
  {
    zone: 'owner',
    name: 'addApprovedAppPage',
    method: 'post',
    path: '/connections/:workspace_id/approved',
    summary: '"+ Add approved connection"',
    params: ids('workspace_id'),
    body: approveForm,
    answer: 'redirect',
    audit: 'approved_app.added',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const fallback = consoleOf(workspace.id);
    try {
      await addApprovedApp(deps.rules, workspace, await findAppByClientIdOrId(deps.rules, { appId: body.app_id }), pageActor(req));
    } catch (err) {
      if (err instanceof ConsoleError && err.code === 'invalid') {
        res.redirect(303, backTo(fallback, undefined, 'not_installed', 'error'));
        return;
      }
      throw err;
    }
    res.redirect(303, backTo(fallback, undefined, 'approved'));
  },
);

export const removeApprovedPage = page(
  {
    zone: 'owner',
    name: 'removeApprovedAppPage',
    method: 'post',
    path: '/connections/:workspace_id/approved/:app_id/remove',
    summary: '"Remove from approved list"',
    params: ids('workspace_id', 'app_id'),
    body: csrfOnly,
    answer: 'redirect',
    audit: 'approved_app.removed',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const app = await deps.stores.partnerApps.findById(params.app_id);
    if (!body.confirm && app && (await deps.stores.grants.isApproved(workspace.id, app.id))) {
      return renderConfirmation(res, {
        heading: `Remove ${app.name} from the approved list of ${workspace.name}?`,
        consequences: await unapproveConsequences(deps, workspace, app),
        action: `/connections/${encodeURIComponent(workspace.id)}/approved/${app.id}/remove`,
        fields: { return_to: body.return_to },
        button: { text: 'Remove from approved list', label: `Remove from approved list: ${app.name}` },
        cancelHref: cancelTo(consoleOf(workspace.id), body.return_to),
      });
    }
    await removeApprovedApp(deps.rules, workspace, app, pageActor(req));
    res.redirect(303, backTo(consoleOf(workspace.id), body.return_to, 'unapproved'));
  },
);

export const setRolePage = page(
  {
    zone: 'owner',
    name: 'setMemberRolePage',
    method: 'post',
    path: '/connections/:workspace_id/members/:person_id/role',
    summary: '"Make owner" / "Remove as owner"',
    params: ids('workspace_id', 'person_id'),
    body: roleForm,
    answer: 'redirect',
    audit: 'workspace_member.role_changed',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerPage(deps, req, params.workspace_id);
    const fallback = consoleOf(workspace.id);
    if (!body.confirm && body.role === 'member') {
      const membership = await deps.stores.workspaces.membership(workspace.id, params.person_id);
      // The last owner is refused by the rule below, with its own message: nothing to confirm.
      const owners = (await deps.stores.workspaces.listMembers(workspace.id)).filter((m) => m.role === 'owner' && m.status === 'active');
      const person = membership?.role === 'owner' && owners.length > 1 ? await deps.stores.people.findById(params.person_id) : null;
      if (person) {
        return renderConfirmation(res, {
          heading: `Remove ${person.email} as owner of ${workspace.name}?`,
          consequences: demoteConsequences(person.email, workspace, person.id === req.user!.id),
          action: `/connections/${encodeURIComponent(workspace.id)}/members/${person.id}/role`,
          fields: { role: 'member' },
          button: { text: 'Remove as owner', label: `Remove as owner: ${person.email}` },
          cancelHref: fallback,
        });
      }
    }
    try {
      await setMemberRole(deps.rules, workspace, params.person_id, body.role, pageActor(req));
    } catch (err) {
      if (err instanceof ConsoleError && err.code === 'conflict') {
        res.redirect(303, backTo(fallback, undefined, 'last_owner', 'error'));
        return;
      }
      throw err;
    }
    // An owner who stepped down no longer manages this workspace: "My connections" is theirs.
    const stillOwner = (await manageableWorkspaces(deps.rules, pageCaller(req, deps))).some((w) => w.id === workspace.id);
    res.redirect(303, stillOwner ? backTo(fallback, undefined, 'role') : '/connections/mine');
  },
);
