/**
 * The admin JSON API under /api/admin/v1: its own operations (workspaces, key
 * rotation, the OpenAPI document) as contracts, and the catch-all that
 * answers an unknown admin path 401 to a stranger. Errors answer
 * `{ "error": { "code", "message" } }` (src/http/errors.ts).
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import { contractsFor, type Contract } from '../http/contract.js';
import { mountZone, type ZoneGuards } from '../http/zones.js';
import type { AuditStore } from '../store/audit.js';
import type { AdminTokenStore } from '../store/admin-tokens.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { PeopleStore } from '../store/people.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import { indexStateText } from '../upstream/routes.js';
import { rotateKeys } from './keys.js';
import { openApiDocument } from './openapi.js';

export interface AdminApiDeps {
  adminTokens: AdminTokenStore;
  people: PeopleStore;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  audit: AuditStore;
  keyring: Keyring;
  adminEmails: string[];
  clock: Clock;
  publicUrl: string;
  /** `keys rotate` re-encrypts internal integration tokens too. */
  internalIntegrations?: InternalIntegrationStore;
  webhookSubscriptions?: Parameters<typeof rotateKeys>[0]['webhookSubscriptions'];
  webhookEvents?: Parameters<typeof rotateKeys>[0]['webhookEvents'];
}

const { api } = contractsFor<AdminApiDeps>();
const V1 = '/api/admin/v1';

export const openApiOperation = api(
  {
    zone: 'public',
    name: 'openApiDocument',
    method: 'get',
    path: `${V1}/openapi.json`,
    summary: 'This document (public)',
    answer: z.record(z.string(), z.unknown()),
    audit: { none: 'a public description' },
  },
  async (_input, _ctx, deps) => openApiDocument(deps.publicUrl),
);

const workspaceWireSchema = z.object({
  id: z.string(),
  name: z.string(),
  icon: z.string().nullable(),
  install_policy: z.enum(['no_restrictions', 'approved_only']),
  role: z.string().nullable().describe("The caller's role; null for organisation admins"),
  owners: z.number().int(),
  members: z.number().int(),
  upstream_connections: z.array(
    z.object({
      id: z.string(),
      person_id: z.string(),
      kind: z.string(),
      index_state: z.string(),
      pages_indexed: z.number().int(),
      index_text: z.string(),
    }),
  ),
});

export const listWorkspacesOperation = api(
  {
    zone: 'owner',
    name: 'listWorkspaces',
    method: 'get',
    path: `${V1}/workspaces`,
    summary: 'Workspaces the caller may see (all, for organisation admins)',
    answer: z.object({ object: z.literal('list'), workspaces: z.array(workspaceWireSchema) }),
    audit: { none: 'a read' },
  },
  async (_input, { res }, deps) => {
    const principal = res.locals.principal!;
    const list = principal.isOrganisationAdmin
      ? (await deps.workspaces.listAll()).map((w) => ({ ...w, role: null as string | null }))
      : principal.person
        ? await deps.workspaces.listForPerson(principal.person.id)
        : [];
    const workspaces = await Promise.all(
      list.map(async (w) => {
        const members = (await deps.workspaces.listMembers(w.id)).filter((m) => m.status === 'active');
        const connections = await deps.connections.listActiveForWorkspace(w.id);
        return {
          id: w.id,
          name: w.name,
          icon: w.icon,
          install_policy: w.installPolicy,
          role: w.role,
          owners: members.filter((m) => m.role === 'owner').length,
          members: members.length,
          upstream_connections: connections.map((c) => ({
            id: c.id,
            person_id: c.personId,
            kind: c.kind,
            index_state: c.indexState,
            pages_indexed: c.indexCount,
            index_text: indexStateText(c),
          })),
        };
      }),
    );
    return { object: 'list' as const, workspaces };
  },
);

export const rotateKeysOperation = api(
  {
    zone: 'org-admin',
    name: 'rotateKeys',
    method: 'post',
    path: `${V1}/keys/rotate`,
    summary: 'Re-encrypt every stored credential under the current key (organisation admins)',
    answer: z.object({
      key_id: z.string(),
      reencrypted: z.number().int(),
      already_current: z.number().int(),
      unreadable: z.array(z.object({ type: z.string(), id: z.string() })).describe('Values (by type and id) no configured key decrypts'),
    }),
    audit: 'keys.rotated',
  },
  async (_input, { req, res }, deps) => {
    const result = await rotateKeys(deps);
    const principal = res.locals.principal!;
    await deps.audit.record(
      {
        action: 'keys.rotated',
        actor: { type: principal.via === 'session' ? 'person' : 'admin_token', id: principal.person?.id ?? null, label: principal.label },
        address: req.ip ?? null,
        outcome: result.unreadable.length > 0 ? 'failure' : 'success',
        detail: { keyId: result.keyId, reencrypted: result.reencrypted, unreadable: result.unreadable.length },
      },
      deps.clock.now(),
    );
    return {
      key_id: result.keyId,
      reencrypted: result.reencrypted,
      already_current: result.alreadyCurrent,
      unreadable: result.unreadable,
    };
  },
);

export const ADMIN_API_PUBLIC: ReadonlyArray<Contract<'public', AdminApiDeps>> = [openApiOperation];
export const ADMIN_API_OWNER: ReadonlyArray<Contract<'owner', AdminApiDeps>> = [listWorkspacesOperation];
export const ADMIN_API_ORG_ADMIN: ReadonlyArray<Contract<'org-admin', AdminApiDeps>> = [rotateKeysOperation];

/** `guards`: the application's one set of zone guards (src/app.ts). */
export function adminApi(deps: AdminApiDeps, guards: ZoneGuards): Router {
  const router = Router();
  mountZone(router, 'public', ADMIN_API_PUBLIC, deps, guards);
  mountZone(router, 'owner', ADMIN_API_OWNER, deps, guards);
  mountZone(router, 'org-admin', ADMIN_API_ORG_ADMIN, deps, guards);
  // Any other admin path: a stranger is told to authenticate (401) before learning whether it exists (404).
  router.use(V1, guards.principal);
  return router;
}
