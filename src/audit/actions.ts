/**
 * The closed list of what Gatehouse audits: every `audit.record` names one of
 * these actions (`resource.action`), so the type checker refuses a new,
 * unlisted one and the store refuses one that arrives as a plain string.
 * Each entry says who may act and what the event's target is, so a reader of
 * the audit log (page or export) knows what each line means.
 */
export type AuditActorType = 'person' | 'admin_token' | 'partner' | 'system';

export interface AuditActionSpec {
  /** Who records it. */
  actors: readonly AuditActorType[];
  /** The target's type, or null when the event has none. */
  target: string | null;
  summary: string;
}

const people = ['person'] as const;
const admins = ['person', 'admin_token'] as const;
const system = ['system'] as const;

export const AUDIT_ACTIONS = {
  'person.signed_in': { actors: people, target: 'person', summary: 'a person signed in' },
  'person.sign_in_failed': { actors: system, target: null, summary: 'a sign-in was refused' },
  'admin_token.created': { actors: people, target: 'admin_token', summary: 'a personal admin token was created' },
  'admin_token.revoked': { actors: people, target: 'admin_token', summary: 'an admin token was revoked' },
  'keys.rotated': { actors: admins, target: null, summary: 'stored secrets were re-encrypted under the current key' },

  'workspace.policy_changed': { actors: admins, target: 'workspace', summary: 'the install policy changed' },
  'workspace.agent_policy_changed': {
    actors: admins,
    target: 'workspace',
    summary: 'the AI agent policy (or its approved redirect hosts) changed',
  },
  'workspace_member.joined': { actors: system, target: 'person', summary: 'a person joined a workspace' },
  'workspace_member.left': { actors: system, target: 'person', summary: 'a person left a workspace' },
  'workspace_member.role_changed': { actors: admins, target: 'person', summary: "a member's role changed" },
  'approved_app.added': { actors: admins, target: 'partner_app', summary: 'an app was added to the approved list' },
  'approved_app.removed': { actors: admins, target: 'partner_app', summary: 'an app was removed from the approved list' },
  'approval_request.created': { actors: people, target: 'partner_app', summary: 'a member asked the owners to approve an app' },
  'approval_request.approved': { actors: admins, target: 'approval_request', summary: "an owner approved a member's request" },
  'approval_request.declined': { actors: admins, target: 'approval_request', summary: "an owner declined a member's request" },

  'upstream_connection.created': { actors: people, target: 'upstream_connection', summary: 'a Notion account was connected' },
  'upstream_connection.replaced': { actors: people, target: 'upstream_connection', summary: 'a Notion account was connected again' },
  'upstream_connection.disconnected': {
    actors: [...admins, 'system'],
    target: 'upstream_connection',
    summary: 'a Notion account was disconnected',
  },
  'upstream_connection.broken': { actors: system, target: 'upstream_connection', summary: 'Notion refused a stored credential' },

  'partner_app.created': { actors: admins, target: 'partner_app', summary: 'a partner app was registered' },
  'partner_app.secret_rotated': { actors: admins, target: 'partner_app', summary: "a partner app's client secret was rotated" },
  'internal_integration.created': { actors: admins, target: 'partner_app', summary: 'an internal integration was created' },
  'internal_integration.token_read': { actors: admins, target: 'partner_app', summary: "an internal integration's token was copied" },
  'internal_integration.page_connected': {
    actors: admins,
    target: 'partner_app',
    summary: 'a page was connected to an internal integration',
  },
  'internal_integration.page_disconnected': {
    actors: admins,
    target: 'partner_app',
    summary: 'a page was disconnected from an internal integration',
  },
  'internal_integration.disconnected': { actors: admins, target: 'partner_app', summary: 'an internal integration was disconnected' },
  'internal_integration.converted': { actors: admins, target: 'partner_app', summary: 'an internal integration became a public one' },

  'consent.refused': { actors: people, target: 'partner_app', summary: 'a consent was refused by a rule (policy, pages)' },
  'grant.created': { actors: people, target: 'grant', summary: 'a person allowed a partner access' },
  'grant.changed': { actors: people, target: 'grant', summary: 'a person authorised a partner again' },
  'grant.denied': { actors: people, target: 'partner_app', summary: 'a person pressed Cancel' },
  'grant.revoked': { actors: [...admins, 'system'], target: 'grant', summary: 'a grant was revoked' },
  'grant.page_removed': { actors: people, target: 'grant', summary: "a page was taken out of a grant on that page's Connections" },
  'code.issued': { actors: people, target: 'grant', summary: 'an authorization code was issued' },
  'code.redeemed': { actors: ['partner'], target: 'grant', summary: 'a code was exchanged for tokens' },
  'code.redeem_failed': { actors: ['partner'], target: null, summary: 'a code exchange was refused' },
  'code.replayed': { actors: ['partner'], target: 'grant', summary: 'a used code came back: the tokens it issued were revoked' },
  'token.issued': { actors: ['partner'], target: 'grant', summary: 'tokens were issued' },
  'refresh.reused': { actors: ['partner'], target: 'grant', summary: 'a rotated refresh token came back: its family was revoked' },
  'token.refreshed': { actors: ['partner'], target: 'grant', summary: 'a refresh token was rotated' },
  'token.revoked': { actors: ['partner', 'system'], target: 'grant', summary: 'a token (and its family) was revoked' },
  'client.registered': {
    actors: ['partner'],
    target: 'partner_app',
    summary: 'an AI agent registered itself (dynamic client registration)',
  },
  'mcp.tool_called': { actors: ['partner'], target: 'grant', summary: "an agent's MCP tool call ran (which tool, which object, outcome)" },
  'mcp.tool_refused': { actors: ['partner'], target: 'grant', summary: "an agent's MCP tool call was refused (scope or capability)" },
  'client.unused_deleted': {
    actors: system,
    target: 'partner_app',
    summary: 'a self-registered AI agent that got no grant within a day was deleted',
  },
  'client.metadata_document_fetched': {
    actors: system,
    target: 'partner_app',
    summary: "an AI agent's Client ID Metadata Document was fetched and accepted",
  },
  'client.authentication_failed': { actors: ['partner'], target: null, summary: 'a partner presented wrong client credentials' },
  'proxy.refused': { actors: ['partner'], target: 'grant', summary: 'a proxied Notion call was refused (scope or capability)' },

  'webhook_intake.token_received': { actors: system, target: 'webhook_intake', summary: 'Notion sent a verification token' },
  'webhook_intake.token_refused': {
    actors: system,
    target: 'webhook_intake',
    summary: 'a verification request came for a confirmed intake',
  },
  'webhook_intake.reset': { actors: admins, target: 'webhook_intake', summary: "an intake's token was forgotten" },
  'webhook_subscription.created': {
    actors: [...admins, 'system'],
    target: 'webhook_subscription',
    summary: 'a partner webhook subscription was created',
  },
  'webhook_subscription.verification_sent': {
    actors: [...admins, 'system'],
    target: 'webhook_subscription',
    summary: 'the verification POST was sent',
  },
  'webhook_subscription.verification_failed': {
    actors: [...admins, 'partner'],
    target: 'webhook_subscription',
    summary: 'a wrong verification token was entered',
  },
  'webhook_subscription.verified': {
    actors: [...admins, 'partner'],
    target: 'webhook_subscription',
    summary: 'a subscription was verified',
  },
  'webhook_subscription.secret_rotated': {
    actors: admins,
    target: 'webhook_subscription',
    summary: "a subscription's signing secret was rotated",
  },
  'webhook_subscription.reenabled': {
    actors: admins,
    target: 'webhook_subscription',
    summary: 'a disabled subscription was sent its verification again',
  },
  'webhook_subscription.deleted': { actors: [...admins, 'system'], target: 'webhook_subscription', summary: 'a subscription was deleted' },
  'webhook_subscription.disabled': {
    actors: system,
    target: 'webhook_subscription',
    summary: 'a subscription was disabled (410, or failing for days)',
  },
  'webhook_subscription.replayed': { actors: admins, target: 'webhook_subscription', summary: 'stored events were delivered again' },
  'webhook_delivery.retried': { actors: admins, target: 'webhook_delivery', summary: 'a failed delivery was retried now' },
} as const satisfies Record<string, AuditActionSpec>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export function isAuditAction(action: string): action is AuditAction {
  return Object.hasOwn(AUDIT_ACTIONS, action);
}
