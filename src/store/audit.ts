import { isAuditAction, type AuditAction } from '../audit/actions.js';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** `resource.action` names (grant.revoked, code.replayed, ...): the closed list is in src/audit/actions.ts. */
export interface AuditEvent {
  action: AuditAction;
  actor: { type: 'person' | 'admin_token' | 'partner' | 'system'; id?: string | null; label?: string | null };
  target?: { type: string; id: string } | null;
  workspaceId?: string | null;
  address?: string | null;
  outcome: 'success' | 'failure';
  detail?: Record<string, unknown>;
}

/** As stored: rows written before an action left the list still read back. */
export interface StoredAuditEvent extends Omit<AuditEvent, 'action'> {
  action: string;
  id: string;
  occurredAt: Date;
}

export interface AuditStore {
  record(event: AuditEvent, now: Date): Promise<void>;
  list(filter: {
    action?: string;
    workspaceId?: string;
    actorId?: string;
    since?: Date;
    until?: Date;
    limit?: number;
  }): Promise<StoredAuditEvent[]>;
}

export function auditStore(db: Kysely<Database>): AuditStore {
  return {
    async record(event, now) {
      // The type refuses an unlisted action at compile time; this refuses one that arrived as a plain string.
      if (!isAuditAction(event.action)) throw new Error(`audit action "${String(event.action).slice(0, 80)}" is not on the list`);
      await db
        .insertInto('audit_events')
        .values({
          action: event.action,
          actor_type: event.actor.type,
          actor_id: event.actor.id ?? null,
          actor_label: event.actor.label ?? null,
          target_type: event.target?.type ?? null,
          target_id: event.target?.id ?? null,
          workspace_id: event.workspaceId ?? null,
          occurred_at: now,
          address: event.address ?? null,
          outcome: event.outcome,
          detail: JSON.stringify(event.detail ?? {}),
        })
        .execute();
    },
    async list(filter) {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.action) query = query.where('action', '=', filter.action);
      if (filter.workspaceId) query = query.where('workspace_id', '=', filter.workspaceId);
      if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
      if (filter.since) query = query.where('occurred_at', '>=', filter.since);
      if (filter.until) query = query.where('occurred_at', '<', filter.until);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(Math.min(filter.limit ?? 100, 1000))
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
