/**
 * Partner webhook subscriptions: one or more per partner app, each a URL and
 * the Notion event types it wants. States: `pending` (verification POST sent,
 * waiting for the token to be entered back), `active`, `disabled`. Secrets are
 * stored encrypted only; callers pass in the ciphertexts (see
 * `WebhookSubscriptionsTable`) and decrypt with the keyring themselves.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { isUuid } from './people.js';
import type { Database, WebhookSubscriptionsTable } from './schema.js';

export type WebhookSubscriptionStatus = WebhookSubscriptionsTable['status'];

export interface WebhookSubscription {
  id: string;
  appId: string;
  url: string;
  events: string[];
  status: WebhookSubscriptionStatus;
  failingSince: Date | null;
  disabledReason: string | null;
  verifiedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The encrypted secrets of one subscription, for signing and verification. */
export interface WebhookSubscriptionSecrets {
  verificationTokenCiphertext: string;
  signingSecretCiphertext: string;
  previousSigningSecretCiphertext: string | null;
  previousSigningSecretExpiresAt: Date | null;
}

/** The columns holding a ciphertext (all under AAD `webhook_subscription:<id>`). */
export type WebhookSecretColumn = 'verification_token_ciphertext' | 'signing_secret_ciphertext' | 'previous_signing_secret_ciphertext';
const SECRET_COLUMNS: WebhookSecretColumn[] = [
  'verification_token_ciphertext',
  'signing_secret_ciphertext',
  'previous_signing_secret_ciphertext',
];

export interface WebhookSubscriptionStore {
  /** `encrypt` receives the new row's id (the AAD names it). */
  create(
    args: {
      appId: string;
      url: string;
      events: string[];
      encrypt: (id: string) => { verificationTokenCiphertext: string; signingSecretCiphertext: string };
    },
    now: Date,
  ): Promise<WebhookSubscription>;
  findById(id: string): Promise<WebhookSubscription | null>;
  listForApp(appId: string): Promise<WebhookSubscription[]>;
  listAll(): Promise<WebhookSubscription[]>;
  /** Active subscriptions of these apps that want `eventType`. */
  listActiveFor(appIds: string[], eventType: string): Promise<WebhookSubscription[]>;
  secretsOf(id: string): Promise<WebhookSubscriptionSecrets | null>;
  /** Compare-and-set on the status; false when the row was not in `from`. */
  setStatus(
    id: string,
    from: WebhookSubscriptionStatus[],
    to: WebhookSubscriptionStatus,
    now: Date,
    extra?: { disabledReason?: string | null; verifiedAt?: Date | null },
  ): Promise<boolean>;
  /** A new signing secret; the previous one keeps signing until `previousExpiresAt`. */
  rotateSigningSecret(id: string, nextCiphertext: string, previousExpiresAt: Date, now: Date): Promise<boolean>;
  /** A failed attempt starts (or continues) the failing run; a success ends it. */
  recordOutcome(id: string, ok: boolean, now: Date): Promise<void>;
  delete(id: string): Promise<boolean>;
  /**
   * While a subscription is `pending`, `disabledReason` says why its last
   * verification POST failed (null once one reached the URL); a row in any
   * other state is left alone. False when the row is not pending.
   */
  setPendingReason(id: string, reason: string | null, now: Date): Promise<boolean>;
  /** Every stored secret ciphertext, for re-encryption under a new key. */
  listSecretCiphertexts(): Promise<Array<{ id: string; column: WebhookSecretColumn; ciphertext: string }>>;
  /** Compare-and-swap of one ciphertext: false when it changed meanwhile (a rotation wins). */
  replaceSecretCiphertext(id: string, column: WebhookSecretColumn, expected: string, next: string): Promise<boolean>;
}

type Row = Selectable<WebhookSubscriptionsTable>;

const COLUMNS = [
  'id',
  'app_id',
  'url',
  'events',
  'status',
  'failing_since',
  'disabled_reason',
  'verified_at',
  'created_at',
  'updated_at',
] as const;

