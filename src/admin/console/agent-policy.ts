/**
 * The owners' AI agent policy of one workspace, as declared contracts: the
 * admin API (GET/PUT, zone owner) and the "AI agents" form of the
 * "Connections" page. Agents register themselves, so each is a new client
 * id: owners restrict them by policy and by the hosts they return to, not by
 * an approved list of apps (../../store/agent-policy.ts keeps both).
 */
import type { Request } from 'express';
import { z } from 'zod';
import {
  AGENT_POLICIES,
  AgentPolicyInvalid,
  MAX_APPROVED_HOSTS,
  type AgentPolicy,
  type AgentPolicyKind,
} from '../../store/agent-policy.js';
import type { Workspace } from '../../store/workspaces.js';
import { ConsoleError, requireOwnerOf } from '../connections.js';
import type { Actor } from '../revocation.js';
import { api, apiActor, apiCaller, ids, page, pageActor, pageCaller, type ConsoleContext } from './context.js';

const V1 = '/api/admin/v1';

/** The words on the page for each policy (what outside tests find the radio buttons by). */
export const AGENT_POLICY_LABELS: Record<AgentPolicyKind, string> = {
  no_agents: 'No agents',
  approved_hosts: 'Only agents from approved redirect hosts',
  any_agent: 'Any agent',
};

const policyKind = z.enum(AGENT_POLICIES);
const hostList = z.array(z.string().max(253)).max(MAX_APPROVED_HOSTS);

export const agentPolicyBodySchema = z
  .object({
    policy: policyKind.describe('"No agents", "Only agents from approved redirect hosts" or "Any agent"; owners are exempt'),
    approved_hosts: hostList
      .optional()
      .describe('Host names (no scheme, port or path) an agent must return to under approved_hosts; unchanged when absent'),
  })
  .strict();

export const agentPolicyWireSchema = z.object({
  object: z.literal('agent_policy'),
  workspace_id: z.string(),
  policy: policyKind,
  approved_hosts: z.array(z.string()),
});

const toWire = (workspaceId: string, p: AgentPolicy): z.infer<typeof agentPolicyWireSchema> => ({
  object: 'agent_policy',
  workspace_id: workspaceId,
  policy: p.policy,
  approved_hosts: p.approvedHosts,
});

const sameHosts = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((h, i) => h === b[i]);

/**
 * The rule: the caller already passed requireOwnerOf (owners and organisation
 * admins, people or admin tokens); the store normalises the hosts, and a
 * change is audited with what it became and what it was.
 */
export async function setAgentPolicy(
  deps: { stores: Pick<ConsoleContext['stores'], 'agentPolicies' | 'audit'>; clock: ConsoleContext['clock'] },
  workspace: Pick<Workspace, 'id'>,
  wanted: AgentPolicy,
  actor: Actor,
): Promise<AgentPolicy> {
  const before = await deps.stores.agentPolicies.get(workspace.id);
  let saved: AgentPolicy;
  try {
    saved = await deps.stores.agentPolicies.set(workspace.id, wanted, actor.type === 'person' ? actor.id : null, deps.clock.now());
  } catch (err) {
    if (err instanceof AgentPolicyInvalid) throw new ConsoleError('invalid', err.message);
    throw err;
  }
  if (saved.policy !== before.policy || !sameHosts(saved.approvedHosts, before.approvedHosts)) {
    await deps.stores.audit.record(
      {
        action: 'workspace.agent_policy_changed',
        actor: { type: actor.type, id: actor.id, label: actor.label },
        target: { type: 'workspace', id: workspace.id },
        workspaceId: workspace.id,
        address: actor.address,
        outcome: 'success',
        detail: {
          policy: saved.policy,
          approvedHosts: saved.approvedHosts,
          before: { policy: before.policy, approvedHosts: before.approvedHosts },
        },
      },
      deps.clock.now(),
    );
  }
  return saved;
}

const hidden = "Unknown, or not visible to the caller (another workspace's data never leaks)";

