/**
 * An owner changes the workspace's AI agent policy (the console page calls
 * this): only an active owner may, the host list is normalised by the store,
 * and the change is audited with what it became.
 */
import type { Clock } from '../clock.js';
import type { AgentPolicy, AgentPolicyStore } from '../store/agent-policy.js';
import type { AuditStore } from '../store/audit.js';
import type { WorkspaceStore } from '../store/workspaces.js';

export class AgentPolicyForbidden extends Error {}

export async function changeAgentPolicy(
  deps: { agentPolicies: AgentPolicyStore; workspaces: WorkspaceStore; audit: AuditStore; clock: Clock },
  args: { workspaceId: string; policy: AgentPolicy; person: { id: string; label: string }; address: string | null },
): Promise<AgentPolicy> {
  const membership = await deps.workspaces.membership(args.workspaceId, args.person.id);
  if (!membership || membership.status !== 'active' || membership.role !== 'owner')
    throw new AgentPolicyForbidden('Only an owner of this workspace may change its agent policy.');
  const now = deps.clock.now();
  const saved = await deps.agentPolicies.set(args.workspaceId, args.policy, args.person.id, now);
  await deps.audit.record(
    {
      action: 'workspace.agent_policy_changed',
      actor: { type: 'person', id: args.person.id, label: args.person.label },
      target: { type: 'workspace', id: args.workspaceId },
      workspaceId: args.workspaceId,
      address: args.address,
      outcome: 'success',
      detail: { policy: saved.policy, approvedHosts: saved.approvedHosts },
    },
    now,
  );
  return saved;
}