function toSubscription(row: Pick<Row, (typeof COLUMNS)[number]>): WebhookSubscription {
  return {
    id: row.id,
    appId: row.app_id,
    url: row.url,
    events: row.events,
    status: row.status,
    failingSince: row.failing_since,
    disabledReason: row.disabled_reason,
    verifiedAt: row.verified_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function webhookSubscriptionStore(db: Kysely<Database>): WebhookSubscriptionStore {
  return {
    async create(args, now) {
      const id = randomUUID();
      const secrets = args.encrypt(id);
      const row = await db
        .insertInto('webhook_subscriptions')
        .values({
          id,
          app_id: args.appId,
          url: args.url,
          events: args.events,
          status: 'pending',
          verification_token_ciphertext: secrets.verificationTokenCiphertext,
          signing_secret_ciphertext: secrets.signingSecretCiphertext,
          created_at: now,
          updated_at: now,
        })
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
      return toSubscription(row);
    },
    async findById(id) {
      if (!isUuid(id)) return null;
      const row = await db.selectFrom('webhook_subscriptions').select(COLUMNS).where('id', '=', id).executeTakeFirst();
      return row ? toSubscription(row) : null;
    },
    async listForApp(appId) {
      if (!isUuid(appId)) return [];
      const rows = await db.selectFrom('webhook_subscriptions').select(COLUMNS).where('app_id', '=', appId).orderBy('created_at').execute();
      return rows.map(toSubscription);
    },
    async listAll() {
      const rows = await db.selectFrom('webhook_subscriptions').select(COLUMNS).orderBy('created_at').execute();
      return rows.map(toSubscription);
    },
    async listActiveFor(appIds, eventType) {
      if (appIds.length === 0) return [];
      const rows = await db
        .selectFrom('webhook_subscriptions')
        .select(COLUMNS)
        .where('app_id', 'in', appIds)
        .where('status', '=', 'active')
        .execute();
      return rows.map(toSubscription).filter((s) => s.events.includes(eventType));
    },
    async secretsOf(id) {
      if (!isUuid(id)) return null;
      const row = await db
        .selectFrom('webhook_subscriptions')
        .select([
          'verification_token_ciphertext',
          'signing_secret_ciphertext',
          'previous_signing_secret_ciphertext',
          'previous_signing_secret_expires_at',
        ])
        .where('id', '=', id)
        .executeTakeFirst();
      return row
        ? {
            verificationTokenCiphertext: row.verification_token_ciphertext,
            signingSecretCiphertext: row.signing_secret_ciphertext,
            previousSigningSecretCiphertext: row.previous_signing_secret_ciphertext,
            previousSigningSecretExpiresAt: row.previous_signing_secret_expires_at,
          }
        : null;
    },
    async setStatus(id, from, to, now, extra = {}) {
      if (!isUuid(id) || from.length === 0) return false;
      const result = await db
        .updateTable('webhook_subscriptions')
        .set({
          status: to,
          updated_at: now,
          ...(to === 'active' ? { failing_since: null, disabled_reason: null } : {}),
          ...(extra.disabledReason !== undefined ? { disabled_reason: extra.disabledReason } : {}),
          ...(extra.verifiedAt !== undefined ? { verified_at: extra.verifiedAt } : {}),
        })
        .where('id', '=', id)
        .where('status', 'in', from)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async rotateSigningSecret(id, nextCiphertext, previousExpiresAt, now) {
      if (!isUuid(id)) return false;
      const result = await db
        .updateTable('webhook_subscriptions')
        .set((eb) => ({
          previous_signing_secret_ciphertext: eb.ref('signing_secret_ciphertext'),
          previous_signing_secret_expires_at: previousExpiresAt,
          signing_secret_ciphertext: nextCiphertext,
          updated_at: now,
        }))
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async recordOutcome(id, ok, now) {
      if (!isUuid(id)) return;
      await db
        .updateTable('webhook_subscriptions')
        .set((eb) => ({ failing_since: ok ? null : eb.fn.coalesce('failing_since', eb.val(now)) }))
        .where('id', '=', id)
        .execute();
    },
    async delete(id) {
      if (!isUuid(id)) return false;
      const result = await db.deleteFrom('webhook_subscriptions').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async listSecretCiphertexts() {
      const rows = await db
        .selectFrom('webhook_subscriptions')
        .select(['id', ...SECRET_COLUMNS])
        .orderBy('created_at')
        .execute();
      return rows.flatMap((row) =>
        SECRET_COLUMNS.flatMap((column) => (row[column] === null ? [] : [{ id: row.id, column, ciphertext: row[column]! }])),
      );
    },
    async replaceSecretCiphertext(id, column, expected, next) {
      if (!isUuid(id)) return false;
      const result = await db
        .updateTable('webhook_subscriptions')
        .set({ [column]: next })
        .where('id', '=', id)
        .where(column, '=', expected)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setPendingReason(id, reason, now) {
      if (!isUuid(id)) return false;
      const result = await db
        .updateTable('webhook_subscriptions')
        .set({ disabled_reason: reason, updated_at: now })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}
