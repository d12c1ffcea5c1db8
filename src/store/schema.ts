/**
 * Table types for Kysely. snake_case here and in SQL only; stores map rows to
 * the domain's camelCase at their boundary.
 */
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

export interface PeopleTable {
  id: string;
  issuer: string;
  subject: string;
  email: string;
  email_verified: boolean;
  name: string;
  created_at: Timestamp;
  last_sign_in_at: Timestamp;
}

export interface WorkspacesTable {
  id: string; // Notion's workspace id
  name: string;
  icon: string | null;
  install_policy: 'no_restrictions' | 'approved_only';
  auto_approve_organisation: boolean;
  created_at: Timestamp;
}

export interface WorkspaceMembersTable {
  workspace_id: string;
  person_id: string;
  role: 'owner' | 'member';
  status: 'active' | 'left';
  joined_at: Timestamp;
  left_at: NullableTimestamp;
}

export interface UpstreamConnectionsTable {
  id: string;
  person_id: string;
  workspace_id: string;
  kind: 'oauth' | 'internal';
  /** AES-256-GCM under a key id (src/crypto/keyring.ts); JSON {accessToken, refreshToken}. */
  credential_ciphertext: string | null;
  bot_id: string;
  notion_user_id: string;
  notion_user: JSONColumnType<Record<string, unknown>>;
  version: Generated<number>;
  status: 'active' | 'broken' | 'disconnected';
  index_state: 'pending' | 'running' | 'ready' | 'failed';
  index_count: Generated<number>;
  index_error: string | null;
  indexed_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface PageIndexTable {
  connection_id: string;
  page_id: string;
  parent_id: string | null;
  parent_type: string;
  title: string;
  object_type: 'page' | 'database' | 'data_source';
  seen_at: Timestamp;
}

export interface PartnerAppsTable {
  id: string;
  client_id: string | null;
  client_secret_hash: string | null;
  name: string;
  website: string | null;
  support_contact: string | null;
  logo_content_type: string | null;
  logo: ColumnType<Buffer | null, Buffer | null, Buffer | null>;
  redirect_uris: JSONColumnType<string[]>;
  capabilities: JSONColumnType<string[]>;
  built_by_organisation: boolean;
  integration_kind: 'public' | 'internal';
  client_type: 'confidential' | 'public';
  workspace_id: string | null;
  internal_token_ciphertext: string | null;
  /** hashToken(internal token), for lookup by the proxy (migration 0003). */
  internal_token_hash: ColumnType<string | null, string | null | undefined, string | null>;
  created_by: string | null;
  created_at: Timestamp;
  /** `agent`: registered itself (RFC 7591), never built by the organisation (migration 0008). */
  client_kind: ColumnType<'partner' | 'agent', 'partner' | 'agent' | undefined, 'partner' | 'agent'>;
}

export interface GrantsTable {
  id: string; // the bot_id partners see
  person_id: string;
  app_id: string;
  workspace_id: string;
  upstream_connection_id: string;
  capabilities: JSONColumnType<string[]>;
  page_ids: JSONColumnType<string[]>;
  status: 'active' | 'revoked';
  revoked_at: NullableTimestamp;
  revoked_by: string | null;
  revoke_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AuthorizationCodesTable {
  code_hash: string;
  grant_id: string;
  app_id: string;
  redirect_uri: string;
  code_challenge: string | null;
  capabilities: JSONColumnType<string[]>;
  expires_at: Timestamp;
  consumed_at: NullableTimestamp;
  created_at: Timestamp;
  redirect_uri_explicit: Generated<boolean>;
  person_id: string | null;
  /** RFC 8707 resource the code was asked for; null = the Notion API proxy (migration 0008). */
  resource: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ApprovedAppsTable {
  workspace_id: string;
  app_id: string;
  added_by: string | null;
  added_at: Timestamp;
}

export interface AccessTokensTable {
  token_hash: string;
  grant_id: string;
  app_id: string;
  refresh_token_hash: string | null;
  code_hash: string | null;
  capabilities: JSONColumnType<string[]>;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
  /** Its first presentation to the proxy or introspection, recorded once (migration 0006). */
  first_used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** The audience (RFC 8707); null = the Notion API proxy (migration 0008). */
  resource: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  grant_id: string;
  app_id: string;
  code_hash: string | null;
  capabilities: JSONColumnType<string[]>;
  absolute_expires_at: Timestamp;
  used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
  created_at: Timestamp;
  /** The refresh token this one replaced, null for the first of a family (migration 0006). */
  parent_hash: ColumnType<string | null, string | null | undefined, string | null>;
  /** The audience its access tokens get (migration 0008). */
  resource: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface AuditEventsTable {
  id: Generated<string>;
  action: string;
  actor_type: 'person' | 'admin_token' | 'partner' | 'system';
  actor_id: string | null;
  actor_label: string | null;
  target_type: string | null;
  target_id: string | null;
  workspace_id: string | null;
  occurred_at: Timestamp;
  address: string | null;
  outcome: 'success' | 'failure';
  detail: JSONColumnType<Record<string, unknown>>;
}

export interface AdminTokensTable {
  id: string;
  token_hash: string;
  person_id: string | null;
  label: string;
  bootstrap: boolean;
  created_at: Timestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface InternalIntegrationPagesTable {
  app_id: string;
  page_id: string;
  connection_id: string;
  connected_by: string;
  connected_at: Timestamp;
}

export interface SessionsTable {
  sid: string;
  data: JSONColumnType<Record<string, unknown>>;
  expires_at: Timestamp;
}

/**
 * A partner app's webhook subscription. Both secrets are encrypted with the
 * keyring (AAD `webhook_subscription:<id>`): the verification token keys
 * `X-Notion-Signature`, the `whsec_` secret keys the Standard Webhooks
 * signature; during a rotation the previous secret signs too until
 * `previous_signing_secret_expires_at`.
 */
export interface WebhookSubscriptionsTable {
  id: string;
  app_id: string;
  url: string;
  events: string[];
  status: 'pending' | 'active' | 'disabled';
  verification_token_ciphertext: string;
  signing_secret_ciphertext: string;
  previous_signing_secret_ciphertext: string | null;
  previous_signing_secret_expires_at: Timestamp | null;
  /** First failed attempt of the current run of failures; cleared by a success. */
  failing_since: Timestamp | null;
  disabled_reason: string | null;
  verified_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/**
 * Where Notion's webhooks come in: `public` for Gatehouse's public
 * integration (one subscription for every workspace), or an internal
 * integration's app id. The verification token Notion sent is kept encrypted
 * (AAD `notion_webhook_intake:<id>`); once confirmed, a new verification POST
 * is refused until an organisation admin resets the intake.
 */
export interface NotionWebhookIntakesTable {
  id: string;
  verification_token_ciphertext: string | null;
  token_received_at: Timestamp | null;
  confirmed_at: Timestamp | null;
  updated_at: Timestamp;
}

/** One event as Notion sent it, stored once per intake and Notion event id. */
export interface WebhookEventsTable {
  id: string;
  intake_id: string;
  notion_event_id: string;
  workspace_id: string;
  type: string;
  entity_id: string;
  entity_type: string;
  occurred_at: Timestamp;
  body: JSONColumnType<Record<string, unknown>>;
  received_at: Timestamp;
}

/** One event's delivery to one partner subscription (migration 0006). */
export interface WebhookDeliveriesTable {
  id: string; // the Standard Webhooks `webhook-id`, stable across attempts
  event_id: string;
  subscription_id: string;
  origin: string;
  access: 'lost' | 'gained' | null;
  scope_id: string;
  chain: JSONColumnType<string[]>;
  status: 'pending' | 'sending' | 'delivered' | 'failed' | 'skipped';
  attempts: Generated<number>;
  next_attempt_at: NullableTimestamp;
  lease_until: NullableTimestamp;
  last_attempt_at: NullableTimestamp;
  last_status_code: number | null;
  last_error: string | null;
  last_response_excerpt: string | null;
  delivered_at: NullableTimestamp;
  created_at: Timestamp;
}

/** The owners' AI agent policy per workspace (src/store/agent-policy.ts); no row means "Any agent". */
export interface WorkspaceAgentPoliciesTable {
  workspace_id: string;
  policy: 'no_agents' | 'approved_hosts' | 'any_agent';
  approved_hosts: JSONColumnType<string[]>;
  changed_by: string | null;
  changed_at: Timestamp;
}

/** A member's request that owners approve an app blocked by "Only from approved list" (src/store/approval-requests.ts). */
export interface ApprovalRequestsTable {
  id: string;
  workspace_id: string;
  app_id: string;
  person_id: string;
  status: 'pending' | 'approved' | 'declined';
  requested_at: Timestamp;
  decided_at: NullableTimestamp;
  decided_by: string | null;
}

export interface Database {
  people: PeopleTable;
  workspaces: WorkspacesTable;
  workspace_members: WorkspaceMembersTable;
  upstream_connections: UpstreamConnectionsTable;
  page_index: PageIndexTable;
  partner_apps: PartnerAppsTable;
  grants: GrantsTable;
  authorization_codes: AuthorizationCodesTable;
  access_tokens: AccessTokensTable;
  refresh_tokens: RefreshTokensTable;
  audit_events: AuditEventsTable;
  admin_tokens: AdminTokensTable;
  sessions: SessionsTable;
  approved_apps: ApprovedAppsTable;
  internal_integration_pages: InternalIntegrationPagesTable;
  webhook_subscriptions: WebhookSubscriptionsTable;
  notion_webhook_intakes: NotionWebhookIntakesTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  workspace_agent_policies: WorkspaceAgentPoliciesTable;
  approval_requests: ApprovalRequestsTable;
}
