/**
 * Notion's webhooks as they came in: the intakes (the token Notion sent each
 * one, encrypted) and the events, stored once per (intake, Notion event id).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { isUuid } from './people.js';
import type { Database } from './schema.js';

export interface NotionWebhookIntake {
  id: string;
  verificationTokenCiphertext: string | null;
  tokenReceivedAt: Date | null;
  confirmedAt: Date | null;
}

export interface IncomingEvent {
  intakeId: string;
  notionEventId: string;
  workspaceId: string;
  type: string;
  entityId: string;
  entityType: string;
  occurredAt: Date;
  body: Record<string, unknown>;
}

export interface StoredEvent extends IncomingEvent {
  id: string;
  receivedAt: Date;
}

export interface WebhookEventStore {
  findIntake(id: string): Promise<NotionWebhookIntake | null>;
  /** Keeps the token Notion sent, unless the intake's token is already confirmed; false when refused. */
  storeVerificationToken(id: string, ciphertext: string, now: Date): Promise<boolean>;
  /** For `keys rotate`. */
  listIntakeCiphertexts(): Promise<Array<{ id: string; ciphertext: string }>>;
  /** Compare-and-swap on the old ciphertext. */
  replaceIntakeCiphertext(id: string, expected: string, next: string): Promise<boolean>;
  /** Forgets the token (an organisation admin's reset): the next verification POST is taken. */
  resetIntake(id: string, now: Date): Promise<void>;
  /**
   * In one transaction: confirms the intake's token (a correctly signed event
   * proves Notion holds it), stores the event unless this intake already has
   * its Notion id, and when it was new lets `afterInsert` add its fan-out job
   * to the same transaction. Null when the event was a repeat.
   */
  insertOnce(
    event: IncomingEvent,
    now: Date,
    afterInsert: (trx: Transaction<Database>, eventId: string) => Promise<void>,
  ): Promise<StoredEvent | null>;
  findById(id: string): Promise<StoredEvent | null>;
  /** Events of these intakes received in [since, until), oldest first (replay). */
  listReceived(args: { since: Date; until: Date; limit: number }): Promise<StoredEvent[]>;
  /** Retention: removes events received before `before`; how many went. */
  purgeBefore(before: Date): Promise<number>;
}

function toEvent(row: {
  id: string;
  intake_id: string;
  notion_event_id: string;
  workspace_id: string;
  type: string;
  entity_id: string;
  entity_type: string;
  occurred_at: Date;
  body: Record<string, unknown>;
  received_at: Date;
}): StoredEvent {
  return {
    id: row.id,
    intakeId: row.intake_id,
    notionEventId: row.notion_event_id,
    workspaceId: row.workspace_id,
    type: row.type,
    entityId: row.entity_id,
    entityType: row.entity_type,
    occurredAt: row.occurred_at,
    body: row.body,
    receivedAt: row.received_at,
  };
}

export function webhookEventStore(db: Kysely<Database>): WebhookEventStore {
  return {
    async findIntake(id) {
      const row = await db.selectFrom('notion_webhook_intakes').selectAll().where('id', '=', id).executeTakeFirst();
      return row
        ? {
            id: row.id,
            verificationTokenCiphertext: row.verification_token_ciphertext,
            tokenReceivedAt: row.token_received_at,
            confirmedAt: row.confirmed_at,
          }
        : null;
    },
    async storeVerificationToken(id, ciphertext, now) {
      // One statement decides: a confirmed intake's row is left alone, so two racing POSTs cannot replace a confirmed token.
      const result = await db
        .insertInto('notion_webhook_intakes')
        .values({ id, verification_token_ciphertext: ciphertext, token_received_at: now, confirmed_at: null, updated_at: now })
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet({ verification_token_ciphertext: ciphertext, token_received_at: now, updated_at: now })
            .where('notion_webhook_intakes.confirmed_at', 'is', null),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
    },
    async listIntakeCiphertexts() {
      const rows = await db
        .selectFrom('notion_webhook_intakes')
        .select(['id', 'verification_token_ciphertext'])
        .where('verification_token_ciphertext', 'is not', null)
        .execute();
      return rows.map((r) => ({ id: r.id, ciphertext: r.verification_token_ciphertext! }));
    },
    async replaceIntakeCiphertext(id, expected, next) {
      const result = await db
        .updateTable('notion_webhook_intakes')
        .set({ verification_token_ciphertext: next })
        .where('id', '=', id)
        .where('verification_token_ciphertext', '=', expected)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async resetIntake(id, now) {
      await db
        .updateTable('notion_webhook_intakes')
        .set({ verification_token_ciphertext: null, token_received_at: null, confirmed_at: null, updated_at: now })
        .where('id', '=', id)
        .execute();
    },
    async insertOnce(event, now, afterInsert) {
      return db.transaction().execute(async (trx) => {
        await trx
          .updateTable('notion_webhook_intakes')
          .set({ confirmed_at: now, updated_at: now })
          .where('id', '=', event.intakeId)
          .where('confirmed_at', 'is', null)
          .execute();
        const row = await trx
          .insertInto('webhook_events')
          .values({
            id: randomUUID(),
            intake_id: event.intakeId,
            notion_event_id: event.notionEventId,
            workspace_id: event.workspaceId,
            type: event.type,
            entity_id: event.entityId,
            entity_type: event.entityType,
            occurred_at: event.occurredAt,
            body: JSON.stringify(event.body),
            received_at: now,
          })
          .onConflict((oc) => oc.columns(['intake_id', 'notion_event_id']).doNothing())
          .returningAll()
          .executeTakeFirst();
        if (!row) return null;
        await afterInsert(trx, row.id);
        return toEvent(row);
      });
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('webhook_events').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toEvent(row) : null;
    },
    async listReceived({ since, until, limit }) {
      const rows = await db
        .selectFrom('webhook_events')
        .selectAll()
        .where('received_at', '>=', since)
        .where('received_at', '<', until)
        .orderBy('received_at')
        .orderBy('id')
        .limit(limit)
        .execute();
      return rows.map(toEvent);
    },
    async purgeBefore(before) {
      const result = await db.deleteFrom('webhook_events').where('received_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
