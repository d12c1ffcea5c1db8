import type { Kysely } from 'kysely';
import { adminTokenStore, type AdminTokenStore } from './admin-tokens.js';
import { agentClientStore, type AgentClientStore } from './agent-clients.js';
import { agentPolicyStore, type AgentPolicyStore } from './agent-policy.js';
import { approvalRequestStore, type ApprovalRequestStore } from './approval-requests.js';
import { auditStore, type AuditStore } from './audit.js';
import { consoleListStore, type ConsoleListStore } from './console-lists.js';
import { grantStore, type GrantStore } from './grants.js';
import { auditQuery, type AuditQuery } from './audit-query.js';
import { internalIntegrationStore, type InternalIntegrationStore } from './internal-integrations.js';
import { partnerAppStore, type PartnerAppStore } from './partner-apps.js';
import { tokenStore, type TokenStore } from './tokens.js';
import { pageIndexStore, type PageIndexStore } from './page-index.js';
import { peopleStore, type PeopleStore } from './people.js';
import type { Database } from './schema.js';
import { upstreamConnectionStore, type UpstreamConnectionStore } from './upstream-connections.js';
import { workspaceStore, type WorkspaceStore } from './workspaces.js';
import { webhookSubscriptionStore, type WebhookSubscriptionStore } from './webhook-subscriptions.js';
import { webhookEventStore, type WebhookEventStore } from './webhook-events.js';
import { webhookDeliveryStore, type WebhookDeliveryStore } from './webhook-deliveries.js';

/** One store per noun, each behind a narrow interface. */
export interface Stores {
  people: PeopleStore;
  workspaces: WorkspaceStore;
  connections: UpstreamConnectionStore;
  pageIndex: PageIndexStore;
  grants: GrantStore;
  audit: AuditStore;
  adminTokens: AdminTokenStore;
  partnerApps: PartnerAppStore;
  tokens: TokenStore;
  internalIntegrations: InternalIntegrationStore;
  auditQuery: AuditQuery;
  webhookSubscriptions: WebhookSubscriptionStore;
  webhookEvents: WebhookEventStore;
  webhookDeliveries: WebhookDeliveryStore;
  agentClients: AgentClientStore;
  agentPolicies: AgentPolicyStore;
  approvalRequests: ApprovalRequestStore;
  consoleLists: ConsoleListStore;
}

export function createStores(db: Kysely<Database>): Stores {
  return {
    people: peopleStore(db),
    workspaces: workspaceStore(db),
    connections: upstreamConnectionStore(db),
    pageIndex: pageIndexStore(db),
    grants: grantStore(db),
    audit: auditStore(db),
    adminTokens: adminTokenStore(db),
    partnerApps: partnerAppStore(db),
    tokens: tokenStore(db),
    internalIntegrations: internalIntegrationStore(db),
    auditQuery: auditQuery(db),
    webhookSubscriptions: webhookSubscriptionStore(db),
    webhookEvents: webhookEventStore(db),
    webhookDeliveries: webhookDeliveryStore(db),
    agentClients: agentClientStore(db),
    agentPolicies: agentPolicyStore(db),
    approvalRequests: approvalRequestStore(db),
    consoleLists: consoleListStore(db),
  };
}
