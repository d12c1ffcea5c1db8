/**
 * The admin JSON API under /api/admin/v1. Errors answer
 * `{ "error": { "code", "message" } }` (src/http/errors.ts).
 */
import { Router } from 'express';
import type { Clock } from '../clock.js';
import type { Keyring } from '../crypto/keyring.js';
import type { AuditStore } from '../store/audit.js';
import type { AdminTokenStore } from '../store/admin-tokens.js';
import type { InternalIntegrationStore } from '../store/internal-integrations.js';
import type { PeopleStore } from '../store/people.js';
import type { UpstreamConnectionStore } from '../store/upstream-connections.js';
import type { WorkspaceStore } from '../store/workspaces.js';
import { indexStateText } from '../upstream/routes.js';
import { adminAuthentication, requireOrganisationAdmin } from './auth.js';
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

export function adminApi(deps: AdminApiDeps): Router {
  const router = Router();
  router.get('/api/admin/v1/openapi.json', (_req, res) => {
    res.json(openApiDocument(deps.publicUrl));
  });

  router.use('/api/admin/v1', adminAuthentication(deps));

  router.get('/api/admin/v1/workspaces', async (_req, res) => {
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
    res.json({ object: 'list', workspaces });
  });

  router.post('/api/admin/v1/keys/rotate', requireOrganisationAdmin, async (req, res) => {
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
    res.json({
      key_id: result.keyId,
      reencrypted: result.reencrypted,
      already_current: result.alreadyCurrent,
      unreadable: result.unreadable,
    });
  });

  return router;
}
