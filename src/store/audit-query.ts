/**
 * Reading the audit log for people: filters by time, actor,
 * partner, action and workspace, always inside a scope. An owner's scope is
 * the workspaces they own (events without a workspace are outside it); an
 * organisation admin's scope is everything (`workspaceIds: null`).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { AuditEvent, StoredAuditEvent } from './audit.js';

export interface AuditSearch {
  /** null: every event (organisation admins); otherwise only events of these workspaces. */
  scope: string[] | null;
  since?: Date;
  until?: Date;
  /** A person's id, or the actor's label (an email, an app name), compared without case. */
  actor?: string;
  /** A partner app's id: events by it, about it, or about its grants. */
  partnerAppId?: string;
  action?: string;
  workspaceId?: string;
  /** Events older than this id (paging backwards). */
  before?: string;
  limit: number;
}

export interface AuditQuery {
  search(filter: AuditSearch): Promise<StoredAuditEvent[]>;
}

export function auditQuery(db: Kysely<Database>): AuditQuery {
  return {
    async search(filter) {
      if (filter.scope !== null && filter.scope.length === 0) return [];
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.scope !== null) query = query.where('workspace_id', 'in', filter.scope);
      if (filter.workspaceId) query = query.where('workspace_id', '=', filter.workspaceId);
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.since) query = query.where('occurred_at', '>=', filter.since);
      if (filter.until) query = query.where('occurred_at', '<', filter.until);
      if (filter.before && /^\d{1,18}$/.test(filter.before)) query = query.where('id', '<', filter.before);
      if (filter.actor) {
        const actor = filter.actor;
        query = query.where((eb) => eb.or([eb('actor_id', '=', actor), eb(eb.fn('lower', ['actor_label']), '=', actor.toLowerCase())]));
      }
      if (filter.partnerAppId) {
        const appId = filter.partnerAppId;
        query = query.where((eb) =>
          eb.or([
            eb.and([eb('actor_type', '=', 'partner'), eb('actor_id', '=', appId)]),
            eb.and([eb('target_type', '=', 'partner_app'), eb('target_id', '=', appId)]),
            eb(sql<string>`detail->>'appId'`, '=', appId),
          ]),
        );
      }
      const rows = await query
        .orderBy('id', 'desc')
        .limit(Math.max(1, Math.min(filter.limit, 1000)))
        .execute();
      return rows.map((r) => ({
        id: String(r.id),
        action: r.action,
        occurredAt: r.occurred_at,
        actor: { type: r.actor_type, id: r.actor_id, label: r.actor_label },
        target: r.target_type && r.target_id ? { type: r.target_type, id: r.target_id } : null,
        workspaceId: r.workspace_id,
        address: r.address,
        outcome: r.outcome as AuditEvent['outcome'],
        detail: r.detail,
      }));
    },
  };
}
