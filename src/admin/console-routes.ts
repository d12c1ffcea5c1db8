/**
 * The connections console over HTTP.
 * HTTP only: parse, validate, call one rule (./connections.ts,
 * ./revocation.ts), map the result. Pages work without JavaScript: every row
 * action is a visible button in a form carrying `_csrf`, answered 303.
 *
 * Pages (signed-in people):
 *   GET  /connections/mine                                     "My connections": the person's own grants
 *   POST /connections/mine/:grantId/revoke                     "Disconnect" one of them
 *   GET  /connections[?workspace=]                             "Connections" (owners): connections, policy, approved list, roles
 *   GET  /connections/:workspaceId/apps/:appId[?person=]       "View users with access"
 *   POST /connections/:workspaceId/grants/:grantId/revoke      "Revoke access" for one person
 *   POST /connections/:workspaceId/apps/:appId/disconnect      "Disconnect" / "Disconnect all users"
 *   POST /connections/:workspaceId/policy                      "Restrict members from installing connections"
 *   POST /connections/:workspaceId/approved                    "+ Add approved connection"
 *   POST /connections/:workspaceId/approved/:appId/remove      "Remove from approved list"
 *   POST /connections/:workspaceId/members/:personId/role      "Make owner" / "Remove as owner"
 *   POST /connections/:workspaceId/integrations/:appId/disconnect   "Disconnect" an internal integration from every page
 *   POST /connections/:workspaceId/disconnect                  "Disconnect workspace from Gatehouse"
 *   POST /workspaces/:workspaceId/disconnect                   "Disconnect" on "Your workspaces": the person's own
 *                                                              Notion connection (here, beside the API's upstream
 *                                                              disconnect, because this router holds the revocation deps)
 *
 * Admin JSON API (session + CSRF, or Bearer admin token), under /api/admin/v1:
 *   GET  /grants[?workspace=&person=&app=]       grants the caller may see
 *   GET  /grants/:grantId
 *   POST /grants/:grantId/revoke                 {reason?}; idempotent
 *   GET  /workspaces/:workspaceId/connections    grouped per partner app, and the internal integrations
 *   POST /workspaces/:workspaceId/integrations/:appId/disconnect  {reason?}: an internal integration off every page
 *   GET  /workspaces/:workspaceId/connections/:appId/users[?person=]
 *   POST /workspaces/:workspaceId/connections/:appId/disconnect   {reason?}
 *   GET  /workspaces/:workspaceId/policy
 *   POST /workspaces/:workspaceId/policy         {install_policy, auto_approve_organisation?}
 *   GET  /workspaces/:workspaceId/approved-apps
 *   POST /workspaces/:workspaceId/approved-apps  {client_id}
 *   POST /workspaces/:workspaceId/approved-apps/:clientId/remove
 *   GET  /workspaces/:workspaceId/members
 *   POST /workspaces/:workspaceId/members/role   {email | person_id, role}
 *   POST /workspaces/:workspaceId/disconnect     {reason?}: every credential and grant of the workspace
 *   POST /upstream-connections/:connectionId/disconnect   {reason?}
 */
import { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Keyring } from '../crypto/keyring.js';
import { requireSignIn } from '../http/auth-guards.js';
import { badRequest, conflict, forbidden, notFound } from '../http/errors.js';
import { renderPage } from '../http/views.js';
import { CAPABILITY_LABELS, isCapability } from '../oauth/capabilities.js';
import type { GrantSummary } from '../store/grants.js';
import type { Stores } from '../store/stores.js';
import type { Workspace } from '../store/workspaces.js';
import type { NotionUpstream } from '../upstream/notion.js';
import { adminAuthentication, isOrganisationAdmin, type AdminPrincipal } from './auth.js';
import {
  addApprovedApp,
  approvableApps,
  approvedList,
  ConsoleError,
  findAppByClientIdOrId,
  findMemberByEmail,
  listInternalConnections,
  listMembers,
  listWorkspaceConnections,
  manageableWorkspaces,
  removeApprovedApp,
  requireInternalIntegrationOf,
  requireOwnerOf,
  requireVisibleGrant,
  setInstallPolicy,
  setMemberRole,
  usersWithAccess,
  type AppFacts,
  type Caller,
  type ConsoleDeps,
  type InternalConnection,
} from './connections.js';
import { describeZodError } from '../http/validation.js';
import type { PartnerUsage } from '../upstream/rate-budget.js';
import { budgetUsageRows } from './budget-usage.js';
import { webhookRecipientRows } from '../webhooks/workspace-recipients.js';
import {
  ConnectionNotFound,
  disconnectInternalIntegration,
  disconnectUpstreamConnection,
  disconnectWorkspace,
  GrantNotFound,
  revokeGrant,
  revokeGrantsOfApp,
  type Actor,
  type DisconnectDeps,
} from './revocation.js';

