/**
 * Webhook deliveries: one row per (event, subscription, origin). The row is
 * the truth about a delivery; the job engine only wakes a worker for it.
 * Every state change is a compare-and-set on (status, attempts), so two
 * workers holding jobs for the same attempt cannot both send it (see
 * src/webhooks/delivery.ts for the argument).
 *
 *   pending ──claim──▶ sending ──2xx──▶ delivered
 *      ▲                 │ ──410 / last attempt──▶ failed
 *      └──── failure ────┘ ──grant gone / subscription off──▶ skipped
 *   failed, skipped ──"Retry now"──▶ pending
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { isUuid } from './people.js';
import type { Database, WebhookDeliveriesTable } from './schema.js';

export type DeliveryStatus = WebhookDeliveriesTable['status'];

export interface WebhookDelivery {
  id: string;
  eventId: string;
  subscriptionId: string;
  origin: string;
  access: 'lost' | 'gained' | null;
  scopeId: string;
  chain: string[];
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  leaseUntil: Date | null;
  lastAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  lastResponseExcerpt: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  /** From the event. */
  eventType: string;
  entityId: string;
  entityType: string;
  receivedAt: Date;
}

export interface NewDelivery {
  eventId: string;
  subscriptionId: string;
  origin: string;
  access: 'lost' | 'gained' | null;
  scopeId: string;
  chain: string[];
}

/** What an attempt ended in. */
export type AttemptResult =
  | { kind: 'delivered'; statusCode: number; excerpt: string }
  | { kind: 'retry'; nextAttemptAt: Date; statusCode: number | null; error: string | null; excerpt: string | null }
  | { kind: 'failed'; statusCode: number | null; error: string | null; excerpt: string | null };

export type ClaimResult = 'claimed' | 'not_due' | 'stale';

export interface WebhookDeliveryStore {
  /** Inserts the rows not already there; returns the new rows' ids. */
  insertMany(rows: NewDelivery[], now: Date): Promise<Array<{ id: string; subscriptionId: string }>>;
  findById(id: string): Promise<WebhookDelivery | null>;
  /**
   * Takes attempt `attempt` of a delivery for this worker until `leaseUntil`:
   * from `pending` with `attempt - 1` attempts made and due by `now`, or a
   * `sending` claim of that same attempt whose lease ran out (its worker
   * died: the attempt is made again, at least once). `not_due`: the job came
   * early or another worker's lease still runs; `stale`: the job is for an
   * attempt already decided.
   */
  claim(id: string, attempt: number, now: Date, leaseUntil: Date): Promise<ClaimResult>;
  /** Records the attempt's result, if this worker's claim still stands. */
  finish(id: string, attempt: number, result: AttemptResult, now: Date): Promise<boolean>;
  /** Stops a delivery without sending (grant no longer covers it, subscription not active). */
  skip(id: string, attempt: number, reason: string, now: Date): Promise<boolean>;
  /** "Retry now": a failed or skipped delivery is due again; returns the attempt number to make, or null. */
  retryNow(id: string, now: Date): Promise<number | null>;
  listForSubscription(subscriptionId: string, limit: number): Promise<WebhookDelivery[]>;
  /** Deliveries still to be made (pending or sending). */
  countOpen(): Promise<number>;
}

const EXCERPT_LIMIT = 1024;

function excerpt(text: string | null): string | null {
  if (text === null) return null;
  return Buffer.byteLength(text) <= EXCERPT_LIMIT
    ? text
    : Buffer.from(text)
        .subarray(0, EXCERPT_LIMIT)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
}

