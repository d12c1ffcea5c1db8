/**
 * The console's admin API for one workspace: its connections and who uses
 * them, the install policy, the approved list and the members' roles (zone
 * owner; the rules refuse whoever does not own the workspace).
 */
import { z } from 'zod';
import {
  addApprovedApp,
  approvableApps,
  approvedList,
  findAppByClientIdOrId,
  findMemberByEmail,
  listInternalConnections,
  listMembers,
  listWorkspaceConnections,
  removeApprovedApp,
  requireOwnerOf,
  setInstallPolicy,
  setMemberRole,
  usersWithAccess,
} from '../connections.js';
import { api, apiActor, apiCaller, ids, optionalId } from './context.js';
import {
  appToWire,
  approvedAppWireSchema,
  approvedBodySchema,
  approvedListWireSchema,
  connectionsWireSchema,
  internalToWire,
  membersWireSchema,
  memberWireSchema,
  policyBodySchema,
  policyToWire,
  policyWireSchema,
  roleBodySchema,
  usersWireSchema,
} from './wire.js';

const V1 = '/api/admin/v1';
const hidden = "Unknown, or not visible to the caller (another workspace's data never leaks)";
const bad = 'Bad input; nothing changed';
const workspaceParam = ids('workspace_id');

export const listConnections = api(
  {
    zone: 'owner',
    name: 'listWorkspaceConnections',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/connections`,
    summary: 'Every connection of the workspace, per partner app, with who added it and when (owners)',
    params: workspaceParam,
    answer: connectionsWireSchema,
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params }, { res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const connections = await listWorkspaceConnections(rules, workspace.id);
    return {
      object: 'list' as const,
      workspace: { id: workspace.id, name: workspace.name },
      connections: connections.map((c) => ({
        app: appToWire(c.app),
        approved: c.approved,
        grants: c.grants.map((g) => ({
          id: g.id,
          person: { id: g.personId, email: g.personEmail },
          created_at: g.createdAt.toISOString(),
        })),
      })),
      internal_integrations: (await listInternalConnections(rules, workspace.id)).map(internalToWire),
    };
  },
);

export const listUsersWithAccess = api(
  {
    zone: 'owner',
    name: 'listUsersWithAccess',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/connections/:app_id/users`,
    summary: '"View users with access": who authorised the app, on which pages, with which capabilities (owners)',
    params: ids('workspace_id', 'app_id'),
    // A person filter that is not an id is dropped, not refused.
    query: z.looseObject({ person: optionalId }),
    answer: usersWireSchema,
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params, query }, { res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const { app, users } = await usersWithAccess(rules, workspace.id, params.app_id, query.person);
    return {
      object: 'list' as const,
      app: appToWire(app),
      users: users.map((u) => ({
        grant_id: u.grantId,
        person: u.person,
        pages: u.pages,
        capabilities: u.capabilities,
        created_at: u.addedAt.toISOString(),
      })),
    };
  },
);