export interface ConsoleRouteDeps {
  stores: Pick<
    Stores,
    | 'workspaces'
    | 'grants'
    | 'partnerApps'
    | 'people'
    | 'pageIndex'
    | 'audit'
    | 'tokens'
    | 'connections'
    | 'adminTokens'
    | 'internalIntegrations'
    | 'webhookSubscriptions'
  >;
  config: Pick<Config, 'adminEmails' | 'organisationName'>;
  clock: Clock;
  keyring: Keyring;
  upstream: NotionUpstream;
  logger: Logger;
  /** Each partner's grants from the workspace's Notion budget over the last hour; unset = not shown. */
  budgetUsage?: (workspaceId: string) => Promise<PartnerUsage[]>;
}

// ---------------------------------------------------------------------------
// Wire schemas: the same zod schemas validate requests and describe them in openapi.json.

const reason = z.string().trim().min(1).max(500).describe('Why; recorded on the grant and in the audit log');
export const revokeBodySchema = z.object({ reason: reason.optional() }).strict();
export const policyBodySchema = z
  .object({
    install_policy: z
      .enum(['no_restrictions', 'approved_only'])
      .describe('"No restrictions" or "Only from approved list" (owners are exempt)'),
    auto_approve_organisation: z
      .boolean()
      .optional()
      .describe('"Auto-approve connections built by <organisation name>"; unchanged when absent'),
  })
  .strict();
export const approvedBodySchema = z
  .object({ client_id: z.string().min(1).max(200).describe('A partner app already installed in this workspace') })
  .strict();
export const roleBodySchema = z
  .object({
    email: z.string().min(3).max(320).optional(),
    person_id: z.uuid().optional(),
    role: z.enum(['owner', 'member']),
  })
  .strict()
  .refine((b) => (b.email === undefined) !== (b.person_id === undefined), { message: 'give exactly one of email and person_id' });

export const grantWireSchema = z.object({
  object: z.literal('grant'),
  id: z.uuid().describe('The bot_id partners see'),
  workspace: z.object({ id: z.string(), name: z.string() }),
  app: z.object({ id: z.uuid(), name: z.string() }),
  person: z.object({ id: z.uuid(), email: z.string(), name: z.string() }),
  capabilities: z.array(z.string()),
  page_ids: z.array(z.string()),
  status: z.enum(['active', 'revoked']),
  created_at: z.string(),
});
export const revocationWireSchema = z.object({
  object: z.literal('revocation'),
  revoked: z.array(z.uuid()).describe('Grants revoked by this request'),
  already_revoked: z.array(z.uuid()).describe('Grants that were revoked before (idempotent success)'),
});
export const policyWireSchema = z.object({
  object: z.literal('install_policy'),
  workspace_id: z.string(),
  install_policy: z.enum(['no_restrictions', 'approved_only']),
  auto_approve_organisation: z.boolean(),
});

function grantToWire(g: GrantSummary, status: 'active' | 'revoked' = 'active'): z.infer<typeof grantWireSchema> {
  return {
    object: 'grant',
    id: g.id,
    workspace: { id: g.workspaceId, name: g.workspaceName },
    app: { id: g.appId, name: g.appName },
    person: { id: g.personId, email: g.personEmail, name: g.personName },
    capabilities: g.capabilities,
    page_ids: g.pageIds,
    status,
    created_at: g.createdAt.toISOString(),
  };
}

function appToWire(a: AppFacts) {
  return {
    id: a.id,
    name: a.name,
    client_id: a.clientId,
    integration_kind: a.integrationKind,
    website: a.website,
    support_contact: a.supportContact,
    built_by_organisation: a.builtByOrganisation,
  };
}

function internalToWire(c: InternalConnection) {
  return {
    app: appToWire(c.app),
    created_at: c.createdAt.toISOString(),
    created_by: c.createdBy ? { id: c.createdBy.id, email: c.createdBy.email } : null,
    pages: c.pageCount,
    connected_by: c.connectedBy,
  };
}

