/**
 * The owners' per-workspace AI agent policy: "No agents", "Only agents from
 * approved redirect hosts" (an owner-kept list of hosts, since every agent
 * registration is a new client id, so a list of apps could not hold them),
 * or "Any agent", the default for a workspace that never chose.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Database } from './schema.js';

export const AGENT_POLICIES = ['no_agents', 'approved_hosts', 'any_agent'] as const;
export type AgentPolicyKind = (typeof AGENT_POLICIES)[number];

export interface AgentPolicy {
  policy: AgentPolicyKind;
  /** Host names (no port) an agent's redirect URI must point at under `approved_hosts`. */
  approvedHosts: string[];
}

export const DEFAULT_AGENT_POLICY: AgentPolicy = { policy: 'any_agent', approvedHosts: [] };
export const MAX_APPROVED_HOSTS = 100;

export class AgentPolicyInvalid extends Error {}

/** A host list as owners type it: lower case, no scheme, port or path; duplicates dropped. */
export function normaliseApprovedHosts(hosts: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of hosts) {
    const host = raw.trim().toLowerCase();
    if (host === '') continue;
    if (host.length > 253 || !/^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]*[a-z0-9])?$|^\[[0-9a-f:.]+\]$/.test(host))
      throw new AgentPolicyInvalid(`"${raw.slice(0, 60)}" is not a host name (write it without https:// or a port).`);
    seen.add(host);
  }
  if (seen.size > MAX_APPROVED_HOSTS) throw new AgentPolicyInvalid(`List at most ${MAX_APPROVED_HOSTS} hosts.`);
  return [...seen];
}

export interface AgentPolicyStore {
  get(workspaceId: string): Promise<AgentPolicy>;
  set(workspaceId: string, policy: AgentPolicy, changedBy: string | null, now: Date): Promise<AgentPolicy>;
}

export function agentPolicyStore(db: Kysely<Database>): AgentPolicyStore {
  return {
    async get(workspaceId) {
      const row = await db
        .selectFrom('workspace_agent_policies')
        .select(['policy', 'approved_hosts'])
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirst();
      return row ? { policy: row.policy, approvedHosts: row.approved_hosts } : { ...DEFAULT_AGENT_POLICY };
    },
    async set(workspaceId, policy, changedBy, now) {
      if (!(AGENT_POLICIES as readonly string[]).includes(policy.policy)) throw new AgentPolicyInvalid('Unknown agent policy.');
      const approvedHosts = normaliseApprovedHosts(policy.approvedHosts);
      const values = { policy: policy.policy, approved_hosts: JSON.stringify(approvedHosts), changed_by: changedBy, changed_at: now };
      await db
        .insertInto('workspace_agent_policies')
        .values({ workspace_id: workspaceId, ...values })
        .onConflict((oc) => oc.column('workspace_id').doUpdateSet(values))
        .execute();
      return { policy: policy.policy, approvedHosts };
    },
  };
}

/** 0010_agent_policy: one row per workspace that chose; no row means "Any agent". */
export const agentPolicyMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('workspace_agent_policies')
      .addColumn('workspace_id', 'text', (c) => c.primaryKey().references('workspaces.id').onDelete('cascade'))
      .addColumn('policy', 'text', (c) => c.notNull().check(sql`policy in ('no_agents', 'approved_hosts', 'any_agent')`))
      .addColumn('approved_hosts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .addColumn('changed_by', 'uuid', (c) => c.references('people.id').onDelete('set null'))
      .addColumn('changed_at', 'timestamptz', (c) => c.notNull())
      .execute();
  },
};