export function webhookDeliveryStore(db: Kysely<Database>): WebhookDeliveryStore {
  const withEvent = () =>
    db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select(['e.type as event_type', 'e.entity_id', 'e.entity_type', 'e.received_at']);
  type Row = Awaited<ReturnType<ReturnType<typeof withEvent>['executeTakeFirstOrThrow']>>;
  const toDelivery = (r: Row): WebhookDelivery => ({
    id: r.id,
    eventId: r.event_id,
    subscriptionId: r.subscription_id,
    origin: r.origin,
    access: r.access,
    scopeId: r.scope_id,
    chain: r.chain,
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    leaseUntil: r.lease_until,
    lastAttemptAt: r.last_attempt_at,
    lastStatusCode: r.last_status_code,
    lastError: r.last_error,
    lastResponseExcerpt: r.last_response_excerpt,
    deliveredAt: r.delivered_at,
    createdAt: r.created_at,
    eventType: r.event_type,
    entityId: r.entity_id,
    entityType: r.entity_type,
    receivedAt: r.received_at,
  });
  return {
    async insertMany(rows, now) {
      if (rows.length === 0) return [];
      const inserted = await db
        .insertInto('webhook_deliveries')
        .values(
          rows.map((r) => ({
            id: randomUUID(),
            event_id: r.eventId,
            subscription_id: r.subscriptionId,
            origin: r.origin,
            access: r.access,
            scope_id: r.scopeId,
            chain: JSON.stringify(r.chain),
            status: 'pending' as const,
            next_attempt_at: now,
            created_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['event_id', 'subscription_id', 'origin']).doNothing())
        .returning(['id', 'subscription_id'])
        .execute();
      return inserted.map((r) => ({ id: r.id, subscriptionId: r.subscription_id }));
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await withEvent().where('d.id', '=', id).executeTakeFirst();
      return row ? toDelivery(row) : null;
    },
    async claim(id, attempt, now, leaseUntil) {
      const result = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'sending', attempts: attempt, lease_until: leaseUntil })
        .where('id', '=', id)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'pending'), eb('attempts', '=', attempt - 1), eb('next_attempt_at', '<=', now)]),
            eb.and([eb('status', '=', 'sending'), eb('attempts', '=', attempt), eb('lease_until', '<=', now)]),
          ]),
        )
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 1) return 'claimed';
      const row = await db.selectFrom('webhook_deliveries').select(['status', 'attempts']).where('id', '=', id).executeTakeFirst();
      if (!row) return 'stale';
      const open =
        (row.status === 'pending' && Number(row.attempts) === attempt - 1) ||
        (row.status === 'sending' && Number(row.attempts) === attempt);
      return open ? 'not_due' : 'stale';
    },
    async finish(id, attempt, result, now) {
      const common = {
        lease_until: null,
        last_attempt_at: now,
        last_status_code: result.statusCode,
        last_error: result.kind === 'delivered' ? null : result.error,
        last_response_excerpt: excerpt(result.excerpt),
      };
      const state =
        result.kind === 'delivered'
          ? { status: 'delivered' as const, delivered_at: now, next_attempt_at: null }
          : result.kind === 'retry'
            ? { status: 'pending' as const, next_attempt_at: result.nextAttemptAt }
            : { status: 'failed' as const, next_attempt_at: null };
      const updated = await db
        .updateTable('webhook_deliveries')
        .set({ ...common, ...state })
        .where('id', '=', id)
        .where('status', '=', 'sending')
        .where('attempts', '=', attempt)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
    async skip(id, attempt, reason, now) {
      const updated = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'skipped', lease_until: null, next_attempt_at: null, last_error: reason, last_attempt_at: now })
        .where('id', '=', id)
        .where('status', '=', 'sending')
        .where('attempts', '=', attempt)
        .executeTakeFirst();
      return Number(updated.numUpdatedRows) === 1;
    },
    async retryNow(id, now) {
      if (!isUuid(id)) return null;
      const row = await db
        .updateTable('webhook_deliveries')
        .set({ status: 'pending', next_attempt_at: now, lease_until: null })
        .where('id', '=', id)
        .where('status', 'in', ['failed', 'skipped'])
        .returning('attempts')
        .executeTakeFirst();
      return row ? Number(row.attempts) + 1 : null;
    },
    async listForSubscription(subscriptionId, limit) {
      if (!isUuid(subscriptionId)) return [];
      const rows = await withEvent()
        .where('d.subscription_id', '=', subscriptionId)
        .orderBy('d.created_at', 'desc')
        .orderBy('d.id')
        .limit(limit)
        .execute();
      return rows.map(toDelivery);
    },
    async countOpen() {
      const row = await db
        .selectFrom('webhook_deliveries')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('status', 'in', ['pending', 'sending'])
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