function policyToWire(w: Workspace): z.infer<typeof policyWireSchema> {
  return {
    object: 'install_policy',
    workspace_id: w.id,
    install_policy: w.installPolicy,
    auto_approve_organisation: w.autoApproveOrganisation,
  };
}

function revocationToWire(results: Array<{ grantId: string; revoked: boolean }>): z.infer<typeof revocationWireSchema> {
  return {
    object: 'revocation',
    revoked: results.filter((r) => r.revoked).map((r) => r.grantId),
    already_revoked: results.filter((r) => !r.revoked).map((r) => r.grantId),
  };
}

// ---------------------------------------------------------------------------

const ID = /^[A-Za-z0-9-]{1,64}$/;

function param(req: Request, name: string): string {
  const value = String(req.params[name] ?? '');
  if (!ID.test(value)) throw notFound();
  return value;
}

function toHttp(err: unknown): unknown {
  if (err instanceof ConsoleError) {
    if (err.code === 'not_found') return notFound(err.message);
    if (err.code === 'forbidden') return forbidden(err.message);
    if (err.code === 'conflict') return conflict(err.message);
    return badRequest(err.message);
  }
  if (err instanceof GrantNotFound || err instanceof ConnectionNotFound) return notFound(err.message);
  return err;
}

/** Runs a handler, mapping rule errors to HTTP errors. */
const handle = (fn: (req: Request, res: Response) => Promise<void>) => async (req: Request, res: Response) => {
  try {
    await fn(req, res);
  } catch (err) {
    throw toHttp(err);
  }
};

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw badRequest(describeZodError(parsed.error, body ?? {}));
  return parsed.data;
}

function apiActor(principal: AdminPrincipal, req: Request): Actor {
  return {
    type: principal.via === 'session' ? 'person' : 'admin_token',
    id: principal.person?.id ?? null,
    label: principal.label,
    address: req.ip ?? null,
  };
}

function pageActor(req: Request): Actor {
  return { type: 'person', id: req.user!.id, label: req.user!.email, address: req.ip ?? null };
}

const dateText = (d: Date) => d.toISOString().slice(0, 10);
const capabilityText = (caps: string[]) => caps.map((c) => (isCapability(c) ? CAPABILITY_LABELS[c] : c)).join(', ');
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

const csrfOnly = z.object({ _csrf: z.string(), return_to: z.string().max(500).optional() }).strict();
const policyForm = z
  .object({
    _csrf: z.string(),
    install_policy: z.enum(['no_restrictions', 'approved_only']),
    auto_approve_organisation: z.literal('on').optional(),
  })
  .strict();
const approveForm = z.object({ _csrf: z.string(), app_id: z.string().regex(ID) }).strict();
const roleForm = z.object({ _csrf: z.string(), role: z.enum(['owner', 'member']) }).strict();

