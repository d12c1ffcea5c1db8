/**
 * The console's wire schemas: they validate requests, type the handlers'
 * answers and describe both in openapi.json.
 */
import { z } from 'zod';
import type { GrantSummary } from '../../store/grants.js';
import type { Workspace } from '../../store/workspaces.js';
import type { AppFacts, InternalConnection } from '../connections.js';

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

export function grantToWire(g: GrantSummary, status: 'active' | 'revoked' = 'active'): z.infer<typeof grantWireSchema> {
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

export function appToWire(a: AppFacts) {
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

export function internalToWire(c: InternalConnection) {
  return {
    app: appToWire(c.app),
    created_at: c.createdAt.toISOString(),
    created_by: c.createdBy ? { id: c.createdBy.id, email: c.createdBy.email } : null,
    pages: c.pageCount,
    connected_by: c.connectedBy,
  };
}

export function policyToWire(w: Workspace): z.infer<typeof policyWireSchema> {
  return {
    object: 'install_policy',
    workspace_id: w.id,
    install_policy: w.installPolicy,
    auto_approve_organisation: w.autoApproveOrganisation,
  };
}

export function revocationToWire(results: Array<{ grantId: string; revoked: boolean }>): z.infer<typeof revocationWireSchema> {
  return {
    object: 'revocation',
    revoked: results.filter((r) => r.revoked).map((r) => r.grantId),
    already_revoked: results.filter((r) => !r.revoked).map((r) => r.grantId),
  };
}

export const appWireSchema = z.object({
  id: z.string(),
  name: z.string(),
  client_id: z.string().nullable(),
  integration_kind: z.enum(['public', 'internal']),
  website: z.string().nullable(),
  support_contact: z.string().nullable(),
  built_by_organisation: z.boolean(),
});
export const internalConnectionWireSchema = z.object({
  app: appWireSchema,
  created_at: z.string(),
  created_by: z.object({ id: z.string(), email: z.string() }).nullable(),
  pages: z.number().int(),
  connected_by: z.array(z.string()),
});
export const grantListWireSchema = z.object({ object: z.literal('list'), grants: z.array(grantWireSchema) });
/** A grant whose workspace, app or person is gone: ids only. */
export const bareGrantWireSchema = z.object({
  object: z.literal('grant'),
  id: z.string(),
  workspace: z.object({ id: z.string() }),
  app: z.object({ id: z.string() }),
  person: z.object({ id: z.string() }),
  capabilities: z.array(z.string()),
  page_ids: z.array(z.string()),
  status: z.string(),
  created_at: z.string(),
});
export const connectionsWireSchema = z.object({
  object: z.literal('list'),
  workspace: z.object({ id: z.string(), name: z.string() }),
  connections: z.array(
    z.object({
      app: appWireSchema,
      approved: z.boolean(),
      grants: z.array(z.object({ id: z.string(), person: z.object({ id: z.string(), email: z.string() }), created_at: z.string() })),
    }),
  ),
  internal_integrations: z.array(internalConnectionWireSchema),
});
export const usersWireSchema = z.object({
  object: z.literal('list'),
  app: appWireSchema,
  users: z.array(
    z.object({
      grant_id: z.string(),
      person: z.object({ id: z.string(), email: z.string(), name: z.string() }),
      pages: z.array(z.object({ id: z.string(), title: z.string() })),
      capabilities: z.array(z.string()),
      created_at: z.string(),
    }),
  ),
});
export const approvedListWireSchema = z.object({
  object: z.literal('list'),
  approved_apps: z.array(
    z.object({
      app: appWireSchema,
      added_at: z.string(),
      installed_by: z.array(z.object({ grant_id: z.string(), person_id: z.string(), email: z.string() })),
    }),
  ),
  approvable_apps: z.array(appWireSchema),
});
export const approvedAppWireSchema = z.object({
  object: z.literal('approved_app'),
  workspace_id: z.string(),
  client_id: z.string(),
  added: z.boolean().optional(),
  removed: z.boolean().optional(),
});
export const membersWireSchema = z.object({
  object: z.literal('list'),
  members: z.array(z.object({ person_id: z.string(), email: z.string(), name: z.string(), role: z.enum(['owner', 'member']) })),
});
export const memberWireSchema = z.object({
  object: z.literal('workspace_member'),
  workspace_id: z.string(),
  person_id: z.string(),
  role: z.enum(['owner', 'member']),
  changed: z.boolean(),
});
export const integrationDisconnectionWireSchema = z.object({
  object: z.literal('internal_integration_disconnection'),
  integration_id: z.string(),
  pages_disconnected: z.array(z.string()).describe('The pages it was disconnected from'),
});
export const workspaceDisconnectionWireSchema = revocationWireSchema.extend({
  upstream_connections_disconnected: z.number().int(),
  internal_integrations_disconnected: z.number().int(),
});
export const upstreamDisconnectionWireSchema = revocationWireSchema.extend({
  upstream_connection_id: z.string(),
  disconnected: z.boolean(),
  revoked_at_notion: z.boolean(),
});
