/**
 * The one set of migrations, for PGlite and PostgreSQL alike. Migrations are
 * code in this file (not files found at run time) so the compiled image and
 * `tsx` read the same list. Append; never edit a migration that has shipped.
 */
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
// Later migrations live beside their store, to keep this file short; the list below is still the one list.
import { agentPolicyMigration } from './agent-policy.js';
import { approvalRequestsMigration } from './approval-requests.js';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('people')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('email', 'text', (c) => c.notNull())
      .addColumn('email_verified', 'boolean', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_sign_in_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('people_issuer_subject', ['issuer', 'subject'])
      .execute();

    await db.schema
      .createTable('workspaces')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('icon', 'text')
      .addColumn('install_policy', 'text', (c) =>
        c
          .notNull()
          .defaultTo('no_restrictions')
          .check(sql`install_policy in ('no_restrictions', 'approved_only')`),
      )
      .addColumn('auto_approve_organisation', 'boolean', (c) => c.notNull().defaultTo(true))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('workspace_members')
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'member')`))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'left')`))
      .addColumn('joined_at', 'timestamptz', (c) => c.notNull())
      .addColumn('left_at', 'timestamptz')
      .addPrimaryKeyConstraint('workspace_members_pk', ['workspace_id', 'person_id'])
      .execute();

    await db.schema
      .createTable('upstream_connections')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('oauth', 'internal')`))
      .addColumn('credential_ciphertext', 'text')
      .addColumn('bot_id', 'text', (c) => c.notNull())
      .addColumn('notion_user_id', 'text', (c) => c.notNull())
      .addColumn('notion_user', 'jsonb', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'broken', 'disconnected')`))
      .addColumn('index_state', 'text', (c) => c.notNull().check(sql`index_state in ('pending', 'running', 'ready', 'failed')`))
      .addColumn('index_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('index_error', 'text')
      .addColumn('indexed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('upstream_connections_person_workspace', ['person_id', 'workspace_id'])
      .execute();

    await db.schema
      .createTable('page_index')
      .addColumn('connection_id', 'uuid', (c) => c.notNull().references('upstream_connections.id').onDelete('cascade'))
      .addColumn('page_id', 'text', (c) => c.notNull())
      .addColumn('parent_id', 'text')
      .addColumn('parent_type', 'text', (c) => c.notNull())
      .addColumn('title', 'text', (c) => c.notNull())
      .addColumn('object_type', 'text', (c) => c.notNull())
      .addColumn('seen_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('page_index_pk', ['connection_id', 'page_id'])
      .execute();
    await db.schema.createIndex('page_index_parent').on('page_index').columns(['connection_id', 'parent_id']).execute();

    await db.schema
      .createTable('partner_apps')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('client_id', 'text', (c) => c.unique())
      .addColumn('client_secret_hash', 'text')
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('website', 'text')
      .addColumn('support_contact', 'text')
      .addColumn('logo_content_type', 'text')
      .addColumn('logo', 'bytea')
      .addColumn('redirect_uris', 'jsonb', (c) => c.notNull())
      .addColumn('capabilities', 'jsonb', (c) => c.notNull())
      .addColumn('built_by_organisation', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('integration_kind', 'text', (c) => c.notNull().check(sql`integration_kind in ('public', 'internal')`))
      .addColumn('client_type', 'text', (c) => c.notNull().check(sql`client_type in ('confidential', 'public')`))
      .addColumn('workspace_id', 'text', (c) => c.references('workspaces.id').onDelete('cascade'))
      .addColumn('internal_token_ciphertext', 'text')
      .addColumn('created_by', 'uuid')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('grants')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('person_id', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull().references('partner_apps.id').onDelete('cascade'))
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('upstream_connection_id', 'uuid', (c) => c.notNull())
      .addColumn('capabilities', 'jsonb', (c) => c.notNull())
      .addColumn('page_ids', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('active', 'revoked')`))
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('revoked_by', 'text')
      .addColumn('revoke_reason', 'text')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('grants_person_app_workspace', ['person_id', 'app_id', 'workspace_id'])
      .execute();

    await db.schema
      .createTable('authorization_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'uuid', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull())
      .addColumn('redirect_uri', 'text', (c) => c.notNull())
      .addColumn('code_challenge', 'text')
      .addColumn('capabilities', 'jsonb', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('consumed_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('refresh_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('family_id', 'uuid', (c) => c.notNull())
      .addColumn('grant_id', 'uuid', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull())
      .addColumn('code_hash', 'text')
      .addColumn('capabilities', 'jsonb', (c) => c.notNull())
      .addColumn('absolute_expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('used_at', 'timestamptz')
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();

    await db.schema
      .createTable('access_tokens')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'uuid', (c) => c.notNull().references('grants.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull())
      .addColumn('refresh_token_hash', 'text')
      .addColumn('code_hash', 'text')
      .addColumn('capabilities', 'jsonb', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .addColumn('revoked_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('access_tokens_grant').on('access_tokens').column('grant_id').execute();

    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'bigserial', (c) => c.primaryKey())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('actor_type', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('actor_label', 'text')
      .addColumn('target_type', 'text')
      .addColumn('target_id', 'text')
      .addColumn('workspace_id', 'text')
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .addColumn('address', 'text')
      .addColumn('outcome', 'text', (c) => c.notNull())
      .addColumn('detail', 'jsonb', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_events_time').on('audit_events').column('occurred_at').execute();

    await db.schema
      .createTable('admin_tokens')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('person_id', 'uuid', (c) => c.references('people.id').onDelete('cascade'))
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('bootstrap', 'boolean', (c) => c.notNull().defaultTo(false))
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('last_used_at', 'timestamptz')
      .addColumn('revoked_at', 'timestamptz')
      .execute();

    await db.schema
      .createTable('sessions')
      .addColumn('sid', 'text', (c) => c.primaryKey())
      .addColumn('data', 'jsonb', (c) => c.notNull())
      .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();
  },
};

/** Partner OAuth: the approved list, and what a code needs to check its redemption. */
const partnerOAuth: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('approved_apps')
      .addColumn('workspace_id', 'text', (c) => c.notNull().references('workspaces.id').onDelete('cascade'))
      .addColumn('app_id', 'uuid', (c) => c.notNull().references('partner_apps.id').onDelete('cascade'))
      .addColumn('added_by', 'uuid')
      .addColumn('added_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('approved_apps_pk', ['workspace_id', 'app_id'])
      .execute();
    await db.schema
      .alterTable('authorization_codes')
      .addColumn('redirect_uri_explicit', 'boolean', (c) => c.notNull().defaultTo(true))
      .execute();
    await db.schema.alterTable('authorization_codes').addColumn('person_id', 'uuid').execute();
    await db.schema.createIndex('refresh_tokens_grant').on('refresh_tokens').column('grant_id').execute();
    await db.schema.createIndex('access_tokens_code').on('access_tokens').column('code_hash').execute();
    await db.schema.createIndex('refresh_tokens_code').on('refresh_tokens').column('code_hash').execute();
  },
};

/**
 * Internal integrations: the token's hash beside its
 * ciphertext (lookup by hash, retrieval by decryption), and the pages
 * connected to an integration from the page's side, each through the upstream
 * connection of the owner who connected it.
 */
const internalIntegrations: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('partner_apps')
      .addColumn('internal_token_hash', 'text', (c) => c.unique())
      .execute();
    await db.schema
      .createTable('internal_integration_pages')
      .addColumn('app_id', 'uuid', (c) => c.notNull().references('partner_apps.id').onDelete('cascade'))
      .addColumn('page_id', 'text', (c) => c.notNull())
      .addColumn('connection_id', 'uuid', (c) => c.notNull().references('upstream_connections.id').onDelete('cascade'))
      .addColumn('connected_by', 'uuid', (c) => c.notNull().references('people.id').onDelete('cascade'))
      .addColumn('connected_at', 'timestamptz', (c) => c.notNull())
      .addPrimaryKeyConstraint('internal_integration_pages_pk', ['app_id', 'page_id'])
      .execute();
    await db.schema.createIndex('audit_events_workspace').on('audit_events').columns(['workspace_id', 'occurred_at']).execute();
  },
};

const webhookSubscriptions: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhook_subscriptions')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('app_id', 'uuid', (c) => c.notNull().references('partner_apps.id').onDelete('cascade'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('events', sql`text[]`, (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'active', 'disabled')`))
      .addColumn('verification_token_ciphertext', 'text', (c) => c.notNull())
      .addColumn('signing_secret_ciphertext', 'text', (c) => c.notNull())
      .addColumn('previous_signing_secret_ciphertext', 'text')
      .addColumn('previous_signing_secret_expires_at', 'timestamptz')
      .addColumn('failing_since', 'timestamptz')
      .addColumn('disabled_reason', 'text')
      .addColumn('verified_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_subscriptions_app').on('webhook_subscriptions').column('app_id').execute();
  },
};

const webhookIntake: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('notion_webhook_intakes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('verification_token_ciphertext', 'text')
      .addColumn('token_received_at', 'timestamptz')
      .addColumn('confirmed_at', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('webhook_events')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('intake_id', 'text', (c) => c.notNull())
      .addColumn('notion_event_id', 'text', (c) => c.notNull())
      .addColumn('workspace_id', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('entity_id', 'text', (c) => c.notNull())
      .addColumn('entity_type', 'text', (c) => c.notNull())
      .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
      .addColumn('body', 'jsonb', (c) => c.notNull())
      .addColumn('received_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('webhook_events_once', ['intake_id', 'notion_event_id'])
      .execute();
    await db.schema.createIndex('webhook_events_received').on('webhook_events').column('received_at').execute();
    await db.schema.createIndex('webhook_events_workspace').on('webhook_events').columns(['workspace_id', 'received_at']).execute();
  },
};

/**
 * The token path's lost-answer rule: a refresh token records the one it
 * replaced (so a retry of a rotation finds the pair it produced), and an
 * access token the first time it was presented (so a pair someone already
 * used is never replaced).
 */
const tokenLineage: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('refresh_tokens').addColumn('parent_hash', 'text').execute();
    await db.schema.alterTable('access_tokens').addColumn('first_used_at', 'timestamptz').execute();
    await db.schema.createIndex('refresh_tokens_parent').on('refresh_tokens').column('parent_hash').execute();
    await db.schema.createIndex('access_tokens_refresh').on('access_tokens').column('refresh_token_hash').execute();
  },
};

/**
 * One row per (event, partner subscription, origin): the delivery's state and
 * its next attempt time on Gatehouse's clock (the job engine's clock cannot
 * be faked in tests). `origin` is `live`, or `replay:<id>` for a replay, so a
 * replay delivers again without touching the first delivery. `scope_id` and
 * `chain` are what the fan-out judged the grant on (for a page that left a
 * grant, its old ancestry): every attempt re-checks today's grant on them.
 */
const webhookDeliveries: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'uuid', (c) => c.primaryKey())
      .addColumn('event_id', 'uuid', (c) => c.notNull().references('webhook_events.id').onDelete('cascade'))
      .addColumn('subscription_id', 'uuid', (c) => c.notNull().references('webhook_subscriptions.id').onDelete('cascade'))
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('access', 'text', (c) => c.check(sql`access in ('lost', 'gained')`))
      .addColumn('scope_id', 'text', (c) => c.notNull())
      .addColumn('chain', 'jsonb', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'sending', 'delivered', 'failed', 'skipped')`))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'timestamptz')
      .addColumn('lease_until', 'timestamptz')
      .addColumn('last_attempt_at', 'timestamptz')
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('last_response_excerpt', 'text')
      .addColumn('delivered_at', 'timestamptz')
      .addColumn('created_at', 'timestamptz', (c) => c.notNull())
      .addUniqueConstraint('webhook_deliveries_once', ['event_id', 'subscription_id', 'origin'])
      .execute();
    await db.schema
      .createIndex('webhook_deliveries_subscription')
      .on('webhook_deliveries')
      .columns(['subscription_id', 'created_at'])
      .execute();
    await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
  },
};

/**
 * RFC 8707: the resource a code and the tokens it issues were asked for
 * (null = the Notion API proxy, as before), so a token bound to the MCP
 * endpoint is refused by the proxy and the other way round. Agents that
 * registered themselves (RFC 7591) are partner apps of kind `agent`.
 */
const resourceBinding: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('authorization_codes').addColumn('resource', 'text').execute();
    await db.schema.alterTable('access_tokens').addColumn('resource', 'text').execute();
    await db.schema.alterTable('refresh_tokens').addColumn('resource', 'text').execute();
    await db.schema
      .alterTable('partner_apps')
      .addColumn('client_kind', 'text', (c) =>
        c
          .notNull()
          .defaultTo('partner')
          .check(sql`client_kind in ('partner', 'agent')`),
      )
      .execute();
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return {
      '0001_initial': initial,
      '0002_partner_oauth': partnerOAuth,
      '0003_internal_integrations': internalIntegrations,
      '0004_webhook_subscriptions': webhookSubscriptions,
      '0005_webhook_intake': webhookIntake,
      '0006_token_lineage': tokenLineage,
      '0007_webhook_deliveries': webhookDeliveries,
      '0008_resource_binding': resourceBinding,
      '0010_agent_policy': agentPolicyMigration,
      '0011_approval_requests': approvalRequestsMigration,
    };
  },
};