export function consoleRoutes(deps: ConsoleRouteDeps): Router {
  const router = Router();
  const { stores } = deps;
  const rules: ConsoleDeps = { ...stores, clock: deps.clock };
  const revocation: DisconnectDeps = {
    grants: stores.grants,
    tokens: stores.tokens,
    audit: stores.audit,
    clock: deps.clock,
    connections: stores.connections,
    keyring: deps.keyring,
    upstream: deps.upstream,
    internalIntegrations: stores.internalIntegrations,
    warn: (message, detail) => deps.logger.warn(detail, message),
  };
  const auth = adminAuthentication({
    adminTokens: stores.adminTokens,
    people: stores.people,
    adminEmails: deps.config.adminEmails,
    clock: deps.clock,
  });
  const apiCaller = (res: Response): Caller => ({
    person: res.locals.principal!.person,
    isOrganisationAdmin: res.locals.principal!.isOrganisationAdmin,
  });
  const pageCaller = (req: Request): Caller => ({
    person: req.user!,
    isOrganisationAdmin: isOrganisationAdmin(req.user!, deps.config.adminEmails),
  });

  // ---- Admin JSON API ------------------------------------------------------
  const api = '/api/admin/v1';

  router.get(
    `${api}/grants`,
    auth,
    handle(async (req, res) => {
      const caller = apiCaller(res);
      const q = z
        .object({
          workspace: z.string().regex(ID).optional(),
          person: z.string().regex(ID).optional(),
          app: z.string().regex(ID).optional(),
        })
        .strict()
        .safeParse(req.query);
      if (!q.success) throw badRequest(describeZodError(q.error, req.query));
      let grants: GrantSummary[];
      if (q.data.workspace) {
        await requireOwnerOf(rules, caller, q.data.workspace);
        grants = await stores.grants.listActiveForWorkspace(q.data.workspace);
      } else if (caller.isOrganisationAdmin) {
        grants = await stores.grants.listActive();
      } else {
        // A person: their own grants, and every grant of the workspaces they own.
        const owned = await manageableWorkspaces(rules, caller);
        const lists = await Promise.all([
          stores.grants.listActiveForPerson(caller.person!.id),
          ...owned.map((w) => stores.grants.listActiveForWorkspace(w.id)),
        ]);
        grants = [...new Map(lists.flat().map((g) => [g.id, g])).values()];
      }
      if (q.data.person) grants = grants.filter((g) => g.personId === q.data.person);
      if (q.data.app) grants = grants.filter((g) => g.appId === q.data.app);
      res.json({ object: 'list', grants: grants.map((g) => grantToWire(g)) });
    }),
  );

  router.get(
    `${api}/grants/:grantId`,
    auth,
    handle(async (req, res) => {
      const visible = await requireVisibleGrant(rules, apiCaller(res), param(req, 'grantId'));
      const grant = (await stores.grants.findById(visible.grantId))!;
      const summary = (await stores.grants.listActiveForWorkspace(grant.workspaceId)).find((g) => g.id === grant.id);
      if (summary) {
        res.json(grantToWire(summary));
        return;
      }
      res.json({
        object: 'grant',
        id: grant.id,
        workspace: { id: grant.workspaceId },
        app: { id: grant.appId },
        person: { id: grant.personId },
        capabilities: grant.capabilities,
        page_ids: grant.pageIds,
        status: grant.status,
        created_at: grant.createdAt.toISOString(),
      });
    }),
  );

  router.post(
    `${api}/grants/:grantId/revoke`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(revokeBodySchema, req.body);
      const caller = apiCaller(res);
      const visible = await requireVisibleGrant(rules, caller, param(req, 'grantId'));
      const why = body.reason ?? (visible.own ? 'revoked by the person who granted it' : 'revoked by a workspace owner');
      const result = await revokeGrant(revocation, visible.grantId, apiActor(res.locals.principal!, req), why);
      res.json(revocationToWire([result]));
    }),
  );

  router.get(
    `${api}/workspaces/:workspaceId/connections`,
    auth,
    handle(async (req, res) => {
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const connections = await listWorkspaceConnections(rules, workspace.id);
      res.json({
        object: 'list',
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
      });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/integrations/:appId/disconnect`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(revokeBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const app = await requireInternalIntegrationOf(rules, workspace, param(req, 'appId'));
      const result = await disconnectInternalIntegration(
        { internalIntegrations: stores.internalIntegrations, audit: stores.audit, clock: deps.clock },
        app,
        apiActor(res.locals.principal!, req),
        body.reason ?? 'disconnected from the workspace by an owner',
      );
      res.json({ object: 'internal_integration_disconnection', integration_id: app.id, pages_disconnected: result.pagesDisconnected });
    }),
  );

  router.get(
    `${api}/workspaces/:workspaceId/connections/:appId/users`,
    auth,
    handle(async (req, res) => {
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const person = typeof req.query.person === 'string' && ID.test(req.query.person) ? req.query.person : undefined;
      const { app, users } = await usersWithAccess(rules, workspace.id, param(req, 'appId'), person);
      res.json({
        object: 'list',
        app: appToWire(app),
        users: users.map((u) => ({
          grant_id: u.grantId,
          person: u.person,
          pages: u.pages,
          capabilities: u.capabilities,
          created_at: u.addedAt.toISOString(),
        })),
      });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/connections/:appId/disconnect`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(revokeBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const app = await stores.partnerApps.findById(param(req, 'appId'));
      if (!app) throw notFound('No such partner app.');
      const results = await revokeGrantsOfApp(
        revocation,
        workspace.id,
        app.id,
        apiActor(res.locals.principal!, req),
        body.reason ?? 'disconnected from the workspace by an owner',
      );
      res.json(revocationToWire(results));
    }),
  );

  router.get(
    `${api}/workspaces/:workspaceId/policy`,
    auth,
    handle(async (req, res) => {
      res.json(policyToWire(await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'))));
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/policy`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(policyBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const updated = await setInstallPolicy(
        rules,
        workspace,
        {
          installPolicy: body.install_policy,
          autoApproveOrganisation: body.auto_approve_organisation ?? workspace.autoApproveOrganisation,
        },
        apiActor(res.locals.principal!, req),
      );
      res.json(policyToWire(updated));
    }),
  );

  router.get(
    `${api}/workspaces/:workspaceId/approved-apps`,
    auth,
    handle(async (req, res) => {
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const entries = await approvedList(rules, workspace.id);
      res.json({
        object: 'list',
        approved_apps: entries.map((e) => ({
          app: appToWire(e.app),
          added_at: e.addedAt.toISOString(),
          installed_by: e.installers.map((i) => ({ grant_id: i.grantId, person_id: i.personId, email: i.email })),
        })),
        approvable_apps: (await approvableApps(rules, workspace.id)).map(appToWire),
      });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/approved-apps`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(approvedBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const app = await findAppByClientIdOrId(rules, { clientId: body.client_id });
      const { added } = await addApprovedApp(rules, workspace, app, apiActor(res.locals.principal!, req));
      res.status(added ? 201 : 200).json({ object: 'approved_app', workspace_id: workspace.id, client_id: body.client_id, added });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/approved-apps/:clientId/remove`,
    auth,
    handle(async (req, res) => {
      parseBody(z.object({}).strict(), req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const clientId = String(req.params.clientId).slice(0, 200);
      const { removed } = await removeApprovedApp(
        rules,
        workspace,
        await findAppByClientIdOrId(rules, { clientId }),
        apiActor(res.locals.principal!, req),
      );
      res.json({ object: 'approved_app', workspace_id: workspace.id, client_id: clientId, removed });
    }),
  );

  router.get(
    `${api}/workspaces/:workspaceId/members`,
    auth,
    handle(async (req, res) => {
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      res.json({
        object: 'list',
        members: (await listMembers(rules, workspace.id)).map((m) => ({
          person_id: m.personId,
          email: m.email,
          name: m.name,
          role: m.role,
        })),
      });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/members/role`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(roleBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const personId = body.person_id ?? (await findMemberByEmail(rules, workspace.id, body.email!));
      const { changed } = await setMemberRole(rules, workspace, personId, body.role, apiActor(res.locals.principal!, req));
      res.json({ object: 'workspace_member', workspace_id: workspace.id, person_id: personId, role: body.role, changed });
    }),
  );

  router.post(
    `${api}/workspaces/:workspaceId/disconnect`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(revokeBodySchema, req.body);
      const workspace = await requireOwnerOf(rules, apiCaller(res), param(req, 'workspaceId'));
      const result = await disconnectWorkspace(
        revocation,
        workspace.id,
        apiActor(res.locals.principal!, req),
        body.reason ?? 'workspace disconnected from Gatehouse',
      );
      res.json({
        ...revocationToWire(result.grants),
        upstream_connections_disconnected: result.connections,
        internal_integrations_disconnected: result.internalIntegrations,
      });
    }),
  );

  router.post(
    `${api}/upstream-connections/:connectionId/disconnect`,
    auth,
    handle(async (req, res) => {
      const body = parseBody(revokeBodySchema, req.body);
      const caller = apiCaller(res);
      const connection = await stores.connections.findById(param(req, 'connectionId'));
      if (!connection) throw notFound('No such upstream connection.');
      // Its person, an owner of its workspace, or an organisation admin; anyone else learns nothing.
      if (!(caller.person && caller.person.id === connection.personId)) {
        await requireOwnerOf(rules, caller, connection.workspaceId).catch((err: unknown) => {
          throw err instanceof ConsoleError && err.code === 'forbidden'
            ? new ConsoleError('not_found', 'No such upstream connection.')
            : err;
        });
      }
      const result = await disconnectUpstreamConnection(
        revocation,
        connection.id,
        apiActor(res.locals.principal!, req),
        body.reason ?? 'Notion account disconnected',
      );
      res.json({
        ...revocationToWire(result.grants),
        upstream_connection_id: connection.id,
        disconnected: result.disconnected,
        revoked_at_notion: result.revokedAtNotion,
      });
    }),
  );

  // ---- Pages ---------------------------------------------------------------

  router.get(
    '/connections/mine',
    requireSignIn,
    handle(async (req, res) => {
      const grants = await stores.grants.listActiveForPerson(req.user!.id);
      const rows = [];
      for (const g of grants) {
        const titles = await stores.pageIndex.titles(g.upstreamConnectionId, g.pageIds);
        rows.push({
          id: g.id,
          app: g.appName,
          workspace: g.workspaceName,
          capabilities: capabilityText(g.capabilities),
          pages: g.pageIds.map((id) => titles.get(id) ?? 'Page no longer shared'),
          added: dateText(g.createdAt),
        });
      }
      renderPage(res, 'connections-mine', { title: 'My connections', grants: rows, notice: noticeOf(req) });
    }),
  );

  router.post(
    '/connections/mine/:grantId/revoke',
    requireSignIn,
    handle(async (req, res) => {
      parseBody(csrfOnly, req.body);
      const grant = await stores.grants.findById(param(req, 'grantId'));
      // Only one's own grants here (owners revoke others' on "Connections"): anything else is not found.
      if (!grant || grant.personId !== req.user!.id) throw notFound('No such connection.');
      await revokeGrant(revocation, grant.id, pageActor(req), 'revoked by the person who granted it');
      res.redirect(303, '/connections/mine?notice=revoked');
    }),
  );

  router.post(
    '/workspaces/:workspaceId/disconnect',
    requireSignIn,
    handle(async (req, res) => {
      parseBody(csrfOnly, req.body);
      // The person's own Notion connection only: anyone else's is, from here, one that does not exist.
      const connection = await stores.connections.findForPersonAndWorkspace(req.user!.id, param(req, 'workspaceId'));
      if (!connection) throw notFound('You have no Notion connection to that workspace.');
      await disconnectUpstreamConnection(revocation, connection.id, pageActor(req), 'Notion account disconnected by its person');
      res.redirect(303, '/workspaces?notice=disconnected');
    }),
  );

  router.get(
    '/connections',
    requireSignIn,
    handle(async (req, res) => {
      const caller = pageCaller(req);
      const workspaces = await manageableWorkspaces(rules, caller);
      if (workspaces.length === 0)
        throw forbidden('Only workspace owners see every connection of a workspace. Your own connections are under "My connections".');
      const wanted = typeof req.query.workspace === 'string' ? req.query.workspace : undefined;
      // A workspace outside the list: 403 for its members, 404 for everyone else (requireOwnerOf decides).
      const current = wanted
        ? (workspaces.find((w) => w.id === wanted) ?? (await requireOwnerOf(rules, caller, ID.test(wanted) ? wanted : '-')))
        : workspaces[0]!;
      await renderConsole(req, res, current, workspaces);
    }),
  );

  const renderConsole = async (req: Request, res: Response, workspace: Workspace, workspaces: Workspace[]) => {
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
      approvable: approvable.map((a) => ({ id: a.id, name: a.name })),
      approveAction: `/connections/${ws}/approved`,
      members: members.map((m) => ({
        ...m,
        action: `/connections/${ws}/members/${m.personId}/role`,
        canPromote: m.role === 'member',
        canDemote: m.role === 'owner' && owners > 1,
      })),
    });
  };

  router.get(
    '/connections/:workspaceId/apps/:appId',
    requireSignIn,
    handle(async (req, res) => {
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const person = typeof req.query.person === 'string' && ID.test(req.query.person) ? req.query.person : undefined;
      const { app, users, installers } = await usersWithAccess(rules, workspace.id, param(req, 'appId'), person);
      const ws = encodeURIComponent(workspace.id);
      const here = `/connections/${ws}/apps/${app.id}${person ? `?person=${person}` : ''}`;
      const approved = await stores.grants.isApproved(workspace.id, app.id);
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
    }),
  );

  router.post(
    '/connections/:workspaceId/grants/:grantId/revoke',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(csrfOnly, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const grant = await stores.grants.findById(param(req, 'grantId'));
      if (!grant || grant.workspaceId !== workspace.id) throw notFound('No such connection in this workspace.');
      await revokeGrant(
        revocation,
        grant.id,
        pageActor(req),
        grant.personId === req.user!.id ? 'revoked by the person who granted it' : 'revoked by a workspace owner',
      );
      res.redirect(303, backTo(`/connections?workspace=${encodeURIComponent(workspace.id)}`, form.return_to, 'revoked'));
    }),
  );

  router.post(
    '/connections/:workspaceId/apps/:appId/disconnect',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(csrfOnly, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const app = await stores.partnerApps.findById(param(req, 'appId'));
      if (!app) throw notFound('No such partner app.');
      await revokeGrantsOfApp(revocation, workspace.id, app.id, pageActor(req), 'disconnected from the workspace by an owner');
      const fallback = `/connections?workspace=${encodeURIComponent(workspace.id)}`;
      // The users page of an app with nobody left (and not approved) no longer exists: go back to the console.
      const returnTo =
        form.return_to && form.return_to.includes('/apps/') && !(await stores.grants.isApproved(workspace.id, app.id))
          ? fallback
          : form.return_to;
      res.redirect(303, backTo(fallback, returnTo, 'disconnected'));
    }),
  );

  router.post(
    '/connections/:workspaceId/integrations/:appId/disconnect',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(csrfOnly, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const app = await requireInternalIntegrationOf(rules, workspace, param(req, 'appId'));
      await disconnectInternalIntegration(
        { internalIntegrations: stores.internalIntegrations, audit: stores.audit, clock: deps.clock },
        app,
        pageActor(req),
        'disconnected from the workspace by an owner',
      );
      res.redirect(303, backTo(`/connections?workspace=${encodeURIComponent(workspace.id)}`, form.return_to, 'integration_disconnected'));
    }),
  );

  router.post(
    '/connections/:workspaceId/disconnect',
    requireSignIn,
    handle(async (req, res) => {
      parseBody(csrfOnly, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      await disconnectWorkspace(revocation, workspace.id, pageActor(req), 'workspace disconnected from Gatehouse');
      res.redirect(303, backTo(`/connections?workspace=${encodeURIComponent(workspace.id)}`, undefined, 'workspace_disconnected'));
    }),
  );

  router.post(
    '/connections/:workspaceId/policy',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(policyForm, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      await setInstallPolicy(
        rules,
        workspace,
        { installPolicy: form.install_policy, autoApproveOrganisation: form.auto_approve_organisation === 'on' },
        pageActor(req),
      );
      res.redirect(303, backTo(`/connections?workspace=${encodeURIComponent(workspace.id)}`, undefined, 'policy'));
    }),
  );

  router.post(
    '/connections/:workspaceId/approved',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(approveForm, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const fallback = `/connections?workspace=${encodeURIComponent(workspace.id)}`;
      try {
        await addApprovedApp(rules, workspace, await findAppByClientIdOrId(rules, { appId: form.app_id }), pageActor(req));
      } catch (err) {
        if (err instanceof ConsoleError && err.code === 'invalid') {
          res.redirect(303, backTo(fallback, undefined, 'not_installed', 'error'));
          return;
        }
        throw err;
      }
      res.redirect(303, backTo(fallback, undefined, 'approved'));
    }),
  );

  router.post(
    '/connections/:workspaceId/approved/:appId/remove',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(csrfOnly, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      await removeApprovedApp(rules, workspace, await stores.partnerApps.findById(param(req, 'appId')), pageActor(req));
      res.redirect(303, backTo(`/connections?workspace=${encodeURIComponent(workspace.id)}`, form.return_to, 'unapproved'));
    }),
  );

  router.post(
    '/connections/:workspaceId/members/:personId/role',
    requireSignIn,
    handle(async (req, res) => {
      const form = parseBody(roleForm, req.body);
      const workspace = await requireOwnerOf(rules, pageCaller(req), param(req, 'workspaceId'));
      const fallback = `/connections?workspace=${encodeURIComponent(workspace.id)}`;
      try {
        await setMemberRole(rules, workspace, param(req, 'personId'), form.role, pageActor(req));
      } catch (err) {
        if (err instanceof ConsoleError && err.code === 'conflict') {
          res.redirect(303, backTo(fallback, undefined, 'last_owner', 'error'));
          return;
        }
        throw err;
      }
      // An owner who stepped down no longer manages this workspace: "My connections" is theirs.
      const stillOwner = (await manageableWorkspaces(rules, pageCaller(req))).some((w) => w.id === workspace.id);
      res.redirect(303, stillOwner ? backTo(fallback, undefined, 'role') : '/connections/mine');
    }),
  );

  return router;
}

function noticeOf(req: Request): string | null {
  const key = req.query.notice;
  return typeof key === 'string' && Object.hasOwn(NOTICES, key) ? NOTICES[key]! : null;
}
function errorOf(req: Request): string | null {
  const key = req.query.error;
  return typeof key === 'string' && Object.hasOwn(ERRORS, key) ? ERRORS[key]! : null;
}