export const getAgentPolicy = api(
  {
    zone: 'owner',
    name: 'getAgentPolicy',
    method: 'get',
    path: `${V1}/workspaces/:workspace_id/agent-policy`,
    summary: 'The AI agent policy and its approved redirect hosts (owners)',
    params: ids('workspace_id'),
    answer: agentPolicyWireSchema,
    components: { answer: 'AgentPolicy' },
    audit: { none: 'a read' },
    refusals: { 404: hidden },
  },
  async ({ params }, { res }, deps) => {
    const workspace = await requireOwnerOf(deps.rules, apiCaller(res), params.workspace_id);
    return toWire(workspace.id, await deps.stores.agentPolicies.get(workspace.id));
  },
);

export const putAgentPolicy = api(
  {
    zone: 'owner',
    name: 'setAgentPolicy',
    method: 'put',
    path: `${V1}/workspaces/:workspace_id/agent-policy`,
    summary: '"AI agents": "No agents", "Only agents from approved redirect hosts" or "Any agent" (owners; owners themselves are exempt)',
    params: ids('workspace_id'),
    body: agentPolicyBodySchema,
    answer: agentPolicyWireSchema,
    components: { body: 'AgentPolicyRequest', answer: 'AgentPolicy' },
    audit: 'workspace.agent_policy_changed',
    refusals: { 400: 'Bad input (a host with a scheme, port or path; too many hosts); nothing changed', 404: hidden },
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerOf(deps.rules, apiCaller(res), params.workspace_id);
    const approvedHosts = body.approved_hosts ?? (await deps.stores.agentPolicies.get(workspace.id)).approvedHosts;
    const saved = await setAgentPolicy(deps, workspace, { policy: body.policy, approvedHosts }, apiActor(req, res));
    return toWire(workspace.id, saved);
  },
);

const agentPolicyForm = z
  .object({
    _csrf: z.string(),
    agent_policy: policyKind,
    // One host per line (commas too); the store checks each.
    approved_hosts: z.string().max(30_000).optional(),
  })
  .strict();

const back = (workspaceId: string, key: string) => `/connections?workspace=${encodeURIComponent(workspaceId)}&${key}#agents-heading`;

export const setAgentPolicyPage = page(
  {
    zone: 'owner',
    name: 'setAgentPolicyPage',
    method: 'post',
    path: '/connections/:workspace_id/agent-policy',
    summary: '"Save agent policy" on "Connections"',
    params: ids('workspace_id'),
    body: agentPolicyForm,
    invalidBody: 'Choose "No agents", "Only agents from approved redirect hosts" or "Any agent".',
    answer: 'redirect',
    audit: 'workspace.agent_policy_changed',
  },
  async ({ params, body }, { req, res }, deps) => {
    const workspace = await requireOwnerOf(deps.rules, pageCaller(req, deps), params.workspace_id);
    const approvedHosts = (body.approved_hosts ?? '').split(/[\s,]+/).filter((h) => h !== '');
    try {
      await setAgentPolicy(deps, workspace, { policy: body.agent_policy, approvedHosts }, pageActor(req));
    } catch (err) {
      // The URL never carries free text: a fixed sentence by key, nothing saved.
      if (err instanceof ConsoleError && err.code === 'invalid') {
        res.redirect(303, back(workspace.id, 'agent_error=hosts'));
        return;
      }
      throw err;
    }
    res.redirect(303, back(workspace.id, 'agent_notice=saved'));
  },
);

/** What the "AI agents" section of the "Connections" page shows. */
export async function agentPolicySection(deps: ConsoleContext, workspace: Workspace, req: Request) {
  const current = await deps.stores.agentPolicies.get(workspace.id);
  return {
    action: `/connections/${encodeURIComponent(workspace.id)}/agent-policy`,
    choices: AGENT_POLICIES.map((value) => ({ value, label: AGENT_POLICY_LABELS[value], checked: value === current.policy })),
    hosts: current.approvedHosts.join('\n'),
    notice: req.query.agent_notice === 'saved' ? 'Agent policy saved.' : null,
    error:
      req.query.agent_error === 'hosts'
        ? `Nothing saved: write each host name without https://, a port or a path, one per line, at most ${MAX_APPROVED_HOSTS}.`
        : null,
  };
}