export const getPolicy = api(
  {
    zone: 'owner',
    name: 'getInstallPolicy',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/policy`,
    summary: 'The install policy (owners)',
    params: workspaceParam,
    answer: policyWireSchema,
    components: { answer: 'InstallPolicy' },
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params }, { res }, { rules }) => policyToWire(await requireOwnerOf(rules, apiCaller(res), params.workspace_id)),
);

export const setPolicy = api(
  {
    zone: 'owner',
    name: 'setInstallPolicy',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/policy`,
    summary:
      '"Restrict members from installing connections" and "Auto-approve connections built by <organisation name>" (owners; owners themselves are exempt)',
    params: workspaceParam,
    body: policyBodySchema,
    answer: policyWireSchema,
    components: { body: 'InstallPolicyRequest', answer: 'InstallPolicy' },
    audit: 'workspace.policy_changed',
    refusals: { 400: bad, 404: hidden },
  },
  async ({ params, body }, { req, res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const policy = {
      installPolicy: body.install_policy,
      autoApproveOrganisation: body.auto_approve_organisation ?? workspace.autoApproveOrganisation,
    };
    return policyToWire(await setInstallPolicy(rules, workspace, policy, apiActor(req, res)));
  },
);

export const getApprovedApps = api(
  {
    zone: 'owner',
    name: 'listApprovedApps',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/approved-apps`,
    summary: '"Approved connections", who installed each, and the apps that may be added (installed in this workspace)',
    params: workspaceParam,
    answer: approvedListWireSchema,
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params }, { res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const entries = await approvedList(rules, workspace.id);
    return {
      object: 'list' as const,
      approved_apps: entries.map((e) => ({
        app: appToWire(e.app),
        added_at: e.addedAt.toISOString(),
        installed_by: e.installers.map((i) => ({ grant_id: i.grantId, person_id: i.personId, email: i.email })),
      })),
      approvable_apps: (await approvableApps(rules, workspace.id)).map(appToWire),
    };
  },
);

export const addApproved = api(
  {
    zone: 'owner',
    name: 'addApprovedApp',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/approved-apps`,
    summary: '"+ Add approved connection": only a partner app already installed in this workspace',
    params: workspaceParam,
    body: approvedBodySchema,
    answer: approvedAppWireSchema,
    components: { body: 'ApprovedAppRequest' },
    audit: 'approved_app.added',
    successStatus: 201,
    refusals: { 400: bad, 404: hidden },
  },
  async ({ params, body }, { req, res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const app = await findAppByClientIdOrId(rules, { clientId: body.client_id });
    const { added } = await addApprovedApp(rules, workspace, app, apiActor(req, res));
    // 201 when added, 200 when it was on the list already.
    res.status(added ? 201 : 200);
    return { object: 'approved_app' as const, workspace_id: workspace.id, client_id: body.client_id, added };
  },
);

export const removeApproved = api(
  {
    zone: 'owner',
    name: 'removeApprovedApp',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/approved-apps/:client_id/remove`,
    summary: '"Remove from approved list": stops new installs by members; existing grants stay',
    // A client id is not one of our ids: any string, cut to a length a client id can have.
    params: z.object({ workspace_id: workspaceParam.shape.workspace_id, client_id: z.string().transform((v) => v.slice(0, 200)) }),
    body: z.object({}).strict(),
    answer: approvedAppWireSchema,
    audit: 'approved_app.removed',
    refusals: { 404: hidden },
  },
  async ({ params }, { req, res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const app = await findAppByClientIdOrId(rules, { clientId: params.client_id });
    const { removed } = await removeApprovedApp(rules, workspace, app, apiActor(req, res));
    return { object: 'approved_app' as const, workspace_id: workspace.id, client_id: params.client_id, removed };
  },
);

export const getMembers = api(
  {
    zone: 'owner',
    name: 'listMembers',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/members`,
    summary: 'Owners and members (owners)',
    params: workspaceParam,
    answer: membersWireSchema,
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params }, { res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const members = await listMembers(rules, workspace.id);
    return {
      object: 'list' as const,
      members: members.map((m) => ({ person_id: m.personId, email: m.email, name: m.name, role: m.role })),
    };
  },
);

export const setRole = api(
  {
    zone: 'owner',
    name: 'setMemberRole',
    method: 'post',
    path: `${V1}/workspaces/:workspace_id/members/role`,
    summary: 'Make a member an owner or an owner a member; the last owner cannot step down (409)',
    params: workspaceParam,
    body: roleBodySchema,
    answer: memberWireSchema,
    components: { body: 'RoleRequest' },
    audit: 'workspace_member.role_changed',
    refusals: { 400: bad, 404: hidden, 409: 'The last owner' },
  },
  async ({ params, body }, { req, res }, { rules }) => {
    const workspace = await requireOwnerOf(rules, apiCaller(res), params.workspace_id);
    const personId = body.person_id ?? (await findMemberByEmail(rules, workspace.id, body.email!));
    const { changed } = await setMemberRole(rules, workspace, personId, body.role, apiActor(req, res));
    return { object: 'workspace_member' as const, workspace_id: workspace.id, person_id: personId, role: body.role, changed };
  },
);
